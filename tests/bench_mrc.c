/*
 * bench_mrc.c - `make bench`: the one-pass miss-ratio curve's speed and
 * SHARDS' accuracy on a 10-million-request Zipf(0.9) trace over 10^6
 * objects (generated on the fly, in batches, so only the tracker is timed).
 *
 * Prints the exact curve's rate (target: >= 5M requests/s) in objects and
 * in bytes, SHARDS R = 0.01's rate, and SHARDS' largest absolute error
 * against the exact curve at capacities from 10^4 to 10^6 objects (C * R >=
 * 100, where SHARDS is meant to be used).  Fails if that error exceeds 0.01.
 * Usage: bench_mrc [REQUESTS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sim.h"
#include "sim_gen.h"
#include "sim_mrc.h"

enum { BATCH = 4096 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const uint64_t caps[] = {10000, 20000, 50000, 100000, 200000, 500000, 1000000};
#define NCAPS (sizeof caps / sizeof caps[0])

/* Feeds the whole trace to the trackers; adds the wall and CPU seconds
 * spent in tracker j to secs[2j] and secs[2j+1]. */
static void run(uint64_t n, const char *sizes, sim_mrc **m, size_t nm, double *secs)
{
    char err[SIM_ERRLEN];
    const char *pats[] = {"zipf:n=1000000,alpha=0.9"};
    struct sim_gen_config cfg = {42, n, pats, 1, sizes, NULL, NULL, NULL};
    sim_gen *g = sim_gen_create(&cfg, err, sizeof err);
    static struct sim_req q[BATCH];
    if (!g) {
        fprintf(stderr, "bench_mrc: %s\n", err);
        exit(1);
    }
    for (;;) {
        size_t nq = 0;
        while (nq < BATCH && sim_gen_next(g, &q[nq]) == 1)
            nq++;
        if (!nq)
            break;
        for (size_t j = 0; j < nm; j++) {
            double t = now(), c = cpu();
            if (sim_mrc_access_batch(m[j], q, nq)) {
                fprintf(stderr, "bench_mrc: out of memory\n");
                exit(1);
            }
            secs[2 * j] += now() - t;
            secs[2 * j + 1] += cpu() - c;
        }
    }
    sim_gen_free(g);
}

static sim_mrc *make(enum sim_unit unit, double rate, const uint64_t *c)
{
    char err[SIM_ERRLEN];
    struct sim_mrc_opts o = {unit, rate, c, NCAPS};
    sim_mrc *m = sim_mrc_create(&o, err, sizeof err);
    if (!m) {
        fprintf(stderr, "bench_mrc: %s\n", err);
        exit(1);
    }
    return m;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
    if (n == 0)
        n = 10000000;
    sim_mrc *m[2] = {make(SIM_UNIT_OBJECTS, 1, caps), make(SIM_UNIT_OBJECTS, 0.01, caps)};
    double secs[4] = {0, 0, 0, 0};
    run(n, NULL, m, 2, secs);
    printf("exact MRC, objects: %.2fM requests/s wall, %.2fM per CPU second, over %llu "
           "requests (target 5M: %s)\n",
           (double)n / secs[0] / 1e6, (double)n / secs[1] / 1e6, (unsigned long long)n,
           (double)n / secs[1] >= 5e6 ? "met" : "NOT met");
    printf("SHARDS R=0.01, objects: %.2fM requests/s wall, %.2fM per CPU second\n",
           (double)n / secs[2] / 1e6, (double)n / secs[3] / 1e6);
    double worst = 0;
    printf("%10s %10s %10s\n", "capacity", "exact", "shards");
    for (size_t i = 0; i < NCAPS; i++) {
        struct sim_metrics a, b;
        sim_mrc_metrics(m[0], i, &a);
        sim_mrc_metrics(m[1], i, &b);
        double ea = (double)a.misses / (double)a.requests;
        double eb = (double)b.misses / (double)b.requests;
        printf("%10llu %10.5f %10.5f\n", (unsigned long long)caps[i], ea, eb);
        if (ea - eb > worst || eb - ea > worst)
            worst = ea > eb ? ea - eb : eb - ea;
    }
    printf("SHARDS R=0.01 largest error: %.5f (limit 0.01)\n", worst);
    sim_mrc_free(m[0]);
    sim_mrc_free(m[1]);

    uint64_t bcaps[NCAPS];
    for (size_t i = 0; i < NCAPS; i++)
        bcaps[i] = caps[i] * 4096;
    sim_mrc *mb = make(SIM_UNIT_BYTES, 1, bcaps);
    double bs[2] = {0, 0};
    run(n, "lognormal:mu=8,sigma=1", &mb, 1, bs);
    printf("exact MRC, bytes (lognormal sizes): %.2fM requests/s wall, %.2fM per CPU second\n",
           (double)n / bs[0] / 1e6, (double)n / bs[1] / 1e6);
    sim_mrc_free(mb);
    return worst <= 0.01 ? 0 : 1;
}
