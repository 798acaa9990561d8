/*
 * params.c - typed policy parameters: "k=v,k=v" checked against a policy's
 * declarations (name, type, default, bounds, choices).
 *
 * Every number goes through strtoll/strtod with an end-pointer check, so
 * "0.5x" or "" is an error that names the key, never a silent 0 (unlike
 * atoi).  Values are kept as text too, to print the canonical string.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_policy.h"

struct pval {
    const struct sim_param_def *def;
    int set;            /* given by the user */
    int64_t i;
    double r;
    char *s;
};

struct sim_params_s {
    size_t n;
    struct pval *v;
    char *canonical;
};

void sim_params_free(sim_params *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].s);
    free(p->v);
    free(p->canonical);
    free(p);
}

static int word_in(const char *choices, const char *w)
{
    size_t n = strlen(w);
    const char *c = choices;
    while (*c) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && strncasecmp(c, w, n) == 0)
            return 1;
        c += len + (bar ? 1 : 0);
    }
    return 0;
}

/* Parses `text` into v according to its declaration. */
static int set_value(const char *owner, struct pval *v, const char *text, char *err,
                     size_t errlen)
{
    const struct sim_param_def *d = v->def;
    char *end;
    free(v->s);
    v->s = strdup(text);
    if (!v->s) {
        snprintf(err, errlen, "out of memory");
        return SIM_ENOMEM;
    }
    switch (d->type) {
    case SIM_P_INT:
        errno = 0;
        v->i = strtoll(text, &end, 10);
        if (!*text || *end || errno) {
            snprintf(err, errlen, "%s: parameter '%s': '%s' is not an integer", owner,
                     d->name, text);
            return SIM_EINVAL;
        }
        if ((double)v->i < d->min || (double)v->i > d->max) {
            snprintf(err, errlen, "%s: parameter '%s': %s is outside [%.15g, %.15g]",
                     owner, d->name, text, d->min, d->max);
            return SIM_EINVAL;
        }
        v->r = (double)v->i;
        return 0;
    case SIM_P_REAL:
        errno = 0;
        v->r = strtod(text, &end);
        if (!*text || *end || errno || !isfinite(v->r)) {
            snprintf(err, errlen, "%s: parameter '%s': '%s' is not a number", owner,
                     d->name, text);
            return SIM_EINVAL;
        }
        if (v->r < d->min || v->r > d->max) {
            snprintf(err, errlen, "%s: parameter '%s': %s is outside [%.15g, %.15g]",
                     owner, d->name, text, d->min, d->max);
            return SIM_EINVAL;
        }
        return 0;
    case SIM_P_BOOL:
        if (!strcasecmp(text, "1") || !strcasecmp(text, "true") || !strcasecmp(text, "yes")
            || !strcasecmp(text, "on"))
            v->i = 1;
        else if (!strcasecmp(text, "0") || !strcasecmp(text, "false")
                 || !strcasecmp(text, "no") || !strcasecmp(text, "off"))
            v->i = 0;
        else {
            snprintf(err, errlen, "%s: parameter '%s': '%s' is not a boolean", owner,
                     d->name, text);
            return SIM_EINVAL;
        }
        return 0;
    case SIM_P_ENUM:
        if (!word_in(d->choices, text)) {
            snprintf(err, errlen, "%s: parameter '%s': '%s' is not one of %s", owner,
                     d->name, text, d->choices);
            return SIM_EINVAL;
        }
        for (char *c = v->s; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        return 0;
    case SIM_P_STR:
        return 0;
    }
    snprintf(err, errlen, "%s: parameter '%s' has an unknown type", owner, d->name);
    return SIM_EINVAL;
}

static struct pval *lookup(const sim_params *p, const char *name, size_t len)
{
    for (size_t i = 0; i < p->n; i++)
        if (strlen(p->v[i].def->name) == len && !strncasecmp(p->v[i].def->name, name, len))
            return &p->v[i];
    return NULL;
}

static int build_canonical(sim_params *p)
{
    size_t len = 1;
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].set)
            len += strlen(p->v[i].def->name) + strlen(p->v[i].s) + 2;
    p->canonical = malloc(len);
    if (!p->canonical)
        return SIM_ENOMEM;
    char *o = p->canonical;
    *o = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (!p->v[i].set)
            continue;
        if (o != p->canonical)
            *o++ = ',';
        o += sprintf(o, "%s=%s", p->v[i].def->name, p->v[i].s);
    }
    return 0;
}

/* Splits the spec at commas and sets each key. */
static int parse_spec(const char *owner, sim_params *p, const char *spec, char *err,
                      size_t errlen)
{
    const char *c = spec;
    while (c && *c) {
        const char *comma = strchr(c, ',');
        size_t len = comma ? (size_t)(comma - c) : strlen(c);
        const char *eq = memchr(c, '=', len);
        if (!eq) {
            snprintf(err, errlen, "%s: parameter '%.*s' has no value (write key=value)",
                     owner, (int)len, c);
            return SIM_EINVAL;
        }
        struct pval *v = lookup(p, c, (size_t)(eq - c));
        if (!v) {
            snprintf(err, errlen, "%s: unknown parameter '%.*s'", owner, (int)(eq - c), c);
            return SIM_ENOTFOUND;
        }
        if (v->set) {
            snprintf(err, errlen, "%s: parameter '%s' given twice", owner, v->def->name);
            return SIM_EINVAL;
        }
        char text[256];
        size_t vlen = len - (size_t)(eq - c) - 1;
        if (vlen >= sizeof text) {
            snprintf(err, errlen, "%s: parameter '%s': value too long", owner, v->def->name);
            return SIM_EINVAL;
        }
        memcpy(text, eq + 1, vlen);
        text[vlen] = 0;
        int rc = set_value(owner, v, text, err, errlen);
        if (rc)
            return rc;
        v->set = 1;
        c = comma ? comma + 1 : NULL;
    }
    return 0;
}

sim_params *sim_params_parse(const char *owner, const struct sim_param_def *defs,
                             const char *spec, char *err, size_t errlen)
{
    sim_params *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    while (defs && defs[p->n].name)
        p->n++;
    p->v = calloc(p->n ? p->n : 1, sizeof *p->v);
    if (!p->v) {
        snprintf(err, errlen, "out of memory");
        sim_params_free(p);
        return NULL;
    }
    for (size_t i = 0; i < p->n; i++) {
        p->v[i].def = &defs[i];
        if (set_value(owner, &p->v[i], defs[i].def ? defs[i].def : "", err, errlen)) {
            sim_params_free(p);
            return NULL;
        }
    }
    if (parse_spec(owner, p, spec, err, errlen)) {
        sim_params_free(p);
        return NULL;
    }
    if (build_canonical(p)) {
        snprintf(err, errlen, "out of memory");
        sim_params_free(p);
        return NULL;
    }
    return p;
}

static const struct pval *get(const sim_params *p, const char *name)
{
    const struct pval *v = lookup(p, name, strlen(name));
    assert(v && "parameter not declared");
    return v;
}

int64_t sim_params_int(const sim_params *p, const char *name)
{
    const struct pval *v = get(p, name);
    return v ? v->i : 0;
}

double sim_params_real(const sim_params *p, const char *name)
{
    const struct pval *v = get(p, name);
    return v ? v->r : 0;
}

int sim_params_bool(const sim_params *p, const char *name)
{
    const struct pval *v = get(p, name);
    return v ? (int)v->i : 0;
}

const char *sim_params_str(const sim_params *p, const char *name)
{
    const struct pval *v = get(p, name);
    return v ? v->s : "";
}

const char *sim_params_canonical(const sim_params *p) { return p->canonical; }
