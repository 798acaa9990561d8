/*
 * cache.c - a cache: one policy instance plus the metrics libsim keeps for
 * it.  The policy decides; this file counts, so that every policy is
 * measured the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "sim_replay.h"

struct sim_cache_s {
    const struct sim_policy_ops *ops;
    void *state;
    sim_params *params;
    uint64_t capacity;
    enum sim_unit unit;
    size_t nextra;
    struct sim_metrics m;
};

/* Splits "name:params" and finds the policy. */
static const struct sim_policy_ops *find_policy(const char *spec, const char **params,
                                                char *err, size_t errlen)
{
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    char name[64];
    if (len == 0 || len >= sizeof name) {
        snprintf(err, errlen, "'%s': not a policy name", spec);
        return NULL;
    }
    memcpy(name, spec, len);
    name[len] = 0;
    const struct sim_policy_ops *ops = sim_policy_find(name);
    if (!ops) {
        snprintf(err, errlen, "unknown policy '%s' (see --list-policies)", name);
        return NULL;
    }
    *params = colon ? colon + 1 : "";
    return ops;
}

/* Joins the spec's parameters and cfg->params with a comma. */
static char *join_params(const char *a, const char *b)
{
    size_t la = strlen(a), lb = b ? strlen(b) : 0;
    char *s = malloc(la + lb + 2);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    size_t n = la;
    if (la && lb)
        s[n++] = ',';
    if (lb)
        memcpy(s + n, b, lb);
    s[n + lb] = 0;
    return s;
}

sim_cache *sim_cache_create(const char *spec, const struct sim_cache_config *cfg,
                            char *err, size_t errlen)
{
    const char *ptext;
    const struct sim_policy_ops *ops = find_policy(spec, &ptext, err, errlen);
    if (!ops)
        return NULL;
    if (cfg->capacity == 0) {
        snprintf(err, errlen, "%s: cache size must be greater than 0", ops->name);
        return NULL;
    }
    /* next_access is never missing: sim_run() computes it in a first pass
     * when the trace lacks it. */
    uint32_t missing = ops->needs & ~(cfg->fields | SIM_F_NEXT);
    if (missing) {
        uint32_t bit = missing & -missing;
        snprintf(err, errlen, "%s: the trace has no '%s' field, which this policy needs",
                 ops->name, sim_field_name(bit));
        return NULL;
    }
    sim_cache *c = calloc(1, sizeof *c);
    char *all = join_params(ptext, cfg->params);
    if (!c || !all) {
        free(c);
        free(all);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->ops = ops;
    c->capacity = cfg->capacity;
    c->unit = cfg->unit;
    c->params = sim_params_parse(ops->name, ops->params, all, err, errlen);
    free(all);
    if (!c->params) {
        free(c);
        return NULL;
    }
    c->state = ops->create(cfg, c->params, err, errlen);
    if (!c->state) {
        sim_params_free(c->params);
        free(c);
        return NULL;
    }
    while (ops->columns && ops->columns[c->nextra])
        c->nextra++;
    return c;
}

void sim_cache_free(sim_cache *c)
{
    if (!c)
        return;
    c->ops->destroy(c->state);
    sim_params_free(c->params);
    free(c);
}

void sim_cache_access(sim_cache *c, const struct sim_req *req, struct sim_outcome *out)
{
    struct sim_outcome local;
    if (!out)
        out = &local;
    memset(out, 0, sizeof *out);
    c->ops->access(c->state, req, out);
    struct sim_metrics *m = &c->m;
    m->evictions += out->evictions;
    m->expirations += out->expirations;
    if (out->uncounted)
        return;
    m->requests++;
    m->bytes += req->size;
    if (out->hit) {
        m->hits++;
        m->false_hits += out->false_hit;
    } else {
        m->misses++;
        m->bytes_missed += req->size;
        m->false_misses += out->false_miss;
    }
}

void sim_cache_reset_metrics(sim_cache *c)
{
    double seconds = c->m.seconds;
    memset(&c->m, 0, sizeof c->m);
    c->m.seconds = seconds;
    if (c->ops->reset)
        c->ops->reset(c->state);
}

/* The run loop adds the time it spent in this cache. */
void sim__cache_add_seconds(sim_cache *c, double s) { c->m.seconds += s; }
void *sim__cache_state(sim_cache *c) { return c->state; }

void sim_cache_metrics(const sim_cache *c, struct sim_metrics *m) { *m = c->m; }

const char *const *sim_cache_extra_names(const sim_cache *c)
{
    static const char *const none[] = {NULL};
    return c->ops->columns ? c->ops->columns : none;
}

size_t sim_cache_extra_count(const sim_cache *c) { return c->nextra; }

void sim_cache_extra_values(const sim_cache *c, double *values)
{
    if (c->ops->values)
        c->ops->values(c->state, values);
    else
        for (size_t i = 0; i < c->nextra; i++)
            values[i] = 0;
}

const struct sim_policy_ops *sim_cache_policy(const sim_cache *c) { return c->ops; }
const char *sim_cache_params(const sim_cache *c) { return sim_params_canonical(c->params); }
uint64_t sim_cache_capacity(const sim_cache *c) { return c->capacity; }
enum sim_unit sim_cache_unit(const sim_cache *c) { return c->unit; }

int sim_cache_check(sim_cache *c, char *err, size_t errlen)
{
    return c->ops->check ? c->ops->check(c->state, err, errlen) : 0;
}

/* Declared in sim_replay.h: the policy's occupancy, when it reports one. */
int64_t sim_cache_used(const sim_cache *c)
{
    return c->ops->used ? (int64_t)c->ops->used(c->state) : -1;
}
