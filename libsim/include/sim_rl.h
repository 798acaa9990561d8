/*
 * sim_rl.h - learned eviction: models exported by reinforcement-learning
 * trainers (Cold-RL style), the features they read, the training-data
 * export and a small offline trainer.
 *
 * Introduction
 * ------------
 * At each eviction decision a learned policy looks at K candidates (the K
 * least recently used objects, or K random ones), computes six features for
 * each, and asks a model which candidates are worth evicting.  Two model
 * formats are supported (both documented for writers in rltable(5)):
 *
 *   qtable v1  CSV text: binned features -> (q_keep, q_evict) per state;
 *   rlmlp v1   little-endian binary: a small network (dense, ReLU,
 *              LayerNorm) scoring one candidate or all K jointly.
 *
 * The closed loop is: sim_rl_export() replays a trace and writes one row
 * per candidate per decision with a reward label; sim_rl_train() turns such
 * rows into a qtable; the `rltable` policy loads a model and evicts with it.
 *
 * Features (all float32, in this order; times come from the trace clock):
 *   0 age_s       seconds since the object was inserted into the cache
 *   1 size_bytes  object size in bytes
 *   2 hits        hits since insertion (the inserting miss is not a hit)
 *   3 idle_s      seconds since the object's last request
 *   4 ttl_left_s  seconds until the object expires; -1 when it has no TTL
 *   5 fetch_s     seconds since the object was last fetched from the origin:
 *                 its insertion, or the last SET request that rewrote it.
 *                 The simulator expires lazily and re-inserts an expired
 *                 object as a new object, so on get-only traces fetch_s
 *                 equals age_s.
 * A duration is computed as (float)((double)delta_us / 1e6): one double
 * division, one rounding to float (numpy: np.float32(delta_us / 1e6)).
 *
 * Scores: a candidate's score is how much the model prefers evicting it
 * (qtable: q_evict - q_keep in float32; rlmlp: the network's output).  A
 * candidate is worth evicting when its score is > 0; the worth-evicting
 * candidates are evicted highest score first (ties: candidate order, i.e.
 * least recently used first for LRU candidates, sampling order for random
 * ones) until the new object fits, and any further room comes from the
 * LRU tail (policy options: rltable(5)).
 *
 * Errors follow sim.h: negative SIM_E* codes, a message in `err`, naming
 * the file and "line N" (text) or "offset N" (binary).
 */
#ifndef SIM_RL_H
#define SIM_RL_H

#include <stdint.h>
#include <stdio.h>

#include "sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/*=====   Features   =====*/

#define SIM_RL_NFEAT 6
#define SIM_RL_KMAX 32

enum sim_rl_feature {
    SIM_RL_AGE = 0,
    SIM_RL_SIZE = 1,
    SIM_RL_HITS = 2,
    SIM_RL_IDLE = 3,
    SIM_RL_TTL_LEFT = 4,
    SIM_RL_FETCH = 5
};

/*! sim_rl_feature_name() / sim_rl_feature_find() :
 * The names above ("age_s", ...); find returns the index or SIM_ENOTFOUND. */
const char *sim_rl_feature_name(unsigned f);
int sim_rl_feature_find(const char *name);

/*! sim_rl_feature_unit() : "s", "bytes" or "count", for CSV headers. */
const char *sim_rl_feature_unit(unsigned f);

/* Per-object facts from which the features are computed (times in us). */
struct sim_rl_facts {
    uint64_t insert_us, last_us, fetch_us;
    uint32_t size, hits;
    uint32_t expire_s;  /* absolute trace second; 0 = no TTL */
};

/*! sim_rl_features() :
 * Fills x[SIM_RL_NFEAT] for an object with facts `o` at time now_us.
 * Cannot fail.  Times before an event (clock going backwards) give 0. */
void sim_rl_features(const struct sim_rl_facts *o, uint64_t now_us, float *x);

/*=====   Models   =====*/

enum sim_rl_candidates { SIM_RL_CAND_LRU = 0, SIM_RL_CAND_RANDOM = 1 };
enum sim_rl_unseen { SIM_RL_UNSEEN_LRU = 0, SIM_RL_UNSEEN_KEEP = 1, SIM_RL_UNSEEN_EVICT = 2 };

/* A qtable's feature and its bin edges (strictly increasing; bins = n+1). */
struct sim_rl_qfeat {
    unsigned feature;   /* enum sim_rl_feature */
    unsigned nedges;
    float *edges;
};

/* One visited state. */
struct sim_rl_qrow {
    uint8_t bins[SIM_RL_NFEAT]; /* per table feature, in table order */
    float q_keep, q_evict;
    uint64_t visits;
};

/* A qtable as data: fill it and call sim_rl_qtable_write(), or get one from
 * sim_rl_qtable_load() (then owned by the model). */
struct sim_rl_qtable {
    unsigned nfeat;
    struct sim_rl_qfeat feat[SIM_RL_NFEAT];
    unsigned k;                       /* candidates per decision, 1..32 */
    enum sim_rl_candidates candidates;
    enum sim_rl_unseen unseen;
    size_t nrows;
    struct sim_rl_qrow *rows;
};

/* rlmlp layers and modes. */
enum sim_rl_layer { SIM_RL_DENSE = 1, SIM_RL_RELU = 2, SIM_RL_LAYERNORM = 3 };
enum sim_rl_mode { SIM_RL_PER_CANDIDATE = 0, SIM_RL_JOINT = 1 };

struct sim_rl_mlp_layer {
    enum sim_rl_layer type;
    unsigned nin, nout;      /* DENSE: nout x nin weights; others nin == nout */
    float *w;                /* DENSE: row-major [nout][nin]; LAYERNORM: gamma */
    float *b;                /* DENSE: bias; LAYERNORM: beta */
    float eps;               /* LAYERNORM */
};

struct sim_rl_mlp {
    enum sim_rl_mode mode;
    unsigned nin;            /* 6 per candidate; 6*K joint */
    unsigned nlayers;
    float *mean, *std;       /* nin each; std > 0 */
    float clip;              /* |normalised input| <= clip; 0 = no clipping */
    struct sim_rl_mlp_layer *layers;
};

typedef struct sim_rl_model_s sim_rl_model;

/*! sim_rl_model_load() :
 * Loads a model file, either format, told apart by its first bytes
 * ("RLMP" binary, else qtable text).
 * @return the model, or NULL with "path:line N: ..." / "path: offset N: ..."
 *         in err.  Errors: unknown feature name, edges not strictly
 *         increasing, declared bin count not edges+1, bin index out of
 *         range, duplicate state, truncated file, wrong magic or version,
 *         layer shapes that do not chain. */
sim_rl_model *sim_rl_model_load(const char *path, char *err, size_t errlen);

/*! sim_rl_model_from_qtable() / sim_rl_model_from_mlp() :
 * A model from data in memory (copied; `name` is used in messages).
 * @return the model or NULL with err set (the same checks as loading). */
sim_rl_model *sim_rl_model_from_qtable(const struct sim_rl_qtable *t, const char *name,
                                       char *err, size_t errlen);
sim_rl_model *sim_rl_model_from_mlp(const struct sim_rl_mlp *m, const char *name,
                                    char *err, size_t errlen);
void sim_rl_model_free(sim_rl_model *m);

/*! sim_rl_model_k() : the K the model was built for (qtable metadata; joint
 * networks: nin/6; per-candidate networks: 0, any K). */
unsigned sim_rl_model_k(const sim_rl_model *m);
/*! sim_rl_model_qtable() : the table, or NULL for a network. */
const struct sim_rl_qtable *sim_rl_model_qtable(const sim_rl_model *m);

/*! sim_rl_model_score() :
 * Scores n candidates (n <= SIM_RL_KMAX) whose features are x[i*6 .. i*6+5].
 * Fills score[i], and seen[i] = 0 where a qtable has no row for the state
 * (score is then 0).  A joint network sees K slots; slots past n get zero
 * features and their outputs are ignored.
 * @return the number of unseen candidates (0 for networks).  Cannot fail;
 *         allocates nothing. */
unsigned sim_rl_model_score(const sim_rl_model *m, const float *x, unsigned n,
                            float *score, uint8_t *seen);

/*! sim_rl_qtable_bin() :
 * The bin of value v among edges e[0..n-1]: the number of edges <= v
 * (so bin 0 is below the first edge).  NaN gives 0. */
unsigned sim_rl_qtable_bin(const float *e, unsigned n, float v);

/*! sim_rl_mlp_eval() :
 * Runs the network on one input vector in[m->nin]; out receives the final
 * layer's outputs.  `scratch` must hold 2 * (widest layer) floats.
 * Order of operations (float32 throughout, no fused multiply-add):
 *   normalise: z_i = (x_i - mean_i) / std_i, then clamp to [-clip, clip];
 *   DENSE:  acc = b_j; for i = 0..nin-1: acc = acc + w[j][i] * z_i;
 *   RELU:   z_i = z_i > 0 ? z_i : 0;
 *   LAYERNORM: mu = (z_0 + z_1 + ... left to right) / n;
 *           var = ((z_0-mu)^2 + ... left to right) / n;
 *           z_i = (z_i - mu) / sqrtf(var + eps) * gamma_i + beta_i.
 * Cannot fail. */
void sim_rl_mlp_eval(const struct sim_rl_mlp *m, const float *in, float *out,
                     float *scratch);
/*! sim_rl_mlp_width() : the widest vector the network handles. */
unsigned sim_rl_mlp_width(const struct sim_rl_mlp *m);

/*! sim_rl_qtable_write() / sim_rl_mlp_write() :
 * Write the formats; floats with 9 significant digits, which round-trip
 * float32 exactly.  The output appears under `path` only when complete.
 * @return 0 or a SIM_E* code with err set. */
int sim_rl_qtable_write(const struct sim_rl_qtable *t, const char *path, char *err,
                        size_t errlen);
int sim_rl_mlp_write(const struct sim_rl_mlp *m, const char *path, char *err,
                     size_t errlen);

/*=====   Latency histogram   =====*/

/* Fixed quarter-octave buckets over nanoseconds: bucket b >= 4 holds
 * [2^(b/4) ... 2^((b+1)/4)) roughly; no allocation per sample. */
#define SIM_RL_HIST_BUCKETS 192
struct sim_rl_hist {
    uint64_t n;
    uint64_t count[SIM_RL_HIST_BUCKETS];
};
void sim_rl_hist_add(struct sim_rl_hist *h, uint64_t ns);
/*! sim_rl_hist_quantile() : the upper edge of the bucket holding quantile q
 * (so it overstates by at most 19%); 0 when empty. */
double sim_rl_hist_quantile(const struct sim_rl_hist *h, double q);

/*=====   Training data export   =====*/

struct sim_rl_export_opts {
    uint64_t capacity;         /* cache size in `unit`s */
    enum sim_unit unit;        /* BYTES or OBJECTS */
    unsigned k;                /* candidates per decision, 1..32 */
    enum sim_rl_candidates candidates;
    uint64_t seed;             /* random candidates */
    uint64_t horizon_us;       /* label window for objects without TTL */
    const char *model;         /* behaviour policy's model file; NULL = LRU */
};

/*! sim_rl_export() :
 * Replays the trace once to learn, for every request, when its key is next
 * requested (8 bytes per request held in memory), rewinds, and replays it
 * through a cache that decides evictions like `rltable` would (pure LRU
 * without a model), writing one CSV row per candidate per decision:
 *   decision,time_s,age_s,size_bytes,hits,idle_s,ttl_left_s,fetch_s,
 *   evicted,reward
 * (the header line is "# units: ..." then the names; see rltable(5)).
 * reward is 1 when the candidate's key is requested again before the
 * object would expire (TTL), or, without TTL, within horizon_us of the
 * decision; else 0.  The label ignores whether the object was evicted:
 * it is about the future request stream.
 * @return the number of decisions (>= 0), or a SIM_E* code with err set;
 *         standard input cannot be rewound (SIM_EUNSUPPORTED). */
int64_t sim_rl_export(sim_reader *r, const struct sim_rl_export_opts *o, FILE *out,
                      char *err, size_t errlen);

/*! sim_rl_export_reqs() :
 * The same over n requests in memory (their `index` is ignored: position
 * i is request i).  @return as sim_rl_export(). */
int64_t sim_rl_export_reqs(const struct sim_req *reqs, size_t n,
                           const struct sim_rl_export_opts *o, FILE *out, char *err,
                           size_t errlen);

/*=====   Trainer   =====*/

enum sim_rl_objective { SIM_RL_OBJ_HITS = 0, SIM_RL_OBJ_BYTES = 1 };

struct sim_rl_train_opts {
    unsigned bins;             /* log-spaced bins per feature when no edges given */
    unsigned k;                /* K recorded in the table */
    enum sim_rl_candidates candidates;
    enum sim_rl_unseen unseen;
    /* Explicit edges per feature (NULL = log-spaced from the data). */
    const float *edges[SIM_RL_NFEAT];
    unsigned nedges[SIM_RL_NFEAT];
    uint64_t min_visits;       /* states seen fewer times are dropped */
    unsigned feature_mask;     /* bit f: use feature f; 0 = all six */
    enum sim_rl_objective objective; /* HITS: reuse per byte; BYTES: reuse */
};

/*! sim_rl_train() :
 * Reads exported rows (sim_rl_export's CSV; columns found by name) from
 * `in` and fits a qtable over the six features by one-step fitted
 * Q-iteration (discount 0): for each state s,
 *   q_keep(s)  = mean reward of the rows in s (probability of reuse); with
 *                objective HITS, times (mean size of all rows) / (mean size
 *                of the rows in s): reuse per byte of room;
 *   q_evict(s) = mean reward over all rows (what the freed room is worth to
 *                a typical object),
 * so a candidate is evicted when it is less likely than average to be
 * reused.  Default edges are log-spaced: `bins`-1 edges from the smallest
 * positive value to the largest of each feature (geometric), so values <= 0
 * have their own bin.  `path` names `in` in messages.
 * @return 0 and *t filled (free with sim_rl_qtable_free), or a SIM_E* code. */
int sim_rl_train(FILE *in, const char *path, const struct sim_rl_train_opts *o,
                 struct sim_rl_qtable *t, char *err, size_t errlen);
void sim_rl_qtable_free(struct sim_rl_qtable *t);

#ifdef __cplusplus
}
#endif
#endif /* SIM_RL_H */
