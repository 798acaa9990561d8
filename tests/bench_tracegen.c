/*
 * bench_tracegen.c - `make bench`: how fast tracegen's generator produces
 * requests, alone and written through sim_writer in each format (files in
 * $TMPDIR, removed afterwards).  Target: >= 20M requests/s for oracleGeneral.
 * Usage: bench_tracegen [REQUESTS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"
#include "sim_gen.h"

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

static double cpu_rate; /* requests per CPU second of the last rate() */

/* Generates n default-workload requests into `path` in `fmt` (no file if
 * path is NULL); returns requests per wall-clock second and sets cpu_rate. */
static double rate(uint64_t n, const char *path, enum sim_format fmt)
{
    double c = cpu();
    char err[SIM_ERRLEN];
    struct sim_gen_config cfg = {1, n, NULL, 0, NULL, NULL, NULL, NULL};
    double t = now();
    sim_gen *g = sim_gen_create(&cfg, err, sizeof err);
    sim_writer *w = path ? sim_writer_open(path, fmt, sim_gen_fields(g), err, sizeof err) : NULL;
    if (!g || (path && !w)) {
        fprintf(stderr, "bench_tracegen: %s\n", err);
        exit(1);
    }
    struct sim_req q;
    uint64_t sum = 0;
    while (sim_gen_next(g, &q) == 1) {
        sum += q.key;
        if (w && sim_writer_put(w, &q, err, sizeof err)) {
            fprintf(stderr, "bench_tracegen: %s\n", err);
            exit(1);
        }
    }
    if (w && sim_writer_close(w, err, sizeof err)) {
        fprintf(stderr, "bench_tracegen: %s\n", err);
        exit(1);
    }
    sim_gen_free(g);
    if (path)
        unlink(path);
    cpu_rate = (double)n / (cpu() - c);
    return sum ? (double)n / (now() - t) : 0;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
    if (n == 0)
        n = 10000000;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char p[3][512];
    snprintf(p[0], sizeof p[0], "%s/bench_tracegen.%d.oracleGeneral.bin", tmp, (int)getpid());
    snprintf(p[1], sizeof p[1], "%s/bench_tracegen.%d.csv", tmp, (int)getpid());
    snprintf(p[2], sizeof p[2], "%s/bench_tracegen.%d.csv.zst", tmp, (int)getpid());
    printf("default workload (Zipf 0.9, 10^5 objects, Poisson arrivals), %llu requests\n",
           (unsigned long long)n);
    printf("  (requests per wall-clock second; per CPU second)\n");
    double g = rate(n, NULL, SIM_FMT_CSV);
    printf("  generator alone:  %6.2fM  %6.2fM\n", g / 1e6, cpu_rate / 1e6);
    double o = rate(n, p[0], SIM_FMT_ORACLE);
    printf("  oracleGeneral:    %6.2fM  %6.2fM (target 20M: %s)\n", o / 1e6, cpu_rate / 1e6,
           cpu_rate >= 2e7 ? "met" : "NOT met");
    double c = rate(n / 4, p[1], SIM_FMT_CSV);
    printf("  csv:              %6.2fM  %6.2fM\n", c / 1e6, cpu_rate / 1e6);
    double z = rate(n / 4, p[2], SIM_FMT_CSV);
    printf("  csv.zst:          %6.2fM  %6.2fM\n", z / 1e6, cpu_rate / 1e6);
    return 0;
}
