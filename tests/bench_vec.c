/*
 * bench_vec.c - `make bench`: the vector index and the semantic policy.
 *
 * For each size n (default 10^4 and 10^5; BENCH_VEC_SIZES="10000,100000,
 * 1000000" for more) of clustered unit vectors of dimension 384 (n/100
 * clusters, noise 1: tests/vecgen.c), prints one CSV row per index and
 * ef_search:
 *   n,dim,index,ef_search,build_s,qps,recall_at_1,x_flat
 * where recall@1 is the fraction of 1000 queries (same clusters, fresh
 * noise) whose nearest neighbour equals flat search's, and x_flat the QPS
 * ratio to flat search.  The row "hnsw-churned" is libsim's HNSW after
 * deleting and re-inserting half of the vectors (build_s: the time that
 * took), at the default ef_search.  Indexes: flat, libsim's hnsw, and hnswlib (when
 * its header is installed: same vectors, M, ef_construction, ef_search).
 * HNSW is built only up to BENCH_VEC_HNSW_MAX vectors (default 100000: a
 * 10^6 build takes long on a shared machine).
 *
 * Then, up to BENCH_VEC_POLICY_MAX entries (default 10^4: filling a cache
 * searches before every insert, quadratic with flat search), the semantic
 * policy's rates for hits and for misses with each index; and the
 * memory bandwidth: a streaming sum and memcpy over a buffer the size of
 * the flat index, against the bytes flat search streams per second.
 * Times are the thread's CPU time (the machine may be shared), so rates
 * are per busy core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"
#include "sim_vec.h"
#include "vecgen.h"
#ifdef HAVE_HNSWLIB
#include "hnswlib_shim.h"
#endif

#define DIM 384
#define NQ 1000
#define M_PARAM 16
#define EFC 200

static const unsigned efs[] = {16, 32, 64, 128};
#define NEF (sizeof efs / sizeof efs[0])

/* CPU time of this thread: the machine is shared, and wall time would
 * count the other processes' turns. */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static size_t env_size(const char *name, size_t def)
{
    const char *s = getenv(name);
    return s && *s ? (size_t)strtoull(s, NULL, 10) : def;
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_vec: %s: %s\n", what, err);
    exit(1);
}

static sim_vec *build(enum sim_vec_kind kind, const float *x, size_t n, double *secs)
{
    char err[SIM_ERRLEN];
    struct sim_vec_config cfg;
    sim_vec_config_init(&cfg, kind, DIM);
    cfg.capacity = n;
    cfg.seed = 1;
    cfg.M = M_PARAM;
    cfg.ef_construction = EFC;
    sim_vec *v = sim_vec_create(&cfg, err, sizeof err);
    if (!v)
        die("create", err);
    double t = now();
    for (size_t i = 0; i < n; i++)
        if (sim_vec_insert(v, i, x + i * DIM, DIM, err, sizeof err))
            die("insert", err);
    *secs = now() - t;
    return v;
}

/* Top-1 of the first nq queries into ids; returns queries per second. */
static double run_queries(sim_vec *v, const float *q, uint64_t *ids, size_t nq)
{
    char err[SIM_ERRLEN];
    double t = now();
    for (size_t i = 0; i < nq; i++)
        if (sim_vec_search(v, q + i * DIM, DIM, 1, ids + i, NULL, err, sizeof err) != 1)
            die("search", err);
    return (double)nq / (now() - t);
}

static double recall(const uint64_t *a, const uint64_t *truth)
{
    size_t same = 0;
    for (size_t i = 0; i < NQ; i++)
        same += a[i] == truth[i];
    return (double)same / NQ;
}

static void row(size_t n, const char *index, unsigned ef, double build_s, double qps,
                double rec, double flat_qps)
{
    printf("%zu,%d,%s,%u,%.2f,%.0f,%.4f,%.1f\n", n, DIM, index, ef, build_s, qps, rec,
           qps / flat_qps);
    fflush(stdout);
}

/*
 * Deletes every other vector and inserts it again under id + n (what a
 * cache does as it evicts and admits), then scores recall at the default
 * ef_search: the same vectors are stored, so flat's answers still hold.
 */
static void churn(sim_vec *h, size_t n, const float *x, const float *q,
                  const uint64_t *truth, double flat_qps)
{
    char err[SIM_ERRLEN];
    size_t slots = sim_vec_slots(h), mem = sim_vec_memory(h);
    double t = now();
    for (size_t i = 0; i < n; i += 2)
        if (sim_vec_delete(h, i))
            die("delete", "id not found");
    for (size_t i = 0; i < n; i += 2)
        if (sim_vec_insert(h, n + i, x + i * DIM, DIM, err, sizeof err))
            die("insert", err);
    double secs = now() - t;
    uint64_t *ids = malloc(NQ * sizeof *ids);
    sim_vec_set_ef_search(h, SIM_VEC_DEFAULT_EF_SEARCH);
    double qps = run_queries(h, q, ids, NQ);
    for (size_t i = 0; i < NQ; i++)
        ids[i] = ids[i] >= n ? ids[i] - n : ids[i];
    row(n, "hnsw-churned", SIM_VEC_DEFAULT_EF_SEARCH, secs, qps, recall(ids, truth), flat_qps);
    fprintf(stderr, "# n=%zu: after %zu deletions and re-insertions (%.1f s): slots %zu -> %zu, "
            "index memory %.1f -> %.1f MB\n", n, (n + 1) / 2, secs, slots, sim_vec_slots(h),
            mem / 1e6, sim_vec_memory(h) / 1e6);
    free(ids);
}

static void bench_hnsw(size_t n, const float *x, const float *q, const uint64_t *truth,
                       double flat_qps)
{
    uint64_t *ids = malloc(NQ * sizeof *ids);
    double b;
    sim_vec *h = build(SIM_VEC_HNSW, x, n, &b);
    for (size_t e = 0; e < NEF; e++) {
        sim_vec_set_ef_search(h, efs[e]);
        double qps = run_queries(h, q, ids, NQ);
        row(n, "hnsw", efs[e], b, qps, recall(ids, truth), flat_qps);
    }
    churn(h, n, x, q, truth, flat_qps);
    sim_vec_free(h);
#ifdef HAVE_HNSWLIB
    void *hl = hnswlib_shim_create(DIM, n, M_PARAM, EFC, 1);
    double t = now();
    for (size_t i = 0; i < n; i++)
        hnswlib_shim_add(hl, x + i * DIM, i);
    b = now() - t;
    for (size_t e = 0; e < NEF; e++) {
        hnswlib_shim_set_ef(hl, efs[e]);
        t = now();
        for (size_t i = 0; i < NQ; i++)
            ids[i] = hnswlib_shim_search1(hl, q + i * DIM);
        double qps = NQ / (now() - t);
        row(n, "hnswlib", efs[e], b, qps, recall(ids, truth), flat_qps);
    }
    hnswlib_shim_free(hl);
#endif
    free(ids);
}

/*
 * The semantic policy holding n entries (threshold 0.9999, so the fill
 * inserts every vector): *hit_rate gets lookups per second for requests
 * that repeat cached queries (hits: search and bookkeeping), and the return
 * value requests per second for new queries (misses: search, eviction and
 * insertion).
 */
static double bench_policy(const char *index, size_t n, const float *x, const float *q,
                           double *hit_rate)
{
    char err[SIM_ERRLEN], spec[64];
    snprintf(spec, sizeof spec, "semantic:threshold=0.9999,index=%s", index);
    struct sim_cache_config cfg = {n, SIM_UNIT_ENTRIES, 1, SIM_F_EMB | SIM_F_CLASS, NULL};
    sim_cache *c = sim_cache_create(spec, &cfg, err, sizeof err);
    if (!c)
        die(spec, err);
    struct sim_req r;
    memset(&r, 0, sizeof r);
    r.dim = DIM;
    r.present = SIM_F_EMB | SIM_F_CLASS;
    for (size_t i = 0; i < n; i++) {
        r.emb = x + i * DIM;
        r.cls = i;
        sim_cache_access(c, &r, NULL);
    }
    struct sim_metrics m;
    sim_cache_reset_metrics(c);
    double t = now();
    for (size_t i = 0; i < NQ; i++) {
        size_t k = (i * 7919) % n;
        r.emb = x + k * DIM;
        r.cls = k;
        sim_cache_access(c, &r, NULL);
    }
    *hit_rate = NQ / (now() - t);
    sim_cache_metrics(c, &m);
    if (m.hits < NQ * 98 / 100)
        die(spec, "repeated queries did not hit");
    t = now();
    for (size_t i = 0; i < NQ; i++) {
        r.emb = q + i * DIM;
        r.cls = n + i;
        sim_cache_access(c, &r, NULL);
    }
    double miss_rate = NQ / (now() - t);
    sim_cache_free(c);
    return miss_rate;
}

/* A streaming read of the buffer: sums in four registers of four floats
 * (vec_dot's pattern, vectorised at -O2), so it is bound by memory, not by
 * adds; bytes per second. */
static double stream_read(const float *buf, size_t nfloats)
{
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        float s0[4] = {0}, s1[4] = {0}, s2[4] = {0}, s3[4] = {0};
        double t = now();
        for (size_t i = 0; i + 16 <= nfloats; i += 16) {
            const float *x = buf + i;
            for (size_t j = 0; j < 4; j++)
                s0[j] += x[j];
            for (size_t j = 0; j < 4; j++)
                s1[j] += x[4 + j];
            for (size_t j = 0; j < 4; j++)
                s2[j] += x[8 + j];
            for (size_t j = 0; j < 4; j++)
                s3[j] += x[12 + j];
        }
        double dt = now() - t;
        volatile float sink = s0[0] + s1[1] + s2[2] + s3[3];
        (void)sink;
        if ((double)nfloats * 4 / dt > best)
            best = (double)nfloats * 4 / dt;
    }
    return best;
}

static double memcpy_rate(const float *buf, size_t nfloats)
{
    float *dst = malloc(nfloats * sizeof *dst);
    if (!dst)
        return 0;
    /* Called through a volatile pointer so that the copies are not elided. */
    void *(*volatile copy)(void *, const void *, size_t) = memcpy;
    copy(dst, buf, nfloats * sizeof *dst); /* fault the pages in */
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t = now();
        copy(dst, buf, nfloats * sizeof *dst);
        double dt = now() - t;
        if (2.0 * (double)nfloats * 4 / dt > best)
            best = 2.0 * (double)nfloats * 4 / dt; /* read + write */
    }
    free(dst);
    return best;
}

static void bench_size(size_t n, size_t hnsw_max, size_t policy_max)
{
    float *x = malloc(n * DIM * sizeof *x), *q = malloc(NQ * DIM * sizeof *q);
    uint64_t *truth = malloc(NQ * sizeof *truth);
    if (!x || !q || !truth)
        die("memory", "out of memory");
    uint32_t clusters = (uint32_t)(n / 100 ? n / 100 : 1);
    vecgen_clustered(x, n, DIM, clusters, 1.0, 1, 2, NULL);
    vecgen_clustered(q, NQ, DIM, clusters, 1.0, 1, 3, NULL);
    double b;
    sim_vec *f = build(SIM_VEC_FLAT, x, n, &b);
    /* Without HNSW to score, a few flat queries give the rate. */
    double flat_qps = run_queries(f, q, truth, n <= hnsw_max ? NQ : 20);
    row(n, "flat", 0, b, flat_qps, 1.0, flat_qps);
    double flat_bw = flat_qps * (double)n * DIM * 4;
    double rd = stream_read(x, n * DIM), cp = memcpy_rate(x, n * DIM);
    fprintf(stderr,
            "# n=%zu: flat search streams %.1f GB/s; a plain streaming read of the same %.0f MB "
            "runs at %.1f GB/s (flat = %.0f%% of it), memcpy at %.1f GB/s (read+write)\n",
            n, flat_bw / 1e9, (double)n * DIM * 4 / 1e6, rd / 1e9, 100 * flat_bw / rd,
            cp / 1e9);
    sim_vec_free(f);
    if (n <= hnsw_max)
        bench_hnsw(n, x, q, truth, flat_qps);
    for (int k = 0; k < 2 && n <= policy_max; k++) {
        const char *index = k ? "hnsw" : "flat";
        if (k && n > hnsw_max)
            break;
        double hits, misses = bench_policy(index, n, x, q, &hits);
        fprintf(stderr, "# n=%zu: semantic policy, index=%s: %.0f hits/s, %.0f misses/s "
                "(search + evict + insert)\n", n, index, hits, misses);
    }
    free(x);
    free(q);
    free(truth);
}

int main(void)
{
    const char *sizes = getenv("BENCH_VEC_SIZES");
    if (!sizes || !*sizes)
        sizes = "10000,100000";
    size_t hnsw_max = env_size("BENCH_VEC_HNSW_MAX", 100000);
    /* Filling a policy costs a search per insert: quadratic with flat. */
    size_t policy_max = env_size("BENCH_VEC_POLICY_MAX", 10000);
    printf("n,dim,index,ef_search,build_s,qps,recall_at_1,x_flat\n");
    for (const char *p = sizes; *p;) {
        char *end;
        size_t n = (size_t)strtoull(p, &end, 10);
        if (end == p || n == 0)
            die("BENCH_VEC_SIZES", "expected comma-separated counts");
        bench_size(n, hnsw_max, policy_max);
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}
