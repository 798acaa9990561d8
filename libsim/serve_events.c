/*
 * serve_events.c - the serving simulation's event queue: which replica
 * has the earliest next event.
 *
 * A winner tree (tournament tree) over the replicas: the leaves are the
 * replicas in number order, padded with never-winning ones to a power of
 * two P; internal node i (1 <= i < P) holds the winner of its children,
 * the one of least (key, number), so the root (node 1) is the earliest
 * event, ties to the lower number.  A key change replays the matches on
 * the leaf's path to the root: log2 P comparisons with no data moves (a
 * binary heap's sift did about twice the work: two comparisons and a move
 * per level).  Each node keeps its winner's key beside it (wk), so that a
 * match reads the sibling's node, not the sibling's node and then its
 * key; and a match picks its winner with masks, not a branch, and every
 * match on the path is played (stopping early where the winner is
 * unchanged was a second unpredictable branch per level): the replicas'
 * times are data with no pattern to predict, and mispredictions cost
 * more than the matches (-5% of the simulation's time without a cache).
 *
 * Invariant: w[i] is the least (key, number) among the leaves under i and
 * wk[i] its key (the leaves' keys are key[] = wk + P); padding leaves
 * have key INFINITY and numbers >= n, so they never beat a replica.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

int evq_init(struct evq *q, uint32_t n)
{
    q->n = n;
    q->p = 1;
    while (q->p < n)
        q->p *= 2;
    q->wk = malloc(2 * (size_t)q->p * sizeof *q->wk);
    q->w = malloc(2 * (size_t)q->p * sizeof *q->w);
    if (!q->wk || !q->w) {
        evq_free(q);
        return SIM_ENOMEM;
    }
    q->key = q->wk + q->p;
    for (uint32_t g = 0; g < q->p; g++) {
        q->key[g] = INFINITY;
        q->w[q->p + g] = g;
    }
    for (uint32_t i = q->p - 1; i >= 1; i--) {
        q->w[i] = q->w[2 * i]; /* all INFINITY: the lower number wins */
        q->wk[i] = INFINITY;
    }
    return 0;
}

void evq_free(struct evq *q)
{
    free(q->wk);
    free(q->w);
    q->wk = q->key = NULL;
    q->w = NULL;
}

void evq_set(struct evq *q, uint32_t g, double key)
{
    q->key[g] = key;
    /* Up from the leaf: the winner so far (cur, ck) plays the sibling. */
    uint32_t cur = g;
    double ck = key;
    for (uint32_t i = q->p + g; i > 1; i /= 2) {
        uint32_t sib = q->w[i ^ 1];
        double sk = q->wk[i ^ 1];
        /* Selected by masks, not branches (which the compiler would
         * make of ?:): who wins is data, no pattern to predict.  sk <= ck
         * where sk < ck failed is sk == ck, without the parity test. */
        uint32_t take = (uint32_t)((sk < ck) | ((sk <= ck) & (sib < cur)));
        uint64_t m = 0 - (uint64_t)take, kc, ks;
        memcpy(&kc, &ck, sizeof kc);
        memcpy(&ks, &sk, sizeof ks);
        kc ^= (kc ^ ks) & m;
        memcpy(&ck, &kc, sizeof ck);
        cur ^= (cur ^ sib) & (uint32_t)m;
        q->w[i / 2] = cur;
        q->wk[i / 2] = ck;
    }
}
