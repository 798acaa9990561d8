/*
 * sim_stats.h - describing a trace in one pass: counts, working set,
 * one-hit wonders, sizes, popularity (a fitted Zipf exponent), reuse and
 * stack distances, and the request rate over time.  tracegen --describe is
 * its front end.
 *
 * Definitions:
 *   - objects: distinct keys; working set: the sum of each object's first
 *     size; one-hit wonders: objects requested exactly once.
 *   - reuse distance: requests since the previous request for the same key
 *     (1 = the request just before); stack distance: distinct objects
 *     requested since then, itself included (LRU's, as in sim_mrc.h).  Both
 *     in log2 buckets [2^i, 2^(i+1)); first requests are counted apart.
 *   - Zipf alpha: minus the least-squares slope of log(count) on log(rank),
 *     ranks 1..R where R is the last rank with a count of at least 10 (the
 *     tail of rare objects, whose counts are ties of small integers, would
 *     otherwise dominate the fit); undefined (NaN) with fewer than 3 ranks.
 *   - rate: requests per second in `buckets` equal slices of the time span
 *     (traces with a time field).
 * Deletes count as requests here (they are requests of the trace).
 *
 * Since 0.1.  Experimental.
 */
#ifndef SIM_STATS_H
#define SIM_STATS_H

#include "sim.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sim_stats_summary {
    uint64_t requests, objects, bytes;  /* bytes: working set */
    uint64_t one_hit;                   /* objects requested once */
    uint64_t size_min, size_max;        /* over objects (first sizes) */
    double size_mean;
    double alpha;                       /* fitted Zipf exponent, NaN if none */
    uint64_t alpha_ranks;               /* R: ranks 1..R fitted */
    uint64_t time_first, time_last;     /* microseconds; 0 without times */
};

typedef struct sim_stats_s sim_stats;

/*! sim_stats_create() : @return an empty collector, or NULL (out of memory). */
sim_stats *sim_stats_create(void);

/*! sim_stats_add() : one request, in trace order. @return 0 or SIM_ENOMEM. */
int sim_stats_add(sim_stats *s, const struct sim_req *req);

/*! sim_stats_summary() : fills *out (the fit is computed here).
 * @return 0 or SIM_ENOMEM. */
int sim_stats_summary(sim_stats *s, struct sim_stats_summary *out);

/*! sim_stats_csv() :
 * Writes everything as CSV with the header "metric,lo,hi,value": one row
 * per summary value (lo, hi empty; zipf_alpha has lo=1, hi=R), then the
 * histograms size, reuse_distance and stack_distance (lo and hi bound the
 * bucket, inclusive; value = count; first requests in the row
 * "first_requests"), then rate (lo, hi: seconds from the first request;
 * value: requests per second), `buckets` rows.
 * @return 0, SIM_EIO or SIM_ENOMEM. */
int sim_stats_csv(sim_stats *s, FILE *f, unsigned buckets);

/*! sim_stats_free() : accepts NULL. */
void sim_stats_free(sim_stats *s);

#ifdef __cplusplus
}
#endif
#endif /* SIM_STATS_H */
