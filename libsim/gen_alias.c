/*
 * gen_alias.c - Zipf ranks by Walker's alias method with integer thresholds
 * (A. J. Walker, "An efficient method for generating discrete random
 * variables with general distributions", ACM TOMS 3(3), 1977; the table is
 * built as in M. D. Vose, IEEE TSE 17(9), 1991).
 *
 * Why: rejection-inversion (gen_zipf.c) costs a log and an exp per draw;
 * the alias table costs one random word and one 8-byte load.
 *
 * Exactness: the weights k^-alpha are quantised once to integers m_k that
 * sum to exactly n * 2^32 (the rounding excess, below 2n units, goes to
 * rank 1, whose m is the largest, so at least 2^32).  Each of the n buckets
 * holds 2^32 units split between its own rank (thr) and one alias, and the
 * table is built with integer arithmetic only, so rank k is drawn with
 * probability m_k / (n 2^32) exactly: the law is k^-alpha to within
 * 2^-32 / n absolute per rank (plus the weights' double rounding, ~1e-15
 * relative), far below anything a trace can show.  The bucket is drawn
 * without bias by multiply-and-reject (D. Lemire, "Fast random integer
 * generation in an interval", ACM TOMACS 29(1), 2019).
 * Determinism: the weights come from gen_math.c's log and exp, the rest is
 * integer; the same n and alpha give the same table everywhere.
 */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <stdlib.h>

#include "gen_internal.h"

#define CAP (UINT64_C(1) << 32) /* units per bucket */

/* Integer weights m[0..n-1] summing to n * 2^32, proportional to the
 * doubles w[0..n-1]. */
static void quantise(const double *w, uint64_t *m, uint32_t n)
{
    double sum = 0;
    for (uint32_t k = 0; k < n; k++)
        sum += w[k];
    uint64_t total = (uint64_t)n * CAP, got = 0;
    double scale = (double)total / sum;
    for (uint32_t k = 0; k < n; k++) {
        m[k] = (uint64_t)(w[k] * scale);
        got += m[k];
    }
    m[0] += total - got; /* two's complement: also right when got > total */
}

/* Vose's construction: small buckets (m < 2^32) take their rest from a
 * large one.  Both stacks live in one array, small from the front and large
 * from the back. */
static void build(struct gen_alias *a, uint64_t *m, uint32_t *stack)
{
    uint32_t n = (uint32_t)a->n, ns = 0, nl = 0;
    for (uint32_t k = 0; k < n; k++) {
        if (m[k] < CAP)
            stack[ns++] = k;
        else
            stack[n - 1 - nl++] = k;
    }
    while (ns && nl) {
        uint32_t s = stack[--ns], l = stack[n - nl];
        a->t[s].thr = (uint32_t)m[s];
        a->t[s].alias = l;
        m[l] -= CAP - m[s];
        if (m[l] < CAP) { /* l moves from the large stack to the small one */
            nl--;
            stack[ns++] = l;
        }
    }
    /* Left over: full buckets (with exact integers the small stack is empty
     * when the large one is; this also covers it). */
    while (nl) {
        uint32_t l = stack[n - nl--];
        a->t[l].thr = UINT32_MAX;
        a->t[l].alias = l;
    }
    while (ns) {
        uint32_t s = stack[--ns];
        a->t[s].thr = UINT32_MAX;
        a->t[s].alias = s;
    }
}

int gen_alias_zipf(struct gen_alias *a, uint64_t n, double alpha)
{
    a->t = NULL;
    if (n == 0 || n > GEN_ALIAS_MAX)
        return SIM_EINVAL;
    a->n = n;
    a->reject = (uint32_t)(CAP % n);
    a->t = malloc(n * sizeof *a->t);
    double *w = malloc(n * sizeof *w);
    uint64_t *m = malloc(n * sizeof *m);
    uint32_t *stack = malloc(n * sizeof *stack);
    int rc = a->t && w && m && stack ? 0 : SIM_ENOMEM;
    if (!rc) {
        for (uint64_t k = 0; k < n; k++)
            w[k] = alpha == 0 ? 1 : sim_gen_exp(-alpha * sim_gen_log((double)k + 1));
        quantise(w, m, (uint32_t)n);
        build(a, m, stack);
    } else
        gen_alias_free(a);
    free(w);
    free(m);
    free(stack);
    return rc;
}

void gen_alias_free(struct gen_alias *a)
{
    free(a->t);
    a->t = NULL;
}
