/*
 * stats.c - one-pass trace statistics (sim_stats.h).
 *
 * Per object: its first size, request count and last request index, found
 * through a u64map from key to object number.  Stack distances come from a
 * sim_mrc in object units.  The rate is counted in time cells of 2^k
 * seconds, k growing (cells merging in pairs) whenever the span outgrows
 * the cell array, so memory stays bounded whatever the trace's clock does;
 * the cells are then spread over the requested buckets.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sim_mrc.h"
#include "sim_stats.h"
#include "u64map.h"

#define NBUCKETS 65
#define MAX_CELLS (1u << 20)

struct obj {
    uint64_t size, last;
    uint64_t count;
};

struct sim_stats_s {
    struct u64map map;
    struct obj *objs;
    uint64_t nobj, capobj;
    uint64_t requests, bytes;
    uint64_t size_hist[NBUCKETS], reuse_hist[NBUCKETS], stack_hist[NBUCKETS];
    sim_mrc *mrc;
    int have_time;
    uint64_t t0, tlast;
    uint64_t *cells;        /* requests per cell of 2^shift seconds from t0 */
    unsigned shift;
    uint64_t ncells;
};

static unsigned log2_bucket(uint64_t x)
{
    return x ? 63u - (unsigned)__builtin_clzll(x) : 64u;
}

sim_stats *sim_stats_create(void)
{
    char err[SIM_ERRLEN];
    struct sim_mrc_opts mo = {SIM_UNIT_OBJECTS, 1, NULL, 0};
    sim_stats *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->mrc = sim_mrc_create(&mo, err, sizeof err);
    s->cells = calloc(MAX_CELLS, sizeof *s->cells);
    if (!s->mrc || !s->cells || u64map_init(&s->map, 1024)) {
        sim_stats_free(s);
        return NULL;
    }
    return s;
}

void sim_stats_free(sim_stats *s)
{
    if (!s)
        return;
    if (s->map.keys)
        u64map_free(&s->map);
    free(s->objs);
    free(s->cells);
    sim_mrc_free(s->mrc);
    free(s);
}

/* Counts one request at time t (microseconds) in the rate cells. */
static void count_time(sim_stats *s, uint64_t t)
{
    if (!s->have_time) {
        s->have_time = 1;
        s->t0 = t;
    }
    s->tlast = t;
    uint64_t c = t < s->t0 ? 0 : ((t - s->t0) / 1000000) >> s->shift;
    while (c >= MAX_CELLS) { /* merge pairs: cells twice as long */
        for (uint64_t i = 0; i < MAX_CELLS / 2; i++)
            s->cells[i] = s->cells[2 * i] + s->cells[2 * i + 1];
        memset(s->cells + MAX_CELLS / 2, 0, MAX_CELLS / 2 * sizeof *s->cells);
        s->shift++;
        c >>= 1;
    }
    s->cells[c]++;
    if (c + 1 > s->ncells)
        s->ncells = c + 1;
}

int sim_stats_add(sim_stats *s, const struct sim_req *req)
{
    int fresh;
    uint64_t *v = u64map_upsert(&s->map, req->key, s->nobj, &fresh);
    if (!v)
        return SIM_ENOMEM;
    if (fresh) {
        if (s->nobj == s->capobj) {
            uint64_t n = s->capobj ? s->capobj * 2 : 1024;
            struct obj *o = realloc(s->objs, n * sizeof *o);
            if (!o)
                return SIM_ENOMEM;
            s->objs = o;
            s->capobj = n;
        }
        s->objs[s->nobj++] = (struct obj){req->size, s->requests, 0};
        s->bytes += req->size;
        s->size_hist[log2_bucket(req->size)]++;
    } else
        s->reuse_hist[log2_bucket(s->requests - s->objs[*v].last)]++;
    struct obj *o = &s->objs[*v];
    o->count++;
    o->last = s->requests;
    struct sim_req q = *req;
    q.op = SIM_OP_GET; /* a delete is a request here */
    uint64_t d;
    if (sim_mrc_access(s->mrc, &q, &d))
        return SIM_ENOMEM;
    if (!fresh)
        s->stack_hist[log2_bucket(d)]++;
    if (req->present & SIM_F_TIME)
        count_time(s, req->time);
    s->requests++;
    return 0;
}

static int by_count_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Minus the slope of log(count) on log(rank) over ranks with count >= 10. */
static int fit_alpha(const sim_stats *s, double *alpha, uint64_t *ranks)
{
    uint64_t *c = malloc((s->nobj + 1) * sizeof *c);
    if (!c)
        return SIM_ENOMEM;
    for (uint64_t i = 0; i < s->nobj; i++)
        c[i] = s->objs[i].count;
    qsort(c, s->nobj, sizeof *c, by_count_desc);
    uint64_t r = 0;
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    while (r < s->nobj && c[r] >= 10) {
        double x = log((double)(r + 1)), y = log((double)c[r]);
        sx += x, sy += y, sxx += x * x, sxy += x * y;
        r++;
    }
    free(c);
    double n = (double)r, den = n * sxx - sx * sx;
    *ranks = r;
    *alpha = r >= 3 && den > 0 ? -(n * sxy - sx * sy) / den : NAN;
    return 0;
}

int sim_stats_summary(sim_stats *s, struct sim_stats_summary *out)
{
    memset(out, 0, sizeof *out);
    out->requests = s->requests;
    out->objects = s->nobj;
    out->bytes = s->bytes;
    out->size_min = s->nobj ? UINT64_MAX : 0;
    for (uint64_t i = 0; i < s->nobj; i++) {
        const struct obj *o = &s->objs[i];
        out->one_hit += o->count == 1;
        out->size_min = o->size < out->size_min ? o->size : out->size_min;
        out->size_max = o->size > out->size_max ? o->size : out->size_max;
    }
    out->size_mean = s->nobj ? (double)s->bytes / (double)s->nobj : 0;
    out->time_first = s->have_time ? s->t0 : 0;
    out->time_last = s->have_time ? s->tlast : 0;
    return fit_alpha(s, &out->alpha, &out->alpha_ranks);
}

static void row_u(FILE *f, const char *name, uint64_t v)
{
    fprintf(f, "%s,,,%llu\n", name, (unsigned long long)v);
}

static void row_r(FILE *f, const char *name, const char *lo, const char *hi, double v)
{
    char buf[40];
    if (isnan(v))
        snprintf(buf, sizeof buf, "nan");
    else
        sim__csv_real(buf, sizeof buf, v);
    fprintf(f, "%s,%s,%s,%s\n", name, lo, hi, buf);
}

static void hist(FILE *f, const char *name, const uint64_t *h)
{
    for (unsigned i = 0; i < 64; i++)
        if (h[i])
            fprintf(f, "%s,%llu,%llu,%llu\n", name, (unsigned long long)(UINT64_C(1) << i),
                    (unsigned long long)((UINT64_C(2) << i) - 1), (unsigned long long)h[i]);
    if (h[64]) /* sizes of 0 */
        fprintf(f, "%s,0,0,%llu\n", name, (unsigned long long)h[64]);
}

/* Spreads the rate cells over `buckets` slices of the span. */
static void rate_rows(const sim_stats *s, FILE *f, unsigned buckets)
{
    double span = (double)(s->tlast - s->t0) / 1e6, cell = (double)(1ull << s->shift);
    if (!s->have_time || span <= 0)
        return;
    for (unsigned b = 0; b < buckets; b++) {
        double lo = span * b / buckets, hi = span * (b + 1) / buckets, n = 0;
        int last = b + 1 == buckets; /* also takes the cell at the very end */
        for (uint64_t c = (uint64_t)(lo / cell); c < s->ncells && (last || c * cell < hi); c++) {
            double a = c * cell > lo ? c * cell : lo, z = (c + 1) * cell < hi ? (c + 1) * cell : hi;
            n += z > a ? (double)s->cells[c] * (z - a) / cell : 0; /* uniform within a cell */
            if (last && (c + 1) * cell > hi)
                n += (double)s->cells[c] * ((c + 1) * cell - (a > hi ? a : hi)) / cell;
        }
        char l[40], h[40];
        sim__csv_real(l, sizeof l, lo);
        sim__csv_real(h, sizeof h, hi);
        row_r(f, "rate", l, h, n / (hi - lo));
    }
}

int sim_stats_csv(sim_stats *s, FILE *f, unsigned buckets)
{
    struct sim_stats_summary x;
    if (sim_stats_summary(s, &x))
        return SIM_ENOMEM;
    fputs("metric,lo,hi,value\n", f);
    row_u(f, "requests", x.requests);
    row_u(f, "objects", x.objects);
    row_u(f, "working_set_bytes", x.bytes);
    row_u(f, "one_hit_wonders", x.one_hit);
    row_r(f, "one_hit_wonder_share", "", "", x.objects ? (double)x.one_hit / (double)x.objects : 0);
    row_u(f, "size_min", x.size_min);
    row_r(f, "size_mean", "", "", x.size_mean);
    row_u(f, "size_max", x.size_max);
    char hi[32];
    snprintf(hi, sizeof hi, "%llu", (unsigned long long)x.alpha_ranks);
    row_r(f, "zipf_alpha", "1", hi, x.alpha);
    if (s->have_time)
        row_r(f, "time_span_s", "", "", (double)(x.time_last - x.time_first) / 1e6);
    row_u(f, "first_requests", x.objects);
    hist(f, "size", s->size_hist);
    hist(f, "reuse_distance", s->reuse_hist);
    hist(f, "stack_distance", s->stack_hist);
    rate_rows(s, f, buckets);
    return ferror(f) ? SIM_EIO : 0;
}
