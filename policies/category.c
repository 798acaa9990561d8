/*
 * category.c - category-aware semantic caching.
 *
 * Mechanism.  A semantic cache (GPTCache style: Fu Bang, "GPTCache: An
 * Open-Source Semantic Cache for LLM Applications", NLP-OSS workshop, 2023)
 * answers a query from the cache when a cached query's embedding is at
 * least `threshold` similar.  One global threshold is a poor fit for mixed
 * traffic: in a dense category (many distinct questions close together,
 * e.g. code) it causes false hits, in a sparse one (e.g. small talk) it
 * wastes hits.  This policy gives each category its own threshold, TTL and
 * capacity quota, read from a config file (param config=PATH; see
 * evalq(1) --write-config and cachesim(1) for the format), with a
 * `default` row for categories not listed.  Per-category rules of this
 * kind are proposed e.g. by Gill et al., "MeanCache" (IPDPS 2025), and
 * in vCache (Schroeder et al., 2025) which learns per-embedding thresholds.
 *
 * Each category has its own vector index (sim_vec.h: flat or HNSW), so a
 * request is only ever answered by an entry of its own category.  Capacity
 * is in entries; eviction is LRU: within the category when it is at its
 * quota (quota x capacity entries), otherwise over the whole cache.
 *
 * Adaptive mode (adaptive=1).  While a category's downstream model is
 * overloaded, its threshold is lowered toward its `floor` and its TTL
 * lengthened up to ttl_boost times, so more of its traffic is served from
 * the cache.  Load comes from the trace's `load` field, else from the
 * category's load_curve in the config (a step function of trace seconds).
 * With load L and the row's `overload` level o < 1, the pressure is
 *   x = clamp((L - o) / (1 - o), 0, 1)      (x = [L > o] when o = 1)
 *   threshold = threshold - x (threshold - floor)
 *   ttl       = ttl (1 + x (ttl_boost - 1))
 *
 * Cost model.  Every lookup costs lookup_ms (an in-memory index: ~2 ms; a
 * remote vector database: ~30 ms); every miss also costs miss_ms (the LLM
 * call).  A hit saves miss_ms, so caching pays when the hit rate exceeds
 * the break-even rate lookup_ms / miss_ms.  A false hit is counted as
 * saved (its cost is wrong answers, reported as false_hits, not time).
 *
 * Deviations: eviction is LRU only; an expired entry is dropped when a
 * search finds it (lazy expiry), so expired entries may hold room until
 * evicted.
 *
 * Invariants (category_check):
 *   1. the global LRU list holds every live entry, each category's list
 *      its own, and count sums agree;
 *   2. each category's index holds exactly its live entries;
 *   3. no category holds more than its quota, the cache no more than its
 *      capacity.
 * check also reports a configuration error met during the run (a
 * category absent from the config with no default row).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_policy.h"
#include "sim_vec.h"
#include "u64map.h"

/*=====   Config   =====*/

struct category_curve {
    double *t, *load; /* seconds, ascending; load from t[i] on */
    size_t n;
};

struct category_rule {
    char *name;
    double threshold, floor, ttl_boost, overload, lookup_ms, miss_ms, quota;
    uint32_t ttl;
    struct category_curve curve;
    /* State. */
    sim_vec *idx;
    struct sim_list lru;
    uint64_t limit;       /* quota in entries */
};

/* The columns a config may have, in any order; category and threshold are
 * required. */
enum { COL_CATEGORY, COL_THRESHOLD, COL_TTL, COL_QUOTA, COL_FLOOR, COL_TTL_BOOST,
       COL_OVERLOAD, COL_LOOKUP, COL_MISS, COL_CURVE, NCOLS };
static const char *const category_colnames[NCOLS] = {
    "category", "threshold", "ttl", "quota", "floor", "ttl_boost", "overload",
    "lookup_ms", "miss_ms", "load_curve"};

/*=====   State   =====*/

struct category_entry {
    uint64_t cls;
    uint32_t expire;      /* trace second; 0 = never */
    uint16_t rule;
    uint8_t live;
    struct sim_link glob, local;
};

struct category {
    struct category_rule *rules;
    unsigned nrules;
    int def;                    /* index of the default rule, or -1 */
    int32_t *map;               /* category id -> rule; -1 unresolved */
    struct category_entry *e;
    uint32_t ne, cap_e;         /* ids handed out, allocated */
    uint32_t *free_ids;
    uint32_t nfree;
    uint64_t count, capacity;
    struct sim_list lru;
    struct u64map classes;      /* class -> live entries of it */
    enum sim_vec_kind kind;
    int adaptive;
    uint64_t seed;
    char error[SIM_ERRLEN];     /* first configuration error met, or "" */
    /* Counters (reset after warm-up). */
    uint64_t requests, hits, true_hits, false_hits, false_misses;
    double cost_total, cost_base, lookup_sum, miss_sum, thr_sum;
};

static const struct sim_param_def category_params[] = {
    {"config", SIM_P_STR, "", 0, 0, NULL, "per-category config file (CSV; required)"},
    {"index", SIM_P_ENUM, "flat", 0, 0, "flat|hnsw", "vector index per category"},
    {"adaptive", SIM_P_BOOL, "0", 0, 1, NULL,
     "lower thresholds and lengthen TTLs of overloaded categories"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static const char *const category_columns[] = {
    "true_hits", "false_hits", "false_misses", "precision", "recall", "f1",
    "false_hit_rate", "cost_total", "cost_saved", "break_even_hit_rate", "mean_threshold",
    NULL};

#define GOFF offsetof(struct category_entry, glob)
#define LOFF offsetof(struct category_entry, local)
#define ES sizeof(struct category_entry)

/*=====   Config parsing   =====*/

static int cfg_error(char *err, size_t errlen, const char *path, unsigned line,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int cfg_error(char *err, size_t errlen, const char *path, unsigned line,
                     const char *fmt, ...)
{
    int n = snprintf(err, errlen, "%s:%u: ", path, line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < errlen)
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return SIM_EINVAL;
}

/* Splits a line in place at commas, honouring "quoted, fields"; returns the
 * field count (at most max) or -1 for an unterminated quote. */
static int split_line(char *s, char **f, int max)
{
    int n = 0;
    for (;;) {
        if (n == max)
            return max + 1;
        char *out = s;
        f[n++] = out;
        if (*s == '"') {
            for (s++;; s++) {
                if (!*s)
                    return -1;
                if (*s == '"' && s[1] == '"')
                    s++;
                else if (*s == '"')
                    break;
                *out++ = *s;
            }
            s++;
        }
        while (*s && *s != ',')
            *out++ = *s++;
        char c = *s;
        *out = 0;
        if (!c)
            return n;
        s++;
    }
}

static int parse_num(const char *s, double lo, double hi, double *v)
{
    char *end;
    if (!*s)
        return -1;
    *v = strtod(s, &end);
    while (*end == ' ')
        end++;
    return (*end || !isfinite(*v) || *v < lo || *v > hi) ? -1 : 0;
}

/* "T:L T:L ..." with T ascending. */
static int parse_curve(char *s, struct category_curve *c)
{
    for (char *tok = strtok(s, " "); tok; tok = strtok(NULL, " ")) {
        char *colon = strchr(tok, ':');
        double t, l;
        if (!colon)
            return -1;
        *colon = 0;
        if (parse_num(tok, 0, 1e12, &t) || parse_num(colon + 1, 0, 1e6, &l))
            return -1;
        if (c->n && t <= c->t[c->n - 1])
            return -1;
        double *x = realloc(c->t, (c->n + 1) * sizeof *x);
        if (!x)
            return -1;
        c->t = x;
        if (!(x = realloc(c->load, (c->n + 1) * sizeof *x)))
            return -1;
        c->load = x;
        c->t[c->n] = t;
        c->load[c->n++] = l;
    }
    return 0;
}

/* One field of a row into the rule; 0 or an error naming the field. */
static int set_field(struct category_rule *r, int col, char *v, const char *path,
                     unsigned line, char *err, size_t errlen)
{
    static const double lo[NCOLS] = {0, -1, 0, 0, -1, 1, 0, 0, 0, 0};
    static const double hi[NCOLS] = {0, 1, 4e9, 1, 1, 1e6, 1e6, 1e12, 1e12, 0};
    double x;
    const char *name = category_colnames[col];
    if (col == COL_CURVE) {
        if (parse_curve(v, &r->curve))
            return cfg_error(err, errlen, path, line,
                             "load_curve: not 'seconds:load ...' with ascending times");
        return 0;
    }
    if (parse_num(v, lo[col], hi[col], &x))
        return cfg_error(err, errlen, path, line, "%s: '%s' is not a number in [%g, %g]",
                         name, v, lo[col], hi[col]);
    switch (col) {
    case COL_THRESHOLD: r->threshold = x; break;
    case COL_TTL: r->ttl = (uint32_t)x; break;
    case COL_QUOTA: r->quota = x; break;
    case COL_FLOOR: r->floor = x; break;
    case COL_TTL_BOOST: r->ttl_boost = x; break;
    case COL_OVERLOAD: r->overload = x; break;
    case COL_LOOKUP: r->lookup_ms = x; break;
    case COL_MISS: r->miss_ms = x; break;
    }
    return 0;
}

/* Reads the header line into cols[i] = column index of field i. */
static int parse_header(char *line, int *cols, int *nf, const char *path, unsigned ln,
                        char *err, size_t errlen)
{
    char *f[NCOLS + 1];
    int n = split_line(line, f, NCOLS), seen[NCOLS] = {0};
    if (n < 0 || n > NCOLS)
        return cfg_error(err, errlen, path, ln, "header: not a list of at most %d columns",
                         NCOLS);
    for (int i = 0; i < n; i++) {
        int c = 0;
        while (c < NCOLS && strcmp(f[i], category_colnames[c]))
            c++;
        if (c == NCOLS)
            return cfg_error(err, errlen, path, ln, "header: unknown column '%s'", f[i]);
        if (seen[c]++)
            return cfg_error(err, errlen, path, ln, "header: column '%s' repeated", f[i]);
        cols[i] = c;
    }
    if (!seen[COL_CATEGORY] || !seen[COL_THRESHOLD])
        return cfg_error(err, errlen, path, ln, "header: needs columns category and threshold");
    *nf = n;
    return 0;
}

static int parse_row(struct category *p, char *line, const int *cols, int nf,
                     const char *path, unsigned lineno, char *err, size_t errlen)
{
    char *f[NCOLS + 1];
    int n = split_line(line, f, NCOLS);
    if (n != nf)
        return cfg_error(err, errlen, path, lineno, "%d fields, the header has %d", n, nf);
    struct category_rule *x = realloc(p->rules, (p->nrules + 1) * sizeof *x);
    if (!x)
        return cfg_error(err, errlen, path, lineno, "out of memory");
    p->rules = x;
    struct category_rule *r = &p->rules[p->nrules];
    memset(r, 0, sizeof *r);
    r->floor = NAN;
    r->ttl_boost = 2;
    r->overload = 0.8;
    r->lookup_ms = 2;
    r->miss_ms = 1000;
    r->quota = 1;
    r->threshold = NAN;
    p->nrules++;
    for (int i = 0; i < n; i++) {
        if (cols[i] == COL_CATEGORY) {
            if (!*f[i])
                return cfg_error(err, errlen, path, lineno, "category: empty name");
            for (unsigned k = 0; k + 1 < p->nrules; k++)
                if (!strcmp(p->rules[k].name, f[i]))
                    return cfg_error(err, errlen, path, lineno, "category: '%s' repeated",
                                     f[i]);
            if (!(r->name = strdup(f[i])))
                return cfg_error(err, errlen, path, lineno, "out of memory");
        } else if (*f[i] && set_field(r, cols[i], f[i], path, lineno, err, errlen))
            return SIM_EINVAL;
    }
    if (isnan(r->threshold))
        return cfg_error(err, errlen, path, lineno, "threshold: missing");
    if (isnan(r->floor))
        r->floor = r->threshold - 0.1 < -1 ? -1 : r->threshold - 0.1;
    if (r->floor > r->threshold)
        return cfg_error(err, errlen, path, lineno, "floor: %g is above the threshold %g",
                         r->floor, r->threshold);
    if (!strcmp(r->name, "default"))
        p->def = (int)p->nrules - 1;
    return 0;
}

static int load_config(struct category *p, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "category: %s: cannot open the config: %s", path,
                 strerror(errno));
        return SIM_EIO;
    }
    char buf[8192];
    int cols[NCOLS], nf = 0, rc = 0, have_header = 0;
    unsigned lineno = 0;
    while (!rc && fgets(buf, sizeof buf, f)) {
        lineno++;
        size_t len = strlen(buf);
        if (len && buf[len - 1] != '\n' && !feof(f))
            rc = cfg_error(err, errlen, path, lineno, "line longer than %zu bytes",
                           sizeof buf - 2);
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = 0;
        if (rc || !len || buf[0] == '#')
            continue;
        if (!have_header) {
            rc = parse_header(buf, cols, &nf, path, lineno, err, errlen);
            have_header = 1;
        } else
            rc = parse_row(p, buf, cols, nf, path, lineno, err, errlen);
    }
    fclose(f);
    if (!rc && !p->nrules)
        rc = cfg_error(err, errlen, path, lineno, "no category rows");
    return rc;
}

/*=====   Entries   =====*/

static struct category_entry *category_ent(struct category *p, uint32_t id)
{
    return &p->e[id];
}

static uint32_t category_alloc(struct category *p)
{
    if (p->nfree)
        return p->free_ids[--p->nfree];
    if (p->ne == p->cap_e) {
        uint32_t n = p->cap_e ? p->cap_e * 2 : 1024;
        struct category_entry *x = realloc(p->e, (size_t)n * sizeof *x);
        if (!x)
            return SIM_KEYMAP_NONE;
        p->e = x;
        uint32_t *y = realloc(p->free_ids, (size_t)n * sizeof *y);
        if (!y)
            return SIM_KEYMAP_NONE;
        p->free_ids = y;
        p->cap_e = n;
    }
    return p->ne++;
}

/* Live entries are counted per (class, category): a false miss is a miss
 * while an entry of the same class is cached in the request's category. */
static uint64_t category_class_key(uint64_t cls, unsigned rule)
{
    return sim_key_hash(cls) ^ ((uint64_t)rule << 48);
}

static void class_add(struct category *p, uint64_t cls, unsigned rule, int delta)
{
    int fresh;
    uint64_t *v = u64map_upsert(&p->classes, category_class_key(cls, rule), 0, &fresh);
    if (v)
        *v += (uint64_t)(int64_t)delta;
}

/* Removes entry id from its lists, its index and the class counts. */
static void category_drop(struct category *p, uint32_t id)
{
    struct category_entry *e = category_ent(p, id);
    struct category_rule *r = &p->rules[e->rule];
    sim_list_unlink(&p->lru, (uint8_t *)p->e, ES, GOFF, id);
    sim_list_unlink(&r->lru, (uint8_t *)p->e, ES, LOFF, id);
    sim_vec_delete(r->idx, id);
    class_add(p, e->cls, e->rule, -1);
    e->live = 0;
    p->free_ids[p->nfree++] = id;
    p->count--;
}

static void category_touch(struct category *p, uint32_t id)
{
    struct category_rule *r = &p->rules[category_ent(p, id)->rule];
    sim_list_unlink(&p->lru, (uint8_t *)p->e, ES, GOFF, id);
    sim_list_push_head(&p->lru, (uint8_t *)p->e, ES, GOFF, id);
    sim_list_unlink(&r->lru, (uint8_t *)p->e, ES, LOFF, id);
    sim_list_push_head(&r->lru, (uint8_t *)p->e, ES, LOFF, id);
}

/*=====   Rules at run time   =====*/

static void category_fail(struct category *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void category_fail(struct category *p, const char *fmt, ...)
{
    if (p->error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error, sizeof p->error, fmt, ap);
    va_end(ap);
}

/* The rule of a request's category, or -1 (error recorded). */
static int category_rule_of(struct category *p, const struct sim_req *req)
{
    if (!(req->present & SIM_F_CATEGORY) || !req->category_name) {
        if (p->def < 0)
            category_fail(p, "category: the trace has no category and the config no "
                          "'default' row");
        return p->def;
    }
    int32_t *m = &p->map[req->category];
    if (*m == -1) {
        *m = p->def;
        for (unsigned i = 0; i < p->nrules; i++)
            if (!strcmp(p->rules[i].name, req->category_name))
                *m = (int32_t)i;
        if (*m < 0)
            category_fail(p, "category: request %llu: category '%s' is not in the config, "
                          "which has no 'default' row", (unsigned long long)req->index,
                          req->category_name);
    }
    return *m;
}

/* Load of a rule at time t (seconds): the curve's last point at or before t. */
static double category_curve_load(const struct category_curve *c, double t)
{
    double l = 0;
    for (size_t i = 0; i < c->n && c->t[i] <= t; i++)
        l = c->load[i];
    return l;
}

/* Effective threshold and TTL under the current load (adaptive mode). */
static void category_effective(const struct category *p, const struct category_rule *r,
                               const struct sim_req *req, double *thr, uint32_t *ttl)
{
    *thr = r->threshold;
    *ttl = r->ttl;
    if (!p->adaptive)
        return;
    double load = (req->present & SIM_F_LOAD) ? req->load
                                              : category_curve_load(&r->curve, req->time / 1e6);
    double x = r->overload < 1 ? (load - r->overload) / (1 - r->overload)
                               : (load > r->overload);
    x = x < 0 ? 0 : x > 1 ? 1 : x;
    *thr = r->threshold - x * (r->threshold - r->floor);
    *ttl = (uint32_t)fmin(4e9, r->ttl * (1 + x * (r->ttl_boost - 1)));
}

static sim_vec *category_index(struct category *p, struct category_rule *r, uint32_t dim)
{
    if (!r->idx) {
        char err[SIM_ERRLEN];
        struct sim_vec_config vc;
        sim_vec_config_init(&vc, p->kind, dim);
        vc.seed = p->seed;
        r->idx = sim_vec_create(&vc, err, sizeof err);
        if (!r->idx)
            category_fail(p, "category: %s", err);
    }
    return r->idx;
}

/*=====   Access   =====*/

/* The most similar live entry of the rule's index, dropping expired ones
 * found on the way.  Returns 1 with *id and *sim, 0 if none, -1 on error. */
static int category_search(struct category *p, sim_vec *idx, const struct sim_req *req,
                           uint64_t *id, float *sim, struct sim_outcome *out)
{
    char err[SIM_ERRLEN];
    uint64_t now = req->time / 1000000;
    for (;;) {
        int got = sim_vec_search(idx, req->emb, req->dim, 1, id, sim, err, sizeof err);
        if (got < 0) {
            category_fail(p, "category: request %llu: %s", (unsigned long long)req->index,
                          err);
            return -1;
        }
        if (got == 0)
            return 0;
        struct category_entry *e = category_ent(p, (uint32_t)*id);
        if (!e->expire || now < e->expire)
            return 1;
        category_drop(p, (uint32_t)*id);
        out->expirations++;
    }
}

static void category_insert(struct category *p, struct category_rule *r, sim_vec *idx,
                            const struct sim_req *req, uint32_t ttl, struct sim_outcome *out)
{
    char err[SIM_ERRLEN];
    if (r->limit == 0)
        return;
    if (r->lru.count >= r->limit) {
        category_drop(p, r->lru.tail);
        out->evictions++;
    } else if (p->count >= p->capacity) {
        category_drop(p, p->lru.tail);
        out->evictions++;
    }
    uint32_t id = category_alloc(p);
    if (id == SIM_KEYMAP_NONE)
        return; /* out of memory: not cached */
    if (sim_vec_insert(idx, id, req->emb, req->dim, err, sizeof err)) {
        category_fail(p, "category: request %llu: %s", (unsigned long long)req->index, err);
        p->free_ids[p->nfree++] = id;
        return;
    }
    struct category_entry *e = category_ent(p, id);
    e->cls = req->cls;
    e->expire = ttl ? (uint32_t)(req->time / 1000000 + ttl) : 0;
    e->rule = (uint16_t)(r - p->rules);
    e->live = 1;
    sim_list_push_head(&p->lru, (uint8_t *)p->e, ES, GOFF, id);
    sim_list_push_head(&r->lru, (uint8_t *)p->e, ES, LOFF, id);
    class_add(p, req->cls, e->rule, 1);
    p->count++;
}

static void category_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct category *p = state;
    if (req->op == SIM_OP_DELETE) {
        out->uncounted = 1;
        return;
    }
    int ri = category_rule_of(p, req);
    if (ri < 0 || p->error[0])
        return; /* a miss; the run fails through category_check */
    struct category_rule *r = &p->rules[ri];
    double thr;
    uint32_t ttl;
    category_effective(p, r, req, &thr, &ttl);
    sim_vec *idx = category_index(p, r, req->dim);
    uint64_t id;
    float sim;
    int found = idx ? category_search(p, idx, req, &id, &sim, out) : -1;
    if (found < 0)
        return;
    p->requests++;
    p->lookup_sum += r->lookup_ms;
    p->miss_sum += r->miss_ms;
    p->thr_sum += thr;
    p->cost_base += r->miss_ms;
    p->cost_total += r->lookup_ms;
    /* Compared in float, as evalq does, so its thresholds mean the same here. */
    if (found && sim >= (float)thr) {
        out->hit = 1;
        p->hits++;
        if (category_ent(p, (uint32_t)id)->cls == req->cls)
            p->true_hits++;
        else {
            out->false_hit = 1;
            p->false_hits++;
        }
        category_touch(p, (uint32_t)id);
        return;
    }
    p->cost_total += r->miss_ms;
    uint64_t *same = u64map_get(&p->classes, category_class_key(req->cls, (unsigned)ri));
    if (same && *same) {
        out->false_miss = 1;
        p->false_misses++;
    }
    category_insert(p, r, idx, req, ttl, out);
}

/*=====   Life cycle, metrics, checks   =====*/

static void category_destroy(void *state)
{
    struct category *p = state;
    if (!p)
        return;
    for (unsigned i = 0; i < p->nrules; i++) {
        free(p->rules[i].name);
        free(p->rules[i].curve.t);
        free(p->rules[i].curve.load);
        sim_vec_free(p->rules[i].idx);
    }
    free(p->rules);
    free(p->map);
    free(p->e);
    free(p->free_ids);
    u64map_free(&p->classes);
    free(p);
}

static void *category_create(const struct sim_cache_config *cfg, const sim_params *params,
                             char *err, size_t errlen)
{
    const char *path = sim_params_str(params, "config");
    if (!path || !*path) {
        snprintf(err, errlen, "category: needs config=PATH (per-category thresholds)");
        return NULL;
    }
    struct category *p = calloc(1, sizeof *p);
    if (!p || !(p->map = malloc(65536 * sizeof *p->map)) || u64map_init(&p->classes, 1024)) {
        snprintf(err, errlen, "category: out of memory");
        category_destroy(p);
        return NULL;
    }
    for (size_t i = 0; i < 65536; i++)
        p->map[i] = -1;
    p->def = -1;
    p->capacity = cfg->capacity;
    p->seed = cfg->seed;
    p->adaptive = sim_params_bool(params, "adaptive");
    p->kind = strcmp(sim_params_str(params, "index"), "hnsw") ? SIM_VEC_FLAT : SIM_VEC_HNSW;
    sim_list_init(&p->lru);
    if (load_config(p, path, err, errlen)) {
        category_destroy(p);
        return NULL;
    }
    for (unsigned i = 0; i < p->nrules; i++) {
        struct category_rule *r = &p->rules[i];
        sim_list_init(&r->lru);
        double lim = floor(r->quota * (double)p->capacity);
        r->limit = r->quota > 0 && lim < 1 ? 1 : (uint64_t)lim;
    }
    return p;
}

static double category_ratio(double a, double b) { return b > 0 ? a / b : 0; }

static void category_values(void *state, double *v)
{
    struct category *p = state;
    double prec = category_ratio((double)p->true_hits, (double)p->hits);
    double rec = category_ratio((double)p->true_hits, (double)(p->true_hits + p->false_misses));
    v[0] = (double)p->true_hits;
    v[1] = (double)p->false_hits;
    v[2] = (double)p->false_misses;
    v[3] = prec;
    v[4] = rec;
    v[5] = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
    v[6] = category_ratio((double)p->false_hits, (double)p->requests);
    v[7] = p->cost_total;
    v[8] = p->cost_base - p->cost_total;
    v[9] = category_ratio(p->lookup_sum, p->miss_sum);
    v[10] = category_ratio(p->thr_sum, (double)p->requests);
}

static void category_reset(void *state)
{
    struct category *p = state;
    p->requests = p->hits = p->true_hits = p->false_hits = p->false_misses = 0;
    p->cost_total = p->cost_base = p->lookup_sum = p->miss_sum = p->thr_sum = 0;
}

static int category_check(void *state, char *err, size_t errlen)
{
    struct category *p = state;
    if (p->error[0]) {
        snprintf(err, errlen, "%s", p->error);
        return SIM_EINVAL;
    }
    uint64_t sum = 0;
    for (unsigned i = 0; i < p->nrules; i++) {
        const struct category_rule *r = &p->rules[i];
        size_t in_idx = r->idx ? sim_vec_size(r->idx) : 0;
        if (r->lru.count > r->limit || in_idx != r->lru.count) {
            snprintf(err, errlen, "category: '%s' holds %llu entries (%zu indexed), quota %llu",
                     r->name, (unsigned long long)r->lru.count, in_idx,
                     (unsigned long long)r->limit);
            return SIM_EINVAL;
        }
        sum += r->lru.count;
    }
    if (sum != p->count || p->lru.count != p->count || p->count > p->capacity) {
        snprintf(err, errlen, "category: %llu entries, lists hold %llu and %llu, capacity %llu",
                 (unsigned long long)p->count, (unsigned long long)sum,
                 (unsigned long long)p->lru.count, (unsigned long long)p->capacity);
        return SIM_EINVAL;
    }
    return 0;
}

const struct sim_policy_ops sim_policy_category = {
    .abi_version = SIM_POLICY_ABI,
    .name = "category",
    .summary = "semantic cache with per-category thresholds, TTLs, quotas and costs",
    .reference = "Fu Bang, GPTCache, NLP-OSS 2023; Gill et al., MeanCache, IPDPS 2025",
    .needs = SIM_F_EMB | SIM_F_CLASS,
    .unit = SIM_UNIT_ENTRIES,
    .params = category_params,
    .columns = category_columns,
    .create = category_create,
    .destroy = category_destroy,
    .access = category_access,
    .values = category_values,
    .reset = category_reset,
    .check = category_check,
};
