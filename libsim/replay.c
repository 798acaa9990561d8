/*
 * replay.c - one trace through many caches on the trace's clock, cut into
 * windows (sim_replay.h).  Single-threaded on purpose: every cache sees
 * request i before any cache sees request i+1, so window boundaries are
 * the same for all of them.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sim_replay.h"

struct replay {
    sim_cache *const *caches;
    size_t n;
    const struct sim_replay_opts *o;
    FILE *out;
    struct sim_metrics *prev;   /* metrics at the window's start */
    uint64_t t0;                /* first request's time */
    uint64_t wstart_us, wstart_req, windex, wreqs;
    int warm, started;
};

int sim_span_parse(const char *s, struct sim_span *sp)
{
    static const struct { const char *suffix; double us; } units[] = {
        {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6}, {"d", 86400e6},
    };
    char *end;
    if (!*s || *s == '-' || *s == '+')
        return SIM_EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0)
        return SIM_EINVAL;
    if (!*end) {
        if (v != floor(v) || strchr(s, '.') || strchr(s, 'e') || v > 1e18)
            return SIM_EINVAL;
        sp->unit = SIM_SPAN_REQUESTS;
        sp->n = (uint64_t)v;
        return 0;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].suffix) == 0 && v * units[i].us < 1.8e19) {
            sp->unit = SIM_SPAN_MICROS;
            sp->n = (uint64_t)llround(v * units[i].us);
            return 0;
        }
    return SIM_EINVAL;
}

static void header(FILE *f)
{
    fputs("window,start_s,start_request,policy,params,cache_size,requests,hits,hit_ratio,"
          "bytes,byte_hit_ratio,evictions,expirations,occupancy\n", f);
}

static void row(struct replay *rp, size_t i)
{
    struct sim_metrics m, *p = &rp->prev[i];
    sim_cache_metrics(rp->caches[i], &m);
    uint64_t req = m.requests - p->requests, hits = m.hits - p->hits;
    uint64_t bytes = m.bytes - p->bytes, missed = m.bytes_missed - p->bytes_missed;
    FILE *f = rp->out;
    fprintf(f, "%llu,%.6f,%llu,%s,", (unsigned long long)rp->windex,
            (double)rp->wstart_us / 1e6, (unsigned long long)rp->wstart_req,
            sim_cache_policy(rp->caches[i])->name);
    sim_csv_quote(f, sim_cache_params(rp->caches[i]));
    fprintf(f, ",%llu,%llu,%llu,%.17g,%llu,%.17g,%llu,%llu,",
            (unsigned long long)sim_cache_capacity(rp->caches[i]), (unsigned long long)req,
            (unsigned long long)hits, req ? (double)hits / (double)req : 0.0,
            (unsigned long long)bytes,
            bytes ? (double)(bytes - missed) / (double)bytes : 0.0,
            (unsigned long long)(m.evictions - p->evictions),
            (unsigned long long)(m.expirations - p->expirations));
    int64_t used = sim_cache_used(rp->caches[i]);
    if (used >= 0)
        fprintf(f, "%.17g", (double)used / (double)sim_cache_capacity(rp->caches[i]));
    fputc('\n', f);
    *p = m;
}

static void emit(struct replay *rp)
{
    if (rp->wreqs)
        for (size_t i = 0; i < rp->n; i++)
            row(rp, i);
    rp->wreqs = 0;
}

/* Starts measuring at request q (end of the warm-up). */
static void start(struct replay *rp, const struct sim_req *q, uint64_t rel)
{
    for (size_t i = 0; i < rp->n; i++) {
        if (rp->warm)
            sim_cache_reset_metrics(rp->caches[i]);
        sim_cache_metrics(rp->caches[i], &rp->prev[i]);
    }
    rp->started = 1;
    rp->wstart_us = rel;
    rp->wstart_req = q->index;
}

/* Closes windows that request q (at relative time rel) is past. */
static void advance(struct replay *rp, const struct sim_req *q, uint64_t rel)
{
    const struct sim_span *w = &rp->o->window;
    if (!w->n)
        return;
    if (w->unit == SIM_SPAN_REQUESTS) {
        if (rp->wreqs == w->n) {
            emit(rp);
            rp->windex++;
            rp->wstart_req = q->index;
            rp->wstart_us = rel;
        }
        return;
    }
    if (rel < rp->wstart_us + w->n)
        return;
    emit(rp);
    uint64_t skip = (rel - rp->wstart_us) / w->n;
    rp->windex += skip;
    rp->wstart_us += skip * w->n;
    rp->wstart_req = q->index;
}

static int in_warmup(const struct replay *rp, const struct sim_req *q, uint64_t rel)
{
    const struct sim_span *w = &rp->o->warmup;
    return w->unit == SIM_SPAN_REQUESTS ? q->index < w->n : rel < w->n;
}

int sim_replay(sim_reader *r, sim_cache *const *caches, size_t n,
               const struct sim_replay_opts *o, FILE *out, char *err, size_t errlen)
{
    struct replay rp = {caches, n, o, out, NULL, 0, 0, 0, 0, 0, 0, 0};
    rp.prev = calloc(n ? n : 1, sizeof *rp.prev);
    if (!rp.prev) {
        snprintf(err, errlen, "out of memory");
        return SIM_ENOMEM;
    }
    header(out);
    struct sim_req q;
    int rc;
    uint64_t count = 0;
    while ((rc = sim_reader_next(r, &q, err, errlen)) == 1) {
        if (count++ == 0)
            rp.t0 = q.time;
        uint64_t rel = q.time > rp.t0 ? q.time - rp.t0 : 0;
        if (!rp.started) {
            if (in_warmup(&rp, &q, rel)) {
                rp.warm = 1;
                for (size_t i = 0; i < n; i++)
                    sim_cache_access(caches[i], &q, NULL);
                continue;
            }
            start(&rp, &q, rel);
        }
        advance(&rp, &q, rel);
        for (size_t i = 0; i < n; i++)
            sim_cache_access(caches[i], &q, NULL);
        rp.wreqs++;
    }
    if (rc == 0)
        emit(&rp);
    free(rp.prev);
    if (rc == 0 && ferror(out)) {
        snprintf(err, errlen, "write error");
        return SIM_EIO;
    }
    return rc < 0 ? rc : 0;
}
