/*
 * rl_qtable.c - the qtable v1 format (rltable(5)): parser, checks, writer,
 * and the binning rule.
 *
 * The file is line-oriented text:
 *   # qtable 1                       format and version (first line)
 *   # k 16                           candidates per decision
 *   # candidates lru                 lru | random
 *   # unseen lru                     lru | keep | evict
 *   # feature age_s 4 1,10,100       name, bin count, bin edges (count-1)
 *   ... other "#" lines are comments ...
 *   age_s,...,q_keep,q_evict,visits  header: the features in declared order
 *   0,...,0.25,0.75,120              one row per visited state
 * Numbers are parsed with end-pointer checks; floats with strtof, which
 * rounds correctly, so a file written with 9 significant digits reloads to
 * the same bits (as numpy's float32 parser does).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rl_internal.h"

struct qparse {
    const char *path;
    uint64_t line;
    char *err;
    size_t errlen;
    int have_header;
    size_t cap;
};

static int qerr(struct qparse *p, int code, const char *msg, const char *what)
{
    snprintf(p->err, p->errlen, "%s:%llu: %s%s%s", p->path, (unsigned long long)p->line,
             msg, what ? " " : "", what ? what : "");
    return code;
}

unsigned sim_rl_qtable_bin(const float *e, unsigned n, float v)
{
    /* Binary search for the number of edges <= v; NaN compares false. */
    if (!(v >= e[0]) || n == 0)
        return 0;
    unsigned lo = 1, hi = n; /* answer in [lo, hi] */
    while (lo < hi) {
        unsigned mid = (lo + hi + 1) / 2;
        if (e[mid - 1] <= v)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static int parse_float(const char *s, float *v)
{
    char *end;
    errno = 0;
    *v = strtof(s, &end);
    return end == s || *end || errno == ERANGE || !isfinite(*v) ? -1 : 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return *end || errno ? -1 : 0;
}

/* "# feature NAME BINS E1,E2,..." */
static int meta_feature(struct qparse *p, struct sim_rl_qtable *t, char **save)
{
    char *name = strtok_r(NULL, " \t", save);
    char *bins = strtok_r(NULL, " \t", save);
    char *edges = strtok_r(NULL, " \t", save);
    if (!name || !bins)
        return qerr(p, SIM_EFORMAT, "expected '# feature NAME BINS EDGES'", NULL);
    int f = sim_rl_feature_find(name);
    if (f < 0)
        return qerr(p, SIM_ENOTFOUND, "unknown feature name", name);
    for (unsigned i = 0; i < t->nfeat; i++)
        if (t->feat[i].feature == (unsigned)f)
            return qerr(p, SIM_EFORMAT, "feature declared twice:", name);
    if (t->nfeat == SIM_RL_NFEAT)
        return qerr(p, SIM_EFORMAT, "too many features", NULL);
    uint64_t nb;
    if (parse_u64(bins, &nb) || nb < 1 || nb > 255)
        return qerr(p, SIM_EFORMAT, "bin count must be 1..255, not", bins);
    struct sim_rl_qfeat *q = &t->feat[t->nfeat];
    q->feature = (unsigned)f;
    q->nedges = 0;
    q->edges = malloc(255 * sizeof(float));
    if (!q->edges)
        return qerr(p, SIM_ENOMEM, "out of memory", NULL);
    t->nfeat++;
    char *es;
    for (char *e = edges ? strtok_r(edges, ",", &es) : NULL; e; e = strtok_r(NULL, ",", &es)) {
        if (q->nedges == 254 || parse_float(e, &q->edges[q->nedges]))
            return qerr(p, SIM_EFORMAT, "bad bin edge", e);
        if (q->nedges && !(q->edges[q->nedges] > q->edges[q->nedges - 1])) {
            snprintf(p->err, p->errlen, "%s:%llu: feature %s: edges out of order (%s after %.9g)",
                     p->path, (unsigned long long)p->line, name, e, q->edges[q->nedges - 1]);
            return SIM_EFORMAT;
        }
        q->nedges++;
    }
    if (nb != q->nedges + 1) {
        snprintf(p->err, p->errlen, "%s:%llu: feature %s: wrong bin count %llu for %u edges "
                 "(expected %u)", p->path, (unsigned long long)p->line, name,
                 (unsigned long long)nb, q->nedges, q->nedges + 1);
        return SIM_EFORMAT;
    }
    return 0;
}

static int meta_line(struct qparse *p, struct sim_rl_qtable *t, char *line)
{
    char *save;
    char *kw = strtok_r(line + 1, " \t", &save);
    if (!kw)
        return 0;
    if (strcmp(kw, "feature") == 0)
        return meta_feature(p, t, &save);
    char *val = strtok_r(NULL, " \t", &save);
    uint64_t v;
    if (strcmp(kw, "k") == 0) {
        if (!val || parse_u64(val, &v) || v < 1 || v > SIM_RL_KMAX)
            return qerr(p, SIM_EFORMAT, "k must be 1..32", NULL);
        t->k = (unsigned)v;
    } else if (strcmp(kw, "candidates") == 0) {
        if (val && strcmp(val, "lru") == 0)
            t->candidates = SIM_RL_CAND_LRU;
        else if (val && strcmp(val, "random") == 0)
            t->candidates = SIM_RL_CAND_RANDOM;
        else
            return qerr(p, SIM_EFORMAT, "candidates must be lru or random", NULL);
    } else if (strcmp(kw, "unseen") == 0) {
        if (val && strcmp(val, "lru") == 0)
            t->unseen = SIM_RL_UNSEEN_LRU;
        else if (val && strcmp(val, "keep") == 0)
            t->unseen = SIM_RL_UNSEEN_KEEP;
        else if (val && strcmp(val, "evict") == 0)
            t->unseen = SIM_RL_UNSEEN_EVICT;
        else
            return qerr(p, SIM_EFORMAT, "unseen must be lru, keep or evict", NULL);
    }
    return 0; /* any other '#' line is a comment */
}

static int header_line(struct qparse *p, const struct sim_rl_qtable *t, char *line)
{
    static const char *const tail[] = {"q_keep", "q_evict", "visits"};
    unsigned col = 0;
    if (t->nfeat == 0)
        return qerr(p, SIM_EFORMAT, "no '# feature' lines before the header", NULL);
    char *save;
    for (char *c = strtok_r(line, ",", &save); c; c = strtok_r(NULL, ",", &save), col++) {
        const char *want = col < t->nfeat ? sim_rl_feature_name(t->feat[col].feature)
                           : col < t->nfeat + 3 ? tail[col - t->nfeat] : NULL;
        if (!want)
            return qerr(p, SIM_EFORMAT, "extra header column", c);
        if (strcmp(c, want) != 0) {
            if (sim_rl_feature_find(c) < 0 && col < t->nfeat)
                return qerr(p, SIM_ENOTFOUND, "unknown feature name", c);
            snprintf(p->err, p->errlen, "%s:%llu: header column %u is '%s', expected '%s'",
                     p->path, (unsigned long long)p->line, col + 1, c, want);
            return SIM_EFORMAT;
        }
    }
    if (col != t->nfeat + 3)
        return qerr(p, SIM_EFORMAT, "header ends early: want features then "
                    "q_keep,q_evict,visits", NULL);
    return 0;
}

static int row_line(struct qparse *p, struct sim_rl_qtable *t, char *line)
{
    if (t->nrows == p->cap) {
        size_t n = p->cap ? p->cap * 2 : 256;
        struct sim_rl_qrow *r = realloc(t->rows, n * sizeof *r);
        if (!r)
            return qerr(p, SIM_ENOMEM, "out of memory", NULL);
        t->rows = r;
        p->cap = n;
    }
    struct sim_rl_qrow *r = &t->rows[t->nrows];
    memset(r, 0, sizeof *r);
    unsigned col = 0;
    char *save;
    for (char *c = strtok_r(line, ",", &save); c; c = strtok_r(NULL, ",", &save), col++) {
        uint64_t v;
        if (col < t->nfeat) {
            if (parse_u64(c, &v))
                return qerr(p, SIM_EFORMAT, "bad bin index", c);
            if (v > t->feat[col].nedges) {
                snprintf(p->err, p->errlen, "%s:%llu: bin %s of feature %s out of range "
                         "(it has %u bins)", p->path, (unsigned long long)p->line, c,
                         sim_rl_feature_name(t->feat[col].feature), t->feat[col].nedges + 1);
                return SIM_EFORMAT;
            }
            r->bins[col] = (uint8_t)v;
        } else if (col == t->nfeat || col == t->nfeat + 1) {
            if (parse_float(c, col == t->nfeat ? &r->q_keep : &r->q_evict))
                return qerr(p, SIM_EFORMAT, "bad q value", c);
        } else if (col == t->nfeat + 2) {
            if (parse_u64(c, &r->visits))
                return qerr(p, SIM_EFORMAT, "bad visit count", c);
        } else {
            return qerr(p, SIM_EFORMAT, "too many columns", NULL);
        }
    }
    if (col != t->nfeat + 3)
        return qerr(p, SIM_EFORMAT, "too few columns", NULL);
    t->nrows++;
    return 0;
}

static int first_line(struct qparse *p, const char *line)
{
    unsigned v;
    char extra;
    if (sscanf(line, "# qtable %u %c", &v, &extra) != 1)
        return qerr(p, SIM_EFORMAT, "not a qtable file: the first line must be "
                    "'# qtable 1'", NULL);
    if (v != 1) {
        snprintf(p->err, p->errlen, "%s:%llu: unsupported qtable version %u (this "
                 "library reads version 1)", p->path, (unsigned long long)p->line, v);
        return SIM_EFORMAT;
    }
    return 0;
}

int sim__rl_qtable_parse(sim_in *in, const char *path, struct sim_rl_qtable *t, char *err,
                         size_t errlen)
{
    struct qparse p = {path, 0, err, errlen, 0, 0};
    memset(t, 0, sizeof *t);
    t->k = 16;
    char *line;
    size_t len;
    int rc;
    while ((rc = sim_in_getline(in, &line, &len, err, errlen)) == 1) {
        p.line++;
        if (p.line == 1)
            rc = first_line(&p, line);
        else if (line[0] == '#')
            rc = p.have_header ? qerr(&p, SIM_EFORMAT, "metadata after the header", NULL)
                               : meta_line(&p, t, line);
        else if (len == 0)
            rc = 0;
        else if (!p.have_header) {
            rc = header_line(&p, t, line);
            p.have_header = 1;
        } else
            rc = row_line(&p, t, line);
        if (rc)
            break;
    }
    if (rc == 0 && !p.have_header) {
        p.line++;
        rc = qerr(&p, SIM_EFORMAT, p.line == 1 ? "empty file" : "no header line", NULL);
    }
    if (rc < 0)
        sim_rl_qtable_free(t);
    return rc < 0 ? rc : 0;
}

int sim__rl_qtable_check(const struct sim_rl_qtable *t, const char *name, char *err,
                         size_t errlen)
{
    if (t->nfeat < 1 || t->nfeat > SIM_RL_NFEAT || t->k < 1 || t->k > SIM_RL_KMAX) {
        snprintf(err, errlen, "%s: a qtable needs 1..6 features and k in 1..32", name);
        return SIM_EINVAL;
    }
    for (unsigned i = 0; i < t->nfeat; i++) {
        const struct sim_rl_qfeat *f = &t->feat[i];
        if (f->feature >= SIM_RL_NFEAT || f->nedges > 254) {
            snprintf(err, errlen, "%s: bad feature %u", name, i);
            return SIM_EINVAL;
        }
        for (unsigned j = 0; j < i; j++)
            if (t->feat[j].feature == f->feature) {
                snprintf(err, errlen, "%s: feature declared twice", name);
                return SIM_EINVAL;
            }
        for (unsigned e = 1; e < f->nedges; e++)
            if (!(f->edges[e] > f->edges[e - 1])) {
                snprintf(err, errlen, "%s: feature %s: edges out of order", name,
                         sim_rl_feature_name(f->feature));
                return SIM_EINVAL;
            }
    }
    for (size_t r = 0; r < t->nrows; r++)
        for (unsigned i = 0; i < t->nfeat; i++)
            if (t->rows[r].bins[i] > t->feat[i].nedges) {
                snprintf(err, errlen, "%s: row %zu: bin out of range", name, r + 1);
                return SIM_EINVAL;
            }
    return 0;
}

static void write_table(FILE *f, const struct sim_rl_qtable *t)
{
    static const char *const cand[] = {"lru", "random"};
    static const char *const unseen[] = {"lru", "keep", "evict"};
    fprintf(f, "# qtable 1\n# k %u\n# candidates %s\n# unseen %s\n", t->k,
            cand[t->candidates], unseen[t->unseen]);
    for (unsigned i = 0; i < t->nfeat; i++) {
        const struct sim_rl_qfeat *q = &t->feat[i];
        fprintf(f, "# feature %s %u", sim_rl_feature_name(q->feature), q->nedges + 1);
        for (unsigned e = 0; e < q->nedges; e++)
            fprintf(f, "%s%.9g", e ? "," : " ", q->edges[e]);
        fputc('\n', f);
    }
    for (unsigned i = 0; i < t->nfeat; i++)
        fprintf(f, "%s,", sim_rl_feature_name(t->feat[i].feature));
    fprintf(f, "q_keep,q_evict,visits\n");
    for (size_t r = 0; r < t->nrows; r++) {
        const struct sim_rl_qrow *w = &t->rows[r];
        for (unsigned i = 0; i < t->nfeat; i++)
            fprintf(f, "%u,", w->bins[i]);
        fprintf(f, "%.9g,%.9g,%llu\n", w->q_keep, w->q_evict, (unsigned long long)w->visits);
    }
}

int sim_rl_qtable_write(const struct sim_rl_qtable *t, const char *path, char *err,
                        size_t errlen)
{
    int rc = sim__rl_qtable_check(t, path, err, errlen);
    if (rc)
        return rc;
    sim_outfile *o = sim_outfile_open(path, err, errlen);
    if (!o)
        return SIM_EIO;
    write_table(sim_outfile_stream(o), t);
    return sim_outfile_commit(o, err, errlen);
}
