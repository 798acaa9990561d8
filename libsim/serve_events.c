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
 * per level), and it stops early where the path's winner is unchanged
 * and is not the replica that changed.
 *
 * Invariant: w[i] is the least (key, number) among the leaves under i;
 * padding leaves have key INFINITY and numbers >= n, so they never beat a
 * replica.
 */
#include <math.h>
#include <stdlib.h>

#include "serve.h"

int evq_init(struct evq *q, uint32_t n)
{
    q->n = n;
    q->p = 1;
    while (q->p < n)
        q->p *= 2;
    q->key = malloc(q->p * sizeof *q->key);
    q->w = malloc(2 * (size_t)q->p * sizeof *q->w);
    if (!q->key || !q->w) {
        evq_free(q);
        return SIM_ENOMEM;
    }
    for (uint32_t g = 0; g < q->p; g++) {
        q->key[g] = INFINITY;
        q->w[q->p + g] = g;
    }
    for (uint32_t i = q->p - 1; i >= 1; i--)
        q->w[i] = q->w[2 * i]; /* all INFINITY: the lower number wins */
    return 0;
}

void evq_free(struct evq *q)
{
    free(q->key);
    free(q->w);
    q->key = NULL;
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
        double sk = q->key[sib];
        if (sk < ck || (sk == ck && sib < cur)) {
            cur = sib;
            ck = sk;
        }
        if (q->w[i / 2] == cur && cur != g)
            break; /* the same winner, unchanged: so are the nodes above */
        q->w[i / 2] = cur;
    }
}
