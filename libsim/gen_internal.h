/*
 * gen_internal.h - what the generators (gen.c, genllm*.c) share; not
 * installed.
 */
#ifndef SIM_GEN_INTERNAL_H
#define SIM_GEN_INTERNAL_H

#include "sim_gen.h"
#include "sim_policy.h"
#include "internal.h"

/* A family of specs: each name with its parameter declarations. */
struct spec_kind {
    const char *name;
    int id;
    const struct sim_param_def *defs;
};

/* Parses "name[:k=v,...]" against `kinds` (terminated by a NULL name); `what`
 * names the family in messages.  Sets *id; NULL with err set on error. */
sim_params *gen_parse_spec(const char *what, const struct spec_kind *kinds, const char *spec,
                           int *id, char *err, size_t errlen);

/* Arrival times: Poisson or on/off, with an optional diurnal cycle.  Plain
 * Poisson times are drawn GEN_CLOCK_BATCH at a time into tbuf (the same
 * values as one at a time, from the caller's stream, which must serve the
 * clock alone). */
#define GEN_CLOCK_BATCH 256
struct gen_clock {
    int onoff, started;
    double rate, on, off, diurnal, period;
    double active;      /* seconds of "on" time elapsed */
    double clock;       /* seconds */
    unsigned tat, tn;   /* next and count in tbuf */
    uint64_t tbuf[GEN_CLOCK_BATCH]; /* microseconds */
};

/* Parses an arrivals spec ("poisson:rate=...", "onoff:...").  0 or SIM_EINVAL. */
int gen_clock_setup(struct gen_clock *c, const char *spec, char *err, size_t errlen);

/* The next arrival time in microseconds (0 for the first); r must be the
 * clock's own stream. */
uint64_t gen_clock_next(struct gen_clock *c, struct sim_rng *r);

/* gen_clock_next() with the batch's common case inline. */
static inline uint64_t gen_clock_take(struct gen_clock *c, struct sim_rng *r)
{
    return c->tat < c->tn ? c->tbuf[c->tat++] : gen_clock_next(c, r);
}

/* Zipf ranks by an alias table (gen_alias.c), for n <= GEN_ALIAS_MAX: 8
 * bytes a rank, exact to 2^-32/n per rank's probability. */
#define GEN_ALIAS_MAX (UINT64_C(1) << 20)
struct gen_alias {
    uint64_t n;
    uint32_t reject;    /* 2^32 mod n: Lemire's rejection bound */
    struct gen_alias_bucket {
        uint32_t thr;   /* draw this bucket's rank when the low word < thr */
        uint32_t alias; /* else this rank (0-based) */
    } *t;
};

/* Builds the table of Zipf(alpha) over n ranks.  0, SIM_EINVAL (n out of
 * range) or SIM_ENOMEM. */
int gen_alias_zipf(struct gen_alias *a, uint64_t n, double alpha);
void gen_alias_free(struct gen_alias *a);

/* The word that draws a rank: the high half picks the bucket (multiply;
 * the 2^32 mod n values that would bias it are rejected), the low half the
 * side.  Returns the bucket; *low gets the low half. */
static inline uint32_t gen_alias_bucket(const struct gen_alias *a, struct sim_rng *g,
                                        uint32_t *low)
{
    for (;;) {
        uint64_t r = sim_rng_step(g);
        uint64_t m = (r >> 32) * a->n;
        if ((uint32_t)m >= a->reject) {
            *low = (uint32_t)r;
            return (uint32_t)(m >> 32);
        }
    }
}

/* The 0-based rank of bucket k with low half `low`, without a branch: one
 * on the loaded thr mispredicts often, and each mispredict waits for the
 * load's cache miss. */
static inline uint32_t gen_alias_rank(const struct gen_alias *a, uint32_t k, uint32_t low)
{
    const struct gen_alias_bucket *b = &a->t[k];
    uint32_t own = (uint32_t)0 - (low < b->thr);
    return (k & own) | (b->alias & ~own);
}

#endif
