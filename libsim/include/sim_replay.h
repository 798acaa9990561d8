/*
 * sim_replay.h - replaying a trace on its own clock, with time series.
 *
 * sim_run() (sim.h) measures whole runs.  sim_replay() presents every
 * request to every cache in trace order and cuts the run into windows, by
 * trace time or by request count, writing one CSV row per window and cache:
 *
 *   window,start_s,start_request,policy,params,cache_size,requests,hits,
 *   hit_ratio,bytes,byte_hit_ratio,evictions,expirations,occupancy
 *
 * start_s is the window's start in trace seconds since the first request;
 * occupancy is used/capacity at the window's end (empty when the policy
 * does not report its use).  TTLs expire on the trace clock, lazily: an
 * object past its expiry is removed (and counted in `expirations`) when it
 * is next requested, as in memcached; until then it occupies room.
 * Since 0.1.
 */
#ifndef SIM_REPLAY_H
#define SIM_REPLAY_H

#include <stdio.h>

#include "sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a window or a warm-up is measured. */
enum sim_span_unit { SIM_SPAN_REQUESTS = 0, SIM_SPAN_MICROS = 1 };

struct sim_span {
    enum sim_span_unit unit;
    uint64_t n;              /* requests, or microseconds of trace time; 0 = none */
};

/*! sim_span_parse() :
 * "100000" (requests) or a duration with a unit: "60s", "5m", "2h", "1d",
 * "250ms", "1.5s".  @return 0, or SIM_EINVAL. */
int sim_span_parse(const char *s, struct sim_span *sp);

struct sim_replay_opts {
    struct sim_span window;  /* n == 0: one row per cache for the whole run */
    struct sim_span warmup;  /* not measured, no rows */
};

/*! sim_replay() :
 * Streams the reader once through the n caches (one thread), writing the
 * header and the window rows to `out`.  A window holds the requests from
 * its start up to, not including, the first request at or past start +
 * length; time windows are aligned to the end of the warm-up, and windows
 * without requests (gaps in the trace) are not written.  At the end of the warm-up the caches' metrics are reset.  Requests with
 * times going backwards are kept; windows only move forward.
 * @return 0, or a SIM_E* code with err set (rows written so far stay). */
int sim_replay(sim_reader *r, sim_cache *const *caches, size_t n,
               const struct sim_replay_opts *o, FILE *out, char *err, size_t errlen);

/*! sim_cache_used() :
 * Units the cache's objects occupy, or -1 when its policy does not say
 * (struct sim_policy_ops.used).  Cannot fail. */
int64_t sim_cache_used(const sim_cache *c);

#ifdef __cplusplus
}
#endif
#endif /* SIM_REPLAY_H */
