/*
 * genllm.c - the LLM workload generators' front: the workload spec, the
 * arrival clock, dispatch to the kinds (genllm_query.c, genllm_serve.c,
 * genllm_moe.c) and the output files (CSV through sim_writer, Mooncake JSON
 * lines and MoE CSV through sim_out, embeddings through sim_npy_write).
 */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "genllm_impl.h"
#include "internal.h"
#include "reader.h"
#include "sim_vec.h"

/*=====   Helpers shared by the kinds   =====*/

double genllm_mu(double mean, double sigma)
{
    return sim_gen_log(mean) - sigma * sigma / 2; /* E = exp(mu + sigma^2/2) */
}

uint32_t genllm_lognormal(struct sim_rng *r, double mu, double sigma)
{
    double x = sim_gen_exp(mu + sigma * sim_gen_normal(r));
    return x < 1.5 ? 1 : x > 0x1p30 ? 1u << 30 : (uint32_t)(x + 0.5);
}

uint64_t genllm_time(sim_genllm *g)
{
    return gen_clock_next(&g->clock, &g->clock_rng);
}

/*=====   Creation   =====*/

static const struct spec_kind kinds[] = {
    {"query", SIM_GENLLM_QUERY, genllm_query_defs}, {"serve", SIM_GENLLM_SERVE, genllm_serve_defs},
    {"rag", SIM_GENLLM_RAG, genllm_rag_defs}, {"moe", SIM_GENLLM_MOE, genllm_moe_defs},
    {NULL, 0, NULL}};

/* The arrival clock is sim_gen's (gen_internal.h), with its own random
 * stream so that arrivals do not shift the other draws. */
static int setup_clock(sim_genllm *g, const struct sim_genllm_config *cfg, char *err,
                       size_t errlen)
{
    sim_rng_seed(&g->clock_rng, genllm_mix(cfg->seed, 7));
    return gen_clock_setup(&g->clock, cfg->arrivals ? cfg->arrivals : "poisson", err, errlen);
}

sim_genllm *sim_genllm_create(const struct sim_genllm_config *cfg, char *err, size_t errlen)
{
    if (cfg->requests == 0) {
        snprintf(err, errlen, "the number of requests must be positive");
        return NULL;
    }
    int id;
    sim_params *p = gen_parse_spec("workload", kinds, cfg->workload ? cfg->workload : "query",
                                   &id, err, errlen);
    if (!p)
        return NULL;
    sim_genllm *g = calloc(1, sizeof *g);
    if (!g) {
        sim_params_free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->kind = (enum sim_genllm_kind)id;
    g->seed = cfg->seed;
    g->requests = cfg->requests;
    sim_rng_seed(&g->rng, cfg->seed);
    int rc = 0;
    if (g->kind != SIM_GENLLM_QUERY && cfg->ncategories) {
        snprintf(err, errlen, "categories are for query workloads only");
        rc = SIM_EINVAL;
    }
    if (!rc)
        rc = setup_clock(g, cfg, err, errlen);
    if (!rc) {
        switch (g->kind) {
        case SIM_GENLLM_QUERY: rc = genllm_query_setup(g, p, cfg, err, errlen); break;
        case SIM_GENLLM_SERVE: rc = genllm_serve_setup(g, p, 0, err, errlen); break;
        case SIM_GENLLM_RAG: rc = genllm_serve_setup(g, p, 1, err, errlen); break;
        case SIM_GENLLM_MOE: rc = genllm_moe_setup(g, p, err, errlen); break;
        }
    }
    sim_params_free(p);
    if (rc) {
        sim_genllm_free(g);
        return NULL;
    }
    return g;
}

enum sim_genllm_kind sim_genllm_kind(const sim_genllm *g) { return g->kind; }

uint32_t sim_genllm_fields(const sim_genllm *g)
{
    switch (g->kind) {
    case SIM_GENLLM_QUERY: return genllm_query_fields(g);
    case SIM_GENLLM_SERVE:
        return SIM_F_TIME | SIM_F_KEY | SIM_F_USER | SIM_F_CONTEXT | SIM_F_TOKENS | SIM_F_BLOCKS;
    case SIM_GENLLM_RAG: return SIM_F_TIME | SIM_F_KEY | SIM_F_USER | SIM_F_TOKENS | SIM_F_BLOCKS;
    default: return 0;
    }
}

const char *const *sim_genllm_categories(const sim_genllm *g, unsigned *n)
{
    *n = g->kind == SIM_GENLLM_QUERY ? g->q.ncat : 0;
    return g->kind == SIM_GENLLM_QUERY ? g->q.names : NULL;
}

int sim_genllm_next(sim_genllm *g, struct sim_req *req, char *err, size_t errlen)
{
    if (g->kind == SIM_GENLLM_MOE) {
        snprintf(err, errlen, "a moe workload has rows, not requests");
        return SIM_EINVAL;
    }
    if (g->emitted >= g->requests)
        return 0;
    int rc = g->kind == SIM_GENLLM_QUERY ? genllm_query_next(g, req, err, errlen)
                                         : genllm_serve_next(g, req, err, errlen);
    if (rc == 1)
        g->emitted++;
    return rc;
}

int sim_genllm_next_moe(sim_genllm *g, struct sim_moe_row *row)
{
    if (g->kind != SIM_GENLLM_MOE)
        return SIM_EINVAL;
    return genllm_moe_next(g, row);
}

void sim_genllm_free(sim_genllm *g)
{
    if (!g)
        return;
    genllm_query_free(&g->q);
    genllm_serve_free(&g->s);
    genllm_moe_free(&g->m);
    free(g);
}

/*=====   Output   =====*/

/* A grow-only line buffer for the text writers. */
struct line {
    char *b;
    size_t len, cap;
};

static int line_reserve(struct line *l, size_t n)
{
    if (l->len + n <= l->cap)
        return 0;
    size_t cap = l->cap ? l->cap : 1024;
    while (cap < l->len + n)
        cap *= 2;
    char *b = realloc(l->b, cap);
    if (!b)
        return SIM_ENOMEM;
    l->b = b;
    l->cap = cap;
    return 0;
}

/* Appends an unsigned number (and `sep` if not NUL). */
static int line_u64(struct line *l, uint64_t v, char sep)
{
    if (line_reserve(l, 24))
        return SIM_ENOMEM;
    l->len += (size_t)snprintf(l->b + l->len, 24, "%llu", (unsigned long long)v);
    if (sep)
        l->b[l->len++] = sep;
    return 0;
}

static int line_str(struct line *l, const char *s)
{
    size_t n = strlen(s);
    if (line_reserve(l, n))
        return SIM_ENOMEM;
    memcpy(l->b + l->len, s, n);
    l->len += n;
    return 0;
}

/* One Mooncake JSON line: {"timestamp": ms, "input_length": n,
 * "output_length": n, "hash_ids": [...]}. */
static int mooncake_line(struct line *l, const struct sim_req *q)
{
    int rc = line_str(l, "{\"timestamp\": ");
    rc = rc ? rc : line_u64(l, q->time / 1000, 0);
    rc = rc ? rc : line_str(l, ", \"input_length\": ");
    rc = rc ? rc : line_u64(l, q->tokens_in, 0);
    rc = rc ? rc : line_str(l, ", \"output_length\": ");
    rc = rc ? rc : line_u64(l, q->tokens_out, 0);
    rc = rc ? rc : line_str(l, ", \"hash_ids\": [");
    for (uint32_t i = 0; !rc && i < q->nblocks; i++) {
        rc = line_u64(l, q->blocks[i], 0);
        if (!rc && i + 1 < q->nblocks)
            rc = line_str(l, ", ");
    }
    return rc ? rc : line_str(l, "]}\n");
}

static int moe_line(struct line *l, const struct sim_moe_row *r)
{
    int rc = line_u64(l, r->seq, ',');
    rc = rc ? rc : line_u64(l, r->pos, ',');
    rc = rc ? rc : line_u64(l, r->layer, r->k ? ',' : '\n');
    for (uint32_t i = 0; !rc && i < r->k; i++)
        rc = line_u64(l, r->experts[i], i + 1 < r->k ? ',' : '\n');
    return rc;
}

static int moe_header(struct line *l, uint32_t k)
{
    int rc = line_str(l, "seq,pos,layer");
    for (uint32_t i = 0; !rc && i < k; i++) {
        rc = line_str(l, ",e");
        rc = rc ? rc : line_u64(l, i, 0);
    }
    return rc ? rc : line_str(l, "\n");
}

/* Flushes the buffer to o when it is large (or `force`). */
static int line_flush(struct line *l, sim_out *o, int force, char *err, size_t errlen)
{
    if (!force && l->len < 65536)
        return 0;
    int rc = sim_out_write(o, l->b, l->len, err, errlen);
    l->len = 0;
    return rc;
}

/* The text writers: Mooncake JSON lines (serve, rag) and MoE CSV. */
static int write_text(sim_genllm *g, const char *path, char *err, size_t errlen)
{
    sim_out *o = sim_out_open(path, -1, err, errlen);
    if (!o)
        return SIM_EIO;
    struct line l = {0};
    int rc = 0;
    if (g->kind == SIM_GENLLM_MOE) {
        struct sim_moe_row r;
        rc = moe_header(&l, g->m.k);
        while (!rc && genllm_moe_next(g, &r) == 1)
            if (!(rc = moe_line(&l, &r)))
                rc = line_flush(&l, o, 0, err, errlen);
    } else {
        struct sim_req q;
        while (!rc && (rc = sim_genllm_next(g, &q, err, errlen)) == 1)
            if (!(rc = mooncake_line(&l, &q)))
                rc = line_flush(&l, o, 0, err, errlen);
    }
    if (rc == SIM_ENOMEM)
        snprintf(err, errlen, "%s: out of memory", path);
    if (!rc)
        rc = line_flush(&l, o, 1, err, errlen);
    free(l.b);
    if (rc) {
        sim_out_abort(o);
        return rc;
    }
    return sim_out_commit(o, err, errlen);
}

/* Embeddings held for the companion .npy. */
struct embs {
    float *v;
    uint64_t rows, cap;
};

static int embs_add(struct embs *e, const struct sim_req *q)
{
    if (e->rows == e->cap) {
        uint64_t cap = e->cap ? e->cap * 2 : 1024;
        float *v = realloc(e->v, cap * q->dim * sizeof *v);
        if (!v)
            return SIM_ENOMEM;
        e->v = v;
        e->cap = cap;
    }
    memcpy(e->v + e->rows++ * q->dim, q->emb, q->dim * sizeof *e->v);
    return 0;
}

/* CSV through sim_writer; query embeddings inline or to `npy`. */
static int write_csv(sim_genllm *g, const char *path, const char *npy, char *err,
                     size_t errlen)
{
    uint32_t fields = sim_genllm_fields(g) & ~(npy ? (uint32_t)SIM_F_EMB : 0u);
    sim_writer *w = sim_writer_open(path, SIM_FMT_CSV, fields, err, errlen);
    if (!w)
        return SIM_EIO;
    unsigned ncat;
    const char *const *names = sim_genllm_categories(g, &ncat);
    int rc = ncat ? sim_writer_set_category_names(w, names, ncat, err, errlen) : 0;
    struct embs e = {0};
    struct sim_req q;
    while (!rc && (rc = sim_genllm_next(g, &q, err, errlen)) == 1) {
        q.present &= fields;
        if (npy && (rc = embs_add(&e, &q)) != 0)
            snprintf(err, errlen, "%s: out of memory holding embeddings", npy);
        else
            rc = sim_writer_put(w, &q, err, errlen);
    }
    if (!rc && npy)
        rc = sim_npy_write(npy, e.v, e.rows, g->q.dim, err, errlen);
    free(e.v);
    if (rc) {
        sim_writer_abort(w);
        return rc;
    }
    rc = sim_writer_close(w, err, errlen);
    if (rc && npy && strcmp(npy, "-"))
        unlink(npy); /* all or nothing */
    return rc;
}

int sim_genllm_write(sim_genllm *g, const char *path, enum sim_genllm_out fmt, const char *npy,
                     char *err, size_t errlen)
{
    int query = g->kind == SIM_GENLLM_QUERY, moe = g->kind == SIM_GENLLM_MOE;
    if (fmt == SIM_GENLLM_OUT_AUTO)
        fmt = query || moe ? SIM_GENLLM_OUT_CSV : SIM_GENLLM_OUT_MOONCAKE;
    if (fmt == SIM_GENLLM_OUT_MOONCAKE && (query || moe)) {
        snprintf(err, errlen, "%s workloads are written as CSV, not mooncake",
                 query ? "query" : "moe");
        return SIM_EINVAL;
    }
    if (npy && !query) {
        snprintf(err, errlen, "only query workloads have embeddings (.npy)");
        return SIM_EINVAL;
    }
    if (moe || fmt == SIM_GENLLM_OUT_MOONCAKE)
        return write_text(g, path, err, errlen);
    return write_csv(g, path, npy, err, errlen);
}
