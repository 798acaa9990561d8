/*
 * rl_export.c - training data for learned eviction: one CSV row per
 * candidate per eviction decision, with a reward label that needs the
 * future.
 *
 * The label of a candidate at a decision at time t is 1 when its key is
 * requested again while the object would still be valid: before its TTL
 * expiry, or, without TTL, within the horizon (next - t <= horizon).  It
 * is found with a first pass: the trace is read once, keys and times kept
 * (16 bytes a request), and a backward scan gives every request the time
 * of the next request for the same key (8 bytes a request are kept).  The
 * second pass replays the trace through the candidate engine; each object
 * remembers the "next time" of its latest request (the engine's aux value),
 * which is exactly the time of its next request after the decision.
 */
#include <stdlib.h>
#include <string.h>

#include "rl_internal.h"
#include "u64map.h"

#define NEVER UINT64_MAX

/* Where requests come from: a reader, or an array in memory. */
struct source {
    int (*next)(void *arg, struct sim_req *q, char *err, size_t errlen);
    int (*rewind)(void *arg, char *err, size_t errlen);
    void *arg;
};

struct array {
    const struct sim_req *v;
    size_t n, pos;
};

static int reader_next(void *arg, struct sim_req *q, char *err, size_t errlen)
{
    return sim_reader_next(arg, q, err, errlen);
}

static int reader_rewind(void *arg, char *err, size_t errlen)
{
    return sim_reader_rewind(arg, err, errlen);
}

static int array_next(void *arg, struct sim_req *q, char *err, size_t errlen)
{
    struct array *a = arg;
    (void)err, (void)errlen;
    if (a->pos == a->n)
        return 0;
    *q = a->v[a->pos];
    q->index = a->pos++;
    return 1;
}

static int array_rewind(void *arg, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    ((struct array *)arg)->pos = 0;
    return 0;
}

struct export {
    FILE *out;
    uint64_t horizon_us;
    int64_t decisions;
};

/* Pass 1: next_time[i] = time of the next request for request i's key. */
static int next_times(const struct source *r, uint64_t **next, uint64_t *count, char *err,
                      size_t errlen)
{
    uint64_t cap = 1 << 16, n = 0;
    uint64_t *keys = malloc(cap * sizeof *keys), *times = malloc(cap * sizeof *times);
    struct sim_req q;
    int rc = keys && times ? 0 : SIM_ENOMEM;
    while (!rc && (rc = r->next(r->arg, &q, err, errlen)) == 1) {
        rc = 0;
        if (n == cap) {
            uint64_t *k = realloc(keys, 2 * cap * sizeof *k);
            uint64_t *t = k ? realloc(times, 2 * cap * sizeof *t) : NULL;
            if (k)
                keys = k;
            if (t)
                times = t;
            if (!k || !t) {
                rc = SIM_ENOMEM;
                break;
            }
            cap *= 2;
        }
        keys[n] = q.key;
        times[n++] = q.time;
    }
    struct u64map last = {0};
    if (!rc && u64map_init(&last, 1 << 12))
        rc = SIM_ENOMEM;
    /* Backward: keys[i] is replaced by the next time of its key. */
    for (uint64_t i = n; !rc && i-- > 0;) {
        int fresh;
        uint64_t *v = u64map_upsert(&last, keys[i], NEVER, &fresh);
        if (!v) {
            rc = SIM_ENOMEM;
            break;
        }
        keys[i] = *v;
        *v = times[i];
    }
    u64map_free(&last);
    free(times);
    if (rc) {
        free(keys);
        if (rc == SIM_ENOMEM)
            snprintf(err, errlen, "out of memory reading the trace ahead");
        return rc;
    }
    *next = keys;
    *count = n;
    return 0;
}

static int label(const struct sim_rl_facts *f, uint64_t next, uint64_t now, uint64_t horizon)
{
    if (next == NEVER)
        return 0;
    if (f->expire_s)
        return next < (uint64_t)f->expire_s * 1000000u;
    return next - now <= horizon;
}

static void on_decision(void *arg, uint64_t now_us, unsigned n, const float *x,
                        const struct sim_rl_facts *facts, const uint64_t *aux,
                        const uint8_t *evicted)
{
    struct export *ex = arg;
    for (unsigned i = 0; i < n; i++) {
        const float *v = x + i * SIM_RL_NFEAT;
        fprintf(ex->out, "%lld,%.6f", (long long)ex->decisions, (double)now_us / 1e6);
        for (unsigned f = 0; f < SIM_RL_NFEAT; f++)
            fprintf(ex->out, ",%.9g", v[f]);
        fprintf(ex->out, ",%d,%d\n", evicted[i],
                label(&facts[i], aux[i], now_us, ex->horizon_us));
    }
    ex->decisions++;
}

static void export_header(FILE *f)
{
    fprintf(f, "# units: decision=id time_s=s");
    for (unsigned i = 0; i < SIM_RL_NFEAT; i++)
        fprintf(f, " %s=%s", sim_rl_feature_name(i), sim_rl_feature_unit(i));
    fprintf(f, " evicted=0/1 reward=0/1; ttl_left_s=-1: no TTL\n");
    fprintf(f, "decision,time_s");
    for (unsigned i = 0; i < SIM_RL_NFEAT; i++)
        fprintf(f, ",%s", sim_rl_feature_name(i));
    fprintf(f, ",evicted,reward\n");
}

static int64_t export_from(const struct source *r, const struct sim_rl_export_opts *o,
                           FILE *out, char *err, size_t errlen)
{
    uint64_t *next = NULL, count = 0;
    int rc = next_times(r, &next, &count, err, errlen);
    if (!rc)
        rc = r->rewind(r->arg, err, errlen);
    if (rc) {
        free(next);
        return rc;
    }
    struct export ex = {out, o->horizon_us, 0};
    struct sim_cache_config cfg = {o->capacity, o->unit, o->seed, ~0u, NULL};
    struct sim_rlc_opts ro = {o->k, o->candidates, 0, 0, 0, NULL, on_decision, &ex};
    sim_rlc *e = NULL;
    if (o->model && !(ro.model = sim_rl_model_load(o->model, err, errlen))) {
        free(next);
        return SIM_EINVAL;
    }
    e = sim__rlc_create(&cfg, &ro, err, errlen);
    if (!e) {
        sim_rl_model_free(ro.model);
        free(next);
        return SIM_ENOMEM;
    }
    export_header(out);
    struct sim_req q;
    uint64_t i = 0;
    while ((rc = r->next(r->arg, &q, err, errlen)) == 1) {
        if (o->unit == SIM_UNIT_OBJECTS)
            q.size = 1;
        sim__rlc_set_aux(e, i < count ? next[i] : NEVER);
        i++;
        struct sim_outcome oc;
        memset(&oc, 0, sizeof oc);
        sim__rlc_access(e, &q, &oc);
    }
    sim__rlc_free(e);
    free(next);
    if (rc < 0)
        return rc;
    if (ferror(out)) {
        snprintf(err, errlen, "write error");
        return SIM_EIO;
    }
    return ex.decisions;
}

int64_t sim_rl_export(sim_reader *r, const struct sim_rl_export_opts *o, FILE *out,
                      char *err, size_t errlen)
{
    struct source src = {reader_next, reader_rewind, r};
    int rc = sim_reader_rewind(r, err, errlen);
    if (rc == SIM_EUNSUPPORTED)
        snprintf(err, errlen, "%s: exporting features reads the trace twice, and standard "
                 "input can be read only once", sim_reader_path(r));
    return rc ? rc : export_from(&src, o, out, err, errlen);
}

int64_t sim_rl_export_reqs(const struct sim_req *reqs, size_t n,
                           const struct sim_rl_export_opts *o, FILE *out, char *err,
                           size_t errlen)
{
    struct array a = {reqs, n, 0};
    struct source src = {array_next, array_rewind, &a};
    return export_from(&src, o, out, err, errlen);
}
