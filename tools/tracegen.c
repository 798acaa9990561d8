/*
 * tracegen - write synthetic workloads, convert traces, describe traces.
 *
 * Three modes: generate (the default: libsim's sim_gen, sim_gen.h; with -w
 * an LLM workload of sim_genllm.h instead), --convert (any readable trace to
 * CSV or oracleGeneral) and --describe (statistics of a trace as CSV,
 * libsim's sim_stats).  All the work is in libsim; this file parses options
 * and moves requests from a source to a writer.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "sim.h"
#include "sim_gen.h"
#include "sim_genllm.h"
#include "sim_stats.h"

enum mode { MODE_GEN, MODE_CONVERT, MODE_DESCRIBE };

struct opts {
    enum mode mode;
    uint64_t seed, requests;
    const char **patterns;
    size_t npatterns;
    const char *sizes, *ttl, *arrivals, *locality;
    int out_format;         /* SIM_FMT_*, or 0 to infer from the name */
    enum sim_format in_format;
    int ignore_size;
    const char *output;
    uint64_t buckets;       /* describe: time buckets */
    struct genllm_opts {    /* -w: LLM workloads of sim_genllm.h */
        const char *workload, *npy;
        const char **categories; /* -c */
        size_t ncategories;
        uint64_t dim;       /* --dim; 0: not given */
    } genllm;
};

static void usage(FILE *f)
{
    fprintf(f,
"Usage: tracegen [OPTION]... [-o FILE]\n"
"       tracegen --convert FORMAT [-f FMT] [--ignore-size] [-o FILE] TRACE\n"
"       tracegen --describe [-f FMT] [--ignore-size] [-o FILE] TRACE\n"
"       tracegen -w WORKLOAD [-c SPEC]... [--dim N] [--npy FILE] [OPTION]...\n"
"       tracegen --list\n"
"Write a synthetic workload (default: 10^6 requests, Zipf 0.9 over 10^5\n"
"objects of 4096 bytes, Poisson arrivals at 1000/s), convert a trace, or\n"
"describe one; with -w, an LLM workload (see tracegen-llm(7)).  Specs are\n"
"NAME or NAME:key=value,... (see --list).\n"
"\n"
"  -o, --output FILE       output file (- for standard output, the default);\n"
"                          .zst or .gz compress; replaced only on success\n"
"  -F, --out-format FMT    csv or oracle (default: oracle for names containing\n"
"                          .bin or oracleGeneral, else csv); -w: csv or mooncake\n"
"      --seed N            random seed (default 1)\n"
"  -n, --requests N        number of requests (default 1000000)\n"
"  -p, --pattern SPEC      popularity pattern; repeat for phases (each needs\n"
"                          len=): zipf, uniform, scan, loop, bursts, mixed\n"
"      --sizes SPEC        object sizes: fixed, lognormal, pareto, bimodal\n"
"      --ttl SPEC          object TTLs: none, fixed, uniform, exp\n"
"      --arrivals SPEC     arrival times: poisson, onoff\n"
"      --locality SPEC     p=P,window=W: repeat a recent request with prob. P\n"
"  -w, --workload SPEC     an LLM workload: query, serve, rag or moe\n"
"                          (-F mooncake for serve and rag; see tracegen-llm(7))\n"
"  -c, --category SPEC     -w query: NAME:share=,density=,within=,... (repeat)\n"
"      --dim N             -w query: embedding dimension (default 64)\n"
"      --npy FILE          -w query: embeddings to FILE (.npy) instead of inline\n"
"      --convert FORMAT    copy TRACE to -o FILE in FORMAT (csv or oracle)\n"
"      --describe          print statistics of TRACE as CSV\n"
"      --buckets N         --describe: time buckets of the rate (default 100)\n"
"  -f, --format FMT        format of TRACE (default: auto)\n"
"      --ignore-size       read every size as 1\n"
"      --list              list the specs and their parameters\n"
"  -h, --help              show this help\n"
"  -V, --version           show the version\n"
"\n"
"Exit status: 0 success, 1 bad or unreadable data, 2 usage error.\n"
"For more details see tracegen(1).\n");
}

static void list_specs(void)
{
    puts("patterns (-p):\n"
         "  zipf:n=100000,alpha=0.9,offset=0,len=0\n"
         "  uniform:n=100000,offset=0,len=0\n"
         "  scan:offset=0,len=0\n"
         "  loop:n=10000,offset=0,len=0\n"
         "  bursts:n=100000,alpha=0.9,period=10000,burst=2000,kind=ohw|scan,offset=0,len=0\n"
         "  mixed:n=100000,alpha=0.9,large_n=100,large_share=0.1,small=1024,large=10485760,"
         "offset=0,len=0\n"
         "sizes (--sizes):\n"
         "  fixed:size=4096\n"
         "  lognormal:mu=8,sigma=1.5,min=1,max=4294967295\n"
         "  pareto:xm=1024,shape=1.2,max=4294967295\n"
         "  bimodal:small=1024,large=1048576,p=0.1\n"
         "TTLs (--ttl):\n"
         "  none  fixed:ttl=3600  uniform:min=60,max=3600  exp:mean=3600\n"
         "arrivals (--arrivals):\n"
         "  poisson:rate=1000,diurnal=0,period=86400\n"
         "  onoff:rate=1000,on=10,off=50,diurnal=0,period=86400\n"
         "locality (--locality):\n"
         "  p=0,window=100\n"
         "LLM workloads (-w query|serve|rag|moe, -c): see tracegen-llm(7)");
}

enum { OPT_SEED = 256, OPT_SIZES, OPT_TTL, OPT_ARRIVALS, OPT_LOCALITY, OPT_CONVERT,
       OPT_DESCRIBE, OPT_BUCKETS, OPT_IGNORE_SIZE, OPT_LIST, OPT_DIM, OPT_NPY };

static const struct option longopts[] = {
    {"output", required_argument, NULL, 'o'},
    {"out-format", required_argument, NULL, 'F'},
    {"seed", required_argument, NULL, OPT_SEED},
    {"requests", required_argument, NULL, 'n'},
    {"pattern", required_argument, NULL, 'p'},
    {"sizes", required_argument, NULL, OPT_SIZES},
    {"ttl", required_argument, NULL, OPT_TTL},
    {"arrivals", required_argument, NULL, OPT_ARRIVALS},
    {"locality", required_argument, NULL, OPT_LOCALITY},
    {"convert", required_argument, NULL, OPT_CONVERT},
    {"describe", no_argument, NULL, OPT_DESCRIBE},
    {"buckets", required_argument, NULL, OPT_BUCKETS},
    {"format", required_argument, NULL, 'f'},
    {"ignore-size", no_argument, NULL, OPT_IGNORE_SIZE},
    {"list", no_argument, NULL, OPT_LIST},
    {"workload", required_argument, NULL, 'w'},
    {"category", required_argument, NULL, 'c'},
    {"dim", required_argument, NULL, OPT_DIM},
    {"npy", required_argument, NULL, OPT_NPY},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static int parse_out_format(const char *s)
{
    int f = sim_format_parse(s);
    if (f != SIM_FMT_CSV && f != SIM_FMT_ORACLE && f != SIM_FMT_MOONCAKE)
        cli_usage_error("cannot write format '%s' (csv or oracle; mooncake with -w)", s);
    return f;
}

static void set_mode(struct opts *o, enum mode m)
{
    if (o->mode != MODE_GEN && o->mode != m)
        cli_usage_error("--convert and --describe exclude each other");
    o->mode = m;
}

static int parse_genllm_option(int c, struct opts *o);

static void parse_args(int argc, char **argv, struct opts *o)
{
    int c;
    o->seed = 1;
    o->requests = 1000000;
    o->buckets = 100;
    o->output = "-";
    while ((c = getopt_long(argc, argv, "o:F:n:p:f:w:c:hV", longopts, NULL)) != -1) {
        if (parse_genllm_option(c, o))
            continue;
        switch (c) {
        case 'o': o->output = optarg; break;
        case 'F': o->out_format = parse_out_format(optarg); break;
        case OPT_SEED:
            if (cli_parse_u64(optarg, &o->seed))
                cli_usage_error("invalid --seed '%s'", optarg);
            break;
        case 'n':
            if (cli_parse_u64(optarg, &o->requests) || o->requests == 0)
                cli_usage_error("invalid --requests '%s' (a positive integer)", optarg);
            break;
        case 'p':
            o->patterns = realloc(o->patterns, (o->npatterns + 1) * sizeof *o->patterns);
            if (!o->patterns)
                cli_usage_error("out of memory");
            o->patterns[o->npatterns++] = optarg;
            break;
        case OPT_SIZES: o->sizes = optarg; break;
        case OPT_TTL: o->ttl = optarg; break;
        case OPT_ARRIVALS: o->arrivals = optarg; break;
        case OPT_LOCALITY: o->locality = optarg; break;
        case OPT_CONVERT:
            set_mode(o, MODE_CONVERT);
            o->out_format = parse_out_format(optarg);
            break;
        case OPT_DESCRIBE: set_mode(o, MODE_DESCRIBE); break;
        case OPT_BUCKETS:
            if (cli_parse_u64(optarg, &o->buckets) || o->buckets == 0 || o->buckets > 1000000)
                cli_usage_error("invalid --buckets '%s' (1..1000000)", optarg);
            break;
        case 'f': {
            int f = sim_format_parse(optarg);
            if (f < 0)
                cli_usage_error("unknown trace format '%s'", optarg);
            o->in_format = (enum sim_format)f;
            break;
        }
        case OPT_IGNORE_SIZE: o->ignore_size = 1; break;
        case OPT_LIST: list_specs(); exit(EXIT_OK);
        case 'h': usage(stdout); exit(EXIT_OK);
        case 'V': printf("tracegen %s\n", sim_version()); exit(EXIT_OK);
        default:
            fprintf(stderr, "Try '%s --help' for more information.\n", cli_prog);
            exit(EXIT_USAGE);
        }
    }
    if ((o->genllm.categories || o->genllm.dim || o->genllm.npy) && !o->genllm.workload)
        cli_usage_error("-c/--category, --dim and --npy go with -w (see tracegen-llm(7))");
    if (o->mode == MODE_GEN && optind < argc)
        cli_usage_error("unexpected argument '%s' (traces go with --convert or --describe)",
                        argv[optind]);
    if ((o->mode == MODE_CONVERT || o->mode == MODE_DESCRIBE) && argc - optind != 1)
        cli_usage_error("%s takes exactly one trace",
                        o->mode == MODE_CONVERT ? "--convert" : "--describe");
}

/*=====   LLM workloads (-w): a hook into sim_genllm.h   =====*/

/* Takes -w, -c/--category, --dim and --npy; returns 0 for any other
 * option. */
static int parse_genllm_option(int c, struct opts *o)
{
    struct genllm_opts *l = &o->genllm;
    switch (c) {
    case 'w': l->workload = optarg; return 1;
    case 'c':
        l->categories = realloc(l->categories, (l->ncategories + 1) * sizeof *l->categories);
        if (!l->categories)
            cli_usage_error("out of memory");
        l->categories[l->ncategories++] = optarg;
        return 1;
    case OPT_DIM:
        if (cli_parse_u64(optarg, &l->dim) || l->dim == 0 || l->dim > 65536)
            cli_usage_error("invalid --dim '%s': parameter 'dim' must be in 1..65536", optarg);
        return 1;
    case OPT_NPY: l->npy = optarg; return 1;
    default: return 0;
    }
}

/* -w: checks the options against the mode, builds the workload (a bad
 * parameter is a usage error) and writes it. */
static int generate_genllm(const struct opts *o)
{
    char err[SIM_ERRLEN];
    if (o->mode != MODE_GEN)
        cli_usage_error("-w does not go with --convert or --describe");
    if (o->npatterns || o->sizes || o->ttl || o->locality)
        cli_usage_error("-p, --sizes, --ttl and --locality are not for -w "
                        "(see tracegen-llm(7))");
    if (o->out_format == SIM_FMT_ORACLE)
        cli_usage_error("-w workloads are written as csv or mooncake, not oracle");
    /* Only query workloads carry embeddings; a silently ignored --dim
     * would let a user believe the trace has them. */
    size_t kind_len = strcspn(o->genllm.workload, ":");
    int is_query = kind_len == 5 && !strncmp(o->genllm.workload, "query", 5);
    if ((o->genllm.dim || o->genllm.npy) && !is_query)
        cli_usage_error("--dim and --npy go with -w query only (-w %.*s has no embeddings)",
                        (int)kind_len, o->genllm.workload);
    if (o->genllm.npy && (!strcmp(o->genllm.npy, "-") || !strcmp(o->genllm.npy, o->output)))
        cli_usage_error("--npy needs a file of its own");
    struct sim_genllm_config cfg = {o->seed, o->requests, o->genllm.workload,
                                    o->genllm.categories, o->genllm.ncategories,
                                    o->genllm.dim ? (uint32_t)o->genllm.dim : 64, o->arrivals};
    sim_genllm *g = sim_genllm_create(&cfg, err, sizeof err);
    if (!g)
        cli_usage_error("%s", err);
    enum sim_genllm_out f = o->out_format == SIM_FMT_MOONCAKE ? SIM_GENLLM_OUT_MOONCAKE
                            : o->out_format == SIM_FMT_CSV    ? SIM_GENLLM_OUT_CSV
                                                              : SIM_GENLLM_OUT_AUTO;
    int rc = sim_genllm_write(g, o->output, f, o->genllm.npy, err, sizeof err);
    sim_genllm_free(g);
    if (rc == SIM_EINVAL)
        cli_usage_error("%s", err);
    if (rc)
        cli_warn("%s", err);
    return rc ? EXIT_DATA : EXIT_OK;
}

/*=====   Object workloads, conversion   =====*/

/* The output format: -F, else oracle when the name says so, else CSV. */
static enum sim_format out_format(const struct opts *o)
{
    if (o->out_format)
        return (enum sim_format)o->out_format;
    if (strstr(o->output, ".bin") || strstr(o->output, "oracleGeneral"))
        return SIM_FMT_ORACLE;
    return SIM_FMT_CSV;
}

/* Moves every request from `next` to a new writer; returns an exit status. */
static int pump(const struct opts *o, uint32_t fields,
                int (*next)(void *src, struct sim_req *q, char *err, size_t errlen), void *src)
{
    char err[SIM_ERRLEN];
    sim_writer *w = sim_writer_open(o->output, out_format(o), fields, err, sizeof err);
    if (!w) {
        cli_warn("%s", err);
        return EXIT_DATA;
    }
    struct sim_req q;
    int rc;
    while ((rc = next(src, &q, err, sizeof err)) == 1)
        if ((rc = sim_writer_put(w, &q, err, sizeof err)) != 0)
            break;
    if (rc == 0)
        rc = sim_writer_close(w, err, sizeof err);
    else
        sim_writer_abort(w);
    if (rc) {
        cli_warn("%s", err);
        return EXIT_DATA;
    }
    return EXIT_OK;
}

static int gen_next(void *src, struct sim_req *q, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    return sim_gen_next(src, q);
}

static int reader_next(void *src, struct sim_req *q, char *err, size_t errlen)
{
    return sim_reader_next(src, q, err, errlen);
}

static int generate(const struct opts *o)
{
    char err[SIM_ERRLEN];
    struct sim_gen_config cfg = {o->seed, o->requests, o->patterns, o->npatterns,
                                 o->sizes, o->ttl, o->arrivals, o->locality};
    sim_gen *g = sim_gen_create(&cfg, err, sizeof err);
    if (!g)
        cli_usage_error("%s", err);
    int status = pump(o, sim_gen_fields(g), gen_next, g);
    sim_gen_free(g);
    return status;
}

static sim_reader *open_trace(const struct opts *o, const char *path)
{
    char err[SIM_ERRLEN];
    struct sim_reader_opts ro = {o->in_format, o->ignore_size, NULL};
    sim_reader *r = sim_reader_open(path, &ro, err, sizeof err);
    if (!r)
        cli_warn("%s", err);
    return r;
}

static int convert(const struct opts *o, const char *path)
{
    sim_reader *r = open_trace(o, path);
    if (!r)
        return EXIT_DATA;
    int status = pump(o, sim_reader_fields(r), reader_next, r);
    sim_reader_close(r);
    return status;
}

static int describe(const struct opts *o, const char *path)
{
    char err[SIM_ERRLEN];
    sim_reader *r = open_trace(o, path);
    sim_stats *st = r ? sim_stats_create() : NULL;
    int rc = r && st ? 0 : SIM_ENOMEM;
    if (r && !st)
        cli_warn("out of memory");
    struct sim_req q;
    while (!rc && (rc = sim_reader_next(r, &q, err, sizeof err)) == 1)
        if ((rc = sim_stats_add(st, &q)) != 0)
            snprintf(err, sizeof err, "%s: out of memory", path);
    if (rc && r && st)
        cli_warn("%s", err);
    sim_outfile *of = rc ? NULL : sim_outfile_open(o->output, err, sizeof err);
    if (!rc && !of) {
        cli_warn("%s", err);
        rc = SIM_EIO;
    }
    if (of) {
        int written = sim_stats_csv(st, sim_outfile_stream(of), (unsigned)o->buckets) == 0;
        if (!written)
            cli_warn("%s: write error", o->output);
        if (cli_finish_output(of, written ? EXIT_OK : EXIT_DATA) != EXIT_OK)
            rc = SIM_EIO;
    }
    sim_stats_free(st);
    sim_reader_close(r);
    return rc ? EXIT_DATA : EXIT_OK;
}

int main(int argc, char **argv)
{
    struct opts o;
    memset(&o, 0, sizeof o);
    cli_prog = "tracegen";
    argv[0] = (char *)cli_prog; /* getopt's own messages then start "tracegen:" */
    parse_args(argc, argv, &o);
    int status;
    if (!o.genllm.workload && o.out_format == SIM_FMT_MOONCAKE)
        cli_usage_error("mooncake output goes with -w serve or -w rag");
    if (o.genllm.workload)
        status = generate_genllm(&o);
    else switch (o.mode) {
    case MODE_CONVERT: status = convert(&o, argv[optind]); break;
    case MODE_DESCRIBE: status = describe(&o, argv[optind]); break;
    default: status = generate(&o); break;
    }
    free(o.patterns);
    free(o.genllm.categories);
    cli_close_stdout();
    return status;
}
