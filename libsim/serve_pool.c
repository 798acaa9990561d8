/*
 * serve_pool.c - model pools for the serving simulation: the INI-style
 * config of sim_modelpool_load() (format in sim_serve.h).
 *
 * Every error names the file, the line and the field.  Fields are checked
 * for range when read and for presence when a [model] section ends, so a
 * missing field points at the section's header line.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_serve.h"

struct sim_modelpool_s {
    struct sim_model m[SIM_SERVE_MAX_MODELS];
    unsigned n;
    char cats[SIM_SERVE_MAX_CATS][32];
    unsigned ncats;
};

/* Fields a [model] section must set, as bits. */
enum {
    F_REPLICAS = 1, F_BATCH = 2, F_PREFILL = 4, F_DECODE = 8, F_TPS = 16, F_COST_IN = 32,
    F_COST_OUT = 64, F_QUALITY = 128, F_ALL = 255
};
static const char *const required[] = {"replicas", "batch", "prefill_ms_per_token",
                                       "decode_ms_per_token", "tokens_per_s",
                                       "cost_in_per_mtok", "cost_out_per_mtok", "quality"};

struct parse {
    const char *path;
    unsigned line;
    char *err;
    size_t errlen;
    sim_modelpool *p;
    struct sim_model *cur;
    unsigned cur_line;
    unsigned seen;
};

static int fail(struct parse *ps, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct parse *ps, unsigned line, const char *fmt, ...)
{
    int n = snprintf(ps->err, ps->errlen, "%s:%u: ", ps->path, line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < ps->errlen)
        vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return SIM_EINVAL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

static int number(struct parse *ps, const char *key, const char *val, double lo, double hi,
                  double *out)
{
    char *end;
    errno = 0;
    double x = strtod(val, &end);
    if (!*val || *end || errno || !isfinite(x))
        return fail(ps, ps->line, "%s: '%s' is not a number", key, val);
    if (x < lo || x > hi)
        return fail(ps, ps->line, "%s: %s is outside [%g, %g]", key, val, lo, hi);
    *out = x;
    return 0;
}

static int end_model(struct parse *ps)
{
    if (!ps->cur)
        return 0;
    for (unsigned i = 0; i < 8; i++)
        if (!(ps->seen & (1u << i)))
            return fail(ps, ps->cur_line, "model '%s': missing field '%s'", ps->cur->name,
                        required[i]);
    struct sim_model *m = ps->cur;
    if (m->tokens_per_s * m->decode_s < 1 - 1e-9)
        return fail(ps, ps->cur_line,
                    "model '%s': tokens_per_s %g is below one request's decode rate %g",
                    m->name, m->tokens_per_s, 1 / m->decode_s);
    ps->cur = NULL;
    return 0;
}

static int category_id(const sim_modelpool *p, const char *name)
{
    for (unsigned i = 0; i < p->ncats; i++)
        if (p->cats[i][0] == name[0] && !strcmp(p->cats[i], name)) /* per request */
            return (int)i;
    return SIM_ENOTFOUND;
}

static int set_categories(struct parse *ps, char *val)
{
    if (ps->p->n)
        return fail(ps, ps->line, "categories: must come before the first [model]");
    ps->p->ncats = 0;
    for (char *t = strtok(val, " \t,"); t; t = strtok(NULL, " \t,")) {
        if (ps->p->ncats == SIM_SERVE_MAX_CATS)
            return fail(ps, ps->line, "categories: more than %d", SIM_SERVE_MAX_CATS);
        if (strlen(t) >= sizeof ps->p->cats[0])
            return fail(ps, ps->line, "categories: name '%s' too long", t);
        if (category_id(ps->p, t) >= 0)
            return fail(ps, ps->line, "categories: '%s' listed twice", t);
        strcpy(ps->p->cats[ps->p->ncats++], t);
    }
    if (!ps->p->ncats)
        return fail(ps, ps->line, "categories: empty list");
    return 0;
}

/* One "key = value" inside a [model] section. */
static int model_field(struct parse *ps, const char *key, const char *val)
{
    struct sim_model *m = ps->cur;
    double x;
    int rc;
    if (!strncmp(key, "quality.", 8)) {
        int c = category_id(ps->p, key + 8);
        if (c < 0)
            return fail(ps, ps->line, "%s: unknown category '%s' (declare it in [pool] "
                        "categories)", key, key + 8);
        if ((rc = number(ps, key, val, 0, 1, &x)))
            return rc;
        if (!(ps->seen & F_QUALITY))
            return fail(ps, ps->line, "%s: set 'quality' (all categories) first", key);
        m->quality[c] = x;
        return 0;
    }
    static const struct { const char *name; unsigned bit; double lo, hi; } f[] = {
        {"replicas", F_REPLICAS, 1, 1e6}, {"batch", F_BATCH, 1, 1e6},
        {"prefill_ms_per_token", F_PREFILL, 0, 1e6}, {"decode_ms_per_token", F_DECODE, 1e-6, 1e6},
        {"tokens_per_s", F_TPS, 1e-6, 1e12}, {"cost_in_per_mtok", F_COST_IN, 0, 1e12},
        {"cost_out_per_mtok", F_COST_OUT, 0, 1e12}, {"quality", F_QUALITY, 0, 1},
        {"difficulty_slope", 0, 0, 2}, {"example_gain", 0, 0, 1}, {"example_scale", 0, 1e-6, 1e6},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (strcmp(key, f[i].name))
            continue;
        if ((rc = number(ps, key, val, f[i].lo, f[i].hi, &x)))
            return rc;
        ps->seen |= f[i].bit;
        switch (i) {
        case 0:
        case 1:
            if (x != floor(x))
                return fail(ps, ps->line, "%s: '%s' is not a whole number", key, val);
            if (i == 0)
                m->replicas = (unsigned)x;
            else
                m->batch = (unsigned)x;
            break;
        case 2: m->prefill_s = x / 1000; break;
        case 3: m->decode_s = x / 1000; break;
        case 4: m->tokens_per_s = x; break;
        case 5: m->cost_in = x / 1e6; break;
        case 6: m->cost_out = x / 1e6; break;
        case 7:
            for (unsigned c = 0; c < SIM_SERVE_MAX_CATS; c++)
                m->quality[c] = x;
            break;
        case 8: m->difficulty_slope = x; break;
        case 9: m->example_gain = x; break;
        case 10: m->example_scale = x; break;
        }
        return 0;
    }
    return fail(ps, ps->line, "unknown field '%s'", key);
}

static int section(struct parse *ps, char *s)
{
    int rc = end_model(ps);
    if (rc)
        return rc;
    char *close = strchr(s, ']');
    if (!close || close[1])
        return fail(ps, ps->line, "section: expected [pool] or [model NAME]");
    *close = 0;
    char *name = trim(s + 1);
    if (!strcmp(name, "pool"))
        return 0;
    if (strncmp(name, "model", 5) || !isspace((unsigned char)name[5]))
        return fail(ps, ps->line, "section: unknown section '[%s]'", name);
    name = trim(name + 5);
    if (!*name || strlen(name) >= sizeof ps->cur->name)
        return fail(ps, ps->line, "section: bad model name '%s'", name);
    if (ps->p->n == SIM_SERVE_MAX_MODELS)
        return fail(ps, ps->line, "section: more than %d models", SIM_SERVE_MAX_MODELS);
    for (unsigned i = 0; i < ps->p->n; i++)
        if (!strcmp(ps->p->m[i].name, name))
            return fail(ps, ps->line, "section: model '%s' defined twice", name);
    ps->cur = &ps->p->m[ps->p->n++];
    memset(ps->cur, 0, sizeof *ps->cur);
    strcpy(ps->cur->name, name);
    ps->cur->example_scale = 1;
    ps->cur_line = ps->line;
    ps->seen = 0;
    return 0;
}

static int line(struct parse *ps, char *s)
{
    char *hash = strchr(s, '#');
    if (hash)
        *hash = 0;
    s = trim(s);
    if (!*s)
        return 0;
    if (*s == '[')
        return section(ps, s);
    char *eq = strchr(s, '=');
    if (!eq)
        return fail(ps, ps->line, "expected 'field = value'");
    *eq = 0;
    char *key = trim(s), *val = trim(eq + 1);
    if (!ps->cur) {
        if (!strcmp(key, "categories"))
            return set_categories(ps, val);
        return fail(ps, ps->line, "unknown field '%s' outside a [model] section", key);
    }
    return model_field(ps, key, val);
}

sim_modelpool *sim_modelpool_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct parse ps = {path, 0, err, errlen, calloc(1, sizeof(sim_modelpool)), NULL, 0, 0};
    if (!ps.p) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    strcpy(ps.p->cats[0], "all");
    ps.p->ncats = 1;
    char buf[4096];
    int rc = 0;
    while (!rc && fgets(buf, sizeof buf, f)) {
        ps.line++;
        if (!strchr(buf, '\n') && !feof(f))
            rc = fail(&ps, ps.line, "line too long");
        else
            rc = line(&ps, buf);
    }
    if (!rc)
        rc = end_model(&ps);
    if (!rc && ps.p->n == 0)
        rc = fail(&ps, ps.line, "no [model] section");
    fclose(f);
    if (rc) {
        free(ps.p);
        return NULL;
    }
    return ps.p;
}

void sim_modelpool_free(sim_modelpool *p) { free(p); }
unsigned sim_modelpool_count(const sim_modelpool *p) { return p->n; }
const struct sim_model *sim_modelpool_model(const sim_modelpool *p, unsigned i)
{
    return i < p->n ? &p->m[i] : NULL;
}
unsigned sim_modelpool_ncategories(const sim_modelpool *p) { return p->ncats; }

int sim_modelpool_category(const sim_modelpool *p, const char *name)
{
    if (p->ncats == 1 && !strcmp(p->cats[0], "all"))
        return 0;
    return name ? category_id(p, name) : SIM_ENOTFOUND;
}

unsigned sim_modelpool_largest(const sim_modelpool *p)
{
    unsigned best = 0;
    double bestq = -1;
    for (unsigned i = 0; i < p->n; i++) {
        double q = 0;
        for (unsigned c = 0; c < p->ncats; c++)
            q += p->m[i].quality[c];
        if (q > bestq + 1e-12) {
            bestq = q;
            best = i;
        }
    }
    return best;
}
