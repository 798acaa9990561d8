/*
 * gen_llm.c - LLM query workloads for semantic caches (sim_llm, sim_gen.h).
 *
 * Queries fall in categories.  A category has a share of the traffic, a
 * number of intents (classes) with a popularity law over them (Zipf alpha,
 * 0 = uniform), a paraphrase rate, a TTL, token lengths, and a place in
 * embedding space:
 *   - the category centre u_c is a random unit vector;
 *   - class k's centroid is normalise(u_c + spread * g_k / sqrt(dim)),
 *     g_k standard normal, so two classes of one category have cosine about
 *     1 / (1 + spread^2): small spread = dense (code), large = sparse (chat);
 *   - a query variant's embedding is normalise(centroid + noise * h / sqrt(dim)),
 *     so two paraphrases of one class have cosine about 1 / (1 + noise^2).
 * With a dense category beside a noisy sparse one, any single threshold that
 * accepts the sparse category's paraphrases also accepts the dense
 * category's different classes: false hits that category-aware thresholds
 * avoid.  All vectors are regenerated from seeds (category, class, variant),
 * so nothing is stored per class and a variant always has the same vector.
 *
 * A request: pick the category by share, the class by its law; with
 * probability `paraphrase` a new wording (a fresh key), otherwise the
 * class's most common wording (variant 0, a repeated key).  key identifies
 * the exact query text, class the intent; size is the answer's bytes
 * (4 per output token).  Users and conversations: a request comes from a
 * uniformly chosen user, continuing that user's conversation (turn + 1) with
 * probability `followup`, else opening a new one.
 */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_internal.h"

#define MAX_CATEGORIES 256
#define MAX_DIM 65536

static const struct sim_param_def category_defs[] = {
    {"share", SIM_P_REAL, "1", 0, 1e9, NULL, "relative share of the traffic"},
    {"classes", SIM_P_INT, "1000", 1, 1e12, NULL, "number of intents"},
    {"alpha", SIM_P_REAL, "0.8", 0, 100, NULL, "Zipf exponent over intents (0: uniform)"},
    {"spread", SIM_P_REAL, "1", 0, 100, NULL, "distance between intents (small = dense)"},
    {"noise", SIM_P_REAL, "0.3", 0, 100, NULL, "paraphrase noise around an intent"},
    {"paraphrase", SIM_P_REAL, "0.3", 0, 1, NULL, "probability of a new wording"},
    {"ttl", SIM_P_INT, "0", 0, 4294967295.0, NULL, "seconds (0: none)"},
    {"tokens_in", SIM_P_REAL, "200", 1, 1e7, NULL, "mean prompt tokens"},
    {"tokens_out", SIM_P_REAL, "300", 1, 1e7, NULL, "mean answer tokens"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

static const struct sim_param_def user_defs[] = {
    {"users", SIM_P_INT, "1000", 1, 1e8, NULL, "number of users"},
    {"followup", SIM_P_REAL, "0.3", 0, 1, NULL, "probability of continuing a conversation"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

static const char *const default_categories[] = {
    "code:share=0.3,classes=2000,alpha=0.9,spread=0.35,noise=0.15,paraphrase=0.3,ttl=86400,"
    "tokens_in=300,tokens_out=400",
    "chat:share=0.5,classes=20000,alpha=0.4,spread=1.5,noise=0.6,paraphrase=0.6,ttl=3600,"
    "tokens_in=80,tokens_out=250",
    "search:share=0.2,classes=5000,alpha=1.1,spread=0.8,noise=0.3,paraphrase=0.4,ttl=600,"
    "tokens_in=20,tokens_out=150",
};

struct category {
    char name[64];
    double cum;             /* cumulative share, normalised */
    uint64_t classes, class0;
    struct sim_zipf z;
    double spread, noise, paraphrase, tin, tout;
    uint32_t ttl;
};

struct user {
    uint64_t context;
    uint32_t turn;
};

struct sim_llm_s {
    uint64_t seed, requests, emitted;
    struct sim_rng rng;
    struct category *cat;
    unsigned ncat;
    uint32_t dim;
    double followup;
    struct user *users;
    uint64_t nusers, next_context, next_variant;
    struct gen_clock clk;
    double *tmp;            /* dim doubles */
    float *emb;             /* the current request's embedding */
};

/*=====   Embeddings   =====*/

/* x += scale * (standard normal vector seeded by `seed`) / sqrt(dim). */
static void add_noise(double *x, uint32_t dim, uint64_t seed, double scale)
{
    struct sim_rng r;
    sim_rng_seed(&r, seed);
    double s = scale / sqrt((double)dim);
    for (uint32_t i = 0; i < dim; i++)
        x[i] += s * sim_gen_normal(&r);
}

static void normalise(double *x, uint32_t dim)
{
    double n = 0;
    for (uint32_t i = 0; i < dim; i++)
        n += x[i] * x[i];
    n = sqrt(n);
    for (uint32_t i = 0; i < dim; i++)
        x[i] = n > 0 ? x[i] / n : 0;
}

static uint64_t seed_of(const sim_llm *g, uint64_t what, uint64_t a, uint64_t b)
{
    return sim_key_hash(g->seed ^ sim_key_hash(what ^ sim_key_hash(a ^ sim_key_hash(b))));
}

/* The embedding of variant v of class k (global id) in category c. */
static void embed(sim_llm *g, unsigned c, uint64_t k, uint64_t v)
{
    double *x = g->tmp;
    memset(x, 0, g->dim * sizeof *x);
    add_noise(x, g->dim, seed_of(g, 1, c, 0), sqrt((double)g->dim)); /* centre */
    normalise(x, g->dim);
    add_noise(x, g->dim, seed_of(g, 2, k, 0), g->cat[c].spread);
    normalise(x, g->dim);
    add_noise(x, g->dim, seed_of(g, 3, k, v), g->cat[c].noise);
    normalise(x, g->dim);
    for (uint32_t i = 0; i < g->dim; i++)
        g->emb[i] = (float)x[i];
}

/*=====   Setup   =====*/

static int setup_category(struct category *c, const char *spec, uint64_t *class0, char *err,
                          size_t errlen)
{
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    if (len == 0 || len >= sizeof c->name) {
        snprintf(err, errlen, "category '%s': a name of 1 to 63 characters comes first", spec);
        return SIM_EINVAL;
    }
    memcpy(c->name, spec, len);
    c->name[len] = 0;
    sim_params *p = sim_params_parse(c->name, category_defs, colon ? colon + 1 : "", err, errlen);
    if (!p)
        return SIM_EINVAL;
    c->cum = sim_params_real(p, "share");
    c->classes = (uint64_t)sim_params_int(p, "classes");
    c->class0 = *class0;
    *class0 += c->classes;
    c->spread = sim_params_real(p, "spread");
    c->noise = sim_params_real(p, "noise");
    c->paraphrase = sim_params_real(p, "paraphrase");
    c->ttl = (uint32_t)sim_params_int(p, "ttl");
    c->tin = sim_params_real(p, "tokens_in");
    c->tout = sim_params_real(p, "tokens_out");
    int rc = sim_zipf_init(&c->z, c->classes, sim_params_real(p, "alpha"), err, errlen);
    sim_params_free(p);
    return rc;
}

void sim_llm_free(sim_llm *g)
{
    if (!g)
        return;
    free(g->cat);
    free(g->users);
    free(g->tmp);
    free(g->emb);
    free(g);
}

static int setup(sim_llm *g, const struct sim_llm_config *cfg, char *err, size_t errlen)
{
    const char *const *specs = cfg->ncategories ? cfg->categories : default_categories;
    size_t n = cfg->ncategories ? cfg->ncategories : 3;
    uint64_t class0 = 1;
    double total = 0;
    if (n > MAX_CATEGORIES) {
        snprintf(err, errlen, "at most %d categories", MAX_CATEGORIES);
        return SIM_EINVAL;
    }
    g->ncat = (unsigned)n;
    g->cat = calloc(n, sizeof *g->cat);
    if (!g->cat)
        return SIM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = setup_category(&g->cat[i], specs[i], &class0, err, errlen);
        if (rc)
            return rc;
        total += g->cat[i].cum;
    }
    if (!(total > 0)) {
        snprintf(err, errlen, "parameter 'share': the shares sum to 0");
        return SIM_EINVAL;
    }
    for (size_t i = 0; i < n; i++) { /* cumulative, normalised */
        double s = g->cat[i].cum;
        g->cat[i].cum = (i ? g->cat[i - 1].cum : 0) + s / total;
    }
    sim_params *p = sim_params_parse("users", user_defs, cfg->users ? cfg->users : "", err, errlen);
    if (!p)
        return SIM_EINVAL;
    g->nusers = (uint64_t)sim_params_int(p, "users");
    g->followup = sim_params_real(p, "followup");
    sim_params_free(p);
    g->users = calloc(g->nusers, sizeof *g->users);
    g->tmp = calloc(g->dim, sizeof *g->tmp);
    g->emb = calloc(g->dim, sizeof *g->emb);
    if (!g->users || !g->tmp || !g->emb)
        return SIM_ENOMEM;
    return gen_clock_setup(&g->clk, cfg->arrivals ? cfg->arrivals : "poisson:rate=10", err,
                           errlen);
}

sim_llm *sim_llm_create(const struct sim_llm_config *cfg, char *err, size_t errlen)
{
    if (cfg->requests == 0) {
        snprintf(err, errlen, "the number of requests must be positive");
        return NULL;
    }
    if (cfg->dim == 0 || cfg->dim > MAX_DIM) {
        snprintf(err, errlen, "parameter 'dim': %u is outside [1, %d]", cfg->dim, MAX_DIM);
        return NULL;
    }
    sim_llm *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->seed = cfg->seed;
    g->requests = cfg->requests;
    g->dim = cfg->dim;
    sim_rng_seed(&g->rng, cfg->seed);
    int rc = setup(g, cfg, err, errlen);
    if (rc) {
        if (rc == SIM_ENOMEM)
            snprintf(err, errlen, "out of memory");
        sim_llm_free(g);
        return NULL;
    }
    return g;
}

/*=====   Requests   =====*/

/* A token count with the given mean, exponential-ish spread, from seed. */
static uint32_t tokens(double mean, uint64_t seed)
{
    struct sim_rng r;
    sim_rng_seed(&r, seed);
    double x = -mean * sim_gen_log(sim_gen_unit_open(&r)) * 0.5 + mean * 0.5;
    return x < 1 ? 1 : x > 1e9 ? 1000000000u : (uint32_t)(x + 0.5);
}

static unsigned pick_category(sim_llm *g)
{
    double u = sim_rng_unit(&g->rng);
    unsigned c = 0;
    while (c + 1 < g->ncat && u >= g->cat[c].cum)
        c++;
    return c;
}

int sim_llm_next(sim_llm *g, struct sim_req *req)
{
    if (g->emitted >= g->requests)
        return 0;
    static const struct sim_req zero;
    *req = zero;
    unsigned c = pick_category(g);
    struct category *cat = &g->cat[c];
    uint64_t k = cat->class0 + sim_zipf_next(&cat->z, &g->rng) - 1;
    uint64_t v = 0;
    if (sim_rng_unit(&g->rng) < cat->paraphrase)
        v = ++g->next_variant;
    uint64_t u = sim_rng_below(&g->rng, g->nusers);
    struct user *us = &g->users[u];
    if (us->context && sim_rng_unit(&g->rng) < g->followup)
        us->turn++;
    else {
        us->context = ++g->next_context;
        us->turn = 0;
    }
    embed(g, c, k, v);
    req->time = gen_clock_next(&g->clk, &g->rng);
    req->index = g->emitted++;
    req->key = sim_key_hash(seed_of(g, 4, k, v)) | 1; /* the exact query text */
    req->cls = k;
    req->category = (uint16_t)c;
    req->user = u + 1;
    req->context = us->context;
    req->turn = us->turn;
    req->tokens_in = tokens(cat->tin, seed_of(g, 5, k, v));
    req->tokens_out = tokens(cat->tout, seed_of(g, 6, k, 0)); /* one answer per intent */
    req->size = 4 * (uint64_t)req->tokens_out;
    req->ttl = cat->ttl;
    req->op = SIM_OP_GET;
    req->next_access = -1;
    req->dim = g->dim;
    req->emb = g->emb;
    req->present = sim_llm_fields(g);
    return 1;
}

uint32_t sim_llm_fields(const sim_llm *g)
{
    (void)g;
    return SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_TTL | SIM_F_OP | SIM_F_CATEGORY |
           SIM_F_USER | SIM_F_CONTEXT | SIM_F_CLASS | SIM_F_EMB | SIM_F_TOKENS;
}

unsigned sim_llm_category_count(const sim_llm *g) { return g->ncat; }

const char *sim_llm_category_name(const sim_llm *g, unsigned i)
{
    return i < g->ncat ? g->cat[i].name : NULL;
}

double sim_llm_category_share(const sim_llm *g, unsigned i)
{
    if (i >= g->ncat)
        return 0;
    return g->cat[i].cum - (i ? g->cat[i - 1].cum : 0);
}
