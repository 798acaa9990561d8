/*
 * gen_serve.c - LLM serving workloads (sim_servegen, sim_gen.h): multi-turn
 * chat with shared system prompts and prefix block ids, RAG prompts that
 * retrieve chunks from a corpus, and MoE expert activations.
 *
 * Prompt blocks (chat, rag): a prompt is a token sequence cut into blocks
 * of `block` tokens; each block gets an id from the identity of its
 * content *and everything before it* (a hash chain, as prefix caches and
 * Mooncake's hash_ids do), renumbered densely in order of first appearance
 * (Mooncake's traces use small integers too).  So two prompts share their
 * first n ids exactly when they share their first n blocks of tokens.
 *   - chat: a session starts from one of `prompts` shared system prompts
 *     (Zipf prompt_alpha) of prompt_tokens tokens; every turn appends the
 *     user's message (tokens_in, mean) and, after it, the model's answer
 *     (tokens_out, mean) to the session's history, so each prompt extends
 *     the previous one.  A request comes from one of `sessions` live
 *     sessions (uniform); with probability `new` that session is replaced by
 *     a fresh one first.  The last, partly filled block changes as the
 *     history grows, so its id is specific to its fill.
 *   - rag: the system prompt, then k distinct chunks drawn by Zipf(alpha)
 *     from `chunks` (each chunk_tokens long), then the question
 *     (tokens_in): chunk blocks are shared between prompts that retrieved
 *     the same chunks in the same order after the same prefix.  Each part
 *     starts a new block (as if padded to whole blocks).
 * moe: every token activates, in each of `layers` layers, the top-k of
 * `experts` experts: k distinct experts drawn by Zipf(alpha) over a
 * per-layer random order of the experts (skew), except that with
 * probability `locality` a layer reuses the previous token's experts.  One
 * request per (token, layer, expert): key = layer * experts + expert + 1,
 * context = token, turn = layer, size = expert_bytes.
 */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_internal.h"
#include "u64map.h"

enum serve_kind { SV_CHAT, SV_RAG, SV_MOE };

#define P_END {NULL, 0, NULL, 0, 0, NULL, NULL}
#define P_BLOCK {"block", SIM_P_INT, "512", 1, 1e6, NULL, "tokens per block"}
#define P_TOUT {"tokens_out", SIM_P_REAL, "300", 1, 1e7, NULL, "mean answer tokens"}
#define P_PROMPT {"prompt_tokens", SIM_P_INT, "1000", 0, 1e7, NULL, "system prompt tokens"}

static const struct sim_param_def chat_defs[] = {
    {"sessions", SIM_P_INT, "100", 1, 1e7, NULL, "live sessions"},
    {"new", SIM_P_REAL, "0.2", 0, 1, NULL, "probability a request starts a session"},
    {"prompts", SIM_P_INT, "10", 1, 1e7, NULL, "shared system prompts"},
    {"prompt_alpha", SIM_P_REAL, "1", 0, 100, NULL, "Zipf exponent over system prompts"},
    P_PROMPT,
    {"tokens_in", SIM_P_REAL, "200", 1, 1e7, NULL, "mean user tokens per turn"},
    P_TOUT, P_BLOCK, P_END};
static const struct sim_param_def rag_defs[] = {
    {"chunks", SIM_P_INT, "100000", 1, 1e12, NULL, "corpus size"},
    {"alpha", SIM_P_REAL, "0.9", 0, 100, NULL, "Zipf exponent over chunks"},
    {"k", SIM_P_INT, "5", 1, 1000, NULL, "chunks per prompt"},
    {"chunk_tokens", SIM_P_INT, "512", 1, 1e6, NULL, "tokens per chunk"},
    P_PROMPT,
    {"tokens_in", SIM_P_REAL, "50", 1, 1e7, NULL, "mean question tokens"},
    P_TOUT, P_BLOCK, P_END};
static const struct sim_param_def moe_defs[] = {
    {"layers", SIM_P_INT, "32", 1, 10000, NULL, "MoE layers"},
    {"experts", SIM_P_INT, "64", 1, 1e6, NULL, "experts per layer"},
    {"k", SIM_P_INT, "2", 1, 1000, NULL, "experts per token and layer"},
    {"alpha", SIM_P_REAL, "1", 0, 100, NULL, "skew: Zipf exponent over experts"},
    {"locality", SIM_P_REAL, "0.3", 0, 1, NULL, "probability of reusing the last token's experts"},
    {"expert_bytes", SIM_P_INT, "100000000", 1, 1e15, NULL, "bytes per expert"},
    P_END};
static const struct spec_kind serve_kinds[] = {
    {"chat", SV_CHAT, chat_defs}, {"rag", SV_RAG, rag_defs}, {"moe", SV_MOE, moe_defs},
    {NULL, 0, NULL}};

struct session {
    uint64_t id, prompt;
    uint64_t tokens;        /* history length, system prompt included */
    uint32_t turn;
};

struct sim_servegen_s {
    enum serve_kind kind;
    uint64_t seed, requests, emitted;
    struct sim_rng rng;
    struct gen_clock clk;
    /* chat and rag */
    uint64_t block, prompt_tokens;
    double tin, tout;
    struct sim_zipf zprompt, zchunk;
    struct session *sess;
    uint64_t nsess, next_sess;
    double pnew;
    uint64_t k, chunk_tokens;
    struct u64map ids;      /* content hash -> dense block id */
    uint64_t *blocks;
    uint64_t nblocks, capblocks;
    /* moe */
    uint64_t layers, experts, expert_bytes, token, layer, slot;
    double locality;
    uint64_t *perm;         /* layers x experts: popularity rank -> expert */
    uint64_t *chosen;       /* layers x k: the current token's experts */
};

/*=====   Setup   =====*/

void sim_servegen_free(sim_servegen *g)
{
    if (!g)
        return;
    if (g->ids.keys)
        u64map_free(&g->ids);
    free(g->sess);
    free(g->blocks);
    free(g->perm);
    free(g->chosen);
    free(g);
}

static int setup_prompts(sim_servegen *g, const sim_params *p, char *err, size_t errlen)
{
    g->block = (uint64_t)sim_params_int(p, "block");
    g->prompt_tokens = (uint64_t)sim_params_int(p, "prompt_tokens");
    g->tin = sim_params_real(p, "tokens_in");
    g->tout = sim_params_real(p, "tokens_out");
    if (u64map_init(&g->ids, 1024)) {
        snprintf(err, errlen, "out of memory");
        return SIM_ENOMEM;
    }
    if (g->kind == SV_RAG) {
        g->k = (uint64_t)sim_params_int(p, "k");
        g->chunk_tokens = (uint64_t)sim_params_int(p, "chunk_tokens");
        if (g->k > (uint64_t)sim_params_int(p, "chunks")) {
            snprintf(err, errlen, "rag: parameter 'k' exceeds 'chunks'");
            return SIM_EINVAL;
        }
        return sim_zipf_init(&g->zchunk, (uint64_t)sim_params_int(p, "chunks"),
                             sim_params_real(p, "alpha"), err, errlen);
    }
    g->nsess = (uint64_t)sim_params_int(p, "sessions");
    g->pnew = sim_params_real(p, "new");
    g->sess = calloc(g->nsess, sizeof *g->sess);
    if (!g->sess) {
        snprintf(err, errlen, "out of memory");
        return SIM_ENOMEM;
    }
    return sim_zipf_init(&g->zprompt, (uint64_t)sim_params_int(p, "prompts"),
                         sim_params_real(p, "prompt_alpha"), err, errlen);
}

static int setup_moe(sim_servegen *g, const sim_params *p, char *err, size_t errlen)
{
    g->layers = (uint64_t)sim_params_int(p, "layers");
    g->experts = (uint64_t)sim_params_int(p, "experts");
    g->k = (uint64_t)sim_params_int(p, "k");
    g->locality = sim_params_real(p, "locality");
    g->expert_bytes = (uint64_t)sim_params_int(p, "expert_bytes");
    if (g->k > g->experts) {
        snprintf(err, errlen, "moe: parameter 'k' exceeds 'experts'");
        return SIM_EINVAL;
    }
    g->perm = malloc(g->layers * g->experts * sizeof *g->perm);
    g->chosen = calloc(g->layers * g->k, sizeof *g->chosen);
    if (!g->perm || !g->chosen) {
        snprintf(err, errlen, "out of memory");
        return SIM_ENOMEM;
    }
    for (uint64_t l = 0; l < g->layers; l++) { /* Fisher-Yates per layer */
        uint64_t *q = g->perm + l * g->experts;
        for (uint64_t e = 0; e < g->experts; e++)
            q[e] = e;
        for (uint64_t e = g->experts; e > 1; e--) {
            uint64_t j = sim_rng_below(&g->rng, e), t = q[e - 1];
            q[e - 1] = q[j];
            q[j] = t;
        }
    }
    g->slot = g->k; /* no token yet */
    g->layer = g->layers - 1;
    return sim_zipf_init(&g->zchunk, g->experts, sim_params_real(p, "alpha"), err, errlen);
}

sim_servegen *sim_servegen_create(const struct sim_servegen_config *cfg, char *err, size_t errlen)
{
    if (cfg->requests == 0) {
        snprintf(err, errlen, "the number of requests must be positive");
        return NULL;
    }
    sim_servegen *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->seed = cfg->seed;
    g->requests = cfg->requests;
    sim_rng_seed(&g->rng, cfg->seed);
    int id;
    sim_params *p = gen_parse_spec("serving workload", serve_kinds,
                                   cfg->spec ? cfg->spec : "chat", &id, err, errlen);
    int rc = p ? 0 : SIM_EINVAL;
    if (p) {
        g->kind = (enum serve_kind)id;
        rc = id == SV_MOE ? setup_moe(g, p, err, errlen) : setup_prompts(g, p, err, errlen);
        sim_params_free(p);
    }
    if (!rc)
        rc = gen_clock_setup(&g->clk, cfg->arrivals ? cfg->arrivals : "poisson:rate=10", err,
                             errlen);
    if (rc) {
        sim_servegen_free(g);
        return NULL;
    }
    return g;
}

/*=====   Prompt blocks   =====*/

/* Appends the block whose content is `what` (after the blocks so far). */
static int add_block(sim_servegen *g, uint64_t what)
{
    uint64_t prev = g->nblocks ? g->blocks[g->nblocks - 1] : 0;
    uint64_t h = sim_key_hash(sim_key_hash(prev + 0x9e3779b97f4a7c15ULL) ^ what);
    int fresh;
    uint64_t *id = u64map_upsert(&g->ids, h, g->ids.count, &fresh);
    if (!id)
        return SIM_ENOMEM;
    if (g->nblocks == g->capblocks) {
        uint64_t n = g->capblocks ? g->capblocks * 2 : 256;
        uint64_t *b = realloc(g->blocks, n * sizeof *b);
        if (!b)
            return SIM_ENOMEM;
        g->blocks = b;
        g->capblocks = n;
    }
    g->blocks[g->nblocks++] = *id;
    return 0;
}

/* Appends the blocks of `tokens` tokens of content `src` (block-aligned);
 * a partly filled last block is named by its fill too. */
static int add_run(sim_servegen *g, uint64_t src, uint64_t tokens)
{
    for (uint64_t t = 0; t < tokens; t += g->block) {
        uint64_t fill = tokens - t < g->block ? tokens - t : g->block;
        int rc = add_block(g, sim_key_hash(src ^ sim_key_hash(t * 1000003 + fill)));
        if (rc)
            return rc;
    }
    return 0;
}

static uint32_t draw_tokens(sim_servegen *g, double mean)
{
    double x = 0.5 * mean - 0.5 * mean * sim_gen_log(sim_gen_unit_open(&g->rng));
    return x < 1 ? 1 : x > 1e9 ? 1000000000u : (uint32_t)(x + 0.5);
}

/* A chat turn: pick (or start) a session, extend its history. */
static int chat_turn(sim_servegen *g, struct sim_req *req)
{
    struct session *s = &g->sess[sim_rng_below(&g->rng, g->nsess)];
    if (!s->id || sim_rng_unit(&g->rng) < g->pnew) {
        s->id = ++g->next_sess;
        s->prompt = sim_zipf_next(&g->zprompt, &g->rng);
        s->tokens = g->prompt_tokens;
        s->turn = 0;
    } else
        s->turn++;
    uint32_t tin = draw_tokens(g, g->tin), tout = draw_tokens(g, g->tout);
    uint64_t len = s->tokens + tin;
    /* The system prompt's blocks, then the session's: whole blocks of the
     * conversation are named by (session, index), the tail by its fill. */
    g->nblocks = 0;
    uint64_t sys_whole = g->prompt_tokens / g->block * g->block;
    int rc = add_run(g, sim_key_hash(s->prompt) ^ 1, sys_whole);
    if (!rc)
        rc = add_run(g, sim_key_hash(s->id) ^ 2, len - sys_whole);
    s->tokens = len + tout;
    req->context = s->id;
    req->turn = s->turn;
    req->user = s->id;
    req->tokens_in = (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
    req->tokens_out = tout;
    return rc;
}

/* A RAG prompt: system prompt, k distinct chunks, the question. */
static int rag_prompt(sim_servegen *g, struct sim_req *req)
{
    uint64_t chunk[1000];
    g->nblocks = 0;
    int rc = add_run(g, 1, g->prompt_tokens);
    for (uint64_t i = 0; i < g->k && !rc; i++) {
        uint64_t c;
        int dup;
        do { /* k distinct chunks: redraw repeats (k is small against chunks) */
            c = sim_zipf_next(&g->zchunk, &g->rng);
            dup = 0;
            for (uint64_t j = 0; j < i; j++)
                dup |= chunk[j] == c;
        } while (dup);
        chunk[i] = c;
        rc = add_run(g, sim_key_hash(c) ^ 3, g->chunk_tokens);
    }
    uint32_t tin = draw_tokens(g, g->tin);
    if (!rc)
        rc = add_run(g, sim_key_hash(g->emitted) ^ 4, tin); /* the question is new */
    uint64_t len = g->prompt_tokens + g->k * g->chunk_tokens + tin;
    req->context = chunk[0];
    req->tokens_in = (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
    req->tokens_out = draw_tokens(g, g->tout);
    return rc;
}

/* The next (token, layer, expert) activation. */
static void moe_step(sim_servegen *g, struct sim_req *req)
{
    if (++g->slot >= g->k) { /* next layer (and token) */
        g->slot = 0;
        if (++g->layer >= g->layers) {
            g->layer = 0;
            g->token++;
        }
        uint64_t *ch = g->chosen + g->layer * g->k;
        if (g->token == 1 || sim_rng_unit(&g->rng) >= g->locality) {
            const uint64_t *perm = g->perm + g->layer * g->experts;
            for (uint64_t i = 0; i < g->k; i++) {
                uint64_t e;
                int dup;
                do {
                    e = perm[sim_zipf_next(&g->zchunk, &g->rng) - 1];
                    dup = 0;
                    for (uint64_t j = 0; j < i; j++)
                        dup |= ch[j] == e;
                } while (dup);
                ch[i] = e;
            }
        }
    }
    uint64_t e = g->chosen[g->layer * g->k + g->slot];
    req->key = g->layer * g->experts + e + 1;
    req->size = g->expert_bytes;
    req->context = g->token;
    req->turn = (uint32_t)g->layer;
}

int sim_servegen_next(sim_servegen *g, struct sim_req *req)
{
    if (g->emitted >= g->requests)
        return 0;
    static const struct sim_req zero;
    *req = zero;
    int rc = 0;
    if (g->kind == SV_MOE) {
        moe_step(g, req);
        if (g->slot == 0 && g->layer == 0) /* a new token arrives */
            req->time = gen_clock_next(&g->clk, &g->rng);
        else
            req->time = (uint64_t)floor(g->clk.clock * 1e6);
    } else {
        rc = g->kind == SV_CHAT ? chat_turn(g, req) : rag_prompt(g, req);
        if (rc)
            return rc;
        req->time = gen_clock_next(&g->clk, &g->rng);
        req->blocks = g->blocks;
        req->nblocks = (uint32_t)g->nblocks;
        req->key = sim_hash_bytes(g->blocks, g->nblocks * sizeof *g->blocks);
        req->size = req->tokens_in;
    }
    req->index = g->emitted++;
    req->op = SIM_OP_GET;
    req->next_access = -1;
    req->present = sim_servegen_fields(g);
    return 1;
}

uint32_t sim_servegen_fields(const sim_servegen *g)
{
    if (g->kind == SV_MOE)
        return SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_OP | SIM_F_CONTEXT;
    return SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_OP | SIM_F_CONTEXT | SIM_F_TOKENS |
           SIM_F_BLOCKS | (g->kind == SV_CHAT ? SIM_F_USER : 0);
}
