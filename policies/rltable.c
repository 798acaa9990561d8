/*
 * rltable.c - learned eviction from an RL-exported model (qtable or rlmlp).
 *
 * Paper: Cold-RL: Learning Cache Eviction with Offline Reinforcement
 * Learning for NGINX (2025).  On each eviction Cold-RL takes the K least
 * recently used objects, computes six features per object (age, size, hit
 * count, time since last access, remaining TTL, last origin fetch), and a
 * dueling DQN picks which to evict, within a 500 us budget, falling back to
 * LRU.  Its released code ships no trained model: this policy runs a model
 * trained elsewhere (rltable(5) gives both formats) or by `replay --train`.
 *
 * Mechanism (libsim/rl_engine.c): LRU order plus, at each eviction
 * decision, K candidates (LRU tail or random) scored by the model; the
 * candidates worth evicting (score > 0) go first, highest score first,
 * until the new object fits, then the LRU tail.
 *
 * Two options go beyond Cold-RL, both off by default: spared=promote moves
 * the candidates the model keeps to the MRU end (a learned second chance,
 * as in CLOCK: without it a kept candidate stays at the tail and is the
 * next decision's candidate again), and fill=score takes any further room
 * from the remaining candidates in score order before the LRU tail.
 *
 * Deviations: a qtable state never seen in training, with "# unseen lru",
 * turns the whole decision into an LRU decision (Cold-RL has no table);
 * the time budget is off by default (budget_ns=0) because a wall-clock
 * fallback makes runs non-deterministic.  Decision latency is always
 * measured (quarter-octave histogram), which does not affect outcomes.
 *
 * Invariants: those of the engine (the LRU list holds exactly the cached
 * objects; used <= capacity).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_internal.h"

static const struct sim_param_def rltable_params[] = {
    {"model", SIM_P_STR, "", 0, 0, NULL,
     "model file: qtable v1 or rlmlp v1 (rltable(5)); none: every decision is LRU's"},
    {"k", SIM_P_INT, "0", 0, SIM_RL_KMAX, NULL,
     "candidates per decision; 0 = the model's K, else 16"},
    {"candidates", SIM_P_ENUM, "model", 0, 0, "model|lru|random",
     "candidate source; model = the table's, else lru"},
    {"spared", SIM_P_ENUM, "stay", 0, 0, "stay|promote",
     "candidates the model keeps: stay in LRU order, or move to the MRU end"},
    {"fill", SIM_P_ENUM, "lru", 0, 0, "lru|score",
     "room still needed after the worthy candidates: LRU tail, or the other "
     "candidates by score first"},
    {"budget_ns", SIM_P_INT, "0", 0, 1e12, NULL,
     "per-decision time budget, LRU when exceeded; 0 = off (deterministic)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static const char *const rltable_columns[] = {
    "model_decisions", "fallback_decisions", "decision_ns_p50", "decision_ns_p95",
    "decision_ns_p99", NULL,
};

/* K and the candidate source from the parameters and the model. */
static int rltable_opts(const sim_params *p, sim_rl_model *m, struct sim_rlc_opts *o,
                        char *err, size_t errlen)
{
    const char *path = sim_params_str(p, "model");
    const struct sim_rl_qtable *t = sim_rl_model_qtable(m);
    unsigned mk = sim_rl_model_k(m);
    int64_t k = sim_params_int(p, "k");
    o->k = k ? (unsigned)k : mk ? mk : 16;
    if (!t && mk && o->k != mk) {
        snprintf(err, errlen, "rltable: k=%u, but %s is a joint network for K=%u", o->k,
                 path, mk);
        return SIM_EINVAL;
    }
    const char *c = sim_params_str(p, "candidates");
    if (strcmp(c, "model") == 0)
        o->candidates = t ? t->candidates : SIM_RL_CAND_LRU;
    else
        o->candidates = strcmp(c, "random") == 0 ? SIM_RL_CAND_RANDOM : SIM_RL_CAND_LRU;
    o->budget_ns = (uint64_t)sim_params_int(p, "budget_ns");
    o->promote = strcmp(sim_params_str(p, "spared"), "promote") == 0;
    o->fill_score = strcmp(sim_params_str(p, "fill"), "score") == 0;
    o->model = m;
    return 0;
}

static void *rltable_create(const struct sim_cache_config *cfg, const sim_params *p,
                            char *err, size_t errlen)
{
    const char *path = sim_params_str(p, "model");
    char merr[SIM_ERRLEN];
    sim_rl_model *m = NULL;
    if (*path && !(m = sim_rl_model_load(path, merr, sizeof merr))) {
        snprintf(err, errlen, "rltable: %s", merr);
        return NULL;
    }
    struct sim_rlc_opts o = {0};
    if (!m) {
        /* No model: every decision is an LRU decision (counted as fallback). */
        int64_t k = sim_params_int(p, "k");
        o.k = k ? (unsigned)k : 16;
        o.candidates = strcmp(sim_params_str(p, "candidates"), "random") == 0
                       ? SIM_RL_CAND_RANDOM : SIM_RL_CAND_LRU;
    } else if (rltable_opts(p, m, &o, err, errlen)) {
        sim_rl_model_free(m);
        return NULL;
    }
    sim_rlc *e = sim__rlc_create(cfg, &o, err, errlen);
    if (!e)
        sim_rl_model_free(m);
    return e;
}

static void rltable_destroy(void *state) { sim__rlc_free(state); }

static void rltable_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    sim__rlc_access(state, req, out);
}

static void rltable_values(void *state, double *v) { sim__rlc_values(state, v); }
static void rltable_reset(void *state) { sim__rlc_reset(state); }
static uint64_t rltable_used(void *state) { return sim__rlc_used(state); }

static int rltable_check(void *state, char *err, size_t errlen)
{
    return sim__rlc_check(state, err, errlen);
}

const struct sim_policy_ops sim_policy_rltable = {
    .abi_version = SIM_POLICY_ABI,
    .name = "rltable",
    .summary = "learned eviction from an RL-exported qtable or network (Cold-RL)",
    .reference = "Cold-RL: offline RL for NGINX cache eviction, 2025",
    .needs = SIM_F_KEY | SIM_F_SIZE,
    .unit = SIM_UNIT_BYTES,
    .params = rltable_params,
    .columns = rltable_columns,
    .create = rltable_create,
    .destroy = rltable_destroy,
    .access = rltable_access,
    .values = rltable_values,
    .reset = rltable_reset,
    .check = rltable_check,
    .used = rltable_used,
};
