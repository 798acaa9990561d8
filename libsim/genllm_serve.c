/*
 * genllm_serve.c - LLM-serving prompts as block hashes: multi-turn chat
 * sessions (serve) and retrieval-augmented requests (rag), in the shape of
 * Mooncake's trace (Qin et al., "Mooncake: Trading More Storage for Less
 * Computation", FAST 2025): a prompt is cut into `block`-token blocks and
 * each block named by an id, so that two prompts share a KV-cache prefix
 * exactly as far as their id lists agree.
 *
 * serve: `active` sessions run at once; each request picks one uniformly
 * and sends its next turn (a finished session's slot starts a new one).  A
 * session has a system prompt, one of `prompts` (Zipf(prompt_alpha)
 * popularity) of `system` tokens; turn t's prompt is the system prompt,
 * every earlier turn's question and answer, and question t (lognormal
 * tokens, mean `in`), so prompts grow turn by turn.  After each turn the
 * session ends with probability 1/turns (geometric, mean `turns`), or when
 * the next prompt would exceed `max` tokens.
 * Block j of a prompt covers tokens [j*block, (j+1)*block); the last may be
 * partial.  A block wholly inside the system prompt is named by (prompt, j),
 * any other by (session, j), and ids are chained (each hashes its
 * predecessor's), then numbered 0, 1, 2... in order of first appearance.
 * The session's token stream only grows, so turn t+1's list starts with
 * all of turn t's ids; sessions with the same system prompt share its full
 * blocks.  (A partial last block gets the id of the full block it grows
 * into: ids name positions of a stream.)
 *
 * rag: each request is the system prompt (`system` tokens, shared by all),
 * k distinct chunks of `chunk` tokens retrieved from a corpus by
 * Zipf(alpha) popularity (chunk 0 the most popular), and a question.  Each
 * part starts a new block (chunks are stored and reused as units, as in
 * RAGCache and CacheBlend), a chunk's blocks have the same ids wherever it
 * appears, and the question's are new.  input_length counts the tokens
 * (not the padding).  k distinct draws: a repeated chunk is drawn again, up
 * to 64 times, then the most popular unused chunk is taken.
 */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genllm_impl.h"
#include "reader.h"

#define P_END {NULL, 0, NULL, 0, 0, NULL, NULL}
#define P_IN(def) {"in", SIM_P_REAL, def, 1, 1e8, NULL, "mean question tokens"}
#define P_IN_SIGMA(def) {"in_sigma", SIM_P_REAL, def, 0, 5, NULL, "log-sd of question tokens"}
#define P_OUT {"out", SIM_P_REAL, "250", 1, 1e8, NULL, "mean answer tokens"}
#define P_OUT_SIGMA {"out_sigma", SIM_P_REAL, "0.8", 0, 5, NULL, "log-sd of answer tokens"}
#define P_BLOCK {"block", SIM_P_INT, "512", 1, 1048576, NULL, "tokens per block"}
#define P_USERS {"users", SIM_P_INT, "1000", 1, 1e15, NULL, "distinct users"}

const struct sim_param_def genllm_serve_defs[] = {
    {"prompts", SIM_P_INT, "20", 1, 1e9, NULL, "distinct system prompts"},
    {"prompt_alpha", SIM_P_REAL, "1", 0, 100, NULL, "Zipf exponent of system prompts"},
    {"system", SIM_P_INT, "2048", 0, 1e8, NULL, "system prompt tokens"},
    {"turns", SIM_P_REAL, "4", 1, 1e6, NULL, "mean turns per session"},
    P_IN("300"), P_IN_SIGMA("1"), P_OUT, P_OUT_SIGMA,
    {"active", SIM_P_INT, "64", 1, 1e6, NULL, "sessions at once"},
    {"max", SIM_P_INT, "131072", 1, 1e9, NULL, "longest prompt, tokens"},
    P_BLOCK, P_USERS, P_END};

const struct sim_param_def genllm_rag_defs[] = {
    {"corpus", SIM_P_INT, "100000", 1, 1e12, NULL, "chunks in the corpus"},
    {"alpha", SIM_P_REAL, "0.9", 0, 100, NULL, "Zipf exponent of chunk popularity"},
    {"k", SIM_P_INT, "5", 1, 1000, NULL, "chunks per request"},
    {"chunk", SIM_P_INT, "512", 1, 1e6, NULL, "tokens per chunk"},
    {"system", SIM_P_INT, "1024", 0, 1e8, NULL, "system prompt tokens"},
    P_IN("100"), P_IN_SIGMA("0.5"), P_OUT, P_OUT_SIGMA, P_BLOCK, P_USERS, P_END};

/* Salts of the block names. */
enum { NAME_SYSTEM = 1, NAME_SESSION = 2, NAME_CHUNK = 3, NAME_QUESTION = 4 };

static int setup_serve(struct serve *s, const sim_params *p, char *err, size_t errlen)
{
    s->system = (uint64_t)sim_params_int(p, "system");
    s->max = (uint64_t)sim_params_int(p, "max");
    s->end_p = 1 / sim_params_real(p, "turns");
    s->nslot = (uint64_t)sim_params_int(p, "active");
    if (s->max <= s->system) {
        snprintf(err, errlen, "serve: parameter 'max' (%llu) must exceed 'system' (%llu)",
                 (unsigned long long)s->max, (unsigned long long)s->system);
        return SIM_EINVAL;
    }
    if (!(s->slot = calloc(s->nslot, sizeof *s->slot)))
        return SIM_ENOMEM;
    return sim_zipf_init(&s->prompts, (uint64_t)sim_params_int(p, "prompts"),
                         sim_params_real(p, "prompt_alpha"), err, errlen);
}

static int setup_rag(struct serve *s, const sim_params *p, char *err, size_t errlen)
{
    s->system = (uint64_t)sim_params_int(p, "system");
    s->corpus = (uint64_t)sim_params_int(p, "corpus");
    s->k = (uint64_t)sim_params_int(p, "k");
    s->chunk = (uint64_t)sim_params_int(p, "chunk");
    if (s->k > s->corpus) {
        snprintf(err, errlen, "rag: parameter 'k' (%llu) exceeds 'corpus' (%llu)",
                 (unsigned long long)s->k, (unsigned long long)s->corpus);
        return SIM_EINVAL;
    }
    if (!(s->picked = calloc(s->k, sizeof *s->picked)))
        return SIM_ENOMEM;
    return sim_zipf_init(&s->chunks, s->corpus, sim_params_real(p, "alpha"), err, errlen);
}

int genllm_serve_setup(sim_genllm *g, const sim_params *p, int rag, char *err, size_t errlen)
{
    struct serve *s = &g->s;
    s->rag = rag;
    s->block = (uint64_t)sim_params_int(p, "block");
    s->users = (uint64_t)sim_params_int(p, "users");
    s->in_sigma = sim_params_real(p, "in_sigma");
    s->in_mu = genllm_mu(sim_params_real(p, "in"), s->in_sigma);
    s->out_sigma = sim_params_real(p, "out_sigma");
    s->out_mu = genllm_mu(sim_params_real(p, "out"), s->out_sigma);
    int rc = u64map_init(&s->ids, 4096) ? SIM_ENOMEM : 0;
    if (!rc)
        rc = rag ? setup_rag(s, p, err, errlen) : setup_serve(s, p, err, errlen);
    if (rc == SIM_ENOMEM)
        snprintf(err, errlen, "out of memory");
    return rc;
}

void genllm_serve_free(struct serve *s)
{
    free(s->slot);
    free(s->picked);
    free(s->blocks);
    if (s->ids.keys)
        u64map_free(&s->ids);
}

/*=====   Blocks   =====*/

/* Room for n more block ids. */
static int blocks_reserve(struct serve *s, size_t have, uint64_t n)
{
    if (have + n <= s->capblocks)
        return 0;
    size_t cap = s->capblocks ? s->capblocks : 256;
    while (cap < have + n)
        cap *= 2;
    uint64_t *b = realloc(s->blocks, cap * sizeof *b);
    if (!b)
        return SIM_ENOMEM;
    s->blocks = b;
    s->capblocks = cap;
    return 0;
}

/* Appends the sequential id of hash h (numbered on first appearance). */
static int block_id(sim_genllm *g, size_t *n, uint64_t h)
{
    int fresh;
    uint64_t *id = u64map_upsert(&g->s.ids, h, g->s.ids.count, &fresh);
    if (!id)
        return SIM_ENOMEM;
    g->s.blocks[(*n)++] = *id;
    return 0;
}

static uint64_t nblocks_of(const struct serve *s, uint64_t tokens)
{
    return (tokens + s->block - 1) / s->block;
}

/*=====   serve   =====*/

static void start_session(sim_genllm *g, struct serve_session *x)
{
    struct serve *s = &g->s;
    x->id = s->next_session++;
    x->user = sim_rng_below(&g->rng, s->users) + 1;
    x->prompt = (uint32_t)sim_zipf_next(&s->prompts, &g->rng);
    x->history = 0;
    x->turn = 0;
    x->open = 1;
}

/* The chained ids of a session's prompt of `len` tokens. */
static int session_blocks(sim_genllm *g, const struct serve_session *x, uint64_t len,
                          size_t *n)
{
    struct serve *s = &g->s;
    uint64_t nb = nblocks_of(s, len), h = genllm_mix(g->seed, NAME_SYSTEM);
    if (blocks_reserve(s, 0, nb))
        return SIM_ENOMEM;
    for (uint64_t j = 0; j < nb; j++) {
        uint64_t name = (j + 1) * s->block <= s->system
                            ? genllm_mix(genllm_mix(NAME_SYSTEM, x->prompt), j)
                            : genllm_mix(genllm_mix(NAME_SESSION, x->id), j);
        h = genllm_mix(h, name);
        if (block_id(g, n, h))
            return SIM_ENOMEM;
    }
    return 0;
}

static int serve_next(sim_genllm *g, struct sim_req *req)
{
    struct serve *s = &g->s;
    struct serve_session *x = &s->slot[sim_rng_below(&g->rng, s->nslot)];
    uint64_t in = genllm_lognormal(&g->rng, s->in_mu, s->in_sigma);
    if (x->open && s->system + x->history + in > s->max)
        x->open = 0; /* the context is full: the user starts over */
    if (!x->open)
        start_session(g, x);
    if (s->system + in > s->max)
        in = s->max - s->system;
    uint64_t len = s->system + x->history + in;
    req->tokens_in = (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
    req->tokens_out = genllm_lognormal(&g->rng, s->out_mu, s->out_sigma);
    req->user = x->user;
    req->context = x->id;
    req->turn = x->turn;
    size_t n = 0;
    if (session_blocks(g, x, len, &n))
        return SIM_ENOMEM;
    req->nblocks = (uint32_t)n;
    x->history += in + req->tokens_out;
    x->turn++;
    if (sim_rng_unit(&g->rng) < s->end_p)
        x->open = 0;
    return 0;
}

/*=====   rag   =====*/

/* Whether chunk c is among the first i picked. */
static int picked(const struct serve *s, uint64_t i, uint64_t c)
{
    for (uint64_t j = 0; j < i; j++)
        if (s->picked[j] == c)
            return 1;
    return 0;
}

/* k distinct chunks by popularity: a repeat is drawn again, up to 64
 * times, then the most popular unused chunk is taken. */
static void pick_chunks(sim_genllm *g)
{
    struct serve *s = &g->s;
    for (uint64_t i = 0; i < s->k; i++) {
        uint64_t c = sim_zipf_next(&s->chunks, &g->rng) - 1;
        for (int tries = 0; picked(s, i, c) && tries < 64; tries++)
            c = sim_zipf_next(&s->chunks, &g->rng) - 1;
        for (c = picked(s, i, c) ? 0 : c; picked(s, i, c); c++)
            ;
        s->picked[i] = c;
    }
}

/* Appends the ids of a part of `tokens` tokens named by (salt, id). */
static int part_blocks(sim_genllm *g, size_t *n, uint64_t salt, uint64_t id, uint64_t tokens)
{
    uint64_t nb = nblocks_of(&g->s, tokens);
    if (blocks_reserve(&g->s, *n, nb))
        return SIM_ENOMEM;
    for (uint64_t j = 0; j < nb; j++)
        if (block_id(g, n, genllm_mix(genllm_mix(g->seed ^ salt, id), j)))
            return SIM_ENOMEM;
    return 0;
}

static int rag_next(sim_genllm *g, struct sim_req *req)
{
    struct serve *s = &g->s;
    pick_chunks(g);
    uint64_t in = genllm_lognormal(&g->rng, s->in_mu, s->in_sigma);
    uint64_t len = s->system + s->k * s->chunk + in;
    req->tokens_in = (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
    req->tokens_out = genllm_lognormal(&g->rng, s->out_mu, s->out_sigma);
    req->user = sim_rng_below(&g->rng, s->users) + 1;
    size_t n = 0;
    int rc = part_blocks(g, &n, NAME_SYSTEM, 0, s->system);
    for (uint64_t i = 0; !rc && i < s->k; i++)
        rc = part_blocks(g, &n, NAME_CHUNK, s->picked[i], s->chunk);
    if (!rc)
        rc = part_blocks(g, &n, NAME_QUESTION, g->emitted, in);
    req->nblocks = (uint32_t)n;
    return rc;
}

int genllm_serve_next(sim_genllm *g, struct sim_req *req, char *err, size_t errlen)
{
    memset(req, 0, sizeof *req);
    int rc = g->s.rag ? rag_next(g, req) : serve_next(g, req);
    if (rc) {
        snprintf(err, errlen, "out of memory after %llu requests",
                 (unsigned long long)g->emitted);
        return SIM_ENOMEM;
    }
    req->index = g->emitted;
    req->time = genllm_time(g);
    req->blocks = g->s.blocks;
    req->key = reader_hash_u64s(req->blocks, req->nblocks);
    req->size = req->tokens_in;
    req->next_access = -1;
    req->present = sim_genllm_fields(g);
    return 1;
}
