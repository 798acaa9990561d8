/*
 * genllm_query.c - the query workload: semantic-cache requests in
 * categories with ground-truth classes and embeddings.
 *
 * The model, for each request:
 *   1. Its category is drawn by share.
 *   2. With probability `followup` it continues one of the category's open
 *      conversations (chosen uniformly): turn + 1, same user, a follow-up
 *      intent f drawn by Zipf(1) from FOLLOW_INTENTS, and as class a number
 *      for the pair (previous turn's class, f).  Its embedding is f's alone:
 *      "and in Python?" reads the same in every conversation, so a cache
 *      blind to context serves the wrong answer (MeanCache's problem).
 *   3. Otherwise, with probability `paraphrase` it asks again an intent of
 *      the category seen before, picked by Zipf(alpha) over the intents in
 *      order of first appearance: a new wording (fresh noise, new key), or
 *      with probability `exact` one of the earlier wordings (same key, same
 *      embedding).  Otherwise it is a new intent: a new class.  Either way
 *      it opens a new conversation (turn 0, a user drawn uniformly).
 *
 * Geometry (dim d, every vector of unit length).  Category c has a random
 * direction b_c.  Intent i's centre is normalise(sqrt(rho) b_c +
 * sqrt(1 - rho) g_i), and wording w of it normalise(sqrt(om) centre +
 * sqrt(1 - om) n_w), with g_i, n_w random unit vectors, rho = density and
 * om = within.  Random unit vectors in high dimension are nearly
 * orthogonal, so two centres have cosine ~rho, two wordings of one intent
 * ~om, and two wordings of different intents ~rho * om (spread ~1/sqrt d).
 * A dense category (rho 0.85, om 0.92: between-class ~0.78, and the best of
 * hundreds of other intents higher still) defeats a threshold that suits a
 * sparse one (rho 0: between-class ~0).  Vectors are regenerated from
 * hashes of (seed, category, intent, wording), never stored.
 *
 * tokens_in is drawn per request, tokens_out per class (an answer has one
 * length), both lognormal with the category's mean and log-sd; size is the
 * answer's bytes, 4 per output token, for policies that count bytes.
 */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "genllm_impl.h"

#define FOLLOW_INTENTS 32
#define FOLLOW_BIT (UINT64_C(1) << 62)   /* embedding ids of follow-up intents */
#define P_END {NULL, 0, NULL, 0, 0, NULL, NULL}

const struct sim_param_def genllm_query_defs[] = {
    {"users", SIM_P_INT, "1000", 1, 1e15, NULL, "distinct users"},
    {"active", SIM_P_INT, "64", 1, 1e6, NULL, "open conversations per category"},
    P_END};

static const struct sim_param_def cat_defs[] = {
    {"share", SIM_P_REAL, "0", 0, 1, NULL, "fraction of the requests"},
    {"density", SIM_P_REAL, "0.5", 0, 0.999, NULL, "cosine between intents' centres"},
    {"within", SIM_P_REAL, "0.9", 0, 0.9999, NULL, "cosine between wordings of an intent"},
    {"law", SIM_P_ENUM, "zipf", 0, 0, "zipf|uniform", "which earlier intent is asked again"},
    {"alpha", SIM_P_REAL, "0.9", 0, 100, NULL, "Zipf exponent of the repetition law"},
    {"paraphrase", SIM_P_REAL, "0.8", 0, 1, NULL, "probability of asking an earlier intent"},
    {"exact", SIM_P_REAL, "0", 0, 1, NULL, "share of repeats worded exactly as before"},
    {"followup", SIM_P_REAL, "0", 0, 1, NULL, "probability of continuing a conversation"},
    {"ttl", SIM_P_INT, "0", 0, 4294967295.0, NULL, "seconds an answer stays fresh"},
    {"in", SIM_P_REAL, "400", 1, 1e8, NULL, "mean tokens in"},
    {"in_sigma", SIM_P_REAL, "0.8", 0, 5, NULL, "log-sd of tokens in"},
    {"out", SIM_P_REAL, "250", 1, 1e8, NULL, "mean tokens out"},
    {"out_sigma", SIM_P_REAL, "0.8", 0, 5, NULL, "log-sd of tokens out"},
    P_END};

static const char *const default_cats[] = {
    "code:share=0.3,density=0.85,within=0.92",
    "knowledge:share=0.3,density=0.5,within=0.9",
    "chat:share=0.4,density=0,within=0.88"};

/*=====   Vectors   =====*/

/* A random unit vector from `seed` (Gaussian components, normalised). */
static void unit_vec(uint64_t seed, double *v, uint32_t d)
{
    struct sim_rng r;
    sim_rng_seed(&r, seed);
    double n = 0;
    for (uint32_t i = 0; i < d; i++) {
        v[i] = sim_gen_normal(&r);
        n += v[i] * v[i];
    }
    n = sqrt(n);
    for (uint32_t i = 0; i < d; i++)
        v[i] /= n;
}

/* v = normalise(sqrt(w) a + sqrt(1 - w) v); a (a unit vector) itself when
 * the sum cancels (possible in very few dimensions: d = 1, w = 0.5). */
static void blend(double *v, const double *a, double w, uint32_t d)
{
    double sa = sqrt(w), sv = sqrt(1 - w), n = 0;
    for (uint32_t i = 0; i < d; i++) {
        v[i] = sa * a[i] + sv * v[i];
        n += v[i] * v[i];
    }
    n = sqrt(n);
    for (uint32_t i = 0; i < d; i++)
        v[i] = n > 1e-9 ? v[i] / n : a[i];
}

/* The embedding of wording `word` of intent `eid` of category ci, in q->emb. */
static void embed(sim_genllm *g, unsigned ci, uint64_t eid, uint64_t word)
{
    struct query *q = &g->q;
    struct qcat *c = &q->cat[ci];
    uint64_t ih = genllm_mix(genllm_mix(g->seed, ci + 1), eid);
    unit_vec(ih, q->v1, q->dim);
    blend(q->v1, c->base, c->density, q->dim); /* the intent's centre */
    unit_vec(genllm_mix(ih, word + 1), q->v2, q->dim);
    blend(q->v2, q->v1, c->within, q->dim);
    for (uint32_t i = 0; i < q->dim; i++)
        q->emb[i] = (float)q->v2[i];
}

/*=====   Setup   =====*/

/* Whether the user set `key` in the parsed spec. */
static int given(const sim_params *p, const char *key)
{
    const char *s = sim_params_canonical(p);
    size_t n = strlen(key);
    for (const char *t = s; (t = strstr(t, key)) != NULL; t += n)
        if ((t == s || t[-1] == ',') && t[n] == '=')
            return 1;
    return 0;
}

static int setup_category(struct query *q, unsigned i, const char *spec, int *has_share,
                          char *err, size_t errlen)
{
    struct qcat *c = &q->cat[i];
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    if (len == 0 || len > 64 || strcspn(spec, ",\"\n\r=") < len) {
        snprintf(err, errlen, "category '%.*s': a name (up to 64 characters, no comma, quote "
                 "or '=') must come first", (int)(len > 64 ? 64 : len), spec);
        return SIM_EINVAL;
    }
    if (!(c->name = malloc(len + 1)))
        return SIM_ENOMEM;
    memcpy(c->name, spec, len);
    c->name[len] = 0;
    q->names[i] = c->name;
    for (unsigned j = 0; j < i; j++)
        if (strcmp(q->names[j], c->name) == 0) {
            snprintf(err, errlen, "category '%s' is given twice", c->name);
            return SIM_EINVAL;
        }
    sim_params *p = sim_params_parse(c->name, cat_defs, colon ? colon + 1 : "", err, errlen);
    if (!p)
        return SIM_EINVAL;
    *has_share = given(p, "share");
    c->share = sim_params_real(p, "share");
    c->density = sim_params_real(p, "density");
    c->within = sim_params_real(p, "within");
    c->alpha = strcasecmp(sim_params_str(p, "law"), "uniform") == 0 ? 0 : sim_params_real(p, "alpha");
    c->paraphrase = sim_params_real(p, "paraphrase");
    c->exact = sim_params_real(p, "exact");
    c->followup = sim_params_real(p, "followup");
    c->ttl = (uint32_t)sim_params_int(p, "ttl");
    c->in_sigma = sim_params_real(p, "in_sigma");
    c->in_mu = genllm_mu(sim_params_real(p, "in"), c->in_sigma);
    c->out_sigma = sim_params_real(p, "out_sigma");
    c->out_mu = genllm_mu(sim_params_real(p, "out"), c->out_sigma);
    sim_params_free(p);
    c->base = malloc(q->dim * sizeof *c->base);
    c->conv = calloc(q->active, sizeof *c->conv);
    if (!c->base || !c->conv)
        return SIM_ENOMEM;
    return 0;
}

/* Shares: all given or none (equal); non-negative (checked by the bounds);
 * summing to 1. */
static int setup_shares(struct query *q, unsigned ngiven, char *err, size_t errlen)
{
    if (ngiven && ngiven < q->ncat) {
        snprintf(err, errlen, "categories: parameter 'share' must be given for every "
                 "category or for none");
        return SIM_EINVAL;
    }
    double sum = 0;
    for (unsigned i = 0; i < q->ncat; i++) {
        if (!ngiven)
            q->cat[i].share = 1.0 / q->ncat;
        sum += q->cat[i].share;
        q->cat[i].cum = sum;
    }
    if (!(sum > 1 - 1e-6 && sum < 1 + 1e-6)) {
        snprintf(err, errlen, "categories: parameter 'share' sums to %g, not 1", sum);
        return SIM_EINVAL;
    }
    unsigned last = q->ncat - 1; /* rounding never leaves a draw without a category, */
    while (last > 0 && q->cat[last].share == 0) /* nor gives one to a share of 0 */
        last--;
    q->cat[last].cum = 2;
    return 0;
}

int genllm_query_setup(sim_genllm *g, const sim_params *p, const struct sim_genllm_config *cfg,
                       char *err, size_t errlen)
{
    struct query *q = &g->q;
    if (cfg->dim == 0 || cfg->dim > 65536) {
        snprintf(err, errlen, "dimension %u is outside [1, 65536]", cfg->dim);
        return SIM_EINVAL;
    }
    if (cfg->ncategories > 65535) {
        snprintf(err, errlen, "too many categories (at most 65535)");
        return SIM_EINVAL;
    }
    const char *const *specs = cfg->ncategories ? cfg->categories : default_cats;
    q->ncat = cfg->ncategories ? (unsigned)cfg->ncategories : 3;
    q->dim = cfg->dim;
    q->users = (uint64_t)sim_params_int(p, "users");
    q->active = (uint64_t)sim_params_int(p, "active");
    q->next_cls = 1;
    q->cat = calloc(q->ncat, sizeof *q->cat);
    q->names = calloc(q->ncat, sizeof *q->names);
    q->v1 = malloc(q->dim * sizeof *q->v1);
    q->v2 = malloc(q->dim * sizeof *q->v2);
    q->emb = malloc(q->dim * sizeof *q->emb);
    int rc = (!q->cat || !q->names || !q->v1 || !q->v2 || !q->emb || u64map_init(&q->follow, 1024))
                 ? SIM_ENOMEM : 0;
    unsigned ngiven = 0;
    for (unsigned i = 0; !rc && i < q->ncat; i++) {
        int has = 0;
        rc = setup_category(q, i, specs[i], &has, err, errlen);
        ngiven += (unsigned)has;
        if (!rc)
            unit_vec(genllm_mix(g->seed, 1000 + i), q->cat[i].base, q->dim);
    }
    if (!rc)
        rc = setup_shares(q, ngiven, err, errlen);
    if (!rc)
        rc = sim_zipf_init(&q->fz, FOLLOW_INTENTS, 1.0, err, errlen);
    if (rc == SIM_ENOMEM)
        snprintf(err, errlen, "out of memory");
    return rc;
}

uint32_t genllm_query_fields(const sim_genllm *g)
{
    uint32_t f = SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_CATEGORY | SIM_F_USER |
                 SIM_F_CONTEXT | SIM_F_CLASS | SIM_F_TOKENS | SIM_F_EMB;
    for (unsigned i = 0; i < g->q.ncat; i++)
        if (g->q.cat[i].ttl)
            f |= SIM_F_TTL;
    return f;
}

void genllm_query_free(struct query *q)
{
    for (unsigned i = 0; q->cat && i < q->ncat; i++) {
        free(q->cat[i].name);
        free(q->cat[i].base);
        free(q->cat[i].intent_cls);
        free(q->cat[i].intent_words);
        free(q->cat[i].conv);
    }
    free(q->cat);
    free(q->names);
    free(q->v1);
    free(q->v2);
    free(q->emb);
    if (q->follow.keys)
        u64map_free(&q->follow);
}

/*=====   Requests   =====*/

static unsigned pick_category(sim_genllm *g)
{
    double u = sim_rng_unit(&g->rng);
    unsigned i = 0;
    while (u >= g->q.cat[i].cum)
        i++;
    return i;
}

/* Appends a new intent; returns its index, or -1 when memory ran out. */
static long new_intent(struct query *q, struct qcat *c)
{
    if (c->nint == c->capint) {
        size_t cap = c->capint ? c->capint * 2 : 256;
        uint64_t *cls = realloc(c->intent_cls, cap * sizeof *cls);
        if (cls)
            c->intent_cls = cls;
        uint32_t *w = cls ? realloc(c->intent_words, cap * sizeof *w) : NULL;
        if (!w)
            return -1;
        c->intent_words = w;
        c->capint = cap;
    }
    c->intent_cls[c->nint] = q->next_cls++;
    c->intent_words[c->nint] = 0;
    return (long)c->nint++;
}

/* An intent seen before, by the repetition law (rank 1: the first seen). */
static size_t old_intent(sim_genllm *g, struct qcat *c)
{
    if (c->z.n != c->nint) {
        char e[8];
        sim_zipf_init(&c->z, c->nint, c->alpha, e, sizeof e); /* valid: checked at setup */
    }
    return (size_t)(sim_zipf_next(&c->z, &g->rng) - 1);
}

/* Opens a conversation for this request (a random slot once all are open). */
static void open_conversation(sim_genllm *g, struct qcat *c, struct sim_req *req)
{
    struct query *q = &g->q;
    struct qconv v = {q->next_conv++, sim_rng_below(&g->rng, q->users) + 1, req->cls, 0};
    if (c->nconv < q->active)
        c->conv[c->nconv++] = v;
    else
        c->conv[sim_rng_below(&g->rng, q->active)] = v;
    req->context = v.id;
    req->user = v.user;
    req->turn = 0;
}

/* A follow-up in one of c's open conversations; -1 when out of memory. */
static int follow_up(sim_genllm *g, unsigned ci, struct sim_req *req)
{
    struct query *q = &g->q;
    struct qconv *v = &q->cat[ci].conv[sim_rng_below(&g->rng, q->cat[ci].nconv)];
    uint64_t f = sim_zipf_next(&q->fz, &g->rng);
    int fresh;
    uint64_t *cls = u64map_upsert(&q->follow, genllm_mix(v->cls, f), q->next_cls, &fresh);
    if (!cls)
        return -1;
    q->next_cls += (uint64_t)fresh;
    v->cls = *cls;
    v->turn++;
    req->cls = *cls;
    req->context = v->id;
    req->user = v->user;
    req->turn = v->turn;
    uint64_t word = g->emitted; /* every follow-up is worded anew */
    embed(g, ci, FOLLOW_BIT | f, word);
    req->key = genllm_mix(genllm_mix(ci, FOLLOW_BIT | f), word);
    return 0;
}

/* A first question: a new intent or an earlier one again; -1 when out of memory. */
static int question(sim_genllm *g, unsigned ci, struct sim_req *req)
{
    struct query *q = &g->q;
    struct qcat *c = &q->cat[ci];
    long i;
    uint64_t word;
    if (c->nint && sim_rng_unit(&g->rng) < c->paraphrase) {
        i = (long)old_intent(g, c);
        if (sim_rng_unit(&g->rng) < c->exact)
            word = sim_rng_below(&g->rng, c->intent_words[i]);
        else
            word = c->intent_words[i]++;
    } else {
        if ((i = new_intent(q, c)) < 0)
            return -1;
        word = c->intent_words[i]++;
    }
    req->cls = c->intent_cls[i];
    embed(g, ci, (uint64_t)i, word);
    req->key = genllm_mix(genllm_mix(ci, (uint64_t)i), word);
    open_conversation(g, c, req);
    return 0;
}

int genllm_query_next(sim_genllm *g, struct sim_req *req, char *err, size_t errlen)
{
    struct query *q = &g->q;
    memset(req, 0, sizeof *req);
    unsigned ci = pick_category(g);
    struct qcat *c = &q->cat[ci];
    int rc;
    if (c->nconv && c->followup > 0 && sim_rng_unit(&g->rng) < c->followup)
        rc = follow_up(g, ci, req);
    else
        rc = question(g, ci, req);
    if (rc) {
        snprintf(err, errlen, "out of memory after %llu requests",
                 (unsigned long long)g->emitted);
        return SIM_ENOMEM;
    }
    struct sim_rng cr; /* the answer's length belongs to the class */
    sim_rng_seed(&cr, genllm_mix(g->seed ^ 0x5eed, req->cls));
    req->tokens_out = genllm_lognormal(&cr, c->out_mu, c->out_sigma);
    req->tokens_in = genllm_lognormal(&g->rng, c->in_mu, c->in_sigma);
    req->index = g->emitted;
    req->time = genllm_time(g);
    req->size = 4 * (uint64_t)req->tokens_out; /* the answer's bytes, ~4 per token */
    req->next_access = -1;
    req->ttl = c->ttl;
    req->category = (uint16_t)ci;
    req->category_name = c->name;
    req->dim = q->dim;
    req->emb = q->emb;
    req->present = genllm_query_fields(g);
    return 1;
}
