/*
 * seqtest.h - test helper: run a policy over a tiny trace written as text
 * and get its hits and misses as a string, for hand-derived expectations.
 */
#ifndef SEQTEST_H
#define SEQTEST_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

/*
 * seq_run() : runs `spec` (e.g. "s3fifo:small=0.25") with `capacity` in
 * `unit` over `trace`, a space-separated list of requests "k" or "k:size"
 * (k one letter; size 1 if absent; a leading '-' makes a delete).  Each
 * request gets next_access (computed here) and time = its index in seconds.
 * Writes one letter per counted request to out ('H' hit, 'M' miss), NUL-
 * terminated, and the total evictions to *evictions (may be NULL).
 * sim_cache_check() runs after every request.
 * @return 0, or -1 with the reason in out (creation or check failure).
 */
int seq_run(const char *spec, enum sim_unit unit, uint64_t capacity, const char *trace,
            char *out, size_t outlen, uint64_t *evictions);

/*
 * seq_create_error() : tries to create `spec` (10 objects) and expects it
 * to fail.  @return 1 if creation failed with a message containing `word`;
 * else 0 (out holds the message or "created").
 */
int seq_create_error(const char *spec, const char *word, char *out, size_t outlen);

/* In a Check test: asserts that creating spec fails naming `word`. */
#define SEQ_REFUSED(spec, word)                                              \
    do {                                                                     \
        char msg_[SIM_ERRLEN];                                               \
        ck_assert_msg(seq_create_error((spec), (word), msg_, sizeof msg_),   \
                      "%s: %s", (spec), msg_);                               \
    } while (0)

/* In a Check test: asserts that spec's hit string on trace is `want`. */
#define SEQ_EXPECT(spec, unit, cap, trace, want)                              \
    do {                                                                     \
        char got_[512];                                                      \
        int rc_ = seq_run((spec), (unit), (cap), (trace), got_, sizeof got_, \
                          NULL);                                             \
        ck_assert_msg(rc_ == 0, "%s: %s", (spec), got_);                     \
        ck_assert_str_eq(got_, (want));                                      \
    } while (0)

#endif
