/*
 * cachesim - replay traces against cache policies and print CSV metrics.
 *
 * One row per (trace, policy, size).  All simulation is libsim's; this file
 * parses options, builds the caches, runs them and prints.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sim.h"
#include "sim_mrc.h"
#include "sim_policy.h"

struct opts {
    char **policies;
    size_t npolicies;
    struct cli_size *sizes;
    size_t nsizes;
    int ignore_size;
    enum sim_format format;
    uint64_t warmup;
    unsigned threads;
    const char *output;
    uint64_t seed;
    int progress;
    const char *convert;
    const char *emb;      /* --emb: companion .npy of embeddings */
    double mrc;             /* 0: no --mrc; 1: exact; < 1: SHARDS rate */
    const char *header_extra[64]; /* extra columns of the printed header */
};

static void usage(FILE *f)
{
    fprintf(f,
"Usage: cachesim [OPTION]... -p POLICY[,POLICY]... -s SIZE[,SIZE]... TRACE...\n"
"       cachesim --mrc[=RATE] -s SIZE[,SIZE]... [-p POLICY]... TRACE...\n"
"       cachesim --convert FORMAT -o OUTPUT TRACE\n"
"       cachesim --list-policies | --policy-help NAME\n"
"Replay each TRACE (- for standard input) against each policy at each cache\n"
"size and print one CSV row per (trace, policy, size).\n"
"\n"
"  -p, --policy LIST       policies, comma-separated; parameters as\n"
"                          name:key=value,key=value (e.g. s3fifo:small=0.1)\n"
"  -s, --size LIST         cache sizes: bytes with K/M/G/T suffixes (powers of\n"
"                          1024), object counts with --ignore-size, or a\n"
"                          fraction of the trace's working set (0.01)\n"
"      --ignore-size       every object has size 1; sizes count objects\n"
"  -f, --format FMT        trace format: auto (default), csv, oracle, plain,\n"
"                          twitter, accesslog, arc, lrb, mooncake\n"
"      --emb FILE          embeddings from FILE.npy (float32, one row per\n"
"                          request) for semantic policies\n"
"  -w, --warmup N          the first N requests are not counted\n"
"  -j, --threads N         run (policy, size) pairs in N threads (default 1)\n"
"  -o, --output FILE       write the CSV to FILE (replaced only on success)\n"
"      --seed N            seed for randomised policies (default 1)\n"
"      --progress          progress on stderr (default when it is a terminal)\n"
"      --no-progress       no progress\n"
"      --mrc[=RATE]        also print the exact LRU miss ratio at each size,\n"
"                          from one pass of stack distances (policy lru-mrc);\n"
"                          RATE < 1 samples keys at that rate (SHARDS)\n"
"      --convert FORMAT    write TRACE in FORMAT (csv or oracle) to -o FILE\n"
"      --list-policies     list the policies with their parameters\n"
"      --policy-help NAME  describe one policy\n"
"  -h, --help              show this help\n"
"  -V, --version           show the version\n"
"\n"
"Exit status: 0 success, 1 bad or unreadable data, 2 usage error.\n"
"For more details see cachesim(1).\n");
}

static const char *ptype_name(enum sim_ptype t)
{
    switch (t) {
    case SIM_P_INT: return "int";
    case SIM_P_REAL: return "real";
    case SIM_P_BOOL: return "bool";
    case SIM_P_STR: return "string";
    case SIM_P_ENUM: return "enum";
    }
    return "?";
}

static void describe_policy(const struct sim_policy_ops *p)
{
    printf("%-12s %s (%s)\n", p->name, p->summary, sim_unit_name(p->unit));
    if (p->reference)
        printf("%-12s   ref: %s\n", "", p->reference);
    for (const struct sim_param_def *d = p->params; d && d->name; d++) {
        printf("%-12s   %s=%s (%s", "", d->name, d->def ? d->def : "", ptype_name(d->type));
        if (d->type == SIM_P_INT || d->type == SIM_P_REAL)
            printf(", %.15g..%.15g", d->min, d->max);
        if (d->choices)
            printf(": %s", d->choices);
        printf(") %s\n", d->help);
    }
}

static void list_policies(void)
{
    for (size_t i = 0; i < sim_policy_count(); i++)
        describe_policy(sim_policy_at(i));
}

enum { OPT_IGNORE_SIZE = 256, OPT_SEED, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_LIST,
       OPT_POLICY_HELP, OPT_CONVERT, OPT_EMB, OPT_MRC };

static const struct option longopts[] = {
    {"policy", required_argument, NULL, 'p'},
    {"size", required_argument, NULL, 's'},
    {"ignore-size", no_argument, NULL, OPT_IGNORE_SIZE},
    {"format", required_argument, NULL, 'f'},
    {"emb", required_argument, NULL, OPT_EMB},
    {"warmup", required_argument, NULL, 'w'},
    {"threads", required_argument, NULL, 'j'},
    {"output", required_argument, NULL, 'o'},
    {"seed", required_argument, NULL, OPT_SEED},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"convert", required_argument, NULL, OPT_CONVERT},
    {"mrc", optional_argument, NULL, OPT_MRC},
    {"list-policies", no_argument, NULL, OPT_LIST},
    {"policy-help", required_argument, NULL, OPT_POLICY_HELP},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static void parse_args(int argc, char **argv, struct opts *o)
{
    int c;
    uint64_t v;
    o->seed = 1;
    o->threads = 1;
    o->progress = isatty(STDERR_FILENO);
    while ((c = getopt_long(argc, argv, "p:s:f:w:j:o:hV", longopts, NULL)) != -1) {
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
        case 'w':
            if (cli_parse_u64(optarg, &o->warmup))
                cli_usage_error("invalid --warmup '%s'", optarg);
            break;
        case 'j':
            if (cli_parse_u64(optarg, &v) || v < 1 || v > 1024)
                cli_usage_error("invalid --threads '%s' (1..1024)", optarg);
            o->threads = (unsigned)v;
            break;
        case 'o': o->output = optarg; break;
        case OPT_SEED:
            if (cli_parse_u64(optarg, &o->seed))
                cli_usage_error("invalid --seed '%s'", optarg);
            break;
        case OPT_PROGRESS: o->progress = 1; break;
        case OPT_NO_PROGRESS: o->progress = 0; break;
        case OPT_CONVERT: o->convert = optarg; break;
        case OPT_EMB: o->emb = optarg; break;
        case OPT_MRC:
            o->mrc = 1;
            if (optarg && (cli_parse_double(optarg, &o->mrc) || !(o->mrc > 0 && o->mrc <= 1)))
                cli_usage_error("invalid --mrc rate '%s' (0 < RATE <= 1)", optarg);
            break;
        case OPT_LIST: list_policies(); exit(EXIT_OK);
        case OPT_POLICY_HELP: {
            const struct sim_policy_ops *p = sim_policy_find(optarg);
            if (!p)
                cli_usage_error("unknown policy '%s' (see --list-policies)", optarg);
            describe_policy(p);
            exit(EXIT_OK);
        }
        case 'h': usage(stdout); exit(EXIT_OK);
        case 'V': printf("cachesim %s\n", sim_version()); exit(EXIT_OK);
        default:
            fprintf(stderr, "Try '%s --help' for more information.\n", cli_prog);
            exit(EXIT_USAGE);
        }
    }
    if (optind >= argc)
        cli_usage_error("no trace given");
    if (o->convert) {
        if (!o->output)
            cli_usage_error("--convert needs -o FILE");
        return;
    }
    if (!o->npolicies && !o->mrc)
        cli_usage_error("no policy given (-p; see --list-policies)");
    if (!o->nsizes)
        cli_usage_error("no cache size given (-s)");
    /* Check every policy spec before reading any trace. */
    for (size_t i = 0; i < o->npolicies; i++) {
        char err[SIM_ERRLEN];
        struct sim_cache_config cfg = {1 << 20, SIM_UNIT_BYTES, o->seed, ~0u, NULL};
        sim_cache *probe = sim_cache_create(o->policies[i], &cfg, err, sizeof err);
        if (!probe)
            cli_usage_error("%s", err);
        sim_cache_free(probe);
    }
}


/* Converts one trace; returns an exit status. */
static int convert(const struct opts *o, const char *path)
{
    char err[SIM_ERRLEN];
    int fmt = sim_format_parse(o->convert);
    if (fmt != SIM_FMT_CSV && fmt != SIM_FMT_ORACLE)
        cli_usage_error("--convert: cannot write format '%s' (csv or oracle)", o->convert);
    struct sim_reader_opts ro = {o->format, o->ignore_size, o->emb};
    sim_reader *r = sim_reader_open(path, &ro, err, sizeof err);
    if (!r) {
        cli_warn("%s", err);
        return EXIT_DATA;
    }
    sim_writer *w = sim_writer_open(o->output, (enum sim_format)fmt, sim_reader_fields(r),
                                    err, sizeof err);
    int rc = w ? 0 : -1;
    struct sim_req q;
    while (!rc && (rc = sim_reader_next(r, &q, err, sizeof err)) == 1)
        rc = sim_writer_put(w, &q, err, sizeof err);
    if (rc == 0) {
        rc = sim_writer_close(w, err, sizeof err);
        w = NULL;
    }
    sim_writer_abort(w);
    sim_reader_close(r);
    if (rc) {
        cli_warn("%s", err);
        return EXIT_DATA;
    }
    return EXIT_OK;
}

/* Runs every (policy, size) on one trace and prints the rows; exit status. */
static int simulate(const struct opts *o, const char *path, FILE *out, int *header_done)
{
    char err[SIM_ERRLEN];
    struct sim_reader_opts ro = {o->format, o->ignore_size, o->emb};
    sim_reader *r = sim_reader_open(path, &ro, err, sizeof err);
    if (!r) {
        cli_warn("%s", err);
        return EXIT_DATA;
    }
    size_t n = o->npolicies * o->nsizes;
    sim_cache **caches = calloc(n, sizeof *caches);
    uint64_t *caps = calloc(o->nsizes, sizeof *caps);
    int status = caches && caps ? EXIT_OK : EXIT_DATA;
    if (status == EXIT_OK && cli_capacities(r, o->sizes, o->nsizes, o->ignore_size, caps))
        status = EXIT_DATA;
    for (size_t i = 0; status == EXIT_OK && i < o->npolicies; i++)
        for (size_t j = 0; status == EXIT_OK && j < o->nsizes; j++) {
            struct sim_cache_config cfg = {caps[j], cli_unit_of(o->policies[i], o->ignore_size),
                                           o->seed, sim_reader_fields(r), NULL};
            caches[i * o->nsizes + j] = sim_cache_create(o->policies[i], &cfg, err, sizeof err);
            if (!caches[i * o->nsizes + j]) {
                cli_warn("%s: %s", path, err);
                status = EXIT_DATA;
            }
        }
    free(caps);
    if (status == EXIT_OK) {
        struct cli_progress prog = {o->progress, path, 0, 0};
        cli_progress_start(&prog, path);
        struct sim_run_opts ro2 = {o->warmup, o->threads, cli_progress_cb, &prog};
        int rc = sim_run(r, caches, n, &ro2, err, sizeof err);
        cli_progress_end(&prog);
        if (rc) {
            cli_warn("%s", err);
            status = EXIT_DATA;
        }
    }
    if (status == EXIT_OK) {
        struct sim_metrics m;
        sim_cache_metrics(caches[0], &m);
        if (m.requests == 0 && o->warmup == 0) {
            cli_warn("%s: empty trace", path);
            status = EXIT_DATA;
        }
    }
    if (status == EXIT_OK) {
        /* Extra columns: the union over this run's policies, in order. */
        const char *extra[64];
        size_t ne = 0;
        for (size_t i = 0; i < n; i++)
            for (const char *const *c = sim_cache_extra_names(caches[i]); *c; c++) {
                size_t k = 0;
                while (k < ne && strcmp(extra[k], *c))
                    k++;
                if (k == ne && ne < 63)
                    extra[ne++] = *c;
            }
        extra[ne] = NULL;
        if (!*header_done) {
            sim_csv_header(out, extra);
            memcpy(((struct opts *)o)->header_extra, extra, sizeof extra);
            *header_done = 1;
        }
        for (size_t i = 0; i < n; i++)
            sim_csv_row(out, path, caches[i], extra);
    }
    for (size_t i = 0; i < n; i++)
        sim_cache_free(caches ? caches[i] : NULL);
    free(caches);
    sim_reader_close(r);
    return status;
}

/* The cache sizes of -s for one trace, resolving fractions of the working
 * set; returns 0 or an exit status. */

/* --mrc: one pass of stack distances, one row per size; exit status. */
static int mrc_rows(struct opts *o, const char *path, FILE *out, int *header_done)
{
    char err[SIM_ERRLEN];
    struct sim_reader_opts ro = {o->format, o->ignore_size, NULL};
    sim_reader *r = sim_reader_open(path, &ro, err, sizeof err);
    uint64_t *caps = calloc(o->nsizes, sizeof *caps);
    int status = EXIT_DATA;
    if (r && caps && !cli_capacities(r, o->sizes, o->nsizes, o->ignore_size, caps))
        status = EXIT_OK;
    if (!r)
        cli_warn("%s", err);
    else if (sim_reader_fields(r) & SIM_F_TTL)
        cli_warn("%s: TTLs are ignored by --mrc (expiry is not modelled)", path);
    struct sim_mrc_opts mo = {o->ignore_size ? SIM_UNIT_OBJECTS : SIM_UNIT_BYTES, o->mrc, caps,
                              o->nsizes};
    sim_mrc *m = status ? NULL : sim_mrc_create(&mo, err, sizeof err);
    if (!status && !m) {
        cli_warn("%s", err);
        status = EXIT_DATA;
    }
    /* Requests are read in batches so that `seconds` times the tracker alone. */
    enum { BATCH = 4096 };
    static struct sim_req q[BATCH];
    int rc = 1;
    uint64_t n = 0;
    while (!status && rc == 1) {
        size_t nq = 0;
        while (nq < BATCH && (rc = sim_reader_next(r, &q[nq], err, sizeof err)) == 1)
            if (n++ >= o->warmup)
                nq++;
        double t0 = cli_now();
        if (rc >= 0 && sim_mrc_access_batch(m, q, nq)) {
            snprintf(err, sizeof err, "%s: out of memory", path);
            rc = SIM_ENOMEM;
        }
        sim_mrc_add_seconds(m, cli_now() - t0);
    }
    if (!status && rc < 0) {
        cli_warn("%s", err);
        status = EXIT_DATA;
    }
    if (!status) {
        if (!*header_done) {
            sim_csv_header(out, NULL);
            *header_done = 1;
        }
        for (size_t i = 0; i < o->nsizes; i++)
            sim_mrc_csv_row(out, path, m, i, o->header_extra);
    }
    sim_mrc_free(m);
    free(caps);
    sim_reader_close(r);
    return status;
}

int main(int argc, char **argv)
{
    struct opts o;
    memset(&o, 0, sizeof o);
    cli_prog = "cachesim";
    argv[0] = (char *)cli_prog; /* getopt's own messages then start "cachesim:" */
    parse_args(argc, argv, &o);
    if (o.convert) {
        if (argc - optind != 1)
            cli_usage_error("--convert takes exactly one trace");
        return convert(&o, argv[optind]);
    }
    char err[SIM_ERRLEN];
    sim_outfile *of = sim_outfile_open(o.output ? o.output : "-", err, sizeof err);
    if (!of) {
        cli_warn("%s", err);
        return EXIT_DATA;
    }
    int status = EXIT_OK, header_done = 0;
    for (int i = optind; i < argc && status == EXIT_OK; i++) {
        if (o.npolicies)
            status = simulate(&o, argv[i], sim_outfile_stream(of), &header_done);
        if (o.mrc && status == EXIT_OK)
            status = mrc_rows(&o, argv[i], sim_outfile_stream(of), &header_done);
    }
    status = cli_finish_output(of, status);
    for (size_t i = 0; i < o.npolicies; i++)
        free(o.policies[i]);
    free(o.policies);
    free(o.sizes);
    cli_close_stdout();
    return status;
}
