/*
 * gen_math.c - deterministic log, exp, sin and normal variates for the
 * workload generators.
 *
 * Why not <math.h>: glibc, musl and macOS libm agree on log/exp/pow to within
 * an ulp or so, but not bit for bit, and a generator that feeds such values
 * into comparisons (a rejection test, a floor) would then produce different
 * traces on different machines.  These versions use only IEEE-754 basic
 * operations (correctly rounded by the standard), frexp/ldexp/floor (exact),
 * and constants the compiler folds exactly; with contraction off (GCC's
 * default in ISO C mode; the pragma below for clang) they give the same bits
 * everywhere.  Accuracy: a few ulps, plenty for sampling.
 *
 * Method (table-driven, as in most libms, for speed): log by reduction to
 * m in [1, 2), a 128-entry table of log(c_j) and a short series for
 * log(1 + r), |r| <= 1/255; exp by x = (k/128) ln2 + r, a 128-entry table of
 * 2^(j/128) and a short series.  ln2 is split in a high part with trailing
 * zero bits (k * ln2_hi/128 is exact) and a low part.  log1p and expm1 near
 * 0 use their own series (atanh and Taylor) to keep relative accuracy.
 *
 * Exponential variates by the ziggurat (sim_gen_exponential): 256 layers of
 * equal area under e^-x, tables in gen_zig_tab.h (scripts/gen-ziggurat.py).
 * 98.9% of draws take one random word, a table lookup, an integer compare
 * and a multiply; the rest test a wedge with sim_gen_exp or take the tail
 * r + Exp(1) with sim_gen_log.  Exact: it is a rejection method whose
 * accepted points are uniform under the density.
 */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <math.h>
#include <string.h>

#include "sim_gen.h"
#include "internal.h"
#include "gen_math_tab.h"
#include "gen_zig_tab.h"

static const double ln2_hi = 6.93147180369123816490e-01; /* 0x3fe62e42fee00000 */
static const double ln2_lo = 1.90821492927058770002e-10;
static const double two_pi = 6.28318530717958647692;

/* 2 atanh(s) = log((1+s)/(1-s)) for |s| <= 0.18: the series
 * sum s^(2k+1)/(2k+1) to k = 11 leaves an error below 0.0324^12 / 25, far
 * under an ulp.  The coefficients are constant expressions, folded exactly
 * by the compiler. */
static const double atanh_c[] = {1.0, 1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11,
                                 1.0 / 13, 1.0 / 15, 1.0 / 17, 1.0 / 19, 1.0 / 21, 1.0 / 23};

static double atanh2(double s)
{
    double z = s * s, p = atanh_c[11];
    for (int k = 10; k >= 0; k--)
        p = atanh_c[k] + z * p;
    return 2 * s * p;
}

/* log(1+r) for |r| <= 1/255 by its series to degree 7 (error < r^8/8). */
static double log1p_tiny(double r)
{
    double p = -1.0 / 7;
    p = 1.0 / 6 - r * p; /* alternating: r - r^2/2 + r^3/3 - ... */
    p = 1.0 / 5 - r * p;
    p = 1.0 / 4 - r * p;
    p = 1.0 / 3 - r * p;
    p = 1.0 / 2 - r * p;
    p = 1.0 - r * p;
    return r * p;
}

/* log x = e ln2 + log c_j + log(1 + r), where m = x / 2^e is in [1, 2),
 * c_j the centre of m's 1/128-wide interval and r = m / c_j - 1, computed as
 * m * log_inv[j] - 1 (log_logc compensates the rounding of log_inv). */
double sim_gen_log(double x)
{
    if (!(x > 0))
        return x == 0 ? -HUGE_VAL : NAN;
    if (x == HUGE_VAL)
        return x;
    if (x > 0.7 && x < 1.4) /* near 1: keep relative accuracy (x - 1 is exact) */
        return atanh2((x - 1) / (x + 1));
    int e = 0;
    uint64_t b;
    if (x < 0x1p-1022) { /* subnormal: scale into the normal range first */
        x *= 0x1p64;
        e = -64;
    }
    memcpy(&b, &x, sizeof b);
    e += (int)(b >> 52) - 1023;
    int j = (int)((b >> 45) & 127); /* top 7 bits of the mantissa */
    b = (b & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1023) << 52);
    double m;
    memcpy(&m, &b, sizeof m); /* x / 2^e, in [1, 2) */
    double r = m * log_inv[j] - 1;
    return (double)e * ln2_hi + ((double)e * ln2_lo + log_logc[j] + log1p_tiny(r));
}

double sim_gen_log1p(double x)
{
    if (x > -0.25 && x < 0.4)
        return atanh2(x / (2 + x)); /* (1+s)/(1-s) = 1+x; |s| < 0.17 */
    return sim_gen_log(1 + x);
}

/* 1/n! for n = 0..17. */
static const double inv_fact[] = {
    1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320,
    1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0,
    1.0 / 87178291200.0, 1.0 / 1307674368000.0, 1.0 / 20922789888000.0,
    1.0 / 355687428096000.0};

/* e^r - 1 by Taylor to degree `deg`: degree 17 for |r| <= 0.5 (error below
 * 0.5^18/18!), degree 14 for |r| <= ln2/2 (below 0.35^15/15!). */
static double expm1_poly(double r, int deg)
{
    double p = inv_fact[deg];
    for (int n = deg - 1; n >= 1; n--)
        p = inv_fact[n] + r * p;
    return r * p;
}

/* y * 2^k, by multiplications with exact powers of two (ldexp without the
 * call); -1100 < k < 1100. */
static double scale2(double y, int k)
{
    while (k > 1000) {
        y *= 0x1p1000;
        k -= 1000;
    }
    while (k < -1000) {
        y *= 0x1p-1000;
        k += 1000;
    }
    uint64_t b = (uint64_t)(k + 1023) << 52;
    double p;
    memcpy(&p, &b, sizeof p);
    return y * p;
}

/* e^x = 2^(k/128) e^r with k = round(x * 128/ln2), |r| <= ln2/256: the
 * table gives 2^(j/128), ldexp the power of two, degree 5 the rest (error
 * below 0.0028^6/720). */
double sim_gen_exp(double x)
{
    if (x != x)
        return x;
    if (x > 709.78)
        return HUGE_VAL;
    if (x < -745.2)
        return 0;
    double k = floor(x * (128 / 0.69314718055994530942) + 0.5);
    double r = (x - k * (ln2_hi / 128)) - k * (ln2_lo / 128);
    int ki = (int)k;
    int j = ki & 127;
    double p = inv_fact[5];
    for (int n = 4; n >= 1; n--)
        p = inv_fact[n] + r * p;
    double t = exp2_tab[j];
    return scale2(t + t * (r * p), (ki - j) / 128);
}

double sim_gen_expm1(double x)
{
    if (x > -0.5 && x < 0.5)
        return expm1_poly(x, 17);
    return sim_gen_exp(x) - 1;
}

double sim_gen_sin(double x)
{
    if (!isfinite(x))
        return NAN;
    double r = x - two_pi * floor(x / two_pi + 0.5); /* [-pi, pi] */
    double z = r * r, p = 1;
    for (int n = 25; n >= 3; n -= 2) /* pi^27 / 27! < 1e-16 */
        p = 1 - z * p / ((double)n * (n - 1));
    return r * p;
}

double sim_gen_unit_open(struct sim_rng *g)
{
    return ((double)(sim_rng_next(g) >> 11) + 0.5) * 0x1.0p-53;
}

double sim_gen_normal(struct sim_rng *g)
{
    double u, v, s;
    do {
        u = 2 * sim_rng_unit(g) - 1;
        v = 2 * sim_rng_unit(g) - 1;
        s = u * u + v * v;
    } while (s >= 1 || s == 0);
    return u * sqrt(-2 * sim_gen_log(s) / s); /* sqrt is correctly rounded */
}

/* The 1.1% of draws outside the inner rectangles: the base layer's tail,
 * or a wedge, where the point is tested against the curve itself. */
static double zig_slow(struct sim_rng *g, unsigned i, double x)
{
    for (;;) {
        if (i == 0) /* beyond r: memoryless, so r plus a fresh exponential */
            return zig_r - sim_gen_log(sim_gen_unit_open(g));
        if (zig_f[i] + sim_rng_unit(g) * (zig_f[i + 1] - zig_f[i]) < sim_gen_exp(-x))
            return x;
        uint64_t r = sim_rng_step(g);
        i = (unsigned)(r & 255);
        uint64_t u = r >> 11;
        x = (double)u * zig_w[i];
        if (u < zig_k[i])
            return x;
    }
}

/* Marsaglia and Tsang's ziggurat, with a 64-bit word split into the layer
 * (bits 0-7) and a 53-bit uniform (bits 11-63).  In layer i the point
 * x = u x_i lies under the curve for sure when x < x_{i+1}, i.e. when the
 * integer u < zig_k[i].  The state lives in a local whose address never
 * escapes (the rare slow path goes through g), so the compiler keeps it in
 * registers; through g it was loaded and stored on every draw. */
void sim_gen_exponentials(struct sim_rng *g, double *out, size_t n)
{
    struct sim_rng l = *g;
    for (size_t k = 0; k < n; k++) {
        uint64_t r = sim_rng_step(&l);
        unsigned i = (unsigned)(r & 255);
        uint64_t u = r >> 11;
        out[k] = (double)u * zig_w[i];
        if (u >= zig_k[i]) {
            *g = l;
            out[k] = zig_slow(g, i, out[k]);
            l = *g;
        }
    }
    *g = l;
}

double sim_gen_exponential(struct sim_rng *g)
{
    double x;
    sim_gen_exponentials(g, &x, 1);
    return x;
}
