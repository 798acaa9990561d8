/*
 * serve_occ.c - the replicas of a model by occupancy, for the serving
 * simulation: which replica takes a new request.
 *
 * A request starts on the least busy replica with a free batch slot, the
 * first such replica on ties (serve.c).  Scanning the replicas per arrival
 * cost more than the rest of an arrival's event work at 64 replicas, so
 * each replica is filed under its number of running requests instead: row
 * n is a bitmap of the replicas running n, and lowest is the lowest
 * non-empty row.  The replica wanted is the lowest set bit of row lowest;
 * a move is two bit flips and, when it empties the lowest row, a walk up
 * to the next non-empty one (requests complete one or a few at a time, so
 * the walk is short).
 *
 * Invariants: 1. every replica is in exactly one row, its occupancy;
 *             2. count[n] is the number of bits set in row n;
 *             3. count[lowest] > 0 and count[m] == 0 for m < lowest.
 */
#include <stdlib.h>

#include "serve.h"

int occ_init(struct occ *o, unsigned replicas, unsigned batch)
{
    o->nw = (replicas + 63) / 64;
    o->batch = batch;
    o->lowest = 0;
    o->row = calloc((size_t)(batch + 1) * o->nw, sizeof *o->row);
    o->count = calloc((size_t)batch + 1, sizeof *o->count);
    if (!o->row || !o->count) {
        occ_free(o);
        return SIM_ENOMEM;
    }
    o->count[0] = replicas; /* all idle */
    for (unsigned i = 0; i < replicas; i++)
        o->row[i / 64] |= 1ULL << (i % 64);
    return 0;
}

void occ_free(struct occ *o)
{
    free(o->row);
    free(o->count);
    o->row = NULL;
    o->count = NULL;
}

void occ_move(struct occ *o, unsigned replica, unsigned from, unsigned to)
{
    if (to == from)
        return;
    uint64_t bit = 1ULL << (replica % 64);
    o->row[(size_t)from * o->nw + replica / 64] &= ~bit;
    o->row[(size_t)to * o->nw + replica / 64] |= bit;
    o->count[from]--;
    o->count[to]++;
    if (to < o->lowest)
        o->lowest = to;
    while (!o->count[o->lowest])
        o->lowest++; /* ends: every replica is in some row */
}

int occ_least(const struct occ *o)
{
    if (o->lowest >= o->batch)
        return -1;
    const uint64_t *row = o->row + (size_t)o->lowest * o->nw;
    unsigned w = 0;
    while (!row[w])
        w++;
    return (int)(w * 64 + (unsigned)__builtin_ctzll(row[w]));
}
