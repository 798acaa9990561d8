/*
 * bench_serve.c - `make bench`: simulated requests per second of wall time
 * (and of CPU time, which other jobs on a shared machine disturb less) for
 * the whole serving simulation (routing, example retrieval, queues,
 * feedback, admission), with the example cache at 10^4 and 10^5 entries,
 * and the recall of the IVF index against exact search.
 *
 * The workload: intents with Zipf(0.9)-like popularity, embeddings =
 * intent centroid + noise, three categories, Poisson arrivals at a load the
 * pool sustains.  The example cache's byte budget is the stated number of
 * entries of the workload's mean size; the timed part starts once 1.5 times
 * as many requests have filled it, and the line shows the entries at its
 * start and end (eviction prefers large entries, so there are somewhat more
 * than stated).  Target (issue 6): >= 200,000 simulated requests per second
 * at 10^5 entries.
 *
 * What is timed: sim_serve_arrive() for each timed request (advancing the
 * event loop to its arrival, routing with the example search, queueing,
 * and every completion, feedback and admission that falls due) and the
 * final sim_serve_finish() that drains the pool.  Not timed: making the
 * requests, CHUNK at a time between timed stretches (a request record
 * and its embedding, centroid + noise): replay gets these from a trace
 * reader, the embeddings as rows of a .npy file, not by sampling.
 *
 * With the IVF index, searches run ahead of their requests in batches
 * (serve.c): at 10^5 entries the default run times 1 and 2 threads (the
 * same results, the target being for wall time).
 *
 *   bench_serve                          every configuration
 *   bench_serve ivf 64 100000 [N [P [T]]] one: index, dimension, entries,
 *                                        timed requests, IVF nprobe,
 *                                        threads (default 1)
 *   bench_serve none 64 100000 [N]       the simulation without the example
 *                                        cache: threshold router (about half
 *                                        to each model), the same requests
 *                                        (their embeddings unused)
 *   bench_serve recall 64 100000 [P]     recall only
 *   bench_serve index 64 100000 [P [N]]  the index alone: CPU time per
 *                                        request, codes compared
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"
#include "sim.h"
#include "sim_serve.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now(void) { return clock_s(CLOCK_MONOTONIC); }

/* CPU time too: on a shared machine wall time includes other jobs. */
static double cpu(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

static const char *pool_text =
    "[pool]\ncategories = math knowledge chat\n"
    "[model small]\nreplicas = 64\nbatch = 64\nprefill_ms_per_token = 0.02\n"
    "decode_ms_per_token = 6\ntokens_per_s = 2500\ncost_in_per_mtok = 0.6\n"
    "cost_out_per_mtok = 0.6\nquality = 0.66\ndifficulty_slope = 0.4\nexample_gain = 0.25\n"
    "[model large]\nreplicas = 64\nbatch = 64\nprefill_ms_per_token = 0.11\n"
    "decode_ms_per_token = 25\ntokens_per_s = 700\ncost_in_per_mtok = 10\n"
    "cost_out_per_mtok = 30\nquality = 0.83\ndifficulty_slope = 0.3\nexample_gain = 0.05\n";

struct workload {
    uint32_t dim, intents;
    float *centroids;
    struct sim_rng g;
    float *emb;
};

static void next_request(struct workload *w, uint64_t i, struct sim_req *q, const char **cat)
{
    static const char *cats[] = {"math", "knowledge", "chat"};
    /* Popularity ~ u^3 over intents: a few hot intents, a long tail. */
    uint64_t c = (uint64_t)(w->intents * pow(sim_rng_unit(&w->g), 3));
    memset(q, 0, sizeof *q);
    q->index = i;
    q->cls = c + 1;
    q->present = SIM_F_TOKENS | SIM_F_CLASS | SIM_F_EMB | SIM_F_CATEGORY;
    q->tokens_in = 200 + (uint32_t)sim_rng_below(&w->g, 400);
    q->tokens_out = 100 + (uint32_t)sim_rng_below(&w->g, 300);
    for (uint32_t d = 0; d < w->dim; d++)
        w->emb[d] = w->centroids[c * w->dim + d] + 0.2f * (float)(sim_rng_unit(&w->g) - 0.5);
    q->emb = w->emb;
    q->dim = w->dim;
    *cat = cats[c % 3];
}

/* The next requests of the workload, CHUNK at a time: what a trace reader
 * hands replay (records, and embeddings that are rows of a .npy file). */
enum { CHUNK = 256 };
/* After the index kinds of enum sim_serve_index: no example cache. */
#define KIND_NONE ((enum sim_serve_index)3)
struct chunk {
    struct sim_req q[CHUNK];
    const char *cat[CHUNK];
    float *emb; /* CHUNK rows of dim */
};

static void chunk_fill(struct workload *w, struct chunk *ch, uint64_t first, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        float *row = ch->emb + (size_t)k * w->dim;
        next_request(w, first + k, &ch->q[k], &ch->cat[k]);
        memcpy(row, w->emb, w->dim * sizeof *row);
        ch->q[k].emb = row;
    }
}

static void workload_init(struct workload *w, uint32_t dim, uint64_t entries)
{
    w->dim = dim;
    w->intents = (uint32_t)(entries * 2);
    w->centroids = malloc((size_t)w->intents * dim * sizeof(float));
    w->emb = malloc(dim * sizeof(float));
    sim_rng_seed(&w->g, 7);
    for (size_t i = 0; i < (size_t)w->intents * dim; i++)
        w->centroids[i] = (float)(sim_rng_unit(&w->g) - 0.5);
}

/* Bytes per entry: (tokens_in + tokens_out) * 4 + dim * 4, on average
 * (400 + 250) * 4 + the embedding: size the budget for `entries`. */
static uint64_t budget(uint32_t dim, uint64_t entries)
{
    return entries * (650 * 4 + dim * 4);
}

/* Recall of the IVF index against flat (exact) search over the same
 * entries: the workload's embeddings inserted into both (evictions agree:
 * they depend on the seed and sizes only), then the share of the exact
 * top K at similarity >= the floor that the IVF search returns, for the
 * bench's floor (0.5) and the router's default min_sim (0.8: what IC-Cache
 * uses; candidates below it are never examples). */
static void recall(uint32_t dim, uint64_t entries, unsigned nprobe)
{
    enum { K = 16, QUERIES = 1000 };
    static const float floors[2] = {0.5f, 0.8f};
    struct workload w;
    workload_init(&w, dim, entries);
    char err[SIM_ERRLEN];
    struct excache ivf, flat;
    excache_init(&ivf, dim, budget(dim, entries), SIM_SERVE_IVF, 1, err, sizeof err);
    excache_init(&flat, dim, budget(dim, entries), SIM_SERVE_FLAT, 1, err, sizeof err);
    if (nprobe)
        ivf.nprobe = nprobe;
    struct sim_req q;
    const char *cat;
    uint64_t i = 0;
    for (; i < entries * (getenv("RW") ? (uint64_t)atoi(getenv("RW")) : 3) / 2; i++) {
        next_request(&w, i, &q, &cat);
        struct exentry e = {.utility = 0.5f, .tokens = q.tokens_in + q.tokens_out};
        e.bytes = e.tokens * 4 + dim * 4;
        excache_insert(&ivf, &e, q.emb, err, sizeof err);
        excache_insert(&flat, &e, q.emb, err, sizeof err);
    }
    uint64_t want[2] = {0, 0}, got[2] = {0, 0}, codes = ivf.w.codes;
    for (int n = 0; n < QUERIES; n++, i++) {
        next_request(&w, i, &q, &cat);
        for (int f = 0; f < 2; f++) {
            uint64_t a[K], b[K];
            float sa[K], sb[K];
            int na = excache_search_floor(&flat, q.emb, K, floors[f], NULL, a, sa, err,
                                          sizeof err);
            int nb = excache_search_floor(&ivf, q.emb, K, floors[f], NULL, b, sb, err,
                                          sizeof err);
            want[f] += (uint64_t)na;
            for (int x = 0; x < na; x++)
                for (int y = 0; y < nb; y++)
                    got[f] += a[x] == b[y];
        }
    }
    /* Codes compared: the centroids, the rows of the lists probed. */
    double rows = (double)(ivf.w.codes - codes) / 2;
    for (int f = 0; f < 2; f++)
        printf("ivf  dim %3u  entries %6u  recall@%d (sim >= %.1f) vs flat %.4f  (nprobe %u of "
               "%u lists, %.2f neighbours/query, %.0f codes scanned/query)\n", dim, ivf.nlive,
               K, (double)floors[f], want[f] ? (double)got[f] / (double)want[f] : 1.0, ivf.nprobe,
               ivf.nlist, (double)want[f] / QUERIES, rows / QUERIES);
    excache_free(&ivf);
    excache_free(&flat);
    free(w.centroids);
    free(w.emb);
}

/* The index alone, as the serving simulation drives it: per request a
 * floored search (16 candidates, similarity >= 0.5) that fills a hint,
 * then the insertion of the request with that hint (and the evictions it
 * causes).  Prints CPU microseconds per request and codes compared. */
static void index_only(uint32_t dim, uint64_t entries, unsigned nprobe, uint64_t timed)
{
    enum { K = 16 };
    struct workload w;
    workload_init(&w, dim, entries);
    char err[SIM_ERRLEN];
    struct excache x;
    excache_init(&x, dim, budget(dim, entries), SIM_SERVE_IVF, 1, err, sizeof err);
    if (nprobe)
        x.nprobe = nprobe;
    void *prep = malloc(excache_prep_size(&x));
    struct sim_req q;
    const char *cat;
    uint64_t i = 0, found = 0, codes = 0, scored = 0;
    double c1 = 0;
    for (; i < entries * 3 / 2 + timed; i++) {
        if (i == entries * 3 / 2) {
            c1 = cpu();
            codes = x.w.codes;
            scored = x.w.scored;
        }
        next_request(&w, i, &q, &cat);
        struct exhint h = {.prep = prep};
        uint64_t ids[K];
        float sims[K];
        int n = excache_search_floor(&x, q.emb, K, 0.5f, &h, ids, sims, err, sizeof err);
        found += i >= entries * 3 / 2 && n > 0 ? (uint64_t)n : 0;
        struct exentry e = {.utility = 0.5f, .tokens = q.tokens_in + q.tokens_out};
        e.bytes = e.tokens * 4 + dim * 4;
        excache_insert_hint(&x, &e, q.emb, &h, err, sizeof err);
    }
    double c2 = cpu();
    printf("ivf  dim %3u  entries %6u  index alone: %.2f us/request CPU (search + insert), "
           "%.0f codes/request, %.1f scored in float, %.2f found (nprobe %u of %u lists)\n",
           dim, x.nlive, (c2 - c1) * 1e6 / (double)timed, (double)(x.w.codes - codes) / (double)timed,
           (double)(x.w.scored - scored) / (double)timed,
           (double)found / (double)timed, x.nprobe, x.nlist);
    excache_free(&x);
    free(prep);
    free(w.centroids);
    free(w.emb);
}

static int run(const sim_modelpool *pool, enum sim_serve_index kind, uint32_t dim,
               uint64_t entries, uint64_t timed, unsigned nprobe, unsigned threads)
{
    struct workload w;
    workload_init(&w, dim, entries);

    char err[SIM_ERRLEN];
    struct sim_serve_config c;
    sim_serve_config_init(&c, pool);
    /* none: the event loop, routing and metrics alone (no search, no
     * feedback or admission), to time them without the index. */
    c.router = kind == KIND_NONE ? SIM_ROUTE_THRESHOLD : SIM_ROUTE_ICCACHE;
    c.index = kind == KIND_NONE ? SIM_SERVE_IVF : kind;
    /* The large model gains 0.12 to 0.22 by difficulty: this sends about
     * half to each, within their capacity (all on large would overload). */
    c.route_tau = 0.17;
    c.min_sim = 0.5; /* the workload's paraphrases sit near 0.9 */
    c.arrival_rate = 200; /* well within 128 replicas' capacity */
    c.cache_bytes = budget(dim, entries);
    if (nprobe)
        c.nprobe = nprobe;
    c.threads = threads;
    sim_serve *s = sim_serve_create(&c, err, sizeof err);
    if (!s) {
        fprintf(stderr, "bench_serve: %s\n", err);
        return 1;
    }
    struct chunk *ch = malloc(sizeof *ch);
    ch->emb = malloc((size_t)CHUNK * dim * sizeof *ch->emb);
    uint64_t i = 0, warm = entries * 3 / 2;
    double t0 = now();
    /* Warm up: fill the example cache. */
    while (i < warm) {
        unsigned n = warm - i < CHUNK ? (unsigned)(warm - i) : CHUNK;
        chunk_fill(&w, ch, i, n);
        for (unsigned k = 0; k < n; k++)
            if (sim_serve_arrive(s, &ch->q[k], ch->cat[k], err, sizeof err)) {
                fprintf(stderr, "bench_serve: %s\n", err);
                return 1;
            }
        i += n;
    }
    struct sim_serve_stats st;
    sim_serve_finish(s, 0, &st); /* no windows: only reads the counters */
    uint64_t at_start = st.cache_entries;
    double t1 = now();
    /* Timed: the arrivals and the final drain, not the making of requests
     * (replay reads them from a trace, embeddings from a .npy file). */
    double wall = 0, cput = 0;
    for (uint64_t n0 = 0; n0 < timed;) {
        unsigned n = timed - n0 < CHUNK ? (unsigned)(timed - n0) : CHUNK;
        chunk_fill(&w, ch, i, n);
        double a = now(), b = cpu();
        for (unsigned k = 0; k < n; k++)
            sim_serve_arrive(s, &ch->q[k], ch->cat[k], err, sizeof err);
        if ((n0 += n) == timed)
            sim_serve_finish(s, 1, &st);
        wall += now() - a;
        cput += cpu() - b;
        i += n;
    }
    static const char *const names[] = {"flat", "hnsw", "ivf", "none"};
    char probe[32] = "";
    if (kind == SIM_SERVE_IVF)
        snprintf(probe, sizeof probe, " nprobe %u, %u thr", c.nprobe, threads);
    printf("%-4s dim %3u%-17s entries %6llu-%6llu  warm-up %5.1f s  %7.0f req/s (CPU time: "
           "%7.0f)  examples/req %.2f, quality %.3f\n",
           names[kind], dim, probe, (unsigned long long)at_start,
           (unsigned long long)st.cache_entries, t1 - t0, (double)timed / wall,
           (double)timed / cput, st.examples_per_request, st.quality);
    sim_serve_free(s);
    free(w.centroids);
    free(w.emb);
    free(ch->emb);
    free(ch);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_serve [ivf|flat|hnsw|none DIM ENTRIES [TIMED [NPROBE [THREADS]]]]\n"
                    "       bench_serve recall DIM ENTRIES [NPROBE]\n"
                    "       bench_serve index DIM ENTRIES [NPROBE [TIMED]]\n");
    return 2;
}

int main(int argc, char **argv)
{
    /* One configuration from the command line, to iterate on; else all. */
    int kind = -1;
    uint32_t dim = 0;
    uint64_t entries = 0, timed = 200000;
    unsigned nprobe = 0, threads = 1;
    if (argc > 1 && argv[1][0] == '-')
        argc = 1; /* options meant for other benchmarks (scripts/bench.sh) */
    if (argc > 1 && !strcmp(argv[1], "recall")) {
        if (argc < 4 || argc > 5 || !atoi(argv[2]) || !atoi(argv[3]))
            return usage();
        recall((uint32_t)atoi(argv[2]), (uint64_t)atoll(argv[3]),
               argc >= 5 ? (unsigned)atoi(argv[4]) : 0);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "index")) {
        if (argc < 4 || argc > 6 || !atoi(argv[2]) || !atoi(argv[3]))
            return usage();
        index_only((uint32_t)atoi(argv[2]), (uint64_t)atoll(argv[3]),
                   argc >= 5 ? (unsigned)atoi(argv[4]) : 0,
                   argc >= 6 ? (uint64_t)atoll(argv[5]) : 200000);
        return 0;
    }
    if (argc > 1) {
        static const char *const kinds[] = {"flat", "hnsw", "ivf", "none"};
        for (int i = 0; i < 4; i++)
            if (!strcmp(argv[1], kinds[i]))
                kind = i;
        if (kind < 0 || argc < 4 || argc > 7)
            return usage();
        dim = (uint32_t)strtoul(argv[2], NULL, 10);
        entries = strtoull(argv[3], NULL, 10);
        if (argc >= 5)
            timed = strtoull(argv[4], NULL, 10);
        if (argc >= 6)
            nprobe = (unsigned)strtoul(argv[5], NULL, 10);
        if (argc >= 7)
            threads = (unsigned)strtoul(argv[6], NULL, 10);
        if (!dim || !entries || !timed)
            return usage();
    }
    char path[] = "/tmp/bench_serve_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, pool_text, strlen(pool_text)) != (ssize_t)strlen(pool_text))
        return 1;
    close(fd);
    char err[SIM_ERRLEN];
    sim_modelpool *pool = sim_modelpool_load(path, err, sizeof err);
    unlink(path);
    if (!pool) {
        fprintf(stderr, "bench_serve: %s\n", err);
        return 1;
    }
    printf("serving simulation, IC-Cache router; target >= 200000 simulated req/s at 1e5 "
           "entries\n");
    int rc = 0;
    if (kind >= 0)
        rc = run(pool, (enum sim_serve_index)kind, dim, entries, timed, nprobe, threads);
    else if (getenv("BENCH_SERVE_QUICK"))
        rc = run(pool, SIM_SERVE_IVF, 64, 2000, 20000, 0, 2);
    else {
        rc |= run(pool, KIND_NONE, 64, 10000, 1000000, 0, 1); /* without the cache */
        rc |= run(pool, SIM_SERVE_IVF, 64, 10000, 500000, 0, 1);
        rc |= run(pool, SIM_SERVE_IVF, 64, 100000, 500000, 0, 1);
        rc |= run(pool, SIM_SERVE_IVF, 64, 100000, 500000, 0, 2);
        rc |= run(pool, SIM_SERVE_IVF, 64, 100000, 500000, 4, 1);
        rc |= run(pool, SIM_SERVE_IVF, 64, 100000, 500000, 1, 1);
        rc |= run(pool, SIM_SERVE_IVF, 384, 100000, 200000, 0, 1);
        rc |= run(pool, SIM_SERVE_HNSW, 64, 10000, 20000, 0, 1);
        rc |= run(pool, SIM_SERVE_FLAT, 64, 10000, 20000, 0, 1);
        /* What nprobe (default 2) costs in retrieval quality; the index
         * alone. */
        recall(64, 10000, 0);
        recall(64, 10000, 1);
        recall(64, 100000, 0);
        recall(64, 100000, 4);
        recall(64, 100000, 1);
        index_only(64, 10000, 0, 200000);
        index_only(64, 100000, 0, 200000);
    }
    sim_modelpool_free(pool);
    return rc;
}
