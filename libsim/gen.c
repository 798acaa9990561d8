/*
 * gen.c - the workload generator behind tracegen: popularity patterns in
 * phases, per-object sizes and TTLs, arrival times and temporal locality.
 *
 * Determinism: sim_rng streams derived from the seed drive the request
 * sequence, one per pattern for its ranks, one for the arrival times and
 * one for the rest (locality, mixed), so batching the ranks and times (for
 * speed: RANK_BATCH, GEN_CLOCK_BATCH) draws the same values as one at a
 * time; sizes and TTLs are functions of (seed, key) only, drawn from a
 * generator seeded by the key's hash, so an object has the same size
 * wherever and however often it appears.  Real-valued draws go through
 * gen_math.c; the values written (time in whole microseconds, sizes and
 * TTLs rounded to integers) are therefore the same on every machine.
 *
 * Speed (default workload, bench_tracegen): Zipf ranks come from an alias
 * table (gen_alias.c) in prefetched batches, exponential gaps from a
 * ziggurat, and the common case (one Zipf pattern, fixed sizes, no
 * locality) takes next_plain(): about 15-20 ns a request where rejection-
 * inversion and a log per gap took over 100 ns.
 *
 * Specs are "name:k=v,..." checked by sim_params_parse (see sim_gen.h for
 * the language).
 */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_gen.h"
#include "sim_policy.h"
#include "gen_internal.h"

#define KEY_SPACE (UINT64_C(1) << 40) /* automatic offsets: phase i from i*2^40+1 */
#define NMAX 1e15
#define RANK_BATCH 256 /* alias ranks drawn at a time: their table loads overlap */

enum pat_kind { PAT_ZIPF, PAT_UNIFORM, PAT_SCAN, PAT_LOOP, PAT_BURSTS, PAT_MIXED };

struct pattern {
    enum pat_kind kind;
    uint64_t n, offset, len;
    struct sim_zipf z;           /* ranks by rejection-inversion when n is large */
    struct gen_alias al;         /* ranks by an alias table (al.t) for n <= GEN_ALIAS_MAX */
    struct sim_rng rr;           /* the pattern's own stream of ranks */
    unsigned rat, rn;            /* alias ranks: next and count in rbuf */
    uint32_t rbuf[RANK_BATCH];   /* 0-based ranks drawn ahead */
    uint64_t pos;                /* scan/loop position; bursts: requests so far */
    uint64_t period, burst;      /* bursts */
    int ohw;                     /* bursts: one-hit wonders (else a cold scan) */
    uint64_t fresh;              /* bursts: next new key */
    uint64_t large_n;            /* mixed */
    double large_share;
    uint64_t small_size, large_size;
};

enum size_kind { SZ_FIXED, SZ_LOGNORMAL, SZ_PARETO, SZ_BIMODAL };
enum ttl_kind { TTL_NONE, TTL_FIXED, TTL_UNIFORM, TTL_EXP };

struct sim_gen_s {
    uint64_t seed, requests, emitted;
    struct sim_rng rng;          /* locality, mixed: which kind of request */
    struct sim_rng crng;         /* arrival times */
    uint32_t fields;             /* sim_gen_fields() */
    int (*next)(sim_gen *g, struct sim_req *req); /* next_plain() or next_general() */
    struct sim_req plain_req;    /* next_plain(): what every request shares */
    struct pattern *pat;
    size_t npat, cur;
    uint64_t in_phase;           /* requests emitted in the current phase */
    enum size_kind sk;
    double sz_a, sz_b, sz_p;     /* parameters of the size law */
    uint64_t sz_min, sz_max;
    enum ttl_kind tk;
    double ttl_a, ttl_b;
    struct gen_clock clk;
    double loc_p;
    uint64_t *ring, *ring_size;  /* last `window` keys and sizes */
    uint64_t window, ring_n, ring_at;
};

/*=====   Spec parsing   =====*/


#define P_N(def) {"n", SIM_P_INT, def, 1, NMAX, NULL, "number of objects"}
#define P_ALPHA {"alpha", SIM_P_REAL, "0.9", 0, 100, NULL, "Zipf exponent"}
#define P_OFFSET {"offset", SIM_P_INT, "0", 0, NMAX, NULL, "first key (0: automatic)"}
#define P_LEN {"len", SIM_P_INT, "0", 0, NMAX, NULL, "phase length in requests"}
#define P_END {NULL, 0, NULL, 0, 0, NULL, NULL}

static const struct sim_param_def zipf_defs[] = {P_N("100000"), P_ALPHA, P_OFFSET, P_LEN, P_END};
static const struct sim_param_def uniform_defs[] = {P_N("100000"), P_OFFSET, P_LEN, P_END};
static const struct sim_param_def scan_defs[] = {P_OFFSET, P_LEN, P_END};
static const struct sim_param_def loop_defs[] = {P_N("10000"), P_OFFSET, P_LEN, P_END};
static const struct sim_param_def bursts_defs[] = {
    P_N("100000"), P_ALPHA,
    {"period", SIM_P_INT, "10000", 1, NMAX, NULL, "requests between burst starts"},
    {"burst", SIM_P_INT, "2000", 1, NMAX, NULL, "requests per burst"},
    {"kind", SIM_P_ENUM, "ohw", 0, 0, "ohw|scan", "one-hit wonders or a cold scan"},
    P_OFFSET, P_LEN, P_END};
static const struct sim_param_def mixed_defs[] = {
    P_N("100000"), P_ALPHA,
    {"large_n", SIM_P_INT, "100", 1, NMAX, NULL, "number of large objects"},
    {"large_share", SIM_P_REAL, "0.1", 0, 1, NULL, "share of requests to large objects"},
    {"small", SIM_P_INT, "1024", 1, 4294967295.0, NULL, "small object size"},
    {"large", SIM_P_INT, "10485760", 1, 4294967295.0, NULL, "large object size"},
    P_OFFSET, P_LEN, P_END};

static const struct spec_kind pattern_kinds[] = {
    {"zipf", PAT_ZIPF, zipf_defs}, {"uniform", PAT_UNIFORM, uniform_defs},
    {"scan", PAT_SCAN, scan_defs}, {"loop", PAT_LOOP, loop_defs},
    {"bursts", PAT_BURSTS, bursts_defs}, {"mixed", PAT_MIXED, mixed_defs},
    {NULL, 0, NULL}};

#define P_SMAX(def) {"max", SIM_P_INT, def, 1, 4294967295.0, NULL, "largest size"}
static const struct sim_param_def fixed_defs[] = {
    {"size", SIM_P_INT, "4096", 1, 4294967295.0, NULL, "bytes"}, P_END};
static const struct sim_param_def lognormal_defs[] = {
    {"mu", SIM_P_REAL, "8", -50, 50, NULL, "mean of log size"},
    {"sigma", SIM_P_REAL, "1.5", 0, 20, NULL, "std. dev. of log size"},
    {"min", SIM_P_INT, "1", 1, 4294967295.0, NULL, "smallest size"},
    P_SMAX("4294967295"), P_END};
static const struct sim_param_def pareto_defs[] = {
    {"xm", SIM_P_REAL, "1024", 1, 4294967295.0, NULL, "scale (smallest size)"},
    {"shape", SIM_P_REAL, "1.2", 0.01, 100, NULL, "tail index"},
    P_SMAX("4294967295"), P_END};
static const struct sim_param_def bimodal_defs[] = {
    {"small", SIM_P_INT, "1024", 1, 4294967295.0, NULL, "small size"},
    {"large", SIM_P_INT, "1048576", 1, 4294967295.0, NULL, "large size"},
    {"p", SIM_P_REAL, "0.1", 0, 1, NULL, "probability of the large size"}, P_END};
static const struct spec_kind size_kinds[] = {
    {"fixed", SZ_FIXED, fixed_defs}, {"lognormal", SZ_LOGNORMAL, lognormal_defs},
    {"pareto", SZ_PARETO, pareto_defs}, {"bimodal", SZ_BIMODAL, bimodal_defs},
    {NULL, 0, NULL}};

static const struct sim_param_def none_defs[] = {P_END};
static const struct sim_param_def ttlfixed_defs[] = {
    {"ttl", SIM_P_INT, "3600", 1, 4294967295.0, NULL, "seconds"}, P_END};
static const struct sim_param_def ttluniform_defs[] = {
    {"min", SIM_P_INT, "60", 1, 4294967295.0, NULL, "seconds"},
    {"max", SIM_P_INT, "3600", 1, 4294967295.0, NULL, "seconds"}, P_END};
static const struct sim_param_def ttlexp_defs[] = {
    {"mean", SIM_P_REAL, "3600", 1, 4294967295.0, NULL, "seconds"}, P_END};
static const struct spec_kind ttl_kinds[] = {
    {"none", TTL_NONE, none_defs}, {"fixed", TTL_FIXED, ttlfixed_defs},
    {"uniform", TTL_UNIFORM, ttluniform_defs}, {"exp", TTL_EXP, ttlexp_defs},
    {NULL, 0, NULL}};

#define P_DIURNAL {"diurnal", SIM_P_REAL, "0", 0, 1, NULL, "relative amplitude of a daily cycle"}
#define P_PERIOD {"period", SIM_P_REAL, "86400", 1e-3, 1e12, NULL, "cycle length, seconds"}
#define P_RATE {"rate", SIM_P_REAL, "1000", 1e-9, 1e12, NULL, "requests per second"}
static const struct sim_param_def poisson_defs[] = {P_RATE, P_DIURNAL, P_PERIOD, P_END};
static const struct sim_param_def onoff_defs[] = {
    P_RATE, {"on", SIM_P_REAL, "10", 1e-6, 1e12, NULL, "seconds on"},
    {"off", SIM_P_REAL, "50", 0, 1e12, NULL, "seconds off"}, P_DIURNAL, P_PERIOD, P_END};
static const struct spec_kind arrival_kinds[] = {
    {"poisson", 0, poisson_defs}, {"onoff", 1, onoff_defs}, {NULL, 0, NULL}};

static const struct sim_param_def locality_defs[] = {
    {"p", SIM_P_REAL, "0", 0, 1, NULL, "probability of repeating a recent request"},
    {"window", SIM_P_INT, "100", 1, 1e8, NULL, "how many recent requests"}, P_END};

/* Parses "name[:params]" against `kinds`; what names the spec family in
 * messages ("pattern", "size distribution").  Returns the parameters and
 * sets *id, or NULL with err set. */
sim_params *gen_parse_spec(const char *what, const struct spec_kind *kinds,
                              const char *spec, int *id, char *err, size_t errlen)
{
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    for (const struct spec_kind *k = kinds; k->name; k++)
        if (strlen(k->name) == len && strncasecmp(k->name, spec, len) == 0) {
            *id = k->id;
            return sim_params_parse(k->name, k->defs, colon ? colon + 1 : "", err, errlen);
        }
    char names[256] = "";
    for (const struct spec_kind *k = kinds; k->name; k++) {
        strncat(names, k->name, sizeof names - strlen(names) - 1);
        if (k[1].name)
            strncat(names, ", ", sizeof names - strlen(names) - 1);
    }
    snprintf(err, errlen, "unknown %s '%.*s' (%s)", what, (int)len, spec, names);
    return NULL;
}

static int setup_pattern(struct pattern *p, size_t idx, uint64_t seed, const char *spec,
                         char *err, size_t errlen)
{
    int id;
    sim_params *sp = gen_parse_spec("pattern", pattern_kinds, spec, &id, err, errlen);
    if (!sp)
        return SIM_EINVAL;
    memset(p, 0, sizeof *p);
    p->kind = (enum pat_kind)id;
    p->offset = (uint64_t)sim_params_int(sp, "offset");
    if (!p->offset)
        p->offset = (uint64_t)idx * KEY_SPACE + 1;
    p->len = (uint64_t)sim_params_int(sp, "len");
    sim_rng_seed(&p->rr, sim_key_hash(seed + 3) + idx);
    p->n = 1;
    int rc = 0;
    if (id != PAT_SCAN)
        p->n = (uint64_t)sim_params_int(sp, "n");
    if (id == PAT_ZIPF || id == PAT_BURSTS || id == PAT_MIXED)
        rc = sim_zipf_init(&p->z, p->n, sim_params_real(sp, "alpha"), err, errlen);
    if (!rc && (id == PAT_ZIPF || id == PAT_BURSTS || id == PAT_MIXED) && p->n <= GEN_ALIAS_MAX
        && gen_alias_zipf(&p->al, p->n, p->z.alpha)) {
        snprintf(err, errlen, "out of memory");
        rc = SIM_ENOMEM;
    }
    if (id == PAT_BURSTS) {
        p->period = (uint64_t)sim_params_int(sp, "period");
        p->burst = (uint64_t)sim_params_int(sp, "burst");
        p->ohw = strcasecmp(sim_params_str(sp, "kind"), "ohw") == 0;
        p->fresh = p->offset + p->n + p->burst; /* after the Zipf and cold-scan keys */
        if (p->burst > p->period) {
            snprintf(err, errlen, "bursts: parameter 'burst' (%llu) exceeds 'period' (%llu)",
                     (unsigned long long)p->burst, (unsigned long long)p->period);
            rc = SIM_EINVAL;
        }
    }
    if (id == PAT_MIXED) {
        p->large_n = (uint64_t)sim_params_int(sp, "large_n");
        p->large_share = sim_params_real(sp, "large_share");
        p->small_size = (uint64_t)sim_params_int(sp, "small");
        p->large_size = (uint64_t)sim_params_int(sp, "large");
    }
    sim_params_free(sp);
    return rc;
}

static int setup_sizes(sim_gen *g, const char *spec, char *err, size_t errlen)
{
    int id;
    sim_params *sp = gen_parse_spec("size distribution", size_kinds, spec, &id, err, errlen);
    if (!sp)
        return SIM_EINVAL;
    g->sk = (enum size_kind)id;
    g->sz_min = 1;
    g->sz_max = UINT32_MAX;
    int rc = 0;
    switch (g->sk) {
    case SZ_FIXED: /* sz_min: the size as an integer, for object_size() */
        g->sz_a = (double)sim_params_int(sp, "size");
        g->sz_min = g->sz_max = (uint64_t)sim_params_int(sp, "size");
        break;
    case SZ_LOGNORMAL:
        g->sz_a = sim_params_real(sp, "mu");
        g->sz_b = sim_params_real(sp, "sigma");
        g->sz_min = (uint64_t)sim_params_int(sp, "min");
        g->sz_max = (uint64_t)sim_params_int(sp, "max");
        if (g->sz_min > g->sz_max) {
            snprintf(err, errlen, "lognormal: parameter 'min' exceeds 'max'");
            rc = SIM_EINVAL;
        }
        break;
    case SZ_PARETO:
        g->sz_a = sim_params_real(sp, "xm");
        g->sz_b = sim_params_real(sp, "shape");
        g->sz_max = (uint64_t)sim_params_int(sp, "max");
        break;
    case SZ_BIMODAL:
        g->sz_a = (double)sim_params_int(sp, "small");
        g->sz_b = (double)sim_params_int(sp, "large");
        g->sz_p = sim_params_real(sp, "p");
        break;
    }
    sim_params_free(sp);
    return rc;
}

static int setup_ttl(sim_gen *g, const char *spec, char *err, size_t errlen)
{
    int id;
    sim_params *sp = gen_parse_spec("TTL distribution", ttl_kinds, spec, &id, err, errlen);
    if (!sp)
        return SIM_EINVAL;
    g->tk = (enum ttl_kind)id;
    int rc = 0;
    if (id == TTL_FIXED)
        g->ttl_a = (double)sim_params_int(sp, "ttl");
    if (id == TTL_UNIFORM) {
        g->ttl_a = (double)sim_params_int(sp, "min");
        g->ttl_b = (double)sim_params_int(sp, "max");
        if (g->ttl_a > g->ttl_b) {
            snprintf(err, errlen, "uniform: parameter 'min' exceeds 'max'");
            rc = SIM_EINVAL;
        }
    }
    if (id == TTL_EXP)
        g->ttl_a = sim_params_real(sp, "mean");
    sim_params_free(sp);
    return rc;
}

int gen_clock_setup(struct gen_clock *c, const char *spec, char *err, size_t errlen)
{
    int id;
    sim_params *sp = gen_parse_spec("arrival process", arrival_kinds, spec, &id, err, errlen);
    if (!sp)
        return SIM_EINVAL;
    memset(c, 0, sizeof *c);
    c->onoff = id;
    c->rate = sim_params_real(sp, "rate");
    c->diurnal = sim_params_real(sp, "diurnal");
    c->period = sim_params_real(sp, "period");
    if (id) {
        c->on = sim_params_real(sp, "on");
        c->off = sim_params_real(sp, "off");
    }
    sim_params_free(sp);
    return 0;
}

static int setup_locality(sim_gen *g, const char *spec, char *err, size_t errlen)
{
    sim_params *sp = sim_params_parse("locality", locality_defs, spec, err, errlen);
    if (!sp)
        return SIM_EINVAL;
    g->loc_p = sim_params_real(sp, "p");
    g->window = (uint64_t)sim_params_int(sp, "window");
    sim_params_free(sp);
    if (g->loc_p > 0) {
        g->ring = calloc(g->window, sizeof *g->ring);
        g->ring_size = calloc(g->window, sizeof *g->ring_size);
        if (!g->ring || !g->ring_size) {
            snprintf(err, errlen, "out of memory");
            return SIM_ENOMEM;
        }
    }
    return 0;
}

/*=====   Drawing   =====*/

/* A generator for the per-object draws of `key`, independent of order. */
static void key_rng(const sim_gen *g, uint64_t key, uint64_t salt, struct sim_rng *r)
{
    sim_rng_seed(r, sim_key_hash(key ^ sim_key_hash(g->seed + salt)));
}

/* Rounds a positive real to an integer in [lo, hi]. */
static uint64_t clamp_round(double x, uint64_t lo, uint64_t hi)
{
    if (!(x >= (double)lo))
        return lo;
    if (x >= (double)hi)
        return hi;
    uint64_t v = (uint64_t)(x + 0.5);
    return v < lo ? lo : v > hi ? hi : v;
}

static uint64_t object_size(const sim_gen *g, uint64_t key)
{
    struct sim_rng r;
    if (g->sk == SZ_FIXED)
        return g->sz_min;
    key_rng(g, key, 1, &r);
    switch (g->sk) {
    case SZ_LOGNORMAL:
        return clamp_round(sim_gen_exp(g->sz_a + g->sz_b * sim_gen_normal(&r)), g->sz_min,
                           g->sz_max);
    case SZ_PARETO: /* xm * U^(-1/shape) */
        return clamp_round(g->sz_a * sim_gen_exp(-sim_gen_log(sim_gen_unit_open(&r)) / g->sz_b),
                           1, g->sz_max);
    case SZ_BIMODAL:
        return (uint64_t)(sim_rng_unit(&r) < g->sz_p ? g->sz_b : g->sz_a);
    default:
        return (uint64_t)g->sz_a;
    }
}

static uint32_t object_ttl(const sim_gen *g, uint64_t key)
{
    struct sim_rng r;
    if (g->tk == TTL_NONE)
        return 0;
    if (g->tk == TTL_FIXED)
        return (uint32_t)g->ttl_a;
    key_rng(g, key, 2, &r);
    if (g->tk == TTL_UNIFORM)
        return (uint32_t)(g->ttl_a + (double)sim_rng_below(&r, (uint64_t)(g->ttl_b - g->ttl_a) + 1));
    return (uint32_t)clamp_round(-g->ttl_a * sim_gen_log(sim_gen_unit_open(&r)), 1, UINT32_MAX);
}

/* Refills p->rbuf in two passes: the buckets first, each prefetched, then
 * the table lookups.  For 10^5 ranks the table is 800 KB, beyond L2, so a
 * lookup is a cache miss; one at a time, each request waited for its miss
 * (half the generator's time), and even in a plain loop the misses
 * overlapped too little. */
static void draw_ranks(struct pattern *p)
{
    uint32_t low[RANK_BATCH];
    struct sim_rng rr = p->rr; /* a local: kept in registers */
    for (unsigned i = 0; i < RANK_BATCH; i++) {
        p->rbuf[i] = gen_alias_bucket(&p->al, &rr, &low[i]);
#ifdef __GNUC__
        __builtin_prefetch(&p->al.t[p->rbuf[i]]);
#endif
    }
    p->rr = rr;
    for (unsigned i = 0; i < RANK_BATCH; i++)
        p->rbuf[i] = gen_alias_rank(&p->al, p->rbuf[i], low[i]);
    p->rat = 0;
    p->rn = RANK_BATCH;
}

/* The pattern's next Zipf rank, in [1, n], from its own stream p->rr (so
 * the ranks do not depend on how the other draws interleave). */
static inline uint64_t zipf_rank(struct pattern *p)
{
    if (!p->al.t)
        return sim_zipf_next(&p->z, &p->rr);
    if (p->rat == p->rn)
        draw_ranks(p);
    return (uint64_t)p->rbuf[p->rat++] + 1;
}

/* One key from pattern p; sets *size when the pattern dictates sizes. */
static uint64_t pattern_key(struct pattern *p, struct sim_rng *r, uint64_t *size)
{
    switch (p->kind) {
    case PAT_ZIPF:
        return p->offset + zipf_rank(p) - 1;
    case PAT_UNIFORM:
        return p->offset + sim_rng_below(&p->rr, p->n);
    case PAT_SCAN:
        return p->offset + p->pos++;
    case PAT_LOOP:
        return p->offset + p->pos++ % p->n;
    case PAT_BURSTS: {
        uint64_t phase = p->pos++ % p->period;
        if (phase >= p->period - p->burst) { /* the burst closes each period */
            if (p->ohw)
                return p->fresh++;
            return p->offset + p->n + (phase - (p->period - p->burst));
        }
        return p->offset + zipf_rank(p) - 1;
    }
    case PAT_MIXED:
        if (sim_rng_unit(r) < p->large_share) {
            *size = p->large_size;
            return p->offset + p->n + sim_rng_below(r, p->large_n);
        }
        *size = p->small_size;
        return p->offset + zipf_rank(p) - 1;
    }
    return 0;
}

/* Seconds until the next arrival at the instantaneous rate (a piecewise
 * approximation of the non-homogeneous process, exact for diurnal = 0). */
static double next_gap(const struct gen_clock *c, struct sim_rng *r)
{
    double rate = c->rate;
    if (c->diurnal > 0)
        rate *= 1 + c->diurnal * sim_gen_sin(6.28318530717958647692 * c->clock / c->period);
    if (rate < c->rate * 1e-3)
        rate = c->rate * 1e-3;
    return sim_gen_exponential(r) / rate;
}

/* Plain Poisson: the next GEN_CLOCK_BATCH arrival times at once. */
static void clock_fill(struct gen_clock *c, struct sim_rng *r)
{
    double gap[GEN_CLOCK_BATCH];
    sim_gen_exponentials(r, gap, GEN_CLOCK_BATCH);
    for (unsigned i = 0; i < GEN_CLOCK_BATCH; i++) {
        if (c->started)
            c->clock += gap[i] / c->rate;
        c->started = 1;
        c->tbuf[i] = (uint64_t)(c->clock * 1e6); /* clock >= 0: truncation is floor */
    }
    c->tat = 0;
    c->tn = GEN_CLOCK_BATCH;
}

uint64_t gen_clock_next(struct gen_clock *c, struct sim_rng *r)
{
    if (!c->onoff && c->diurnal == 0) {
        if (c->tat == c->tn)
            clock_fill(c, r);
        return c->tbuf[c->tat++];
    }
    if (c->started) {
        double gap = next_gap(c, r);
        if (!c->onoff)
            c->clock += gap;
        else { /* on/off: arrivals happen in "on" time; map it to wall time */
            c->active += gap;
            double cycles = floor(c->active / c->on);
            c->clock = cycles * (c->on + c->off) + (c->active - cycles * c->on);
        }
    }
    c->started = 1;
    return (uint64_t)(c->clock * 1e6); /* clock >= 0: truncation is floor */
}

/* sim_gen_next() for the plain case (see `plain`): the same draws in the
 * same order, without the branches of the general path. */
static int next_plain(sim_gen *g, struct sim_req *req)
{
    struct pattern *p = g->pat;
    if (p->rat == p->rn)
        draw_ranks(p);
    *req = g->plain_req;
    req->key = p->offset + p->rbuf[p->rat++];
    req->time = gen_clock_take(&g->clk, &g->crng);
    req->index = g->emitted++;
    return 1;
}

/* sim_gen_next() in general: phases, locality, per-object sizes and TTLs. */
static int next_general(sim_gen *g, struct sim_req *req)
{
    struct pattern *p = &g->pat[g->cur];
    if (g->npat > 1 && g->in_phase >= p->len) {
        g->cur = (g->cur + 1) % g->npat;
        g->in_phase = 0;
        p = &g->pat[g->cur];
    }
    static const struct sim_req zero; /* a struct copy: faster than memset's rep stos */
    *req = zero;
    uint64_t size = 0, key;
    if (g->loc_p > 0 && g->ring_n && sim_rng_unit(&g->rng) < g->loc_p) {
        uint64_t i = sim_rng_below(&g->rng, g->ring_n);
        key = g->ring[i];
        size = g->ring_size[i];
    } else {
        key = pattern_key(p, &g->rng, &size);
        if (!size)
            size = object_size(g, key);
    }
    if (g->ring) {
        g->ring[g->ring_at] = key;
        g->ring_size[g->ring_at] = size;
        g->ring_at = (g->ring_at + 1) % g->window;
        if (g->ring_n < g->window)
            g->ring_n++;
    }
    req->time = gen_clock_take(&g->clk, &g->crng);
    req->index = g->emitted++;
    g->in_phase++;
    req->key = key;
    req->size = size;
    req->next_access = -1;
    req->op = SIM_OP_GET;
    req->ttl = object_ttl(g, key);
    req->present = g->fields;
    return 1;
}

/* Through a pointer, so that the short plain path does not pay the general
 * path's register saves (the compiler merged the two into one frame). */
int sim_gen_next(sim_gen *g, struct sim_req *req)
{
    return g->emitted < g->requests ? g->next(g, req) : 0;
}

uint32_t sim_gen_fields(const sim_gen *g)
{
    return SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_OP | (g->tk != TTL_NONE ? SIM_F_TTL : 0);
}

void sim_gen_free(sim_gen *g)
{
    if (!g)
        return;
    for (size_t i = 0; g->pat && i < g->npat; i++)
        gen_alias_free(&g->pat[i].al);
    free(g->pat);
    free(g->ring);
    free(g->ring_size);
    free(g);
}

sim_gen *sim_gen_create(const struct sim_gen_config *cfg, char *err, size_t errlen)
{
    static const char *const def_pattern[] = {"zipf"};
    const char *const *pats = cfg->npatterns ? cfg->patterns : def_pattern;
    size_t npat = cfg->npatterns ? cfg->npatterns : 1;
    if (cfg->requests == 0) {
        snprintf(err, errlen, "the number of requests must be positive");
        return NULL;
    }
    sim_gen *g = calloc(1, sizeof *g);
    if (g)
        g->pat = calloc(npat, sizeof *g->pat);
    if (!g || !g->pat) {
        snprintf(err, errlen, "out of memory");
        sim_gen_free(g);
        return NULL;
    }
    g->seed = cfg->seed;
    g->requests = cfg->requests;
    g->npat = npat;
    sim_rng_seed(&g->rng, cfg->seed);
    sim_rng_seed(&g->crng, sim_key_hash(cfg->seed + 4));
    int rc = 0;
    for (size_t i = 0; !rc && i < npat; i++) {
        rc = setup_pattern(&g->pat[i], i, cfg->seed, pats[i], err, errlen);
        if (!rc && npat > 1 && g->pat[i].len == 0) {
            snprintf(err, errlen, "%s: parameter 'len' must be set when there are phases",
                     pats[i]);
            rc = SIM_EINVAL;
        }
    }
    if (!rc)
        rc = setup_sizes(g, cfg->sizes ? cfg->sizes : "fixed", err, errlen);
    if (!rc)
        rc = setup_ttl(g, cfg->ttl ? cfg->ttl : "none", err, errlen);
    if (!rc)
        rc = gen_clock_setup(&g->clk, cfg->arrivals ? cfg->arrivals : "poisson", err, errlen);
    if (!rc)
        rc = setup_locality(g, cfg->locality ? cfg->locality : "", err, errlen);
    if (rc) {
        sim_gen_free(g);
        return NULL;
    }
    g->fields = sim_gen_fields(g);
    /* plain: one Zipf pattern with a table, fixed sizes, fixed or no TTLs,
     * no locality */
    int plain = npat == 1 && g->pat[0].kind == PAT_ZIPF && g->pat[0].al.t && g->sk == SZ_FIXED
                && (g->tk == TTL_NONE || g->tk == TTL_FIXED) && !g->ring;
    g->next = plain ? next_plain : next_general;
    g->plain_req.size = object_size(g, 0);
    g->plain_req.ttl = object_ttl(g, 0);
    g->plain_req.next_access = -1;
    g->plain_req.op = SIM_OP_GET;
    g->plain_req.present = g->fields;
    return g;
}
