/*
 * serve_hist.c - the bin of a latency in the serving simulation's
 * log-scale histograms, without a log10 per sample.
 *
 * The bins are defined by hist_bin_exact(): bin 0 for x < 10^-6 (and
 * x <= 0), then HIST_PER_DECADE bins per decade, bin b (1 <= b <= HIST_BINS)
 * holding x with b - 1 <= l < b for l = (log10(x) + 6) * HIST_PER_DECADE as
 * computed in double, and bin HIST_BINS + 1 above 10^6.  hist_bin() gives
 * the same bin, faster (two log10 calls were a sixth of the event loop):
 *
 * 1. The exponent and top 7 mantissa bits of x index a table of guesses:
 *    the bin of the smallest x with those bits.  Such a slot spans at most
 *    log2(1 + 1/128) = 0.0112 octaves and a bin log2(10) / 200 = 0.0166,
 *    so x is in the guessed bin or the next.
 * 2. For each bin, [lo, hi) is the bin's true range 10^((b - 1) / 200 - 6)
 *    .. 10^(b / 200 - 6) shrunk by a relative DELTA = 1e-9 at each end.
 *    Inside it, the exact l is at least 200 log10(1 + DELTA) = 8.7e-8 from
 *    an integer, far more than the rounding of the computed l (log10 is
 *    within 2 ulp in glibc; with the addition and product, below 1e-12 for
 *    |log10 x| <= 7) and of the table's pow (below 1e-14 relative): so
 *    hist_bin_exact() gives that bin.
 * 3. Otherwise (within DELTA of a bin edge, about 1 sample in 10^7, or
 *    outside [2^-20, 2^20)), hist_bin_exact() itself.
 *
 * The tables are per simulation (no mutable globals): 48 KB.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

#define DELTA 1e-9
/* The fast range [2^-20, 2^20) and its slots: 128 per octave. */
#define SLOT_SHIFT 45                     /* 52 mantissa bits - 7 */
#define SLOT_BASE (1003u << 7)            /* (1023 - 20) << 7: 2^-20's slot */
#define SLOTS (40u << 7)

unsigned hist_bin_exact(double x)
{
    if (x <= 0)
        return 0;
    double l = (log10(x) - HIST_MIN_EXP) * HIST_PER_DECADE;
    return l < 0 ? 0 : l >= HIST_BINS ? HIST_BINS + 1 : (unsigned)l + 1;
}

/* The lower edge of bin b >= 1: 10^((b - 1) / HIST_PER_DECADE - 6). */
static double edge(unsigned b)
{
    return pow(10, HIST_MIN_EXP + (double)(b - 1) / HIST_PER_DECADE);
}

int hist_tab_init(struct hist_tab *t)
{
    t->lo = malloc((HIST_BINS + 3) * sizeof *t->lo);
    t->hi = malloc((HIST_BINS + 3) * sizeof *t->hi);
    t->guess = malloc(SLOTS * sizeof *t->guess);
    if (!t->lo || !t->hi || !t->guess) {
        hist_tab_free(t);
        return SIM_ENOMEM;
    }
    t->lo[0] = 0;
    t->hi[0] = edge(1) * (1 - DELTA);
    for (unsigned b = 1; b <= HIST_BINS; b++) {
        t->lo[b] = edge(b) * (1 + DELTA);
        t->hi[b] = edge(b + 1) * (1 - DELTA);
    }
    t->lo[HIST_BINS + 1] = edge(HIST_BINS + 1) * (1 + DELTA);
    t->hi[HIST_BINS + 1] = INFINITY;
    t->lo[HIST_BINS + 2] = t->hi[HIST_BINS + 2] = INFINITY; /* never: ends step 1 */
    for (unsigned k = 0; k < SLOTS; k++) {
        uint64_t bits = (uint64_t)(SLOT_BASE + k) << SLOT_SHIFT;
        double x;
        memcpy(&x, &bits, sizeof x);
        t->guess[k] = (uint16_t)hist_bin_exact(x);
    }
    return 0;
}

void hist_tab_free(struct hist_tab *t)
{
    free(t->lo);
    free(t->hi);
    free(t->guess);
    t->lo = t->hi = NULL;
    t->guess = NULL;
}

unsigned hist_bin(const struct hist_tab *t, double x)
{
    if (x >= 0x1p-20 && x < 0x1p20) {
        uint64_t bits;
        memcpy(&bits, &x, sizeof bits);
        unsigned b = t->guess[(bits >> SLOT_SHIFT) - SLOT_BASE];
        if (x >= t->lo[b] && x < t->hi[b])
            return b;
        if (x >= t->lo[b + 1] && x < t->hi[b + 1])
            return b + 1;
    }
    return hist_bin_exact(x);
}
