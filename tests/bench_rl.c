/*
 * bench_rl.c - rltable throughput and decision latency at K = 16, for a
 * qtable and for both network modes, next to plain LRU.
 *
 * The trace is synthetic (skewed keys, sizes 100..20000 bytes, one request
 * per 10 ms) and the cache holds about 5% of the working set, so most
 * misses make a decision.  Latency is the policy's own histogram
 * (decision_ns_p50/p99: upper bucket edges, within 19%).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"
#include "sim_rl.h"

#define N 300000
#define KEYS 60000

static uint64_t sim_hash_bytes_u64(uint64_t k) { return sim_hash_bytes(&k, sizeof k); }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static float *rnd(struct sim_rng *g, size_t n, float scale)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(sim_rng_unit(g) * 2 - 1) * scale;
    return v;
}

/* A table over all six features, 8 log-spaced bins each, every state of
 * age x hits x idle x size present (so no decision falls back). */
static int write_table(const char *path)
{
    struct sim_rl_qtable t;
    memset(&t, 0, sizeof t);
    static float e[SIM_RL_NFEAT][7];
    for (unsigned f = 0; f < SIM_RL_NFEAT; f++) {
        t.feat[f].feature = f;
        t.feat[f].nedges = 7;
        t.feat[f].edges = e[f];
        for (unsigned j = 0; j < 7; j++)
            e[f][j] = (float)pow(10.0, (double)j * 0.7);
    }
    t.nfeat = SIM_RL_NFEAT;
    t.k = 16;
    t.unseen = SIM_RL_UNSEEN_KEEP;
    struct sim_rng g;
    sim_rng_seed(&g, 9);
    t.nrows = 8 * 8 * 8 * 8;
    t.rows = calloc(t.nrows, sizeof *t.rows);
    for (size_t r = 0; r < t.nrows; r++) {
        t.rows[r].bins[0] = (uint8_t)(r % 8);
        t.rows[r].bins[1] = (uint8_t)(r / 8 % 8);
        t.rows[r].bins[2] = (uint8_t)(r / 64 % 8);
        t.rows[r].bins[3] = (uint8_t)(r / 512 % 8);
        t.rows[r].bins[5] = t.rows[r].bins[0];
        t.rows[r].q_keep = (float)sim_rng_unit(&g);
        t.rows[r].q_evict = 0.5f;
        t.rows[r].visits = 1;
    }
    char err[SIM_ERRLEN];
    int rc = sim_rl_qtable_write(&t, path, err, sizeof err);
    if (rc)
        fprintf(stderr, "bench_rl: %s\n", err);
    free(t.rows);
    return rc;
}

static int write_mlp(const char *path, enum sim_rl_mode mode, unsigned hidden)
{
    struct sim_rng g;
    sim_rng_seed(&g, 11);
    unsigned nin = mode == SIM_RL_JOINT ? 96 : 6, nout = mode == SIM_RL_JOINT ? 16 : 1;
    struct sim_rl_mlp_layer L[4] = {
        {SIM_RL_DENSE, nin, hidden, rnd(&g, (size_t)nin * hidden, 0.3f), rnd(&g, hidden, 0.1f), 0},
        {SIM_RL_RELU, hidden, hidden, NULL, NULL, 0},
        {SIM_RL_LAYERNORM, hidden, hidden, rnd(&g, hidden, 1), rnd(&g, hidden, 1), 1e-5f},
        {SIM_RL_DENSE, hidden, nout, rnd(&g, (size_t)hidden * nout, 0.3f), rnd(&g, nout, 0.1f), 0},
    };
    struct sim_rl_mlp m = {mode, nin, 4, rnd(&g, nin, 10), rnd(&g, nin, 1), 3, L};
    for (unsigned i = 0; i < nin; i++)
        m.std[i] = fabsf(m.std[i]) + 1;
    char err[SIM_ERRLEN];
    int rc = sim_rl_mlp_write(&m, path, err, sizeof err);
    if (rc)
        fprintf(stderr, "bench_rl: %s\n", err);
    free(m.mean);
    free(m.std);
    for (int l = 0; l < 4; l++) {
        free(L[l].w);
        free(L[l].b);
    }
    return rc;
}

static void run(const char *label, const char *spec, const struct sim_req *v, uint64_t cap)
{
    char err[SIM_ERRLEN];
    struct sim_cache_config cfg = {cap, SIM_UNIT_BYTES, 1, ~0u, NULL};
    sim_cache *c = sim_cache_create(spec, &cfg, err, sizeof err);
    if (!c) {
        fprintf(stderr, "bench_rl: %s\n", err);
        exit(1);
    }
    double t0 = now();
    for (size_t i = 0; i < N; i++)
        sim_cache_access(c, &v[i], NULL);
    double s = now() - t0;
    struct sim_metrics m;
    sim_cache_metrics(c, &m);
    double x[5] = {0};
    if (sim_cache_extra_count(c) == 5)
        sim_cache_extra_values(c, x);
    printf("%-22s %8.2f Mreq/s  miss %.6f  decisions %8.0f  p50 %6.0f ns  p99 %6.0f ns\n",
           label, N / s / 1e6, (double)m.misses / (double)m.requests, x[0] + x[1], x[2], x[4]);
    sim_cache_free(c);
}

int main(void)
{
    struct sim_req *v = calloc(N, sizeof *v);
    struct sim_rng g;
    sim_rng_seed(&g, 1);
    uint64_t ws = 0;
    for (size_t i = 0; i < N; i++) {
        double u = sim_rng_unit(&g);
        v[i].key = (uint64_t)(u * u * u * KEYS);
        v[i].size = 100 + sim_hash_bytes_u64(v[i].key) % 19900;
        v[i].time = (uint64_t)i * 10000u;
        v[i].index = i;
        v[i].present = SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE;
    }
    for (uint64_t k = 0; k < KEYS; k++)
        ws += 100 + sim_hash_bytes_u64(k) % 19900;
    char tq[64], tp[64], tj[64];
    snprintf(tq, sizeof tq, "/tmp/bench_rl_%ld_q.csv", (long)getpid());
    snprintf(tp, sizeof tp, "/tmp/bench_rl_%ld_p.bin", (long)getpid());
    snprintf(tj, sizeof tj, "/tmp/bench_rl_%ld_j.bin", (long)getpid());
    if (write_table(tq) || write_mlp(tp, SIM_RL_PER_CANDIDATE, 32) || write_mlp(tj, SIM_RL_JOINT, 64))
        return 1;
    uint64_t cap = ws / 20;
    printf("bench_rl: %d requests, cache %llu bytes (5%% of the working set), K = 16\n", N,
           (unsigned long long)cap);
    char spec[256];
    run("lru", "lru", v, cap);
    snprintf(spec, sizeof spec, "rltable:k=16,model=%s", tq);
    run("rltable qtable", spec, v, cap);
    snprintf(spec, sizeof spec, "rltable:k=16,model=%s", tp);
    run("rltable mlp 6-32-1", spec, v, cap);
    snprintf(spec, sizeof spec, "rltable:k=16,model=%s", tj);
    run("rltable joint 96-64-16", spec, v, cap);
    unlink(tq);
    unlink(tp);
    unlink(tj);
    free(v);
    return 0;
}
