/*
 * rl_internal.h - what the learned-eviction files of libsim share (model
 * parsers, the candidate engine behind the rltable policy and the export).
 * Not installed.
 */
#ifndef SIM_RL_INTERNAL_H
#define SIM_RL_INTERNAL_H

#include "internal.h"
#include "sim_rl.h"

/* Widest network layer accepted (keeps evaluation on the stack). */
#define SIM_RL_MAXWIDTH 1024

/* rl_qtable.c: parse the text format from an open stream into *t (caller
 * frees with sim_rl_qtable_free on success). */
int sim__rl_qtable_parse(sim_in *in, const char *path, struct sim_rl_qtable *t, char *err,
                         size_t errlen);
/* Checks a table's metadata and rows (load and from_qtable share it). */
int sim__rl_qtable_check(const struct sim_rl_qtable *t, const char *name, char *err,
                         size_t errlen);

/* rl_mlp.c: parse the binary format; check; free the arrays of *m. */
int sim__rl_mlp_parse(sim_in *in, const char *path, struct sim_rl_mlp *m, char *err,
                      size_t errlen);
int sim__rl_mlp_check(const struct sim_rl_mlp *m, const char *name, char *err, size_t errlen);
int sim__rl_mlp_copy(struct sim_rl_mlp *dst, const struct sim_rl_mlp *src);
void sim__rl_mlp_free(struct sim_rl_mlp *m);
/* sim_rl_mlp_eval with optional transposed dense weights wt[layer] (NULL
 * entries: row-major path); same bits either way. */
void sim__rl_mlp_forward(const struct sim_rl_mlp *m, float *const *wt, const float *in,
                         float *out, float *scratch);
/* Per-candidate networks no wider than SIM_RL_BATCH_WIDTH: scores n <= 32
 * candidates (x: n rows of 6) at once; same bits as one at a time. */
#define SIM_RL_BATCH_WIDTH 128
void sim__rl_mlp_batch(const struct sim_rl_mlp *m, const float *x, unsigned n, float *out);

/*=====   The candidate engine (rl_engine.c)   =====*/

/*
 * An object cache (objcache hooks) keeping LRU order plus the per-object
 * facts the features need, and deciding evictions from K candidates with a
 * model (or pure LRU without one).  Used by policies/rltable.c and by
 * sim_rl_export().
 */
typedef struct sim_rlc_s sim_rlc;

struct sim_rlc_opts {
    unsigned k;
    enum sim_rl_candidates candidates;
    uint64_t budget_ns;            /* 0 = off */
    int promote;                   /* spared candidates move to the MRU end */
    int fill_score;                /* after the worthy ones, the other
                                      candidates by score, then the LRU tail */
    sim_rl_model *model;           /* owned by the engine; NULL = LRU */
    /* Called after each decision with the candidates' facts (n of them),
     * their features, and which were evicted; may be NULL.  aux[i] is the
     * value sim_rlc_set_aux() gave when the candidate was last requested. */
    void (*on_decision)(void *arg, uint64_t now_us, unsigned n, const float *x,
                        const struct sim_rl_facts *facts, const uint64_t *aux,
                        const uint8_t *evicted);
    void *arg;
};

sim_rlc *sim__rlc_create(const struct sim_cache_config *cfg, const struct sim_rlc_opts *o,
                         char *err, size_t errlen);
void sim__rlc_free(sim_rlc *e);
void sim__rlc_access(sim_rlc *e, const struct sim_req *req, struct sim_outcome *out);
/* A value stored with the object touched by the next access (export). */
void sim__rlc_set_aux(sim_rlc *e, uint64_t aux);
/* model_decisions, fallback_decisions, p50, p95, p99 (ns). */
void sim__rlc_values(const sim_rlc *e, double *v);
void sim__rlc_reset(sim_rlc *e);
int sim__rlc_check(const sim_rlc *e, char *err, size_t errlen);
uint64_t sim__rlc_used(const sim_rlc *e);

#endif
