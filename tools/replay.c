/*
 * replay - replay a timestamped trace on its own clock and print a time
 * series; export training data for learned eviction; train a qtable.
 *
 * Three modes, all thin wrappers over libsim (sim_replay.h, sim_rl.h):
 *   replay -p POLICIES -s SIZES [--window SPAN] TRACE   time series CSV
 *   replay --export-features FILE -s SIZE TRACE         training rows
 *   replay --train ROWS -o TABLE                        fit a qtable
 *   replay --serve MODELS --router LIST [--window T] TRACE   LLM serving
 *                                       with IC-Cache routing (sim_serve.h)
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sim.h"
#include "sim_policy.h"
#include "sim_replay.h"
#include "sim_rl.h"
#include "sim_serve.h"

struct opts {
    char **policies;
    size_t npolicies;
    struct cli_size *sizes;
    size_t nsizes;
    int ignore_size;
    enum sim_format format;
    struct sim_replay_opts ro;
    const char *output;
    uint64_t seed;
    const char *export_path, *train_path, *model;
    unsigned k, bins;
    enum sim_rl_candidates candidates;
    enum sim_rl_unseen unseen;
    uint64_t horizon_us, min_visits;
    unsigned feature_mask;
    enum sim_rl_objective objective;
    float *edges[SIM_RL_NFEAT];
    unsigned nedges[SIM_RL_NFEAT];
    const char *serve_path, *emb_path;
    char **routers;
    size_t nrouters;
    double rate;
    unsigned threads;
};

static void usage(FILE *f)
{
    fprintf(f,
"Usage: replay [OPTION]... -p POLICY[,POLICY]... -s SIZE[,SIZE]... TRACE\n"
"       replay --export-features FILE -s SIZE [OPTION]... TRACE\n"
"       replay --train ROWS -o TABLE [OPTION]...\n"
"       replay --serve MODELS --router LIST [OPTION]... TRACE\n"
"Replay TRACE (- for standard input) on its own clock through each policy at\n"
"each cache size and print a CSV time series, one row per window and cache.\n"
"\n"
"  -p, --policy LIST       policies, as for cachesim (name:key=value,...)\n"
"  -s, --size LIST         cache sizes: bytes with K/M/G/T suffixes, objects\n"
"                          with --ignore-size, or a fraction of the working set\n"
"      --ignore-size       every object has size 1; sizes count objects\n"
"  -f, --format FMT        trace format: auto (default), csv, oracle, plain,\n"
"                          twitter, accesslog, arc, lrb, mooncake\n"
"      --window SPAN       window length: requests (100000) or trace time\n"
"                          (60s, 5m, 1h, 250ms); default: the whole run\n"
"      --warmup SPAN       not measured: the first requests or trace time\n"
"  -o, --output FILE       write the CSV (or table) to FILE, replaced on success\n"
"      --seed N            seed for randomised policies (default 1)\n"
"\n"
"Training data (one row per candidate per eviction decision):\n"
"      --export-features FILE  write the rows to FILE, simulating at -s SIZE\n"
"      --k N               candidates per decision (1..32, default 16)\n"
"      --candidates SRC    lru (the K least recently used, default) or random\n"
"      --horizon SPAN      reward window for objects without TTL (default 1h)\n"
"      --model FILE        decide evictions with this model (default LRU)\n"
"\n"
"Training (fitted Q-iteration, discount 0; see rltable(5)):\n"
"      --train ROWS        read exported ROWS (- for standard input)\n"
"      --bins N            log-spaced bins per feature (default 8)\n"
"      --edges NAME=E,...  explicit bin edges for feature NAME (repeatable)\n"
"      --features LIST     features to use (default all: age_s,size_bytes,hits,\n"
"                          idle_s,ttl_left_s,fetch_s)\n"
"      --unseen WHAT       unseen states: lru (default), keep or evict\n"
"      --objective OBJ     hits (default: reuse per byte of room) or bytes\n"
"      --min-visits N      drop states seen fewer times (default 1)\n"
"\n"
"LLM serving with in-context example caching (see iccache(7)):\n"
"      --serve MODELS      simulate serving TRACE's requests by the model pool\n"
"                          in MODELS; one CSV row per --window (trace time)\n"
"                          and router, and a row \"all\"\n"
"      --router LIST       routers, comma-separated, with parameters as\n"
"                          name:key=value (large, small, threshold, semcache,\n"
"                          iccache; default iccache)\n"
"      --rate R            Poisson arrivals at R requests/s instead of the\n"
"                          trace's times\n"
"      --emb FILE.npy      embeddings from a companion .npy file\n"
"  -j, --threads N         search the example cache ahead in N threads (the\n"
"                          results do not depend on N; default 1)\n"
"  -h, --help              show this help\n"
"  -V, --version           show the version\n"
"\n"
"Exit status: 0 success, 1 bad or unreadable data, 2 usage error.\n"
"For more details see replay(1) and rltable(5).\n");
}

static void parse_span(const char *opt, const char *s, struct sim_span *sp)
{
    if (sim_span_parse(s, sp))
        cli_usage_error("invalid %s '%s' (requests, or a duration such as 60s, 5m, 1h)",
                        opt, s);
}

/* --edges NAME=E1,E2,... */
static void parse_edges(struct opts *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char name[32];
    if (!eq || (size_t)(eq - arg) >= sizeof name)
        cli_usage_error("invalid --edges '%s' (NAME=E1,E2,...)", arg);
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = 0;
    int f = sim_rl_feature_find(name);
    if (f < 0)
        cli_usage_error("--edges: unknown feature name '%s'", name);
    char *copy = strdup(eq + 1), *save;
    float *e = calloc(255, sizeof *e);
    unsigned n = 0;
    if (!copy || !e)
        cli_usage_error("out of memory");
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        double v;
        if (n == 254 || cli_parse_double(t, &v))
            cli_usage_error("--edges %s: bad edge '%s'", name, t);
        e[n] = (float)v;
        if (n && !(e[n] > e[n - 1]))
            cli_usage_error("--edges %s: edges out of order at '%s'", name, t);
        n++;
    }
    free(copy);
    free(o->edges[f]);
    o->edges[f] = e;
    o->nedges[f] = n;
}

static void parse_features(struct opts *o, const char *list)
{
    char *copy = strdup(list), *save;
    if (!copy)
        cli_usage_error("out of memory");
    o->feature_mask = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int f = sim_rl_feature_find(t);
        if (f < 0)
            cli_usage_error("--features: unknown feature name '%s'", t);
        o->feature_mask |= 1u << f;
    }
    free(copy);
}

static unsigned parse_small(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
    uint64_t v;
    if (cli_parse_u64(s, &v) || v < lo || v > hi)
        cli_usage_error("invalid %s '%s' (%llu..%llu)", opt, s, (unsigned long long)lo,
                        (unsigned long long)hi);
    return (unsigned)v;
}

enum { OPT_IGNORE_SIZE = 256, OPT_SEED, OPT_WINDOW, OPT_WARMUP, OPT_EXPORT, OPT_TRAIN,
       OPT_K, OPT_CANDIDATES, OPT_HORIZON, OPT_MODEL, OPT_BINS, OPT_EDGES, OPT_FEATURES,
       OPT_UNSEEN, OPT_MIN_VISITS, OPT_OBJECTIVE, OPT_SERVE, OPT_ROUTER, OPT_RATE,
       OPT_EMB };

static const struct option longopts[] = {
    {"policy", required_argument, NULL, 'p'},
    {"size", required_argument, NULL, 's'},
    {"ignore-size", no_argument, NULL, OPT_IGNORE_SIZE},
    {"format", required_argument, NULL, 'f'},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"output", required_argument, NULL, 'o'},
    {"seed", required_argument, NULL, OPT_SEED},
    {"export-features", required_argument, NULL, OPT_EXPORT},
    {"train", required_argument, NULL, OPT_TRAIN},
    {"k", required_argument, NULL, OPT_K},
    {"candidates", required_argument, NULL, OPT_CANDIDATES},
    {"horizon", required_argument, NULL, OPT_HORIZON},
    {"model", required_argument, NULL, OPT_MODEL},
    {"bins", required_argument, NULL, OPT_BINS},
    {"edges", required_argument, NULL, OPT_EDGES},
    {"features", required_argument, NULL, OPT_FEATURES},
    {"unseen", required_argument, NULL, OPT_UNSEEN},
    {"min-visits", required_argument, NULL, OPT_MIN_VISITS},
    {"objective", required_argument, NULL, OPT_OBJECTIVE},
    {"serve", required_argument, NULL, OPT_SERVE},
    {"router", required_argument, NULL, OPT_ROUTER},
    {"rate", required_argument, NULL, OPT_RATE},
    {"threads", required_argument, NULL, 'j'},
    {"emb", required_argument, NULL, OPT_EMB},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static void parse_option(struct opts *o, int c)
{
    struct sim_span sp;
    switch (c) {
    case 'p': o->policies = cli_split_specs(optarg, o->policies, &o->npolicies); break;
    case 's': o->sizes = cli_add_sizes(optarg, o->sizes, &o->nsizes); break;
    case OPT_IGNORE_SIZE: o->ignore_size = 1; break;
    case 'f': {
        int f = sim_format_parse(optarg);
        if (f < 0)
            cli_usage_error("unknown trace format '%s'", optarg);
        o->format = (enum sim_format)f;
        break;
    }
    case OPT_WINDOW: parse_span("--window", optarg, &o->ro.window); break;
    case OPT_WARMUP: parse_span("--warmup", optarg, &o->ro.warmup); break;
    case 'o': o->output = optarg; break;
    case OPT_SEED:
        if (cli_parse_u64(optarg, &o->seed))
            cli_usage_error("invalid --seed '%s'", optarg);
        break;
    case OPT_EXPORT: o->export_path = optarg; break;
    case OPT_TRAIN: o->train_path = optarg; break;
    case OPT_K: o->k = parse_small("--k", optarg, 1, SIM_RL_KMAX); break;
    case OPT_CANDIDATES:
        if (strcmp(optarg, "lru") && strcmp(optarg, "random"))
            cli_usage_error("invalid --candidates '%s' (lru or random)", optarg);
        o->candidates = strcmp(optarg, "random") ? SIM_RL_CAND_LRU : SIM_RL_CAND_RANDOM;
        break;
    case OPT_HORIZON:
        parse_span("--horizon", optarg, &sp);
        if (sp.unit != SIM_SPAN_MICROS)
            cli_usage_error("--horizon needs a duration with a unit (e.g. 600s)");
        o->horizon_us = sp.n;
        break;
    case OPT_MODEL: o->model = optarg; break;
    case OPT_BINS: o->bins = parse_small("--bins", optarg, 1, 255); break;
    case OPT_EDGES: parse_edges(o, optarg); break;
    case OPT_FEATURES: parse_features(o, optarg); break;
    case OPT_UNSEEN:
        if (!strcmp(optarg, "lru"))
            o->unseen = SIM_RL_UNSEEN_LRU;
        else if (!strcmp(optarg, "keep"))
            o->unseen = SIM_RL_UNSEEN_KEEP;
        else if (!strcmp(optarg, "evict"))
            o->unseen = SIM_RL_UNSEEN_EVICT;
        else
            cli_usage_error("invalid --unseen '%s' (lru, keep or evict)", optarg);
        break;
    case OPT_OBJECTIVE:
        if (strcmp(optarg, "hits") && strcmp(optarg, "bytes"))
            cli_usage_error("invalid --objective '%s' (hits or bytes)", optarg);
        o->objective = strcmp(optarg, "hits") ? SIM_RL_OBJ_BYTES : SIM_RL_OBJ_HITS;
        break;
    case OPT_MIN_VISITS:
        if (cli_parse_u64(optarg, &o->min_visits))
            cli_usage_error("invalid --min-visits '%s'", optarg);
        break;
    case OPT_SERVE: o->serve_path = optarg; break;
    case OPT_ROUTER: o->routers = cli_split_specs(optarg, o->routers, &o->nrouters); break;
    case OPT_RATE:
        if (cli_parse_double(optarg, &o->rate) || o->rate <= 0)
            cli_usage_error("invalid --rate '%s' (requests per second > 0)", optarg);
        break;
    case OPT_EMB: o->emb_path = optarg; break;
    case 'j': {
        uint64_t v;
        if (cli_parse_u64(optarg, &v) || v < 1 || v > 1024)
            cli_usage_error("invalid --threads '%s' (1..1024)", optarg);
        o->threads = (unsigned)v;
        break;
    }
    case 'h': usage(stdout); exit(EXIT_OK);
    case 'V': printf("replay %s\n", sim_version()); exit(EXIT_OK);
    default:
        fprintf(stderr, "Try '%s --help' for more information.\n", cli_prog);
        exit(EXIT_USAGE);
    }
}

static void check_mode(struct opts *o, int ntraces)
{
    if (o->train_path) {
        if (o->export_path || o->npolicies || ntraces)
            cli_usage_error("--train takes no trace, policy or --export-features");
        if (!o->output)
            cli_usage_error("--train needs -o TABLE");
        return;
    }
    if (ntraces != 1)
        cli_usage_error(ntraces ? "exactly one trace, please" : "no trace given");
    if (o->serve_path) {
        if (o->export_path || o->npolicies)
            cli_usage_error("--serve takes routers (--router), not policies");
        if (o->ro.window.n && o->ro.window.unit != SIM_SPAN_MICROS)
            cli_usage_error("--serve: --window must be trace time (e.g. 60s)");
        for (size_t i = 0; i < o->nrouters; i++) {
            char err[SIM_ERRLEN];
            struct sim_serve_config c;
            sim_serve_config_init(&c, NULL);
            if (sim_serve_config_parse(&c, o->routers[i], err, sizeof err))
                cli_usage_error("%s", err);
        }
        return;
    }
    if (o->routers || o->rate > 0 || o->threads > 1)
        cli_usage_error("--router, --rate and --threads go with --serve");
    if (o->export_path) {
        if (o->nsizes != 1)
            cli_usage_error("--export-features needs exactly one cache size (-s)");
        return;
    }
    if (!o->npolicies)
        cli_usage_error("no policy given (-p; see cachesim --list-policies)");
    if (!o->nsizes)
        cli_usage_error("no cache size given (-s)");
    for (size_t i = 0; i < o->npolicies; i++) {
        char err[SIM_ERRLEN];
        struct sim_cache_config cfg = {1 << 20, SIM_UNIT_BYTES, o->seed, ~0u, NULL};
        sim_cache *probe = sim_cache_create(o->policies[i], &cfg, err, sizeof err);
        if (!probe)
            cli_usage_error("%s", err);
        sim_cache_free(probe);
    }
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    int c;
    o->seed = 1;
    o->bins = 8;
    o->min_visits = 1;
    o->horizon_us = 3600000000ull;
    while ((c = getopt_long(argc, argv, "p:s:f:o:j:hV", longopts, NULL)) != -1)
        parse_option(o, c);
    check_mode(o, argc - optind);
}

/* Capacity of size s for this trace (fractions need a pass over it). */

static int run_replay(const struct opts *o, sim_reader *r, FILE *out)
{
    char err[SIM_ERRLEN];
    size_t n = o->npolicies * o->nsizes;
    sim_cache **caches = calloc(n, sizeof *caches);
    uint64_t *caps = calloc(o->nsizes, sizeof *caps);
    int status = caches && caps ? EXIT_OK : EXIT_DATA;
    if (status == EXIT_OK && cli_capacities(r, o->sizes, o->nsizes, o->ignore_size, caps))
        status = EXIT_DATA;
    for (size_t i = 0; status == EXIT_OK && i < n; i++) {
        const char *spec = o->policies[i / o->nsizes];
        struct sim_cache_config cfg = {caps[i % o->nsizes], cli_unit_of(spec, o->ignore_size),
                                       o->seed, sim_reader_fields(r), NULL};
        caches[i] = sim_cache_create(spec, &cfg, err, sizeof err);
        if (!caches[i]) {
            cli_warn("%s: %s", sim_reader_path(r), err);
            status = EXIT_DATA;
        }
    }
    if (status == EXIT_OK && sim_replay(r, caches, n, &o->ro, out, err, sizeof err)) {
        cli_warn("%s", err);
        status = EXIT_DATA;
    }
    for (size_t i = 0; caches && i < n; i++)
        sim_cache_free(caches[i]);
    free(caches);
    free(caps);
    return status;
}

static int run_export(const struct opts *o, sim_reader *r)
{
    char err[SIM_ERRLEN];
    struct sim_rl_export_opts eo = {0, o->ignore_size ? SIM_UNIT_OBJECTS : SIM_UNIT_BYTES,
                                    o->k ? o->k : 16, o->candidates, o->seed, o->horizon_us,
                                    o->model};
    if (cli_capacities(r, o->sizes, 1, o->ignore_size, &eo.capacity))
        return EXIT_DATA;
    sim_outfile *of = sim_outfile_open(o->export_path, err, sizeof err);
    if (!of) {
        cli_warn("%s", err);
        return EXIT_DATA;
    }
    int64_t d = sim_rl_export(r, &eo, sim_outfile_stream(of), err, sizeof err);
    if (d < 0)
        cli_warn("%s", err);
    return cli_finish_output(of, d < 0 ? EXIT_DATA : EXIT_OK);
}

static int run_train(const struct opts *o)
{
    char err[SIM_ERRLEN];
    FILE *in = strcmp(o->train_path, "-") ? fopen(o->train_path, "r") : stdin;
    if (!in) {
        cli_warn("%s: cannot open: %s", o->train_path, strerror(errno));
        return EXIT_DATA;
    }
    struct sim_rl_train_opts to;
    memset(&to, 0, sizeof to);
    to.bins = o->bins;
    to.k = o->k ? o->k : 16;
    to.candidates = o->candidates;
    to.unseen = o->unseen;
    to.min_visits = o->min_visits;
    to.feature_mask = o->feature_mask;
    to.objective = o->objective;
    for (unsigned f = 0; f < SIM_RL_NFEAT; f++) {
        to.edges[f] = o->edges[f];
        to.nedges[f] = o->nedges[f];
    }
    struct sim_rl_qtable t;
    int rc = sim_rl_train(in, o->train_path, &to, &t, err, sizeof err);
    if (in != stdin)
        fclose(in);
    if (!rc) {
        rc = sim_rl_qtable_write(&t, o->output, err, sizeof err);
        sim_rl_qtable_free(&t);
    }
    if (rc) {
        cli_warn("%s", err);
        return EXIT_DATA;
    }
    return EXIT_OK;
}

static int run_trace(const struct opts *o, const char *path)
{
    char err[SIM_ERRLEN];
    struct sim_reader_opts rop = {o->format, o->ignore_size, NULL};
    sim_reader *r = sim_reader_open(path, &rop, err, sizeof err);
    if (!r) {
        cli_warn("%s", err);
        return EXIT_DATA;
    }
    int status;
    if (o->export_path)
        status = run_export(o, r);
    else {
        sim_outfile *of = sim_outfile_open(o->output ? o->output : "-", err, sizeof err);
        if (!of) {
            cli_warn("%s", err);
            sim_reader_close(r);
            return EXIT_DATA;
        }
        status = cli_finish_output(of, run_replay(o, r, sim_outfile_stream(of)));
    }
    sim_reader_close(r);
    return status;
}

struct serve_out {
    FILE *f;
    const char *router;
    const sim_modelpool *pool;
    unsigned window;
};

static void serve_window(void *arg, const struct sim_serve_stats *w)
{
    struct serve_out *so = arg;
    char label[32];
    snprintf(label, sizeof label, "%u", so->window++);
    sim_serve_csv_row(so->f, so->router, label, w, so->pool);
}

/* One router over the whole trace; the trace is opened per router. */
static int serve_one(const struct opts *o, const char *path, const char *spec,
                     const sim_modelpool *pool, FILE *out)
{
    char err[SIM_ERRLEN];
    struct sim_serve_config c;
    sim_serve_config_init(&c, pool);
    sim_serve_config_parse(&c, spec, err, sizeof err); /* checked in check_mode */
    c.seed = o->seed;
    c.arrival_rate = o->rate;
    c.threads = o->threads;
    c.window_s = (double)o->ro.window.n / 1e6;
    struct sim_reader_opts rop = {o->format, 0, o->emb_path};
    sim_reader *r = sim_reader_open(path, &rop, err, sizeof err);
    sim_serve *s = r ? sim_serve_create(&c, err, sizeof err) : NULL;
    int status = EXIT_DATA;
    if (s) {
        struct serve_out so = {out, sim_router_name(c.router), pool, 0};
        sim_serve_on_window(s, serve_window, &so);
        struct sim_serve_stats all;
        if (sim_serve_run(s, r, &all, err, sizeof err) == 0) {
            sim_serve_csv_row(out, so.router, "all", &all, pool);
            status = EXIT_OK;
        }
    }
    if (status != EXIT_OK)
        cli_warn("%s", err);
    sim_serve_free(s);
    sim_reader_close(r);
    return status;
}

static int run_serve(const struct opts *o, const char *path)
{
    char err[SIM_ERRLEN];
    if (o->nrouters > 1 && strcmp(path, "-") == 0)
        cli_usage_error("--serve with several routers reads the trace once per router: "
                        "give a file, not standard input");
    sim_modelpool *pool = sim_modelpool_load(o->serve_path, err, sizeof err);
    if (!pool) {
        cli_warn("%s", err);
        return EXIT_DATA;
    }
    sim_outfile *of = sim_outfile_open(o->output ? o->output : "-", err, sizeof err);
    if (!of) {
        cli_warn("%s", err);
        sim_modelpool_free(pool);
        return EXIT_DATA;
    }
    FILE *out = sim_outfile_stream(of);
    sim_serve_csv_header(out, pool);
    static char *const deflt[] = {"iccache"};
    char *const *routers = o->nrouters ? o->routers : deflt;
    size_t n = o->nrouters ? o->nrouters : 1;
    int status = EXIT_OK;
    for (size_t i = 0; i < n && status == EXIT_OK; i++)
        status = serve_one(o, path, routers[i], pool, out);
    status = cli_finish_output(of, status);
    sim_modelpool_free(pool);
    return status;
}

int main(int argc, char **argv)
{
    struct opts o;
    memset(&o, 0, sizeof o);
    cli_prog = "replay";
    argv[0] = (char *)cli_prog; /* getopt's own messages then start "replay:" */
    parse_args(argc, argv, &o);
    int status = o.train_path   ? run_train(&o)
                 : o.serve_path ? run_serve(&o, argv[optind])
                                : run_trace(&o, argv[optind]);
    for (size_t i = 0; i < o.npolicies; i++)
        free(o.policies[i]);
    free(o.policies);
    free(o.sizes);
    for (unsigned f = 0; f < SIM_RL_NFEAT; f++)
        free(o.edges[f]);
    for (size_t i = 0; i < o.nrouters; i++)
        free(o.routers[i]);
    free(o.routers);
    cli_close_stdout();
    return status;
}
