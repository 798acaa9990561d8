/*
 * sim_serve.h - LLM serving with in-context example caching (IC-Cache) and
 * load-aware routing, simulated over time.
 *
 * Introduction
 * ------------
 * IC-Cache (SOSP 2025) keeps request/response pairs that models produced and
 * prepends the most useful similar ones to a new request as in-context
 * examples, so that a small model answers nearly as well as a large one; a
 * router sends each request to a model by predicted quality and current
 * load.  This header models the pieces a researcher varies:
 *
 *   1. sim_modelpool: the models, read from a small config file: per model
 *      a quality profile, token costs and a serving model.
 *   2. sim_excache: the example cache: entries are past requests with their
 *      embeddings and answers; selection by similarity then utility,
 *      utilities learned from feedback, admission and eviction by utility
 *      per byte under a byte budget, and cost-aware offline replay.
 *   3. sim_serve: a discrete-event simulation of requests arriving (trace
 *      times or Poisson), routed, queued and served by replicas, with
 *      per-window and overall throughput, latency, quality and cost.
 *
 * The quality model (documented in full in iccache(7) and serve.c):
 *   p(m, r, E) = clamp(q[m][cat] - slope[m] * (d - 0.5)
 *                      + gain[m] * (1 - exp(-sum_i g_i / scale[m])), 0, 1)
 * for model m, request r of category cat and difficulty d in [0, 1)
 * (a hash of r's class, so paraphrases share it), examples E with
 * per-example true value g_i = acceptable_i * match_i * rel(sim_i):
 * match is 1 for the same class, `cross` for the same category, else 0;
 * rel(s) = clamp((s - 0.5) / 0.5, 0, 1).  The router does not know
 * acceptable_i and match_i: it predicts u_i * rel'(s) with the learned
 * utility u_i and its own cut-off min_sim in rel'.
 * An answer is acceptable when U_r < p, with U_r uniform, drawn from the
 * seed and the request's index: the same for every router (common random
 * numbers), so differences between routers are not sampling noise.
 *
 * Serving model: a replica runs up to `batch` requests at once
 * (continuous batching, approximated): with n requests in the batch each
 * advances at speed 1 / (1 + alpha (n - 1)) of its batch-1 speed, where
 * alpha = 1 / (decode_s * tokens_per_s), so the replica's decode throughput
 * approaches tokens_per_s as the batch fills.  A request's work at batch 1
 * is prefill_s * prompt tokens (its own plus its examples') then
 * decode_s * output tokens; time to first token is the end of prefill.
 * With batch 1 a replica is a FIFO single server (M/G/1 under Poisson).
 *
 * Error model: as sim.h.  Since 0.1; experimental.
 */
#ifndef SIM_SERVE_H
#define SIM_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"
#include "sim_vec.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIM_SERVE_MAX_MODELS 8
#define SIM_SERVE_MAX_CATS 32

/*=====   Model pools   =====*/

struct sim_model {
    char name[32];
    double cost_in, cost_out;   /* currency per token (config: per million) */
    double prefill_s, decode_s; /* seconds per token at batch 1 */
    double tokens_per_s;        /* decode throughput of a full replica */
    unsigned replicas, batch;
    double quality[SIM_SERVE_MAX_CATS]; /* q[cat]: alone, at difficulty 0.5 */
    double difficulty_slope;
    double example_gain;        /* most quality examples can add */
    double example_scale;       /* summed example value giving 63% of it */
};

typedef struct sim_modelpool_s sim_modelpool;

/*! sim_modelpool_load() :
 * Reads a pool from an INI-style file:
 *     [pool]
 *     categories = code chat math        (names, space-separated; optional)
 *     [model small]
 *     replicas = 2                        (>= 1)
 *     batch = 32                          (>= 1)
 *     prefill_ms_per_token = 0.02
 *     decode_ms_per_token = 6
 *     tokens_per_s = 2500                 (>= 1000 / decode_ms_per_token)
 *     cost_in_per_mtok = 0.2
 *     cost_out_per_mtok = 0.6
 *     quality = 0.64                      (every category; in [0, 1])
 *     quality.math = 0.60                 (one category, declared above)
 *     difficulty_slope = 0.3              (optional, default 0)
 *     example_gain = 0.25                 (optional, default 0)
 *     example_scale = 1                   (optional, default 1)
 * '#' starts a comment.  Models are listed smallest (cheapest) first.
 * @return the pool, or NULL with "file:line: field: message" in err (a
 *         missing field names the model's section line). */
sim_modelpool *sim_modelpool_load(const char *path, char *err, size_t errlen);
void sim_modelpool_free(sim_modelpool *p);
unsigned sim_modelpool_count(const sim_modelpool *p);
const struct sim_model *sim_modelpool_model(const sim_modelpool *p, unsigned i);
/*! The category id of `name`, or SIM_ENOTFOUND.  A pool that declares no
 * categories has one, "all", and maps every name to it. */
int sim_modelpool_category(const sim_modelpool *p, const char *name);
unsigned sim_modelpool_ncategories(const sim_modelpool *p);
/*! The index of the model with the highest mean quality ("large"). */
unsigned sim_modelpool_largest(const sim_modelpool *p);

/*=====   Routers   =====*/

enum sim_router {
    SIM_ROUTE_LARGE = 0,     /* always the largest model */
    SIM_ROUTE_SMALL = 1,     /* always the smallest */
    SIM_ROUTE_THRESHOLD = 2, /* RouteLLM-style: large if its predicted win > tau */
    SIM_ROUTE_SEMCACHE = 3,  /* nearest cached response as-is, else large */
    SIM_ROUTE_ICCACHE = 4    /* examples + quality target + load */
};
const char *sim_router_name(enum sim_router r);
int sim_router_parse(const char *name);

/*=====   The serving simulation   =====*/

struct sim_serve_config {
    const sim_modelpool *pool;
    enum sim_router router;
    uint64_t seed;
    double window_s;          /* window length for the time series; 0 = none */
    double arrival_rate;      /* > 0: Poisson arrivals at this rate, ignoring
                                 trace times */
    /* Router */
    double quality_target;    /* iccache: lowest acceptable predicted quality */
    double slack;             /* iccache: target relaxed by slack * pressure
                                 of the largest model (not when target >= 1) */
    double load_threshold;    /* utilisation above which pressure starts */
    double load_width;        /* pressure = tanh((util - thr) / width) */
    double load_ema;          /* smoothing of utilisation per event, (0, 1] */
    double route_tau;         /* threshold router: large if p_L - p_S > tau */
    double semcache_threshold;/* semcache: cosine for serving as-is */
    /* Example cache */
    uint64_t cache_bytes;     /* byte budget */
    unsigned k;               /* examples per request, at most */
    double min_sim;           /* s0: similarity below which examples are useless */
    double cross;             /* value of a same-category, other-class example */
    double min_gain_per_ktok; /* add an example only if it adds this much
                                 predicted quality per 1000 prompt tokens */
    double utility_lr;        /* learning rate of utilities from feedback */
    double replay_budget;     /* cost per window for offline replay; 0 = off */
    unsigned bytes_per_token; /* example size: tokens * this + the embedding */
    enum sim_serve_index {
        SIM_SERVE_FLAT = 0,   /* exact scan (sim_vec flat) */
        SIM_SERVE_HNSW = 1,   /* HNSW graph (sim_vec hnsw) */
        SIM_SERVE_IVF = 2     /* clusters around ~sqrt(N) centroids, as IC-Cache */
    } index;                  /* example index */
    unsigned nprobe;          /* ivf: clusters scanned per search */
    /* Run */
    unsigned threads;         /* ivf: threads that search ahead, counting the
                                 caller's (0 or 1: the caller alone); the
                                 results do not depend on it */
};

/*! sim_serve_config_init() : defaults (documented in iccache(7)). */
void sim_serve_config_init(struct sim_serve_config *c, const sim_modelpool *pool);

/*! sim_serve_config_parse() :
 * Sets the router and its parameters from a spec "ROUTER" or
 * "ROUTER:key=value,...", e.g. "iccache:target=0.8,cache=64M,k=4".  Keys:
 * target, slack, load_threshold, load_width, load_ema, tau, threshold
 * (semcache), cache (bytes, K/M/G suffixes), k, min_sim, cross, min_gain,
 * lr, replay_budget, index (ivf|flat|hnsw), nprobe.  Unknown routers and keys, bad
 * numbers and values out of range are errors that name them.
 * @return 0, or SIM_EINVAL/SIM_ENOTFOUND with err set (c unchanged). */
int sim_serve_config_parse(struct sim_serve_config *c, const char *spec, char *err,
                           size_t errlen);

/* Metrics of a window or of the whole run. */
struct sim_serve_stats {
    double t_start, t_end;      /* simulated seconds */
    uint64_t arrived, completed, in_flight;
    double throughput_rps, tokens_per_s;
    double ttft_p50, ttft_p95, ttft_p99, ttft_mean;
    double e2e_p50, e2e_p95, e2e_p99, e2e_mean;
    double quality;             /* share of acceptable answers */
    double win_rate;            /* against always-large, same draws */
    double offload[SIM_SERVE_MAX_MODELS]; /* share of requests per model */
    double cache_served;        /* semcache: share answered from the cache */
    double cost;
    double example_hit_rate;    /* share of requests given >= 1 example */
    double examples_per_request;
    uint64_t cache_entries, cache_bytes;
    double replay_cost, replay_gain;
};

typedef struct sim_serve_s sim_serve;

/*! sim_serve_create() : @return the simulation or NULL with err set. */
sim_serve *sim_serve_create(const struct sim_serve_config *cfg, char *err, size_t errlen);
void sim_serve_free(sim_serve *s);

/*! sim_serve_on_window() : f is called with each completed window. */
void sim_serve_on_window(sim_serve *s, void (*f)(void *arg, const struct sim_serve_stats *w),
                         void *arg);

/*! sim_serve_arrive() :
 * One request, in arrival order.  It needs tokens_in and tokens_out; emb
 * (and class, category) for the cache-based routers.  `category_name` names
 * req->category in the pool (NULL: category 0).  With the IVF example
 * cache, requests may wait in a batch (copied: req need not outlive the
 * call), their example searches made ahead in `threads` threads, and are
 * served when the batch is full or at sim_serve_finish(); the results are
 * those of serving each at once, for any number of threads (iccache(7)).
 * @return 0, or SIM_EINVAL/SIM_EMISSING with a message (then nothing
 *         changed), or SIM_ENOMEM (serving a batch ran out of memory). */
int sim_serve_arrive(sim_serve *s, const struct sim_req *req, const char *category_name,
                     char *err, size_t errlen);

/*! sim_serve_finish() :
 * Serves the requests waiting in a batch, then runs the simulation until
 * every request has completed (or, with `drain` 0, stops at the last
 * arrival, leaving the rest in flight) and fills the overall stats.
 * More requests may arrive after it.  @return 0, or SIM_ENOMEM. */
int sim_serve_finish(sim_serve *s, int drain, struct sim_serve_stats *overall);

/*! sim_serve_csv_header() / sim_serve_csv_row() :
 * The serving table (columns in iccache(7)): router, window, t_start,
 * t_end, then the fields of struct sim_serve_stats, with one offload_NAME
 * column per model of the pool.  `window` is the window's number or "all".
 * @return 0 or SIM_EIO. */
int sim_serve_csv_header(FILE *f, const sim_modelpool *pool);
int sim_serve_csv_row(FILE *f, const char *router, const char *window,
                      const struct sim_serve_stats *st, const sim_modelpool *pool);

/*! sim_serve_run() : a whole trace through one simulation. */
int sim_serve_run(sim_serve *s, sim_reader *r, struct sim_serve_stats *overall, char *err,
                  size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* SIM_SERVE_H */
