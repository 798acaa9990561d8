/*
 * gen_zipf.c - exact Zipf sampling by rejection-inversion.
 *
 * W. Hormann and G. Derflinger, "Rejection-inversion to generate variates
 * from monotone discrete distributions", ACM TOMACS 6(3):169-184, 1996.
 *
 * For weights h(k) = k^-alpha, k = 1..n, take the continuous hat
 * H(x) = integral of x^-alpha, i.e. (x^(1-alpha) - 1)/(1-alpha) (log x when
 * alpha = 1).  Since h is convex and decreasing, the interval
 * [H(k+1/2) - h(k), H(k+1/2)] lies inside [H(k-1/2), H(k+1/2)] and has length
 * h(k) exactly.  Draw u uniformly in (H(3/2) - h(1), H(n+1/2)], invert
 * x = Hinv(u), round k = x + 1/2, and accept k if u falls in k's interval;
 * accepted k therefore has probability proportional to h(k): the law is exact
 * (up to the rounding of doubles), with no table and no normalising sum.
 * Most draws are accepted by the squeeze "k - x <= s" without evaluating H;
 * for the first 16 ranks, where it fails most, the bound is precomputed
 * (the same doubles, so the same draws).
 *
 * H and Hinv are written through log1p/expm1-style helpers, (e^t - 1)/t and
 * log(1+t)/t, which tend to 1 as t -> 0, so alpha = 1 and alpha near 1 need
 * no special case.  All elementary functions are gen_math.c's
 * deterministic ones.
 */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <math.h>
#include <stdio.h>

#include "sim_gen.h"

/* (e^t - 1)/t, 1 at t = 0. */
static double expm1_over(double t) { return t == 0 ? 1 : sim_gen_expm1(t) / t; }

/* log(1+t)/t, 1 at t = 0. */
static double log1p_over(double t) { return t == 0 ? 1 : sim_gen_log1p(t) / t; }

static double zh(double alpha, double x) { return sim_gen_exp(-alpha * sim_gen_log(x)); }

static double zH(double alpha, double x)
{
    double lx = sim_gen_log(x);
    return expm1_over((1 - alpha) * lx) * lx;
}

/* Inverse of zH; +inf when y lies beyond the hat's range (alpha > 1). */
static double zHinv(double alpha, double y)
{
    double t = y * (1 - alpha);
    if (t <= -1)
        return HUGE_VAL;
    return sim_gen_exp(log1p_over(t) * y);
}

int sim_zipf_init(struct sim_zipf *z, uint64_t n, double alpha, char *err, size_t errlen)
{
    if (n == 0 || n > (UINT64_C(1) << 53)) {
        snprintf(err, errlen, "zipf: parameter 'n': %llu is outside [1, 2^53]",
                 (unsigned long long)n);
        return SIM_EINVAL;
    }
    if (!(alpha >= 0 && alpha <= 100)) {
        snprintf(err, errlen, "zipf: parameter 'alpha': %g is outside [0, 100]", alpha);
        return SIM_EINVAL;
    }
    z->n = n;
    z->alpha = alpha;
    z->h_x1 = zH(alpha, 1.5) - 1;
    z->h_n = zH(alpha, (double)n + 0.5);
    z->s = 2 - zHinv(alpha, zH(alpha, 2.5) - zh(alpha, 2));
    for (int k = 1; k < 16; k++)
        z->acc[k] = zH(alpha, k + 0.5) - zh(alpha, k);
    return 0;
}

uint64_t sim_zipf_next(const struct sim_zipf *z, struct sim_rng *g)
{
    for (;;) {
        double u = z->h_n + sim_rng_unit(g) * (z->h_x1 - z->h_n);
        double x = zHinv(z->alpha, u);
        uint64_t k;
        if (!(x < (double)z->n + 0.5))
            k = z->n;
        else if (x < 1.5)
            k = 1;
        else
            k = (uint64_t)(x + 0.5);
        double kd = (double)k;
        if (kd - x <= z->s)
            return k;
        if (u >= (k < 16 ? z->acc[k] : zH(z->alpha, kd + 0.5) - zh(z->alpha, kd)))
            return k;
    }
}
