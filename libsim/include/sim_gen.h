/*
 * sim_gen.h - libsim's synthetic workloads: samplers and trace generators.
 *
 * Introduction
 * ------------
 * Everything here is deterministic: the same seed gives the same requests,
 * bit for bit, on every machine with IEEE-754 doubles.  Randomness comes only
 * from sim_rng (sim.h).  The transcendental functions that decide an output
 * value (log, exp, sin) are libsim's own, written with +, -, *, / and exact
 * scalings only (sim_gen_log() etc. below), because the C library's may differ
 * in their last bits between libcs and versions, and one flipped bit in a
 * rejection test changes every later request.  The files are compiled without
 * floating-point contraction (no FMA), so the same operations round the same
 * way everywhere.
 *
 * Two levels:
 *   1. Samplers: sim_zipf (exact Zipf over N ranks, O(1) per draw, no table),
 *      exponential variates by a ziggurat, and the helpers below.  (sim_gen
 *      itself draws Zipf ranks for n <= 2^20 from an alias table: one random
 *      word and one table load per draw.)
 *   2. Workloads: sim_gen turns a few text specs ("zipf:n=1000,alpha=0.9")
 *      into a stream of struct sim_req: popularity patterns and their phases,
 *      object sizes, TTLs, arrival times and temporal locality.  See
 *      sim_gen_create() for the spec language; tracegen(1) is its front end.
 *
 * Since 0.1.  Experimental: spec names and defaults may still change.
 */
#ifndef SIM_GEN_H
#define SIM_GEN_H

#include "sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/*=====   Deterministic elementary functions   =====*/

/*! sim_gen_log(), sim_gen_exp(), sim_gen_log1p(), sim_gen_expm1(), sim_gen_sin() :
 * The natural logarithm, e^x, log(1+x), e^x - 1 and sin(x), accurate to a
 * few units in the last place, computed from IEEE basic operations only, so
 * that results are identical on every platform.  log of 0 is -HUGE_VAL, of a
 * negative number NaN; exp overflows to HUGE_VAL and underflows to 0.
 * Cannot fail. */
double sim_gen_log(double x);
double sim_gen_exp(double x);
double sim_gen_log1p(double x);
double sim_gen_expm1(double x);
double sim_gen_sin(double x);

/*! sim_gen_normal() : a standard normal variate (Marsaglia's polar method). */
double sim_gen_normal(struct sim_rng *g);

/*! sim_gen_exponential() :
 * A standard exponential variate (mean 1), by the ziggurat method: exact,
 * about 1.01 random words per draw and no logarithm in 98.9% of draws. */
double sim_gen_exponential(struct sim_rng *g);

/*! sim_gen_exponentials() :
 * n exponential variates into out[], the same as n calls of
 * sim_gen_exponential() in a row, without the call overhead. */
void sim_gen_exponentials(struct sim_rng *g, double *out, size_t n);

/*! sim_gen_unit_open() : uniform in (0, 1), never 0 (safe to take a log). */
double sim_gen_unit_open(struct sim_rng *g);

/*=====   Zipf   =====*/

/*
 * Zipf(alpha) over ranks 1..n: P(k) proportional to k^-alpha, alpha >= 0
 * (alpha = 0 is uniform, alpha = 1 is handled like any other).  Sampled by
 * rejection-inversion (W. Hormann and G. Derflinger, "Rejection-inversion to
 * generate variates from monotone discrete distributions", ACM TOMACS 6(3),
 * 1996): O(1) expected time per draw (fewer than 1.1 uniforms on average),
 * no table, exact up to floating-point rounding of the hat function.
 */
struct sim_zipf {
    uint64_t n;
    double alpha;
    double h_x1;    /* H(1.5) - h(1) */
    double h_n;     /* H(n + 0.5) */
    double s;       /* squeeze: 2 - Hinv(H(2.5) - h(2)) */
    double acc[16]; /* acc[k] = H(k + 0.5) - h(k) for the head ranks k < 16,
                     * where the squeeze fails most (saves 2 log + 2 exp) */
};

/*! sim_zipf_init() :
 * @return 0, or SIM_EINVAL (with a message naming the parameter) if n is 0
 *         or above 2^53, or alpha is negative, not finite or above 100. */
int sim_zipf_init(struct sim_zipf *z, uint64_t n, double alpha, char *err, size_t errlen);

/*! sim_zipf_next() : one rank in [1, n].  Cannot fail. */
uint64_t sim_zipf_next(const struct sim_zipf *z, struct sim_rng *g);

/*=====   Workload generator   =====*/

/*
 * A workload is described by text specs, each "name" or "name:key=value,...".
 * Parameters are checked like policy parameters (sim_policy.h): unknown keys,
 * bad numbers and values out of bounds are errors naming the key.
 *
 * Popularity patterns (one or more; several run as phases in turn, each for
 * `len` requests, cycling until the trace ends):
 *   zipf:n=,alpha=,offset=,len=      Zipf over keys offset+rank-1
 *   uniform:n=,offset=,len=
 *   scan:offset=,len=                every request a new key (offset, +1, ...)
 *   loop:n=,offset=,len=             keys offset..offset+n-1 in a cycle
 *   bursts:n=,alpha=,period=,burst=,kind=ohw|scan,offset=,len=
 *       Cold-RL's periodic bursts: Zipf traffic, and every `period` requests
 *       `burst` requests of either one-hit wonders (ohw: new keys) or a scan
 *       of the same `burst` cold keys each time (scan: flushes LRU)
 *   mixed:n=,alpha=,large_n=,large_share=,small=,large=,offset=,len=
 *       Cold-RL's mixed sizes: n small popular objects (Zipf, `small`
 *       bytes) and large_n large ones (uniform, `large` bytes) receiving
 *       large_share of the requests; sizes override the size distribution
 * offset=0 (the default) means automatic: phase i uses keys from
 * i * 2^40 + 1, so phases do not share keys unless told to.
 *
 * Sizes (per object, drawn from the key: an object always has one size):
 *   fixed:size=  lognormal:mu=,sigma=,min=,max=  pareto:xm=,shape=,max=
 *   bimodal:small=,large=,p=           (p: probability of large)
 * TTLs (per object, seconds; 0 = none):
 *   none  fixed:ttl=  uniform:min=,max=  exp:mean=
 * Arrivals (microsecond clock from 0):
 *   poisson:rate=,diurnal=,period=     rate req/s; the rate is multiplied by
 *                                      1 + diurnal*sin(2 pi t / period)
 *   onoff:rate=,on=,off=,diurnal=,period=  Poisson at `rate` during `on`
 *                                      seconds, silent for `off` seconds
 * Locality:
 *   p=,window=       with probability p a request repeats one of the last
 *                    `window` requests (uniformly); 0 = none
 */
struct sim_gen_config {
    uint64_t seed;
    uint64_t requests;              /* trace length; > 0 */
    const char *const *patterns;    /* npatterns specs; NULL/0: default zipf */
    size_t npatterns;
    const char *sizes;              /* NULL: "fixed:size=4096" */
    const char *ttl;                /* NULL: "none" */
    const char *arrivals;           /* NULL: "poisson:rate=1000" */
    const char *locality;           /* NULL: none */
};

typedef struct sim_gen_s sim_gen;

/*! sim_gen_create() :
 * Checks every spec and builds the generator.
 * @return the generator, or NULL with a message in err (SIM_EINVAL class
 *         errors name the spec and parameter, e.g. "zipf: parameter 'alpha':
 *         -1 is outside [0, 100]"). */
sim_gen *sim_gen_create(const struct sim_gen_config *cfg, char *err, size_t errlen);

/*! sim_gen_next() :
 * The next request (index, time, key, size, op GET, ttl when TTLs are on).
 * @return 1, or 0 after cfg->requests requests. */
int sim_gen_next(sim_gen *g, struct sim_req *req);

/*! sim_gen_fields() : the SIM_F_* fields the requests carry. */
uint32_t sim_gen_fields(const sim_gen *g);

/*! sim_gen_free() : accepts NULL. */
void sim_gen_free(sim_gen *g);

#ifdef __cplusplus
}
#endif
#endif /* SIM_GEN_H */
