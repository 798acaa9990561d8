/*
 * sim_genllm.h - libsim's synthetic LLM workloads: semantic-cache query
 * streams, LLM-serving prompt prefixes (Mooncake-style block hashes, RAG)
 * and mixture-of-experts routing traces.
 *
 * Introduction
 * ------------
 * The object workloads of sim_gen.h give keys and sizes; these give what
 * the LLM cache families need instead:
 *   1. query  - requests in categories, each with its own embedding-space
 *               density, repetition law, paraphrase rate, TTL and share of
 *               traffic; every request carries time, category, user,
 *               conversation and turn, a ground-truth class (paraphrases of
 *               one intent share it), tokens in and out and an embedding.
 *               For the semantic, category-aware and routing caches.
 *   2. serve  - multi-turn chat sessions whose prompts grow turn by turn and
 *               share system prompts, as chained 512-token block hashes
 *               (Mooncake's JSONL trace).  For KV/prefix caches.
 *   3. rag    - prompts made of a shared system prompt, k chunks retrieved
 *               from a corpus with Zipf popularity, and the question.
 *   4. moe    - per token, per layer, the top-k experts, with tunable skew
 *               and token-to-token locality.  For expert-offloading caches.
 *
 * Use: fill struct sim_genllm_config, sim_genllm_create() (all parameters
 * are checked there: an error is the caller's, a usage error), then
 * sim_genllm_write() to a file, or sim_genllm_next() for the requests of
 * query/serve/rag one by one.  tracegen(1) -w is the front end;
 * tracegen-llm(7) describes the models and their parameters.
 *
 * Determinism: randomness comes from sim_rng only, and every real that
 * decides an output value goes through sim_gen_log/exp (sim_gen.h) and
 * IEEE basic operations (sqrt included), so a seed gives the same bytes on
 * every machine.
 *
 * Since 0.1.  Experimental: spec names and defaults may still change.
 */
#ifndef SIM_GENLLM_H
#define SIM_GENLLM_H

#include "sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Workload kinds. */
enum sim_genllm_kind {
    SIM_GENLLM_QUERY = 1,
    SIM_GENLLM_SERVE = 2,
    SIM_GENLLM_RAG = 3,
    SIM_GENLLM_MOE = 4
};

/*
 * Specs are "name" or "name:key=value,...", checked like policy parameters
 * (unknown keys, bad numbers, values out of bounds, unknown enum words are
 * errors naming the key).  The workload spec (one):
 *
 *   query:users=1000,active=64
 *       users: distinct users; active: open conversations per category
 *       (a follow-up continues one of them)
 *   serve:prompts=20,prompt_alpha=1,system=2048,turns=4,in=300,in_sigma=1,
 *         out=250,out_sigma=0.8,active=64,max=131072,block=512
 *   rag:corpus=100000,alpha=0.9,k=5,chunk=512,system=1024,in=100,
 *       in_sigma=0.5,out=250,out_sigma=0.8,block=512
 *   moe:layers=32,experts=64,k=2,alpha=1,locality=0.5,len=256
 *
 * Query categories (one spec each, the category's name first; query only):
 *
 *   NAME:share=,density=0.5,within=0.9,law=zipf|uniform,alpha=0.9,
 *        paraphrase=0.8,exact=0,followup=0,ttl=0,in=400,in_sigma=0.8,
 *        out=250,out_sigma=0.8
 *
 *   share      fraction of the requests; give it for every category or for
 *              none (equal shares); the shares must sum to 1 (within 1e-6)
 *   density    mean cosine between two different intents' centres: 0 puts
 *              intents in independent directions (sparse, chit-chat), 0.9
 *              packs them close together (dense, code)
 *   within     mean cosine between two wordings of one intent
 *   law,alpha  which earlier intent a repeat asks again: Zipf(alpha) over
 *              the intents in order of first appearance (uniform: alpha 0)
 *   paraphrase probability that a request asks an earlier intent again
 *              (else it is a new intent, a new class)
 *   exact      of those repeats, the fraction worded exactly like an
 *              earlier request (same key and embedding); the others are
 *              new wordings (new key, new noise)
 *   followup   probability that a request continues an open conversation
 *              of its category: its class is a function of the previous
 *              turn's class and of the follow-up intent, its embedding the
 *              follow-up's alone (context-blind caches make false hits)
 *   ttl        seconds each request's answer stays fresh (0: none)
 *   in,out     mean tokens in and out (lognormal, log-sd in_sigma, out_sigma)
 *
 * Arrivals use sim_gen.h's language ("poisson:rate=1000", "onoff:...").
 */
struct sim_genllm_config {
    uint64_t seed;
    uint64_t requests;              /* requests; moe: tokens.  > 0 */
    const char *workload;           /* NULL: "query" */
    const char *const *categories;  /* query: ncategories specs; NULL/0: defaults */
    size_t ncategories;
    uint32_t dim;                   /* query: embedding dimension, 1..65536 */
    const char *arrivals;           /* NULL: "poisson:rate=1000" */
};

typedef struct sim_genllm_s sim_genllm;

/*! sim_genllm_create() :
 * Checks the whole configuration and builds the generator.
 * @return the generator, or NULL with a message naming the spec and the
 *         parameter in err (e.g. "code: parameter 'share': -0.1 is outside
 *         [0, 1]", "categories: shares sum to 0.9, not 1",
 *         "dimension 0 is outside [1, 65536]").
 * Default categories (when none is given): code (share 0.3, density 0.85,
 * within 0.92), knowledge (0.3, 0.5, 0.9) and chat (0.4, 0, 0.88). */
sim_genllm *sim_genllm_create(const struct sim_genllm_config *cfg, char *err, size_t errlen);

/*! sim_genllm_kind() : the workload kind. */
enum sim_genllm_kind sim_genllm_kind(const sim_genllm *g);

/*! sim_genllm_fields() : the SIM_F_* fields of the requests (not moe). */
uint32_t sim_genllm_fields(const sim_genllm *g);

/*! sim_genllm_categories() :
 * The category names (query), *n set to their count; NULL for the others. */
const char *const *sim_genllm_categories(const sim_genllm *g, unsigned *n);

/*! sim_genllm_next() :
 * The next request of a query, serve or rag workload.  Pointers in *req
 * (emb, blocks, category_name) stay valid until the next call.
 * @return 1, 0 after cfg->requests requests, SIM_ENOMEM (err set), or
 *         SIM_EINVAL for a moe workload (use sim_genllm_next_moe). */
int sim_genllm_next(sim_genllm *g, struct sim_req *req, char *err, size_t errlen);

/* One row of a MoE routing trace: token `pos` of sequence `seq` at `layer`
 * was routed to experts[0..k-1] (distinct, in draw order). */
struct sim_moe_row {
    uint64_t seq;
    uint32_t pos, layer, k;
    const uint32_t *experts;
};

/*! sim_genllm_next_moe() :
 * @return 1 with *row filled (valid until the next call), 0 at the end
 *         (cfg->requests tokens times the layers), or SIM_EINVAL for the
 *         other kinds. */
int sim_genllm_next_moe(sim_genllm *g, struct sim_moe_row *row);

/* Output formats of sim_genllm_write(). */
enum sim_genllm_out {
    SIM_GENLLM_OUT_AUTO = 0,        /* query: csv; serve, rag: mooncake; moe: csv */
    SIM_GENLLM_OUT_CSV = 1,         /* cachesim-traces(5) CSV; moe: seq,pos,layer,e0.. */
    SIM_GENLLM_OUT_MOONCAKE = 2     /* serve, rag: JSON lines */
};

/*! sim_genllm_write() :
 * Writes the whole workload to `path` ("-": standard output; .zst and .gz
 * compress) in `fmt`.  Query embeddings go inline (the emb column) unless
 * `npy` names a companion .npy file (float32, one row per request), which
 * is then written too.  Files appear only when complete.
 * @return 0, SIM_EINVAL if fmt does not suit the kind (mooncake for query or
 *         moe, npy for anything but query), or an I/O error; err set. */
int sim_genllm_write(sim_genllm *g, const char *path, enum sim_genllm_out fmt,
                     const char *npy, char *err, size_t errlen);

/*! sim_genllm_free() : accepts NULL. */
void sim_genllm_free(sim_genllm *g);

#ifdef __cplusplus
}
#endif
#endif /* SIM_GENLLM_H */
