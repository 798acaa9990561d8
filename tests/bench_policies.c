/*
 * bench_policies.c - `make bench`: the speed and memory of every registered policy.
 *
 * 1. Generate (once; kept in build/) a Zipf(1.0) trace of 10 million
 *    requests over 1 million objects with sim_rng and a fixed seed, as an
 *    oracleGeneral file (sim_writer) with next_access filled in, so Belady
 *    runs too.
 *    Sampling is exact: inverse CDF over a precomputed table, binary search.
 * 2. For each policy, in a child process of its own (fork), do what
 *    `cachesim` does: sim_reader_open + sim_cache_create + sim_run.  The
 *    parent reads the child's peak RSS from wait4(); a child that only parses
 *    the trace (sim_run with no cache) is the baseline, so
 *        bytes per object = (peak RSS - baseline peak RSS) / objects cached.
 *    A fork per policy keeps one policy's heap from inflating another's
 *    peak.  Cache size: 10% of the working set, in objects (sizes ignored),
 *    then in bytes.
 * 3. LRU at 1 GiB on the CloudPhysics trace, if given (-c): whole-process
 *    peak memory, whose target is under 20 MB.
 *
 * Objects cached at the end: libsim has no call for it, so it is taken as
 * misses - evictions (every miss inserted, every eviction removing one),
 * capped by the capacity in object units.  That is exact for policies that
 * admit every missed object and an upper bound for the others (marked '<').
 *
 * Timings depend on the machine and on what else runs on it; run it on an
 * idle machine, and compare the targets (libCacheSim's own speed on this
 * machine times two) with that in mind.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"
#include "sim_policy.h"

/* libCacheSim's measured speed on this 2-core machine, M requests/s. */
static const struct { const char *name; double mreq_s; } bench_libcachesim[] = {
    {"lru", 3.5}, {"s3fifo", 1.5}, {"sieve", 5.0}, {NULL, 0},
};
#define BENCH_SPEEDUP 2.0     /* our target: this many times libCacheSim */
#define BENCH_MAX_BPO 64.0    /* bytes of memory per cached object */
#define BENCH_CLOUD_MB 20.0   /* LRU at 1 GiB on CloudPhysics, whole process */
#define BENCH_FIELDS (SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_NEXT) /* oracleGeneral's */

struct bench_opts {
    uint64_t requests, objects, seed;
    double alpha, fraction;
    const char *trace;        /* generated trace path */
    const char *cloud;        /* CloudPhysics oracleGeneral, or NULL */
    const char *only;         /* comma-separated policies, or NULL for all */
    int bytes;                /* also run with byte capacities */
};

/* What a child reports through its pipe. */
struct bench_result {
    int ok;
    char err[SIM_ERRLEN];
    struct sim_metrics m;
    struct sim_trace_stats st;
    double wall;              /* seconds in sim_run */
    double cpu;               /* the child's user + system seconds (wait4) */
    long rss_kb;              /* the child's peak RSS (wait4) */
};

struct bench_job {
    const char *trace;
    const char *policy;       /* NULL: parse only */
    uint64_t capacity;
    int ignore_size;
};

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*=====   The trace   =====*/

/* Zipf ranks 0..m-1 with P(k) proportional to 1/(k+1)^alpha. */
static uint32_t *bench_zipf_ranks(const struct bench_opts *o)
{
    double *cdf = malloc(o->objects * sizeof *cdf);
    uint32_t *rank = malloc(o->requests * sizeof *rank);
    if (!cdf || !rank) {
        free(cdf);
        free(rank);
        return NULL;
    }
    double sum = 0;
    for (uint64_t k = 0; k < o->objects; k++)
        cdf[k] = sum += pow((double)(k + 1), -o->alpha);
    for (uint64_t k = 0; k < o->objects; k++)
        cdf[k] /= sum;
    cdf[o->objects - 1] = 1.0; /* so that every u < 1 finds a rank */
    struct sim_rng g;
    sim_rng_seed(&g, o->seed);
    for (uint64_t i = 0; i < o->requests; i++) {
        double u = sim_rng_unit(&g);
        uint64_t lo = 0, hi = o->objects - 1; /* first k with cdf[k] > u */
        while (lo < hi) {
            uint64_t mid = lo + (hi - lo) / 2;
            if (cdf[mid] > u)
                hi = mid;
            else
                lo = mid + 1;
        }
        rank[i] = (uint32_t)lo;
    }
    free(cdf);
    return rank;
}

/* An object's id and size follow from its rank: ids are scattered over 64
 * bits (sim_key_hash is a bijection), sizes spread over 64 B..8 KiB. */
static uint64_t bench_id(uint32_t rank) { return sim_key_hash((uint64_t)rank + 1); }
static uint32_t bench_size(uint32_t rank)
{
    return 64 + (uint32_t)(sim_key_hash(~(uint64_t)rank) % 8129);
}

/* Writes the trace with libsim's writer, which computes next_access and
 * renames the file into place only when it is complete. */
static int bench_write_trace(const struct bench_opts *o, char *err, size_t errlen)
{
    uint32_t *rank = bench_zipf_ranks(o);
    if (!rank) {
        snprintf(err, errlen, "out of memory generating the trace");
        return SIM_ENOMEM;
    }
    sim_writer *w = sim_writer_open(o->trace, SIM_FMT_ORACLE,
                                    SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE, err, errlen);
    int rc = w ? 0 : SIM_EIO;
    struct sim_req q;
    memset(&q, 0, sizeof q);
    q.present = SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE;
    for (uint64_t i = 0; !rc && i < o->requests; i++) {
        q.index = i;
        q.time = i / 1000 * 1000000; /* 1000 requests a second */
        q.key = bench_id(rank[i]);
        q.size = bench_size(rank[i]);
        rc = sim_writer_put(w, &q, err, errlen);
    }
    if (!rc) {
        rc = sim_writer_close(w, err, errlen);
        w = NULL;
    }
    sim_writer_abort(w);
    free(rank);
    return rc;
}

/*=====   Children   =====*/

static void bench_child_stats(const struct bench_job *j, struct bench_result *res)
{
    struct sim_reader_opts ro = {SIM_FMT_ORACLE, 0, NULL};
    sim_reader *r = sim_reader_open(j->trace, &ro, res->err, sizeof res->err);
    res->ok = r && sim_trace_stats(r, &res->st, res->err, sizeof res->err) == 0;
    sim_reader_close(r);
}

/* What `cachesim -p POLICY -s CAPACITY TRACE` does, minus the printing. */
static void bench_child_run(const struct bench_job *j, struct bench_result *res)
{
    struct sim_reader_opts ro = {SIM_FMT_ORACLE, j->ignore_size, NULL};
    sim_reader *r = sim_reader_open(j->trace, &ro, res->err, sizeof res->err);
    sim_cache *c = NULL;
    if (r && j->policy) {
        struct sim_cache_config cfg = {j->capacity,
                                       j->ignore_size ? SIM_UNIT_OBJECTS : SIM_UNIT_BYTES,
                                       1, sim_reader_fields(r), NULL};
        c = sim_cache_create(j->policy, &cfg, res->err, sizeof res->err);
    }
    if (r && (c || !j->policy)) {
        double t0 = bench_now();
        res->ok = sim_run(r, &c, c ? 1 : 0, NULL, res->err, sizeof res->err) == 0;
        res->wall = bench_now() - t0;
        if (c)
            sim_cache_metrics(c, &res->m);
    }
    sim_cache_free(c);
    sim_reader_close(r);
}

/* Runs fn in a child; its peak RSS comes back in res->rss_kb. */
static int bench_in_child(void (*fn)(const struct bench_job *, struct bench_result *),
                          const struct bench_job *j, struct bench_result *res)
{
    int fd[2];
    memset(res, 0, sizeof *res);
    if (pipe(fd))
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fd[0]);
        fn(j, res);
        ssize_t w = write(fd[1], res, sizeof *res);
        _exit(w == (ssize_t)sizeof *res ? 0 : 1);
    }
    close(fd[1]);
    ssize_t got = 0, n;
    while (got < (ssize_t)sizeof *res &&
           (n = read(fd[0], (char *)res + got, sizeof *res - (size_t)got)) > 0)
        got += n;
    close(fd[0]);
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status)
        || got != (ssize_t)sizeof *res) {
        snprintf(res->err, sizeof res->err, "child failed (status %d)", status);
        res->ok = 0;
        return -1;
    }
    res->rss_kb = ru.ru_maxrss;
    res->cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6
               + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    return 0;
}

static void bench_generate(const struct bench_opts *o)
{
    struct stat sb;
    if (stat(o->trace, &sb) == 0 && (uint64_t)sb.st_size == o->requests * 24)
        return;
    printf("generating %s: Zipf(%.2f), %llu requests over %llu objects, seed %llu\n",
           o->trace, o->alpha, (unsigned long long)o->requests,
           (unsigned long long)o->objects, (unsigned long long)o->seed);
    fflush(stdout);
    double t0 = bench_now();
    pid_t pid = fork(); /* the generator's 100+ MB must not be in the children's RSS */
    if (pid == 0) {
        char err[SIM_ERRLEN];
        if (bench_write_trace(o, err, sizeof err)) {
            fprintf(stderr, "bench: %s\n", err);
            _exit(1);
        }
        _exit(0);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)
        || WEXITSTATUS(status)) {
        fprintf(stderr, "bench: generating the trace failed\n");
        exit(1);
    }
    printf("  done in %.1f s\n", bench_now() - t0);
}

/*=====   The table   =====*/

static double bench_target(const char *policy)
{
    for (int i = 0; bench_libcachesim[i].name; i++)
        if (!strcmp(bench_libcachesim[i].name, policy))
            return bench_libcachesim[i].mreq_s * BENCH_SPEEDUP;
    return 0;
}

static int bench_selected(const struct bench_opts *o, const char *name)
{
    if (!o->only)
        return 1;
    size_t n = strlen(name);
    for (const char *p = o->only; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n))
            return 1;
        p += len + (e != NULL);
    }
    return 0;
}

/* One table row; returns the number of targets missed. */
static int bench_row(const char *policy, const struct bench_job *j,
                     const struct bench_result *base)
{
    struct bench_result res;
    if (bench_in_child(bench_child_run, j, &res) || !res.ok) {
        printf("%-10s %-7s FAILED: %s\n", policy, j->ignore_size ? "objects" : "bytes",
               res.err);
        return 1;
    }
    int missed = 0, exact = 1;
    double mreq = res.wall > 0 ? (double)res.m.requests / res.wall / 1e6 : 0;
    double mcpu = res.cpu > 0 ? (double)res.m.requests / res.cpu / 1e6 : 0;
    double pol = res.m.seconds > 0 ? (double)res.m.requests / res.m.seconds / 1e6 : 0;
    uint64_t objs = res.m.misses - res.m.evictions;
    if (j->ignore_size && objs > j->capacity) {
        objs = j->capacity;
        exact = 0;
    }
    double bpo = objs ? (double)(res.rss_kb - base->rss_kb) * 1024.0 / (double)objs : 0;
    double target = bench_target(policy);
    char tgt[32] = "-";
    if (target > 0) {
        snprintf(tgt, sizeof tgt, ">=%.0f %s", target, mcpu >= target ? "ok" : "MISS");
        missed += mcpu < target;
    }
    int bpo_ok = bpo <= BENCH_MAX_BPO;
    missed += !bpo_ok;
    printf("%-10s %-7s %8.2f %8.2f %-9s %8.2f %8.1f %10llu%s %7.1f %-4s %.6f\n", policy,
           j->ignore_size ? "objects" : "bytes", mcpu, mreq, tgt, pol, (double)res.rss_kb / 1024,
           (unsigned long long)objs, exact ? " " : "<", bpo, bpo_ok ? "ok" : "MISS",
           res.m.requests ? (double)res.m.misses / (double)res.m.requests : 0);
    fflush(stdout);
    return missed;
}

static void bench_usage(FILE *f)
{
    fprintf(f,
"Usage: bench [-n REQUESTS] [-m OBJECTS] [-a ALPHA] [-S SEED] [-f FRACTION]\n"
"             [-p POLICY,...] [-B] [-c CLOUDPHYSICS_TRACE] [-t TRACE]\n"
"Speed (M requests/s) and memory (bytes per cached object) of each policy on\n"
"a generated Zipf trace; defaults -n 10000000 -m 1000000 -a 1 -S 42 -f 0.1.\n"
"  -B  skip the runs with byte capacities\n");
}

static void bench_parse(int argc, char **argv, struct bench_opts *o)
{
    int c;
    while ((c = getopt(argc, argv, "n:m:a:S:f:p:Bc:t:h")) != -1) {
        char *end = NULL;
        switch (c) {
        case 'n': o->requests = strtoull(optarg, &end, 10); break;
        case 'm': o->objects = strtoull(optarg, &end, 10); break;
        case 'S': o->seed = strtoull(optarg, &end, 10); break;
        case 'a': o->alpha = strtod(optarg, &end); break;
        case 'f': o->fraction = strtod(optarg, &end); break;
        case 'p': o->only = optarg; break;
        case 'B': o->bytes = 0; break;
        case 'c': o->cloud = optarg; break;
        case 't': o->trace = optarg; break;
        case 'h': bench_usage(stdout); exit(0);
        default: bench_usage(stderr); exit(2);
        }
        if (end && *end) {
            fprintf(stderr, "bench: bad number '%s'\n", optarg);
            exit(2);
        }
    }
    if (o->objects < 1 || o->objects > UINT32_MAX || o->requests < 1
        || o->requests >= UINT32_MAX || o->fraction <= 0 || o->fraction > 1) {
        fprintf(stderr, "bench: need 1 <= OBJECTS < 2^32, 1 <= REQUESTS < 2^32, 0 < FRACTION <= 1\n");
        exit(2);
    }
}

static int bench_cloud(const char *path)
{
    struct bench_job j = {path, NULL, 0, 0};
    struct bench_result base, res;
    if (bench_in_child(bench_child_run, &j, &base) || !base.ok) {
        printf("cloudphysics: %s\n", base.err);
        return 1;
    }
    j.policy = "lru";
    j.capacity = 1ull << 30;
    if (bench_in_child(bench_child_run, &j, &res) || !res.ok) {
        printf("cloudphysics lru: %s\n", res.err);
        return 1;
    }
    double mb = (double)res.rss_kb / 1024;
    printf("\nCloudPhysics (%s), LRU at 1 GiB: %llu requests, miss ratio %.6f,\n"
           "  peak RSS %.1f MB (target < %.0f MB: %s); parse-only %.1f MB; %.2f M req/s\n",
           path, (unsigned long long)res.m.requests,
           (double)res.m.misses / (double)res.m.requests, mb, BENCH_CLOUD_MB,
           mb < BENCH_CLOUD_MB ? "ok" : "MISS", (double)base.rss_kb / 1024,
           res.wall > 0 ? (double)res.m.requests / res.wall / 1e6 : 0);
    return mb >= BENCH_CLOUD_MB;
}

int main(int argc, char **argv)
{
    static char path[256];
    struct bench_opts o = {10000000, 1000000, 42, 1.0, 0.1, NULL, NULL, NULL, 1};
    bench_parse(argc, argv, &o);
    if (!o.trace) {
        snprintf(path, sizeof path, "build/bench-zipf%g-%llux%llu-s%llu.oracleGeneral.bin",
                 o.alpha, (unsigned long long)o.requests, (unsigned long long)o.objects,
                 (unsigned long long)o.seed);
        o.trace = path;
    }
    bench_generate(&o);

    struct bench_job j = {o.trace, NULL, 0, 0};
    struct bench_result st, base;
    if (bench_in_child(bench_child_stats, &j, &st) || !st.ok
        || bench_in_child(bench_child_run, &j, &base) || !base.ok) {
        fprintf(stderr, "bench: %s\n", st.ok ? base.err : st.err);
        return 1;
    }
    printf("trace: %llu requests, %llu objects, working set %.1f MB; parse only: "
           "%.2f M req/s, peak RSS %.1f MB\n",
           (unsigned long long)st.st.requests, (unsigned long long)st.st.objects,
           (double)st.st.bytes / 1048576, (double)st.st.requests / base.wall / 1e6,
           (double)base.rss_kb / 1024);
    printf("cache: %g of the working set; targets: >= %.0fx libCacheSim's speed on this "
           "machine, <= %.0f bytes/object\n\n", o.fraction, BENCH_SPEEDUP, BENCH_MAX_BPO);
    printf("%-10s %-7s %8s %8s %-9s %8s %8s %11s %7s %-4s %s\n", "policy", "unit", "Mreq/cpu",
           "Mreq/s", "target", "policy", "RSS MB", "objects", "B/obj", "", "miss_ratio");

    int missed = 0;
    for (int pass = 0; pass < (o.bytes ? 2 : 1); pass++)
        for (size_t i = 0; i < sim_policy_count(); i++) {
            const char *name = sim_policy_at(i)->name;
            if (!bench_selected(&o, name))
                continue;
            /* Semantic and LLM policies need fields a Zipf trace has not. */
            if (sim_policy_at(i)->needs & ~BENCH_FIELDS) {
                if (pass == 0)
                    printf("%-10s skipped: needs request fields an oracleGeneral trace lacks\n",
                           name);
                continue;
            }
            j.policy = name;
            j.ignore_size = pass == 0;
            double ws = pass == 0 ? (double)st.st.objects : (double)st.st.bytes;
            j.capacity = (uint64_t)(ws * o.fraction + 0.5);
            missed += bench_row(name, &j, &base);
        }
    printf("\nMreq/cpu: requests / CPU seconds of the child (parsing included; steadier than\n"
           "wall time on a shared machine, and what the target is checked against); Mreq/s:\n"
           "requests / wall time of sim_run; policy: requests / time inside the policy.\n"
           "B/obj: (peak RSS - parse-only peak RSS) / objects cached; '<' marks an upper\n"
           "bound on objects.\n");
    if (o.cloud)
        missed += bench_cloud(o.cloud);
    printf("\n%d target(s) missed\n", missed);
    return 0;
}
