/*
 * check_gen.c - the workload generators: deterministic elementary functions
 * (against libm), the Zipf sampler (rank-frequency slope and a chi-square
 * test against the exact law), and sim_gen's patterns, sizes, TTLs, arrivals
 * and locality (properties checked directly on the generated requests).
 * The LLM workloads (sim_genllm.h) are tested in check_genllm.c.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "sim_gen.h"
#include "gen_internal.h" /* the alias table, checked bucket by bucket */

/*=====   helpers   =====*/

static sim_gen *make_gen(uint64_t seed, uint64_t n, const char *pattern, const char *sizes,
                         const char *ttl, const char *arrivals, const char *locality)
{
    char err[SIM_ERRLEN];
    const char *pats[] = {pattern};
    struct sim_gen_config cfg = {seed, n, pats, pattern ? 1 : 0, sizes, ttl, arrivals,
                                 locality};
    sim_gen *g = sim_gen_create(&cfg, err, sizeof err);
    ck_assert_msg(g != NULL, "%s", err);
    return g;
}

/* The error message sim_gen_create gives for a bad config, or "" if none. */
static const char *gen_error(const char *const *pats, size_t npats, const char *sizes,
                             const char *ttl, const char *arrivals, const char *locality,
                             uint64_t requests)
{
    static char err[SIM_ERRLEN];
    struct sim_gen_config cfg = {1, requests, pats, npats, sizes, ttl, arrivals, locality};
    err[0] = 0;
    sim_gen *g = sim_gen_create(&cfg, err, sizeof err);
    if (g) {
        sim_gen_free(g);
        return "";
    }
    return err;
}

static double rel_err(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-300); }

/*=====   elementary functions   =====*/

START_TEST(math_matches_libm)
{
    /* libm is correct to < 1 ulp; ours claim a few ulps: 1e-15 relative. */
    for (double x = 1e-300; x < 1e300; x *= 1.0137)
        ck_assert_msg(rel_err(sim_gen_log(x), log(x)) < 1e-15, "log(%a)", x);
    for (double x = -700; x < 700; x += 0.01371)
        ck_assert_msg(rel_err(sim_gen_exp(x), exp(x)) < 1e-15, "exp(%a)", x);
    for (double x = -0.999; x < 5; x += 0.000731)
        ck_assert_msg(rel_err(sim_gen_log1p(x), log1p(x)) < 2e-15, "log1p(%a)", x);
    for (double x = -5; x < 5; x += 0.000731)
        ck_assert_msg(rel_err(sim_gen_expm1(x), expm1(x)) < 2e-15, "expm1(%a)", x);
    for (double x = -50; x < 50; x += 0.00123)
        ck_assert_msg(fabs(sim_gen_sin(x) - sin(x)) < 1e-14, "sin(%a)", x);
}
END_TEST

START_TEST(math_limits)
{
    ck_assert(sim_gen_log(0) == -HUGE_VAL);
    ck_assert(isnan(sim_gen_log(-1)));
    ck_assert(sim_gen_log(1) == 0);
    ck_assert(sim_gen_exp(0) == 1);
    ck_assert(sim_gen_exp(1000) == HUGE_VAL);
    ck_assert(sim_gen_exp(-1000) == 0);
    ck_assert(rel_err(sim_gen_log(4.9e-324), log(4.9e-324)) < 1e-15); /* subnormal */
    ck_assert(sim_gen_log1p(1e-300) == 1e-300);
    ck_assert(sim_gen_expm1(1e-300) == 1e-300);
}
END_TEST

/*
 * Exponential variates (the ziggurat): chi-square over 40 bins of equal
 * probability, edges -log(1 - j/40) computed here with libm, 10^6 draws:
 * df = 39, sd sqrt(78) = 8.8; fail above mean + 6 sd.  Mean 1 (sd of the
 * mean 0.001).  The tail beyond the base layer's r = 7.697 has probability
 * e^-7.697 = 4.54e-4, 454 expected (sd 21): it has its own code path.
 */
START_TEST(exponential_law)
{
    enum { DRAWS = 1000000, BINS = 40 };
    struct sim_rng g;
    sim_rng_seed(&g, 11);
    static double x[DRAWS];
    for (int i = 0; i < DRAWS / 2; i++)
        x[i] = sim_gen_exponential(&g);
    sim_gen_exponentials(&g, x + DRAWS / 2, DRAWS / 2);
    uint32_t count[BINS] = {0};
    double sum = 0;
    int tail = 0, negative = 0;
    for (int i = 0; i < DRAWS; i++) {
        negative += x[i] < 0;
        sum += x[i];
        tail += x[i] > 7.69711747013104972;
        int b = (int)(BINS * (1 - exp(-x[i]))); /* the CDF puts x in bin b */
        count[b < BINS ? b : BINS - 1]++;
    }
    double chi = 0, e = (double)DRAWS / BINS;
    for (int b = 0; b < BINS; b++)
        chi += (count[b] - e) * (count[b] - e) / e;
    ck_assert_int_eq(negative, 0);
    ck_assert_msg(chi < 39 + 6 * 8.8, "chi2 %g", chi);
    ck_assert_msg(fabs(sum / DRAWS - 1) < 0.005, "mean %g", sum / DRAWS);
    ck_assert_msg(abs(tail - 454) < 6 * 21, "tail %d", tail);
}
END_TEST

START_TEST(normal_moments)
{
    /* Mean 0 and variance 1: with 10^6 draws the standard errors are
     * 0.001 and 0.0014; allow 5 of them. */
    struct sim_rng g;
    sim_rng_seed(&g, 7);
    double s = 0, s2 = 0;
    for (int i = 0; i < 1000000; i++) {
        double z = sim_gen_normal(&g);
        s += z;
        s2 += z * z;
    }
    ck_assert_double_lt(fabs(s / 1e6), 0.005);
    ck_assert_double_lt(fabs(s2 / 1e6 - 1), 0.007);
}
END_TEST

/*=====   Zipf   =====*/

/* Fills count[1..n] with the ranks of `draws` Zipf(alpha) draws: from
 * sim_zipf (rejection-inversion) or, with `table`, from sim_gen's zipf
 * pattern (the alias table; keys are ranks, phase 0 starting at key 1). */
static void count_draws(uint64_t n, double alpha, uint64_t seed, int draws, uint32_t *count,
                        int table)
{
    char err[SIM_ERRLEN];
    struct sim_zipf z;
    ck_assert_int_eq(sim_zipf_init(&z, n, alpha, err, sizeof err), 0);
    memset(count, 0, (n + 1) * sizeof *count);
    struct sim_rng g;
    sim_rng_seed(&g, seed);
    char spec[64];
    snprintf(spec, sizeof spec, "zipf:n=%llu,alpha=%.17g", (unsigned long long)n, alpha);
    sim_gen *gen = table ? make_gen(seed, (uint64_t)draws, spec, NULL, NULL, NULL, NULL) : NULL;
    int bad = 0; /* counted, not asserted each time: Check logs every assertion */
    for (int i = 0; i < draws; i++) {
        struct sim_req q;
        uint64_t k = q.key = 0;
        if (table)
            k = sim_gen_next(gen, &q) == 1 ? q.key : 0;
        else
            k = sim_zipf_next(&z, &g);
        if (k >= 1 && k <= n)
            count[k]++;
        else
            bad++;
    }
    ck_assert_int_eq(bad, 0);
    sim_gen_free(gen);
}

/*
 * Least-squares slope of log(count) on log(rank), 10^6 draws over n = 10^4.
 * The fit uses ranks 1..K where K is the last rank whose *expected* count
 * (from the exact law, computed here with libm) is at least 200: choosing
 * ranks by observed counts would bias the tail upwards, and counts of 200 or
 * more have a relative noise under 7% (Poisson), small against the range of
 * log counts fitted.  The expected slope is -alpha.
 */
static double fitted_slope(double alpha, uint64_t seed, int table)
{
    enum { N = 10000, DRAWS = 1000000 };
    static uint32_t count[N + 1];
    count_draws(N, alpha, seed, DRAWS, count, table);
    double norm = 0;
    for (int k = 1; k <= N; k++)
        norm += pow(k, -alpha);
    int last = 1;
    while (last < N && DRAWS * pow(last + 1, -alpha) / norm >= 200)
        last++;
    ck_assert_int_ge(last, 30);
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int k = 1; k <= last; k++) {
        double x = log(k), y = log(count[k]);
        sx += x, sy += y, sxx += x * x, sxy += x * y;
    }
    return (last * sxy - sx * sy) / (last * sxx - sx * sx);
}

/* _i 0-2: sim_zipf; 3-5: sim_gen's alias table. */
START_TEST(zipf_slope_matches_alpha)
{
    static const double alphas[] = {0.6, 0.9, 1.2};
    double a = alphas[_i % 3];
    double slope = fitted_slope(a, 42 + (uint64_t)_i, _i >= 3);
    ck_assert_msg(fabs(slope + a) < 0.02, "alpha %g (%s): slope %g", a,
                  _i >= 3 ? "table" : "sim_zipf", slope);
}
END_TEST

/*
 * Chi-square goodness of fit against the exact pmf k^-alpha / H(n, alpha),
 * n = 1000, 10^6 draws: df = 999, the statistic has mean 999 and standard
 * deviation sqrt(2 * 999) = 44.7; fail above mean + 6 sd.  Covers alpha = 0
 * (uniform), alpha = 1 (the special case of the hat) and alpha = 1.5.
 */
START_TEST(zipf_exact_law)
{
    static const double alphas[] = {0, 0.5, 1, 1.5}; /* _i 4-7: the alias table */
    enum { N = 1000, DRAWS = 1000000 };
    double a = alphas[_i % 4];
    static uint32_t count[N + 1];
    count_draws(N, a, 99, DRAWS, count, _i >= 4);
    double norm = 0, chi = 0;
    for (int k = 1; k <= N; k++)
        norm += pow(k, -a);
    for (int k = 1; k <= N; k++) {
        double e = DRAWS * pow(k, -a) / norm;
        chi += (count[k] - e) * (count[k] - e) / e;
    }
    ck_assert_msg(chi < 999 + 6 * 44.7, "alpha %g: chi2 %g", a, chi);
}
END_TEST

/*
 * The alias table holds the law exactly: summing, for each rank, its own
 * share thr of its bucket and the 2^32 - thr of every bucket that aliases
 * to it gives m_k, which must equal n 2^32 k^-alpha / H(n, alpha) (libm
 * here) to within the quantisation: 2n units on rank 1, 1 unit elsewhere,
 * plus the weights' rounding (1e-12 relative).
 */
START_TEST(alias_table_exact)
{
    static const double alphas[] = {0, 0.6, 0.9, 1, 1.5, 100};
    enum { N = 5000 };
    double a = alphas[_i];
    struct gen_alias al;
    ck_assert_int_eq(gen_alias_zipf(&al, N, a), 0);
    static double got[N];
    memset(got, 0, sizeof got);
    for (uint32_t b = 0; b < N; b++) {
        ck_assert_uint_lt(al.t[b].alias, N);
        got[b] += al.t[b].thr;
        got[al.t[b].alias] += 4294967296.0 - al.t[b].thr;
    }
    double norm = 0;
    for (int k = 1; k <= N; k++)
        norm += pow(k, -a);
    for (int k = 1; k <= N; k++) {
        double want = N * 4294967296.0 * pow(k, -a) / norm;
        double slack = (k == 1 ? 2 * N : 1) + 1e-12 * want;
        ck_assert_msg(fabs(got[k - 1] - want) <= slack, "alpha %g rank %d: %.1f vs %.1f", a,
                      k, got[k - 1], want);
    }
    gen_alias_free(&al);
}
END_TEST

START_TEST(zipf_limits)
{
    char err[SIM_ERRLEN];
    struct sim_zipf z;
    struct sim_rng g;
    sim_rng_seed(&g, 1);
    ck_assert_int_eq(sim_zipf_init(&z, 1, 0.9, err, sizeof err), 0);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(sim_zipf_next(&z, &g), 1);
    uint64_t big = UINT64_C(1) << 53;
    ck_assert_int_eq(sim_zipf_init(&z, big, 0.5, err, sizeof err), 0);
    for (int i = 0; i < 10000; i++) {
        uint64_t k = sim_zipf_next(&z, &g);
        ck_assert(k >= 1 && k <= big);
    }
    /* alpha = 100: P(1) = 1/(1 + 2^-100 + ...): always rank 1 in practice. */
    ck_assert_int_eq(sim_zipf_init(&z, 1000, 100, err, sizeof err), 0);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(sim_zipf_next(&z, &g), 1);
}
END_TEST

START_TEST(zipf_bad_parameters)
{
    char err[SIM_ERRLEN];
    struct sim_zipf z;
    ck_assert_int_eq(sim_zipf_init(&z, 0, 1, err, sizeof err), SIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "'n'"));
    ck_assert_int_eq(sim_zipf_init(&z, 10, -0.1, err, sizeof err), SIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "'alpha'"));
    ck_assert_int_eq(sim_zipf_init(&z, 10, NAN, err, sizeof err), SIM_EINVAL);
}
END_TEST

/*=====   sim_gen   =====*/

START_TEST(same_seed_same_requests)
{
    sim_gen *a = make_gen(5, 20000, "zipf:alpha=1.1", "lognormal", "exp:mean=100", NULL,
                          "p=0.2,window=50");
    sim_gen *b = make_gen(5, 20000, "zipf:alpha=1.1", "lognormal", "exp:mean=100", NULL,
                          "p=0.2,window=50");
    sim_gen *c = make_gen(6, 20000, "zipf:alpha=1.1", "lognormal", "exp:mean=100", NULL,
                          "p=0.2,window=50");
    struct sim_req x, y, w;
    int differ = 0;
    for (uint64_t i = 0; i < 20000; i++) {
        ck_assert_int_eq(sim_gen_next(a, &x), 1);
        ck_assert_int_eq(sim_gen_next(b, &y), 1);
        ck_assert_int_eq(sim_gen_next(c, &w), 1);
        ck_assert_uint_eq(x.index, i);
        ck_assert(x.key == y.key && x.time == y.time && x.size == y.size && x.ttl == y.ttl);
        differ += x.key != w.key;
    }
    ck_assert_int_eq(sim_gen_next(a, &x), 0);
    ck_assert_int_gt(differ, 10000);
    sim_gen_free(a);
    sim_gen_free(b);
    sim_gen_free(c);
}
END_TEST

/* Sizes are a function of the key: same key, same size, in any pattern. */
START_TEST(sizes_per_object)
{
    sim_gen *g = make_gen(3, 50000, "zipf:n=1000", "lognormal:mu=7,sigma=1", NULL, NULL, NULL);
    static uint64_t size_of[1001];
    memset(size_of, 0, sizeof size_of);
    struct sim_req q;
    uint64_t below = 0, objects = 0;
    while (sim_gen_next(g, &q) == 1) {
        ck_assert(q.key >= 1 && q.key <= 1000);
        if (!size_of[q.key]) {
            size_of[q.key] = q.size;
            objects++;
            below += q.size < 1097; /* e^7 = 1096.6: the median */
        }
        ck_assert_uint_eq(size_of[q.key], q.size);
    }
    /* Half the objects below the median: binomial sd sqrt(1000)/2 = 16. */
    ck_assert_uint_eq(objects, 1000);
    ck_assert_msg(below > 500 - 80 && below < 500 + 80, "below median: %llu",
                  (unsigned long long)below);
    sim_gen_free(g);
}
END_TEST

START_TEST(size_laws)
{
    struct sim_req q;
    sim_gen *g = make_gen(1, 1000, "scan", "fixed:size=777", NULL, NULL, NULL);
    while (sim_gen_next(g, &q) == 1)
        ck_assert_uint_eq(q.size, 777);
    sim_gen_free(g);
    /* Pareto: never below xm; P(size > 2 xm) = 2^-shape = 0.5 for shape 1. */
    g = make_gen(1, 100000, "scan", "pareto:xm=100,shape=1", NULL, NULL, NULL);
    uint64_t over = 0;
    while (sim_gen_next(g, &q) == 1) {
        ck_assert_uint_ge(q.size, 100);
        over += q.size > 200;
    }
    ck_assert_msg(over > 49000 && over < 51000, "pareto tail %llu", (unsigned long long)over);
    sim_gen_free(g);
    /* Bimodal p = 0.25 over 10^5 distinct objects: sd 137. */
    g = make_gen(1, 100000, "scan", "bimodal:small=10,large=1000,p=0.25", NULL, NULL, NULL);
    uint64_t large = 0;
    while (sim_gen_next(g, &q) == 1) {
        ck_assert(q.size == 10 || q.size == 1000);
        large += q.size == 1000;
    }
    ck_assert_msg(large > 24300 && large < 25700, "bimodal %llu", (unsigned long long)large);
    sim_gen_free(g);
}
END_TEST

START_TEST(ttl_laws)
{
    struct sim_req q;
    sim_gen *g = make_gen(1, 20000, "scan", NULL, "uniform:min=10,max=20", NULL, NULL);
    ck_assert(sim_gen_fields(g) & SIM_F_TTL);
    uint64_t sum = 0;
    while (sim_gen_next(g, &q) == 1) {
        ck_assert(q.ttl >= 10 && q.ttl <= 20);
        sum += q.ttl;
    }
    ck_assert(fabs((double)sum / 20000 - 15) < 0.1); /* sd of the mean 0.023 */
    sim_gen_free(g);
    g = make_gen(1, 100, "scan", NULL, NULL, NULL, NULL);
    ck_assert(!(sim_gen_fields(g) & SIM_F_TTL));
    while (sim_gen_next(g, &q) == 1)
        ck_assert_uint_eq(q.ttl, 0);
    sim_gen_free(g);
}
END_TEST

START_TEST(scan_loop_and_phases)
{
    struct sim_req q;
    /* Two phases: a loop over 3 keys for 5 requests, a scan for 4; cycle.
     * Automatic offsets: phase 0 from 1, phase 1 from 2^40 + 1. */
    const char *pats[] = {"loop:n=3,len=5", "scan:len=4"};
    struct sim_gen_config cfg = {1, 18, pats, 2, NULL, NULL, NULL, NULL};
    char err[SIM_ERRLEN];
    sim_gen *g = sim_gen_create(&cfg, err, sizeof err);
    ck_assert_msg(g != NULL, "%s", err);
    uint64_t s = (UINT64_C(1) << 40) + 1;
    const uint64_t want[18] = {1, 2, 3, 1, 2, s, s + 1, s + 2, s + 3,
                               3, 1, 2, 3, 1, s + 4, s + 5, s + 6, s + 7};
    for (int i = 0; i < 18; i++) {
        ck_assert_int_eq(sim_gen_next(g, &q), 1);
        ck_assert_msg(q.key == want[i], "request %d: key %llu", i, (unsigned long long)q.key);
    }
    sim_gen_free(g);
}
END_TEST

START_TEST(bursts)
{
    struct sim_req q;
    /* period 10, burst 3: requests 7, 8, 9 of every 10 are the burst. */
    sim_gen *g = make_gen(1, 1000, "bursts:n=50,period=10,burst=3,offset=1", NULL, NULL,
                          NULL, NULL);
    static uint8_t seen[100000];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(sim_gen_next(g, &q), 1);
        if (i % 10 >= 7) { /* one-hit wonders: never seen, beyond the Zipf keys */
            ck_assert_uint_gt(q.key, 50);
            ck_assert(q.key < 100000 && !seen[q.key]);
        } else
            ck_assert(q.key >= 1 && q.key <= 50);
        seen[q.key] = 1;
    }
    sim_gen_free(g);
    g = make_gen(1, 1000, "bursts:n=50,period=10,burst=3,kind=scan,offset=1", NULL, NULL,
                 NULL, NULL);
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(sim_gen_next(g, &q), 1);
        if (i % 10 >= 7) /* the same cold keys 51, 52, 53 each time */
            ck_assert_uint_eq(q.key, 51 + (uint64_t)(i % 10 - 7));
    }
    sim_gen_free(g);
}
END_TEST

START_TEST(mixed_sizes)
{
    struct sim_req q;
    sim_gen *g = make_gen(1, 100000,
                          "mixed:n=1000,large_n=10,large_share=0.05,small=100,large=5000000,offset=1",
                          "fixed:size=7", NULL, NULL, NULL);
    uint64_t large = 0;
    while (sim_gen_next(g, &q) == 1) {
        if (q.key > 1000) {
            ck_assert(q.key <= 1010 && q.size == 5000000);
            large++;
        } else
            ck_assert_uint_eq(q.size, 100);
    }
    /* share 0.05 of 10^5: sd 69. */
    ck_assert_msg(large > 4650 && large < 5350, "large %llu", (unsigned long long)large);
    sim_gen_free(g);
}
END_TEST

START_TEST(arrivals)
{
    struct sim_req q;
    /* Poisson 500/s: 10^5 requests span about 200 s (sd 0.63 s). */
    sim_gen *g = make_gen(1, 100000, "scan", NULL, NULL, "poisson:rate=500", NULL);
    uint64_t last = 0;
    while (sim_gen_next(g, &q) == 1) {
        ck_assert_uint_ge(q.time, last);
        last = q.time;
    }
    ck_assert_msg(fabs((double)last / 1e6 - 200) < 4, "span %llu", (unsigned long long)last);
    sim_gen_free(g);
    /* On 1 s, off 4 s: every request in the first second of a 5 s cycle. */
    g = make_gen(1, 10000, "scan", NULL, NULL, "onoff:rate=1000,on=1,off=4", NULL);
    while (sim_gen_next(g, &q) == 1)
        ck_assert_msg(q.time % 5000000 < 1000000 + 1, "time %llu", (unsigned long long)q.time);
    ck_assert_uint_gt(q.time, 5000000 * 8);
    sim_gen_free(g);
    /* Diurnal amplitude 0.9, period 100 s: the first half-period (sin > 0)
     * gets about (1 + 2*0.9/pi)/(1 - 2*0.9/pi) = 3.7 times the arrivals of
     * the second; check at least 2.5. */
    g = make_gen(1, 100000, "scan", NULL, NULL, "poisson:rate=1000,diurnal=0.9,period=100",
                 NULL);
    uint64_t first = 0, second = 0;
    while (sim_gen_next(g, &q) == 1) {
        if (q.time % 100000000 < 50000000)
            first++;
        else
            second++;
    }
    ck_assert_msg(first > 2.5 * second, "%llu vs %llu", (unsigned long long)first,
                  (unsigned long long)second);
    sim_gen_free(g);
}
END_TEST

START_TEST(locality)
{
    /* Uniform over 10^6 keys almost never repeats within 20 requests; with
     * p = 0.4 a request repeats one of the last 20 with probability 0.4
     * (sd over 10^5 requests: 0.0015). */
    struct sim_req q;
    sim_gen *g = make_gen(1, 100000, "uniform:n=1000000", NULL, NULL, NULL, "p=0.4,window=20");
    uint64_t ring[20], n = 0, repeats = 0;
    while (sim_gen_next(g, &q) == 1) {
        int rep = 0;
        for (uint64_t i = 0; i < n && i < 20; i++)
            rep |= ring[i] == q.key;
        repeats += (uint64_t)rep;
        ring[n++ % 20] = q.key;
    }
    double share = (double)repeats / 100000;
    ck_assert_msg(share > 0.39 && share < 0.42, "repeat share %g", share);
    sim_gen_free(g);
}
END_TEST

START_TEST(bad_specs_name_the_parameter)
{
    const char *p1[] = {"zipf:alpha=-1"}, *p2[] = {"zipf:n=0"}, *p3[] = {"gauss"},
               *p4[] = {"zipf:beta=1"}, *p5[] = {"zipf:len=10", "scan"},
               *p6[] = {"bursts:period=5,burst=6"};
    ck_assert_ptr_nonnull(strstr(gen_error(p1, 1, 0, 0, 0, 0, 10), "'alpha'"));
    ck_assert_ptr_nonnull(strstr(gen_error(p2, 1, 0, 0, 0, 0, 10), "'n'"));
    ck_assert_ptr_nonnull(strstr(gen_error(p3, 1, 0, 0, 0, 0, 10), "unknown pattern 'gauss'"));
    ck_assert_ptr_nonnull(strstr(gen_error(p4, 1, 0, 0, 0, 0, 10), "'beta'"));
    ck_assert_ptr_nonnull(strstr(gen_error(p5, 2, 0, 0, 0, 0, 10), "'len'"));
    ck_assert_ptr_nonnull(strstr(gen_error(p6, 1, 0, 0, 0, 0, 10), "'burst'"));
    ck_assert_ptr_nonnull(strstr(gen_error(NULL, 0, "weibull", 0, 0, 0, 10),
                                 "unknown size distribution 'weibull'"));
    ck_assert_ptr_nonnull(strstr(gen_error(NULL, 0, "fixed:size=0", 0, 0, 0, 10), "'size'"));
    ck_assert_ptr_nonnull(strstr(gen_error(NULL, 0, 0, "forever", 0, 0, 10), "'forever'"));
    ck_assert_ptr_nonnull(strstr(gen_error(NULL, 0, 0, 0, "poisson:rate=0", 0, 10), "'rate'"));
    ck_assert_ptr_nonnull(strstr(gen_error(NULL, 0, 0, 0, 0, "p=2", 10), "'p'"));
    ck_assert_str_ne(gen_error(NULL, 0, 0, 0, 0, 0, 0), "");
    ck_assert_str_eq(gen_error(NULL, 0, 0, 0, 0, 0, 10), "");
}
END_TEST

static Suite *gen_suite(void)
{
    Suite *s = suite_create("gen");
    TCase *core = tcase_create("Core");
    tcase_set_timeout(core, 120);
    tcase_add_test(core, math_matches_libm);
    tcase_add_test(core, normal_moments);
    tcase_add_loop_test(core, zipf_slope_matches_alpha, 0, 6);
    tcase_add_loop_test(core, zipf_exact_law, 0, 8);
    tcase_add_loop_test(core, alias_table_exact, 0, 6);
    tcase_add_test(core, exponential_law);
    tcase_add_test(core, same_seed_same_requests);
    tcase_add_test(core, sizes_per_object);
    tcase_add_test(core, size_laws);
    tcase_add_test(core, ttl_laws);
    tcase_add_test(core, scan_loop_and_phases);
    tcase_add_test(core, bursts);
    tcase_add_test(core, mixed_sizes);
    tcase_add_test(core, arrivals);
    tcase_add_test(core, locality);
    suite_add_tcase(s, core);
    TCase *lim = tcase_create("Limits");
    tcase_add_test(lim, math_limits);
    tcase_add_test(lim, zipf_limits);
    suite_add_tcase(s, lim);
    TCase *errs = tcase_create("Errors");
    tcase_add_test(errs, zipf_bad_parameters);
    tcase_add_test(errs, bad_specs_name_the_parameter);
    suite_add_tcase(s, errs);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(gen_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
