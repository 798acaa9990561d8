/*
 * evalq - score semantic-cache decisions against ground truth.
 *
 * Reads labelled pairs (or a trace with classes), computes each pair's
 * similarity (given embeddings or the built-in embedder), sweeps the hit
 * threshold and prints TP/FP/TN/FN and the rates per threshold, overall and
 * per category; recommends thresholds and can write them as a config for
 * the `category` policy.  The scoring is libsim's (sim_eval.h).
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sim.h"
#include "sim_embed.h"
#include "sim_eval.h"

struct opts {
    struct sim_pairs_opts po;
    struct sim_embed_opts eo;
    int trace;
    enum sim_format format;
    const char *trace_emb;
    double from, to, step;
    double max_false_hit;   /* < 0: none */
    const char *output, *summary, *config;
    int quiet;
};

static void usage(FILE *f)
{
    fprintf(f,
"Usage: evalq [OPTION]... FILE\n"
"Score semantic-cache hit decisions on labelled pairs (CSV, TSV, JSON array or\n"
"JSON lines; - for standard input) or on a trace with classes (--trace): for\n"
"each threshold of a sweep, print TP, FP, TN, FN, precision, recall, F1,\n"
"accuracy, hit rate and false-hit rate, overall and per category, as CSV.\n"
"\n"
"  -c, --cols A,B[,LABEL]  columns (or JSON members) of the two texts and the\n"
"                          label, when the usual names are not used\n"
"      --emb-a FILE        embeddings of the first texts (.npy, float32)\n"
"      --emb-b FILE        embeddings of the second texts (.npy)\n"
"  -t, --trace             FILE is a trace with a class field: pair each request\n"
"                          with its most similar earlier one of its category\n"
"  -f, --format FMT        trace format with --trace (default auto)\n"
"      --emb FILE          the trace's embeddings (.npy), with --trace\n"
"      --from X            first threshold (default 0)\n"
"      --to X              last threshold (default 0.99)\n"
"      --step X            threshold step (default 0.01)\n"
"      --max-false-hit X   report the lowest threshold whose false-hit rate is\n"
"                          at most X, and write it with --write-config\n"
"  -o, --output FILE       write the sweep to FILE (default standard output)\n"
"      --summary FILE      write the recommended thresholds as CSV to FILE\n"
"      --write-config FILE write per-category thresholds for the category policy\n"
"      --dim N             built-in embedder: dimension (default %d)\n"
"      --ngrams MIN,MAX    built-in embedder: n-gram lengths (default %d,%d)\n"
"  -q, --quiet             no summary on standard error\n"
"  -h, --help              show this help\n"
"  -V, --version           show the version\n"
"\n"
"Without embeddings the texts go through the built-in embedder (character\n"
"n-grams, fitted on FILE's texts), whose quality is modest.\n"
"Exit status: 0 success, 1 bad or unreadable data, 2 usage error.\n"
"For more details see evalq(1).\n",
            SIM_EMBED_DEFAULT_DIM, SIM_EMBED_DEFAULT_NMIN, SIM_EMBED_DEFAULT_NMAX);
}

enum { OPT_EMB_A = 256, OPT_EMB_B, OPT_EMB, OPT_FROM, OPT_TO, OPT_STEP, OPT_MAX_FH,
       OPT_SUMMARY, OPT_CONFIG, OPT_DIM, OPT_NGRAMS };

static const struct option longopts[] = {
    {"cols", required_argument, NULL, 'c'},
    {"emb-a", required_argument, NULL, OPT_EMB_A},
    {"emb-b", required_argument, NULL, OPT_EMB_B},
    {"trace", no_argument, NULL, 't'},
    {"format", required_argument, NULL, 'f'},
    {"emb", required_argument, NULL, OPT_EMB},
    {"from", required_argument, NULL, OPT_FROM},
    {"to", required_argument, NULL, OPT_TO},
    {"step", required_argument, NULL, OPT_STEP},
    {"max-false-hit", required_argument, NULL, OPT_MAX_FH},
    {"output", required_argument, NULL, 'o'},
    {"summary", required_argument, NULL, OPT_SUMMARY},
    {"write-config", required_argument, NULL, OPT_CONFIG},
    {"dim", required_argument, NULL, OPT_DIM},
    {"ngrams", required_argument, NULL, OPT_NGRAMS},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static double parse_threshold(const char *name, const char *s)
{
    double v;
    if (cli_parse_double(s, &v) || v < -1 || v > 1)
        cli_usage_error("invalid --%s '%s' (a threshold in [-1, 1])", name, s);
    return v;
}

static void parse_ngrams(struct opts *o, const char *s)
{
    uint64_t a, b;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    char *comma = strchr(buf, ',');
    if (comma)
        *comma = 0;
    if (!comma || cli_parse_u64(buf, &a) || cli_parse_u64(comma + 1, &b) || a < 1 || b > 16 ||
        a > b)
        cli_usage_error("invalid --ngrams '%s' (MIN,MAX within 1..16)", s);
    o->eo.nmin = (uint32_t)a;
    o->eo.nmax = (uint32_t)b;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    int c;
    uint64_t v;
    o->from = 0;
    o->to = 0.99;
    o->step = 0.01;
    o->max_false_hit = -1;
    sim_embed_opts_init(&o->eo);
    while ((c = getopt_long(argc, argv, "c:tf:o:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->po.cols = optarg; break;
        case OPT_EMB_A: o->po.npy_a = optarg; break;
        case OPT_EMB_B: o->po.npy_b = optarg; break;
        case 't': o->trace = 1; break;
        case 'f': {
            int f = sim_format_parse(optarg);
            if (f < 0)
                cli_usage_error("unknown trace format '%s'", optarg);
            o->format = (enum sim_format)f;
            break;
        }
        case OPT_EMB: o->trace_emb = optarg; break;
        case OPT_FROM: o->from = parse_threshold("from", optarg); break;
        case OPT_TO: o->to = parse_threshold("to", optarg); break;
        case OPT_STEP:
            if (cli_parse_double(optarg, &o->step) || o->step <= 0 || o->step > 2)
                cli_usage_error("invalid --step '%s' (in (0, 2])", optarg);
            break;
        case OPT_MAX_FH:
            if (cli_parse_double(optarg, &o->max_false_hit) || o->max_false_hit < 0 ||
                o->max_false_hit > 1)
                cli_usage_error("invalid --max-false-hit '%s' (a rate in [0, 1])", optarg);
            break;
        case 'o': o->output = optarg; break;
        case OPT_SUMMARY: o->summary = optarg; break;
        case OPT_CONFIG: o->config = optarg; break;
        case OPT_DIM:
            if (cli_parse_u64(optarg, &v) || v < 1 || v > 65536)
                cli_usage_error("invalid --dim '%s' (1..65536)", optarg);
            o->eo.dim = (uint32_t)v;
            break;
        case OPT_NGRAMS: parse_ngrams(o, optarg); break;
        case 'q': o->quiet = 1; break;
        case 'h': usage(stdout); exit(EXIT_OK);
        case 'V': printf("evalq %s\n", sim_version()); exit(EXIT_OK);
        default:
            fprintf(stderr, "Try '%s --help' for more information.\n", cli_prog);
            exit(EXIT_USAGE);
        }
    }
    if (optind >= argc)
        cli_usage_error("no input file given");
    if (argc - optind > 1)
        cli_usage_error("one input file at a time ('%s' is extra)", argv[optind + 1]);
    if (!o->po.npy_a != !o->po.npy_b)
        cli_usage_error("--emb-a and --emb-b go together");
    if (o->trace && (o->po.cols || o->po.npy_a))
        cli_usage_error("--trace does not take --cols, --emb-a or --emb-b");
    if (!o->trace && (o->trace_emb || o->format))
        cli_usage_error("--emb and --format need --trace");
    if (o->from > o->to)
        cli_usage_error("--from %g is above --to %g", o->from, o->to);
}

/* Shortest decimal that reads back as x. */
static void put_real(FILE *f, double x)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    fprintf(f, ",%s", buf);
}

static void put_row(FILE *f, const char *cat, double t, const struct sim_eval_counts *c)
{
    struct sim_eval_rates r;
    sim_eval_rates(c, &r);
    sim_csv_quote(f, cat);
    put_real(f, t);
    fprintf(f, ",%llu,%llu,%llu,%llu,%llu", (unsigned long long)(c->tp + c->fp + c->tn + c->fn),
            (unsigned long long)c->tp, (unsigned long long)c->fp, (unsigned long long)c->tn,
            (unsigned long long)c->fn);
    double v[] = {r.precision, r.recall, r.f1, r.accuracy, r.hit_rate, r.false_hit_rate};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        put_real(f, v[i]);
    fputc('\n', f);
}

struct scored {
    struct sim_pairs *p;
    float *sims;
    double *thr;
    size_t nthr;
};

/* Category k of the output: -1 is "all", then the input's categories. */
static const char *cat_name(const struct scored *s, int k)
{
    return k < 0 ? "all" : s->p->cat_names[k];
}

static int ncats_out(const struct scored *s)
{
    return (int)s->p->ncats;
}

static void write_sweep(FILE *f, const struct scored *s)
{
    fputs("category,threshold,pairs,tp,fp,tn,fn,precision,recall,f1,accuracy,hit_rate,"
          "false_hit_rate\n", f);
    for (int k = -1; k < ncats_out(s); k++)
        for (size_t i = 0; i < s->nthr; i++) {
            struct sim_eval_counts c;
            sim_eval_count(s->sims, s->p->label, s->p->category, s->p->n, k, s->thr[i], &c);
            put_row(f, cat_name(s, k), s->thr[i], &c);
        }
}

static void choose(const struct scored *s, int k, double bound, struct sim_eval_choice *ch)
{
    sim_eval_choose(s->sims, s->p->label, s->p->category, s->p->n, k, s->thr, s->nthr, bound,
                    ch);
}

/* The threshold --write-config uses: the bound's, else the best F1's. */
static double config_threshold(const struct opts *o, const struct scored *s,
                               const struct sim_eval_choice *ch, int k)
{
    if (o->max_false_hit < 0)
        return ch->best_f1_threshold;
    if (ch->bound_found)
        return ch->bound_threshold;
    cli_warn("%s: no threshold up to %g keeps the false-hit rate at most %g; writing %g",
             cat_name(s, k), s->thr[s->nthr - 1], o->max_false_hit, s->thr[s->nthr - 1]);
    return s->thr[s->nthr - 1];
}

static void summary_line(const struct opts *o, const struct scored *s, int k,
                         const struct sim_eval_choice *ch)
{
    struct sim_eval_rates r;
    sim_eval_rates(&ch->best_f1, &r);
    uint64_t n = ch->best_f1.tp + ch->best_f1.fp + ch->best_f1.tn + ch->best_f1.fn;
    uint64_t pos = ch->best_f1.tp + ch->best_f1.fn;
    fprintf(stderr, "%s: %s: %llu pairs (%llu positive): best F1 %.4f at threshold %g "
            "(precision %.4f, recall %.4f)", cli_prog, cat_name(s, k), (unsigned long long)n,
            (unsigned long long)pos, r.f1, ch->best_f1_threshold, r.precision, r.recall);
    if (o->max_false_hit >= 0 && ch->bound_found) {
        sim_eval_rates(&ch->bound, &r);
        fprintf(stderr, "; false-hit rate <= %g from threshold %g (hit rate %.4f)",
                o->max_false_hit, ch->bound_threshold, r.hit_rate);
    } else if (o->max_false_hit >= 0)
        fprintf(stderr, "; false-hit rate never <= %g", o->max_false_hit);
    fputc('\n', stderr);
}

static void write_summary(FILE *f, const struct opts *o, const struct scored *s)
{
    fputs("category,pairs,positives,best_f1_threshold,best_f1,precision,recall,"
          "max_false_hit,bound_threshold,bound_hit_rate,bound_false_hit_rate\n", f);
    for (int k = -1; k < ncats_out(s); k++) {
        struct sim_eval_choice ch;
        struct sim_eval_rates r, b;
        choose(s, k, o->max_false_hit, &ch);
        sim_eval_rates(&ch.best_f1, &r);
        sim_csv_quote(f, cat_name(s, k));
        const struct sim_eval_counts *c = &ch.best_f1;
        fprintf(f, ",%llu,%llu", (unsigned long long)(c->tp + c->fp + c->tn + c->fn),
                (unsigned long long)(c->tp + c->fn));
        put_real(f, ch.best_f1_threshold);
        put_real(f, r.f1);
        put_real(f, r.precision);
        put_real(f, r.recall);
        if (o->max_false_hit >= 0 && ch.bound_found) {
            sim_eval_rates(&ch.bound, &b);
            put_real(f, o->max_false_hit);
            put_real(f, ch.bound_threshold);
            put_real(f, b.hit_rate);
            put_real(f, b.false_hit_rate);
        } else
            fputs(",,,,", f);
        fputc('\n', f);
    }
}

static int write_config(const struct opts *o, const struct scored *s)
{
    char err[SIM_ERRLEN];
    int nc = ncats_out(s);
    double *t = malloc((size_t)(nc ? nc : 1) * sizeof *t);
    if (!t) {
        cli_warn("out of memory");
        return EXIT_DATA;
    }
    struct sim_eval_choice ch;
    for (int k = 0; k < nc; k++) {
        choose(s, k, o->max_false_hit, &ch);
        t[k] = config_threshold(o, s, &ch, k);
    }
    choose(s, SIM_EVAL_ALL, o->max_false_hit, &ch);
    double def = config_threshold(o, s, &ch, SIM_EVAL_ALL);
    int rc = sim_eval_write_config(o->config, (const char *const *)s->p->cat_names, t,
                                   (unsigned)nc, def, err, sizeof err);
    free(t);
    if (rc) {
        cli_warn("%s", err);
        return EXIT_DATA;
    }
    return EXIT_OK;
}

/* Loads and scores the input; exit status. */
static int load(const struct opts *o, const char *path, struct scored *s)
{
    char err[SIM_ERRLEN];
    if (o->trace) {
        struct sim_reader_opts ro = {o->format, 0, o->trace_emb};
        sim_reader *r = sim_reader_open(path, &ro, err, sizeof err);
        if (r)
            s->p = sim_pairs_from_trace(r, &o->eo, &s->sims, err, sizeof err);
        sim_reader_close(r);
        if (s->p && s->p->n == 0) {
            snprintf(err, sizeof err, "%s: no request has an earlier one to pair with", path);
            sim_pairs_free(s->p);
            s->p = NULL;
        }
    } else {
        s->p = sim_pairs_load(path, &o->po, err, sizeof err);
        s->sims = s->p ? malloc(s->p->n * sizeof *s->sims) : NULL;
        if (s->p && (!s->sims || sim_pairs_similarities(s->p, &o->eo, s->sims, err,
                                                        sizeof err))) {
            if (!s->sims)
                snprintf(err, sizeof err, "out of memory");
            sim_pairs_free(s->p);
            s->p = NULL;
        }
    }
    if (!s->p) {
        cli_warn("%s", err);
        return EXIT_DATA;
    }
    return EXIT_OK;
}

static int report(const struct opts *o, const struct scored *s)
{
    char err[SIM_ERRLEN];
    sim_outfile *out = sim_outfile_open(o->output ? o->output : "-", err, sizeof err);
    sim_outfile *sum = out && o->summary ? sim_outfile_open(o->summary, err, sizeof err) : NULL;
    if (!out || (o->summary && !sum)) {
        cli_warn("%s", err);
        sim_outfile_abort(out);
        return EXIT_DATA;
    }
    write_sweep(sim_outfile_stream(out), s);
    if (sum)
        write_summary(sim_outfile_stream(sum), o, s);
    /* The config first: if it fails, the other outputs are discarded too. */
    if (o->config && write_config(o, s)) {
        sim_outfile_abort(out);
        sim_outfile_abort(sum);
        return EXIT_DATA;
    }
    int rc = sim_outfile_commit(out, err, sizeof err);
    if (!rc && sum)
        rc = sim_outfile_commit(sum, err, sizeof err);
    else
        sim_outfile_abort(sum);
    if (rc) {
        cli_warn("%s", err);
        return EXIT_DATA;
    }
    if (!o->quiet)
        fprintf(stderr, "%s: %zu pairs, read as %s\n", cli_prog, s->p->n, s->p->shape);
    for (int k = -1; !o->quiet && k < ncats_out(s); k++) {
        struct sim_eval_choice ch;
        choose(s, k, o->max_false_hit, &ch);
        summary_line(o, s, k, &ch);
    }
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    struct opts o;
    char err[SIM_ERRLEN];
    memset(&o, 0, sizeof o);
    cli_prog = "evalq";
    parse_args(argc, argv, &o);
    struct scored s = {NULL, NULL, NULL, 0};
    int n = sim_eval_thresholds(o.from, o.to, o.step, &s.thr, err, sizeof err);
    if (n < 0)
        cli_usage_error("%s", err);
    s.nthr = (size_t)n;
    int status = load(&o, argv[optind], &s);
    if (status == EXIT_OK)
        status = report(&o, &s);
    sim_pairs_free(s.p);
    free(s.sims);
    free(s.thr);
    cli_close_stdout();
    return status;
}
