/*
 * genllm_impl.h - the state shared by the LLM workload generators
 * (genllm.c: creation, dispatch and output; genllm_query.c, genllm_serve.c,
 * genllm_moe.c: one workload kind each).  Not installed.
 */
#ifndef SIM_GENLLM_IMPL_H
#define SIM_GENLLM_IMPL_H

#include "gen_internal.h"
#include "sim_genllm.h"
#include "sim_policy.h"
#include "u64map.h"

/* An open conversation of a query category. */
struct qconv {
    uint64_t id, user, cls;     /* cls: the class of its last turn */
    uint32_t turn;
};

/* One query category. */
struct qcat {
    char *name;
    double share, cum;          /* share of traffic, cumulative up to this one */
    double density, within;     /* cosines: between intents' centres, within an intent */
    double alpha, paraphrase, exact, followup;
    uint32_t ttl;
    double in_mu, in_sigma, out_mu, out_sigma;  /* lognormal token laws */
    double *base;               /* dim: the category's direction */
    uint64_t *intent_cls;       /* class of each intent, in order of first appearance */
    uint32_t *intent_words;     /* wordings of each intent so far */
    size_t nint, capint;
    struct sim_zipf z;          /* over the nint intents seen (z.n == nint) */
    struct qconv *conv;         /* up to `active` open conversations */
    size_t nconv;
};

struct query {
    struct qcat *cat;
    unsigned ncat;
    const char **names;
    uint32_t dim;
    uint64_t users, active;
    uint64_t next_cls, next_conv;
    struct u64map follow;       /* hash(previous class, follow-up intent) -> class */
    struct sim_zipf fz;         /* follow-up intents */
    double *v1, *v2;            /* dim-long scratch */
    float *emb;
};

/* serve and rag: prompts as block-hash lists. */
struct serve_session {
    uint64_t id, user, history; /* history: tokens of earlier turns (in and out) */
    uint32_t prompt, turn;
    int open;
};

struct serve {
    int rag;
    uint64_t block, system, max, users;
    double in_mu, in_sigma, out_mu, out_sigma;
    double end_p;               /* serve: a session ends after a turn with this prob. */
    struct sim_zipf prompts;    /* serve: system prompt popularity */
    struct serve_session *slot; /* serve: `active` sessions */
    uint64_t nslot, next_session;
    uint64_t corpus, k, chunk;  /* rag */
    struct sim_zipf chunks;
    uint64_t *picked;           /* rag: this request's chunks */
    struct u64map ids;          /* chained hash -> sequential block id */
    uint64_t *blocks;
    size_t capblocks;
};

struct moe {
    uint32_t layers, experts, k, len;
    double locality;
    double *weight;             /* by popularity rank, r^-alpha */
    uint32_t *perm;             /* layers x experts: rank -> expert id */
    uint32_t *prev, *cur;       /* layers x k ranks: previous and current token */
    uint32_t *out;              /* k expert ids of the current row */
    uint8_t *taken;             /* experts, by rank */
    uint64_t tokens, seq;
    uint32_t pos, layer;
};

struct sim_genllm_s {
    enum sim_genllm_kind kind;
    uint64_t seed, requests, emitted;
    struct sim_rng rng;
    struct gen_clock clock;     /* arrival times */
    struct sim_rng clock_rng;
    struct query q;
    struct serve s;
    struct moe m;
};

/* Two 64-bit values mixed into one (order matters). */
static inline uint64_t genllm_mix(uint64_t a, uint64_t b)
{
    return sim_key_hash(a ^ sim_key_hash(b + 0x9e3779b97f4a7c15u));
}

/* A lognormal variate with log-mean mu and log-sd sigma, rounded to [1, 2^30]. */
uint32_t genllm_lognormal(struct sim_rng *r, double mu, double sigma);
/* mu of a lognormal with this mean and log-sd. */
double genllm_mu(double mean, double sigma);
/* The time of the next request in microseconds. */
uint64_t genllm_time(sim_genllm *g);

int genllm_query_setup(sim_genllm *g, const sim_params *p, const struct sim_genllm_config *cfg,
                       char *err, size_t errlen);
int genllm_query_next(sim_genllm *g, struct sim_req *req, char *err, size_t errlen);
uint32_t genllm_query_fields(const sim_genllm *g);
void genllm_query_free(struct query *q);

int genllm_serve_setup(sim_genllm *g, const sim_params *p, int rag, char *err, size_t errlen);
int genllm_serve_next(sim_genllm *g, struct sim_req *req, char *err, size_t errlen);
void genllm_serve_free(struct serve *s);

int genllm_moe_setup(sim_genllm *g, const sim_params *p, char *err, size_t errlen);
int genllm_moe_next(sim_genllm *g, struct sim_moe_row *row);
void genllm_moe_free(struct moe *m);

extern const struct sim_param_def genllm_query_defs[], genllm_serve_defs[],
    genllm_rag_defs[], genllm_moe_defs[];

#endif
