/*
 * internal.h - declarations shared between libsim's own files; not installed.
 */
#ifndef SIM_INTERNAL_H
#define SIM_INTERNAL_H

#include <string.h>
#include <sys/types.h>

#include "sim_policy.h"

/*=====   Random numbers   =====*/

/* One xoshiro256** step: the body of sim_rng_next(), inline for the
 * generators' hot loops (same state, same outputs). */
static inline uint64_t sim_rng_step(struct sim_rng *g)
{
    uint64_t *s = g->s;
    uint64_t r = s[1] * 5;
    r = ((r << 7) | (r >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return r;
}

/*=====   Input streams (stream.c): plain, gzip or zstd, detected   =====*/

typedef struct sim_in_s sim_in;

/* Opens path ("-" = stdin) and detects compression from the magic bytes. */
sim_in *sim_in_open(const char *path, char *err, size_t errlen);
/* Up to n decompressed bytes; returns the count, 0 at end, <0 on error. */
ssize_t sim_in_read(sim_in *in, void *buf, size_t n, char *err, size_t errlen);
/* Makes at least n bytes visible (fewer at the end); returns a pointer to the
 * unread data and sets *avail, without consuming; NULL on error. */
const unsigned char *sim_in_peek(sim_in *in, size_t n, size_t *avail, char *err,
                                 size_t errlen);
/* sim_in_peek that returns ensure()'s error code (0 or <0). */
int sim_in_window(sim_in *in, size_t n, const unsigned char **p, size_t *avail, char *err,
                  size_t errlen);
/* Consumes n bytes that sim_in_peek or sim_in_window made visible. */
void sim_in_skip(sim_in *in, size_t n);
/* Next line without its '\n' (and '\r'), NUL-terminated, valid until the
 * next call; sets *len.  Returns 1, 0 at end, <0 on error. */
int sim_in_getline(sim_in *in, char **line, size_t *len, char *err, size_t errlen);
int sim_in_rewind(sim_in *in, char *err, size_t errlen);
double sim_in_progress(const sim_in *in);
const char *sim_in_path(const sim_in *in);
/* Size in bytes of an uncompressed regular file; -1 otherwise. */
long long sim_in_raw_size(const sim_in *in);
/* "zstd", "gzip" or "none". */
const char *sim_in_compression(const sim_in *in);
void sim_in_close(sim_in *in);

/*=====   Output streams: temporary file, compression, rename on commit   =====*/

typedef struct sim_out_s sim_out;

/* compress: 0 none, 1 gzip, 2 zstd; -1 from the name (.gz, .zst). */
sim_out *sim_out_open(const char *path, int compress, char *err, size_t errlen);
int sim_out_write(sim_out *o, const void *buf, size_t n, char *err, size_t errlen);
int sim_out_printf(sim_out *o, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The temporary file's descriptor when the output is an uncompressed file,
 * for pread/pwrite of what was written (the stream is flushed first); -1
 * for standard output or a compressed stream, or if the flush failed. */
int sim_out_file_fd(sim_out *o);
/* Flushes, closes and renames into place; frees o. */
int sim_out_commit(sim_out *o, char *err, size_t errlen);
/* Removes the temporary file; frees o; accepts NULL. */
void sim_out_abort(sim_out *o);

/*=====   csv.c   =====*/

/* x in its shortest round-trip form, as the result table prints reals. */
void sim__csv_real(char *buf, size_t n, double x);

/*=====   vmem.c: large arrays as mappings of their own   =====*/

/* Blocks of at least this many bytes are mmap'ed (see vmem.c). */
#define SIM_VM_MIN ((size_t)64 << 10)

/* Resizes block p of old bytes to n bytes (p NULL: a new block; n 0: frees
 * it); bytes beyond old are zero.  Returns the block, or NULL when out of
 * memory (p is then unchanged).  Free with sim__vm_free and the size. */
void *sim__vm_resize(void *p, size_t old, size_t n);
void sim__vm_free(void *p, size_t n);

/* Arrays of object sizes in 0 (every size 1: no array), 2 or 4 bytes an
 * entry (ghost rings: most sizes fit 16 bits). */
static inline uint32_t sim__units_get(const uint8_t *a, unsigned width, size_t i)
{
    if (width == 2) {
        uint16_t v;
        memcpy(&v, a + i * 2, sizeof v);
        return v;
    }
    if (width == 4) {
        uint32_t v;
        memcpy(&v, a + i * 4, sizeof v);
        return v;
    }
    return 1;
}

/* Bit i of a bitmap of 64-bit words. */
static inline int sim__bit_get(const uint64_t *bits, size_t i)
{
    return (int)((bits[i / 64] >> (i % 64)) & 1);
}

static inline void sim__bit_set(uint64_t *bits, size_t i)
{
    bits[i / 64] |= UINT64_C(1) << (i % 64);
}

static inline void sim__bit_clear(uint64_t *bits, size_t i)
{
    bits[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

/* Makes the size array *a of n entries wide enough for v: the first size
 * other than 1 brings an array in, 2 bytes a size; the first of 65536 or
 * more widens it to 4 (both copy the sizes held; the array is a vmem
 * block).  0, or SIM_ENOMEM with the array as it was. */
int sim__units_fit(uint8_t **a, unsigned *width, size_t n, uint32_t v);

/* The array must be wide enough for v. */
static inline void sim__units_set(uint8_t *a, unsigned width, size_t i, uint32_t v)
{
    if (width == 2) {
        uint16_t w = (uint16_t)v;
        memcpy(a + i * 2, &w, sizeof w);
    } else if (width == 4) {
        memcpy(a + i * 4, &v, sizeof v);
    }
}

/*=====   cache.c   =====*/

void sim__cache_add_seconds(sim_cache *c, double s);
void *sim__cache_state(sim_cache *c);
/* Up to n requests, as n sim_reader_next calls would return them; through
 * the format's batch hook when it has one.  Returns the count, 0 at end,
 * <0 on error. */
int sim__reader_batch(sim_reader *r, struct sim_req *req, size_t n, char *err,
                      size_t errlen);

/*=====   Teams of threads (team.c)   =====*/

/* Does item `item` of the current job; `member` is the doer's number (0:
 * the caller of team_join). */
typedef void (*team_fn)(void *arg, unsigned member, size_t item);
struct team;

/* A team of `members` (>= 2: the caller and members - 1 threads), or NULL
 * (no memory or no threads). */
struct team *team_create(unsigned members, team_fn fn, void *arg);
/* Starts a job of `items` items (none may be running). */
void team_start(struct team *t, size_t items);
/* Takes items until none are left, then waits for the job's end. */
void team_join(struct team *t);
void team_free(struct team *t);

#endif
