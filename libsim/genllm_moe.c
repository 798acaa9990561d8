/*
 * genllm_moe.c - mixture-of-experts routing traces: for every token of
 * every sequence and every layer, the top-k experts its router chose.
 * Expert-offloading caches (which experts to keep in GPU memory) feed on
 * two properties, both tunable here:
 *   skew      each layer's experts have Zipf(alpha) popularity (alpha 0:
 *             balanced routing), over a per-layer random order of the
 *             experts, so every layer has its own hot experts;
 *   locality  with probability `locality`, slot i of a token's choice at a
 *             layer repeats slot i of the previous token's choice there
 *             (consecutive tokens tend to use the same experts); otherwise
 *             the slot is drawn by popularity.
 * The k experts of a row are distinct: a draw is exact sampling without
 * replacement from the popularity weights of the experts not yet chosen
 * (O(experts) per draw).  Sequences are `len` tokens long; locality starts
 * afresh with each sequence.
 */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genllm_impl.h"

const struct sim_param_def genllm_moe_defs[] = {
    {"layers", SIM_P_INT, "32", 1, 1024, NULL, "MoE layers"},
    {"experts", SIM_P_INT, "64", 1, 65536, NULL, "experts per layer"},
    {"k", SIM_P_INT, "2", 1, 64, NULL, "experts per token and layer"},
    {"alpha", SIM_P_REAL, "1", 0, 100, NULL, "Zipf exponent of expert popularity"},
    {"locality", SIM_P_REAL, "0.5", 0, 1, NULL, "probability a slot repeats the previous token's"},
    {"len", SIM_P_INT, "256", 1, 1e9, NULL, "tokens per sequence"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

int genllm_moe_setup(sim_genllm *g, const sim_params *p, char *err, size_t errlen)
{
    struct moe *m = &g->m;
    m->layers = (uint32_t)sim_params_int(p, "layers");
    m->experts = (uint32_t)sim_params_int(p, "experts");
    m->k = (uint32_t)sim_params_int(p, "k");
    m->len = (uint32_t)sim_params_int(p, "len");
    m->locality = sim_params_real(p, "locality");
    double alpha = sim_params_real(p, "alpha");
    if (m->k > m->experts) {
        snprintf(err, errlen, "moe: parameter 'k' (%u) exceeds 'experts' (%u)", m->k, m->experts);
        return SIM_EINVAL;
    }
    size_t lk = (size_t)m->layers * m->k;
    m->weight = malloc(m->experts * sizeof *m->weight);
    m->perm = malloc((size_t)m->layers * m->experts * sizeof *m->perm);
    m->prev = calloc(lk, sizeof *m->prev);
    m->cur = calloc(lk, sizeof *m->cur);
    m->out = calloc(m->k, sizeof *m->out);
    m->taken = calloc(m->experts, 1);
    if (!m->weight || !m->perm || !m->prev || !m->cur || !m->out || !m->taken) {
        snprintf(err, errlen, "out of memory");
        return SIM_ENOMEM;
    }
    for (uint32_t r = 0; r < m->experts; r++) /* (r+1)^-alpha */
        m->weight[r] = sim_gen_exp(-alpha * sim_gen_log((double)r + 1));
    struct sim_rng pr; /* per-layer orders: Fisher-Yates */
    sim_rng_seed(&pr, genllm_mix(g->seed, 11));
    for (uint32_t l = 0; l < m->layers; l++) {
        uint32_t *q = m->perm + (size_t)l * m->experts;
        for (uint32_t e = 0; e < m->experts; e++)
            q[e] = e;
        for (uint32_t e = m->experts - 1; e > 0; e--) {
            uint32_t j = (uint32_t)sim_rng_below(&pr, e + 1), t = q[e];
            q[e] = q[j];
            q[j] = t;
        }
    }
    return 0;
}

void genllm_moe_free(struct moe *m)
{
    free(m->weight);
    free(m->perm);
    free(m->prev);
    free(m->cur);
    free(m->out);
    free(m->taken);
}

/* A rank by popularity among those not taken (at least one is free). */
static uint32_t draw_rank(sim_genllm *g)
{
    struct moe *m = &g->m;
    double total = 0;
    for (uint32_t r = 0; r < m->experts; r++)
        if (!m->taken[r])
            total += m->weight[r];
    double u = sim_rng_unit(&g->rng) * total;
    uint32_t last = 0;
    for (uint32_t r = 0; r < m->experts; r++) {
        if (m->taken[r])
            continue;
        last = r;
        if (u < m->weight[r])
            return r;
        u -= m->weight[r];
    }
    return last; /* rounding left u just above the total */
}

/* The k ranks of the current token at the current layer. */
static void route(sim_genllm *g)
{
    struct moe *m = &g->m;
    uint32_t *prev = m->prev + (size_t)m->layer * m->k, *cur = m->cur + (size_t)m->layer * m->k;
    for (uint32_t i = 0; i < m->k; i++) {
        uint32_t r;
        if (m->pos > 0 && m->locality > 0 && sim_rng_unit(&g->rng) < m->locality
            && !m->taken[prev[i]])
            r = prev[i];
        else
            r = draw_rank(g);
        m->taken[r] = 1;
        cur[i] = r;
    }
    const uint32_t *perm = m->perm + (size_t)m->layer * m->experts;
    for (uint32_t i = 0; i < m->k; i++) {
        m->taken[cur[i]] = 0;
        m->out[i] = perm[cur[i]];
    }
}

int genllm_moe_next(sim_genllm *g, struct sim_moe_row *row)
{
    struct moe *m = &g->m;
    if (m->tokens >= g->requests)
        return 0;
    route(g);
    row->seq = m->seq;
    row->pos = m->pos;
    row->layer = m->layer;
    row->k = m->k;
    row->experts = m->out;
    if (++m->layer < m->layers)
        return 1;
    m->layer = 0; /* the token is done: its choices become the previous ones */
    uint32_t *t = m->prev;
    m->prev = m->cur;
    m->cur = t;
    m->tokens++;
    if (++m->pos == m->len) {
        m->pos = 0;
        m->seq++;
    }
    return 1;
}
