/*
 * sim_mrc.h - one-pass LRU miss-ratio curves: exact stack distances and
 * SHARDS sampling.
 *
 * Introduction
 * ------------
 * LRU is a stack algorithm (Mattson et al., 1970): a request hits a cache of
 * capacity C exactly when its stack distance, the amount of distinct data
 * touched since the previous request for the same key (itself included), is
 * at most C.  One pass that computes every request's stack distance therefore
 * gives the miss ratio at every capacity at once.  sim_mrc does it in
 * O(log n) per request with Fenwick trees over last-access positions
 * (Bennett and Kruskal, 1975; Almasi et al., 2002), compacted when full, so
 * memory is O(distinct keys), not O(requests).
 *
 * Byte capacities: the distance is the sum of the sizes of the distinct
 * objects touched since, and the convention is cachesim's LRU (objcache.c):
 *   1. an object larger than the cache is never stored: for capacity C the
 *      distance skips objects larger than C, and such a request always
 *      misses (this makes byte LRU not quite a stack algorithm, so hits are
 *      counted per requested capacity, not read off one histogram);
 *   2. an object keeps the size of its first request (since its last
 *      delete); with sizes that never change per key, the curve equals
 *      simulated LRU at every capacity, request for request.  When a key's
 *      size changes, simulated LRU uses the size of the miss that inserted
 *      it, which depends on the capacity, and the two may differ.
 *   3. deletes remove the object and are not counted, exactly as in LRU
 *      (from the first delete on, each capacity also tracks its occupancy,
 *      since freed space is not refilled by older objects; O(k log n) per
 *      request for k capacities; exact mode only, SHARDS just drops the
 *      object); TTLs are ignored (expiries are not modelled).
 *
 * Sampling (SHARDS: C. Waldspurger, N. Park, A. Garthwaite and I. Ahmad,
 * "Efficient MRC construction with SHARDS", FAST 2015): with rate R < 1 only
 * keys whose hash (sim_key_hash) falls in the lowest R fraction of the hash
 * space are tracked, and their distances are divided by R.  Memory and time
 * shrink by about R; the error is typically below 0.01 absolute at R = 0.01
 * on millions of requests, at capacities holding 100 sampled objects or more
 * (C * R >= 100 objects; below that a few sampled keys decide the estimate).
 * Distances are scaled as own size + (rest)/R rather than the paper's
 * (whole)/R, which is unbiased.  Fixed-rate SHARDS with the paper's SHARDS_adj
 * correction (the shortfall or excess of sampled requests against rate x
 * requests is credited to the smallest distances).
 *
 * Since 0.1.  Experimental.
 */
#ifndef SIM_MRC_H
#define SIM_MRC_H

#include "sim.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sim_mrc_opts {
    enum sim_unit unit;        /* SIM_UNIT_OBJECTS (sizes read as 1) or SIM_UNIT_BYTES */
    double rate;               /* SHARDS sampling rate in (0, 1]; 0 or 1: exact */
    const uint64_t *sizes;     /* capacities to report, in `unit`s, each > 0 */
    size_t nsizes;             /* may be 0 (distances only) */
};

typedef struct sim_mrc_s sim_mrc;

/*! sim_mrc_create() :
 * @return the tracker, or NULL with a message in err (SIM_EINVAL: a rate
 *         outside (0, 1], a capacity of 0, an unsupported unit). */
sim_mrc *sim_mrc_create(const struct sim_mrc_opts *o, char *err, size_t errlen);

/*! sim_mrc_access() :
 * Feeds one request, in trace order.  If `distance` is not NULL it receives
 * the request's stack distance in the tracker's unit, over all objects and
 * unscaled: 0 for a first access, a delete or a request not sampled.
 * @return 0, or SIM_ENOMEM (then the tracker is unusable). */
int sim_mrc_access(sim_mrc *m, const struct sim_req *req, uint64_t *distance);

/*! sim_mrc_access_batch() :
 * sim_mrc_access() on reqs[0..n) in order, fetching memory ahead (faster on
 * large traces).  @return 0 or SIM_ENOMEM. */
int sim_mrc_access_batch(sim_mrc *m, const struct sim_req *reqs, size_t n);

/*! sim_mrc_metrics() :
 * The metrics LRU would have at capacity sizes[i]: requests and bytes are
 * the trace's (deletes excluded); hits, misses and bytes_missed are exact,
 * or with sampling the sampled ratios applied to the totals (rounded).
 * evictions and expirations are 0 (not computed). */
void sim_mrc_metrics(const sim_mrc *m, size_t i, struct sim_metrics *out);

/*! sim_mrc_add_seconds() : adds to the time reported in the `seconds` column
 * (the caller times its loop; the tracker does not read clocks). */
void sim_mrc_add_seconds(sim_mrc *m, double s);

/*! sim_mrc_csv_row() :
 * One row of the result table (sim_csv_header's columns) for capacity
 * sizes[i]: policy "lru-mrc", params "" (exact) or "rate=R" (SHARDS);
 * evictions and expirations are left empty, and so are the `extra` columns.
 * @return 0 or SIM_EIO. */
int sim_mrc_csv_row(FILE *f, const char *trace, const sim_mrc *m, size_t i,
                    const char *const *extra);

/*! sim_mrc_free() : accepts NULL. */
void sim_mrc_free(sim_mrc *m);

#ifdef __cplusplus
}
#endif
#endif /* SIM_MRC_H */
