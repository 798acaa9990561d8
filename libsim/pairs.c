/*
 * pairs.c - labelled query pairs for evalq: loading (CSV, TSV, JSON array,
 * JSON lines), similarities, and pairs built from a trace with classes.
 *
 * Pair files are small (the largest public one, QQP's 80,854 pairs, is
 * 12 MB), so a file is read whole and parsed in memory; that lets one
 * quote-aware tokenizer handle fields with embedded newlines.  Every source
 * shape is reduced to one record form (struct pair_rec: strings, or JSON
 * nodes for embeddings given as arrays) and added by add_pair(), so the
 * checks (labels, NaN, dimensions) are written once.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ejson.h"
#include "internal.h"
#include "sim_eval.h"
#include "sim_vec.h"

/* The column (or member) names of one input shape. */
struct pair_shape {
    const char *a, *b, *label; /* label NULL: every pair is positive */
};

static const struct pair_shape known_shapes[] = {
    {"text_a", "text_b", "label"},
    {"question1", "question2", "is_duplicate"},
    {"sentence1", "sentence2", "label"},
    {"#1 String", "#2 String", "Quality"},
    {"origin", "similar", NULL},
};
#define NSHAPES (sizeof known_shapes / sizeof known_shapes[0])

/* One pair as read, before checks.  Strings are NUL-terminated; an
 * embedding is either a string of numbers or a JSON array node. */
struct pair_rec {
    const char *a, *b, *label, *cat;
    const char *ea, *eb;
    const struct ej_doc *doc;
    uint32_t na, nb;
    unsigned long line;
};

struct loader {
    const char *path;
    struct sim_pairs *p;
    size_t cap, ecap_a, ecap_b;   /* pairs, and floats of emb_a and emb_b */
    int want_text, want_emb;
    char *err;
    size_t errlen;
};

static int load_error(const struct loader *L, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int load_error(const struct loader *L, unsigned long line, const char *fmt, ...)
{
    int n = line ? snprintf(L->err, L->errlen, "%s:%lu: ", L->path, line)
                 : snprintf(L->err, L->errlen, "%s: ", L->path);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < L->errlen)
        vsnprintf(L->err + n, L->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return SIM_EFORMAT;
}

/*=====   Adding pairs   =====*/

static int grow(struct loader *L)
{
    struct sim_pairs *p = L->p;
    if (p->n < L->cap)
        return 0;
    size_t n = L->cap ? L->cap * 2 : 1024;
    void *x;
    if (!(x = realloc(p->label, n)))
        return SIM_ENOMEM;
    p->label = x;
    if (!(x = realloc(p->category, n * sizeof *p->category)))
        return SIM_ENOMEM;
    p->category = x;
    if (L->want_text) {
        if (!(x = realloc(p->text_a, n * sizeof *p->text_a)))
            return SIM_ENOMEM;
        p->text_a = x;
        if (!(x = realloc(p->text_b, n * sizeof *p->text_b)))
            return SIM_ENOMEM;
        p->text_b = x;
    }
    L->cap = n;
    return 0;
}

static int parse_label(const char *s, uint8_t *v)
{
    if (!strcmp(s, "1") || !strcasecmp(s, "true") || !strcmp(s, "1.0")) {
        *v = 1;
        return 0;
    }
    if (!strcmp(s, "0") || !strcasecmp(s, "false") || !strcmp(s, "0.0")) {
        *v = 0;
        return 0;
    }
    return -1;
}

static int category_id(struct loader *L, const char *name, uint16_t *id, unsigned long line)
{
    struct sim_pairs *p = L->p;
    for (unsigned i = 0; i < p->ncats; i++)
        if (!strcmp(p->cat_names[i], name)) {
            *id = (uint16_t)i;
            return 0;
        }
    if (!strcmp(name, "all") || !*name)
        return load_error(L, line, "category '%s' is reserved (use another name)", name);
    if (p->ncats == 65535)
        return load_error(L, line, "more than 65535 categories");
    char **c = realloc(p->cat_names, (p->ncats + 1) * sizeof *c);
    if (!c)
        return SIM_ENOMEM;
    p->cat_names = c;
    if (!(c[p->ncats] = strdup(name)))
        return SIM_ENOMEM;
    *id = (uint16_t)p->ncats++;
    return 0;
}

/* Appends one embedding (string or JSON array) to *dst; checks the
 * dimension against the first row's and every component for NaN. */
static int add_emb(struct loader *L, const struct pair_rec *r, const char *s, uint32_t node,
                   float **dst, const char *side)
{
    struct sim_pairs *p = L->p;
    float buf[65536];
    uint32_t d = 0;
    if (s) {
        char *end;
        for (const char *q = s;; q = end) {
            while (*q == ' ' || *q == '\t' || *q == ',' || *q == '[' || *q == ']')
                q++;
            if (!*q)
                break;
            double x = strtod(q, &end);
            if (end == q)
                return load_error(L, r->line, "%s: not a number: '%.20s'", side, q);
            if (d == 65536)
                return load_error(L, r->line, "%s: more than 65536 components", side);
            buf[d++] = (float)x;
        }
    } else {
        const struct ej_doc *doc = r->doc;
        if (doc->nodes[node].type != EJ_ARR)
            return load_error(L, r->line, "%s: not an array of numbers", side);
        for (uint32_t k = doc->nodes[node].child; k != EJ_NONE; k = doc->nodes[k].next) {
            if (doc->nodes[k].type != EJ_NUM)
                return load_error(L, r->line, "%s: not an array of numbers", side);
            if (d == 65536)
                return load_error(L, r->line, "%s: more than 65536 components", side);
            buf[d++] = (float)doc->nodes[k].num;
        }
    }
    for (uint32_t i = 0; i < d; i++)
        if (!isfinite(buf[i]))
            return load_error(L, r->line, "%s: component %u is not a finite number", side, i);
    if (!d)
        return load_error(L, r->line, "%s: empty embedding", side);
    if (p->n == 0 && dst == &p->emb_a)
        p->dim = d;
    if (d != p->dim)
        return load_error(L, r->line, "%s: dimension mismatch: %u, earlier rows %u", side, d,
                          p->dim);
    size_t *cap = dst == &p->emb_a ? &L->ecap_a : &L->ecap_b;
    if ((p->n + 1) * (size_t)d > *cap) {
        size_t n = *cap ? *cap * 2 : 1024 * (size_t)d;
        float *x = realloc(*dst, n * sizeof *x);
        if (!x)
            return SIM_ENOMEM;
        *dst = x;
        *cap = n;
    }
    memcpy(*dst + p->n * (size_t)d, buf, d * sizeof **dst);
    return 0;
}

static int add_pair(struct loader *L, const struct pair_rec *r)
{
    struct sim_pairs *p = L->p;
    int rc = grow(L);
    if (rc)
        return rc;
    uint8_t lab = 1;
    if (r->label && parse_label(r->label, &lab))
        return load_error(L, r->line, "label '%.40s' is not 0, 1, true or false", r->label);
    uint16_t cat = 0;
    if (r->cat && (rc = category_id(L, r->cat, &cat, r->line)))
        return rc;
    if (L->want_emb) {
        if ((rc = add_emb(L, r, r->ea, r->na, &p->emb_a, "emb_a")) ||
            (rc = add_emb(L, r, r->eb, r->nb, &p->emb_b, "emb_b")))
            return rc;
    }
    if (L->want_text) {
        p->text_a[p->n] = strdup(r->a);
        p->text_b[p->n] = strdup(r->b);
        if (!p->text_a[p->n] || !p->text_b[p->n]) {
            free(p->text_a[p->n]);
            free(p->text_b[p->n]);
            return SIM_ENOMEM;
        }
    }
    p->label[p->n] = lab;
    p->category[p->n] = cat;
    p->n++;
    return 0;
}

/*=====   Recognising the columns   =====*/

/* The names to read, decided from what the first record offers. */
struct pair_cols {
    struct pair_shape s;
    int has_cat, has_emb, has_text;
    char buf[256];
};

typedef int (*has_fn)(const void *ctx, const char *name);

static int choose_cols(struct loader *L, const struct sim_pairs_opts *o, has_fn has,
                       const void *ctx, struct pair_cols *c, const char *kind)
{
    memset(c, 0, sizeof *c);
    c->has_cat = has(ctx, "category");
    c->has_emb = has(ctx, "emb_a") && has(ctx, "emb_b");
    if (o && o->cols) {
        snprintf(c->buf, sizeof c->buf, "%s", o->cols);
        char *b = strchr(c->buf, ','), *l = b ? strchr(b + 1, ',') : NULL;
        if (!b || (l && strchr(l + 1, ',')))
            return load_error(L, 0, "--cols '%s' is not A,B or A,B,LABEL", o->cols);
        *b++ = 0;
        if (l)
            *l++ = 0;
        c->s = (struct pair_shape){c->buf, b, l};
        const char *need[3] = {c->s.a, c->s.b, c->s.label};
        for (int i = 0; i < 3; i++)
            if (need[i] && !has(ctx, need[i]))
                return load_error(L, 1, "no column '%s' (from --cols)", need[i]);
        c->has_text = 1;
    } else {
        for (size_t i = 0; i < NSHAPES && !c->has_text; i++)
            if (has(ctx, known_shapes[i].a) && has(ctx, known_shapes[i].b)) {
                c->s = known_shapes[i];
                c->has_text = 1;
            }
        if (c->has_emb && !c->has_text)
            c->s = (struct pair_shape){"emb_a", "emb_b", "label"};
        if (!c->has_text && !c->has_emb)
            return load_error(L, 1, "no pair columns: expected text_a/text_b/label, "
                              "question1/question2/is_duplicate, sentence1/sentence2/label, "
                              "#1 String/#2 String/Quality, origin/similar or emb_a/emb_b "
                              "(or name them with --cols)");
        if (c->s.label && !has(ctx, c->s.label))
            return load_error(L, 1, "no column '%s' (the labels)", c->s.label);
    }
    snprintf(L->p->shape, sizeof L->p->shape, "%s %s,%s%s%s%s%s", kind, c->s.a, c->s.b,
             c->s.label ? "," : "", c->s.label ? c->s.label : "", c->has_emb ? ",emb" : "",
             c->has_cat ? ",category" : "");
    return 0;
}

/*=====   CSV and TSV   =====*/

struct table {
    char **f;       /* fields of the current record (pointers into buf) */
    size_t nf, cap;
    char **head;    /* header names */
    size_t nhead;
};

/* Splits the next record at *pos, decoding quotes in place (the text is
 * writable and each field is NUL-terminated where it ended).  *line
 * advances over embedded newlines.  Returns 1, 0 at the end, <0. */
static int next_record(struct loader *L, char *s, size_t len, size_t *pos, char sep,
                       struct table *t, unsigned long *line)
{
    size_t i = *pos;
    t->nf = 0;
    if (i >= len)
        return 0;
    for (;;) {
        if (t->nf == t->cap) {
            size_t n = t->cap ? t->cap * 2 : 16;
            char **x = realloc(t->f, n * sizeof *x);
            if (!x)
                return SIM_ENOMEM;
            t->f = x;
            t->cap = n;
        }
        char *out = s + i;
        t->f[t->nf++] = out;
        if (i < len && s[i] == '"') {
            unsigned long start = *line;
            for (i++;; i++) {
                if (i >= len)
                    return load_error(L, start, "unterminated quoted field");
                if (s[i] == '"' && i + 1 < len && s[i + 1] == '"')
                    i++;
                else if (s[i] == '"')
                    break;
                else if (s[i] == '\n')
                    (*line)++;
                *out++ = s[i];
            }
            i++;
            while (i < len && s[i] != sep && s[i] != '\n')
                *out++ = s[i++]; /* text after the closing quote is kept */
        } else {
            while (i < len && s[i] != sep && s[i] != '\n')
                out++, i++;
        }
        if (out > t->f[t->nf - 1] && out[-1] == '\r' && (i >= len || s[i] == '\n'))
            out--;
        char c = i < len ? s[i] : '\n';
        *out = 0;
        i++;
        if (c == '\n') {
            *pos = i;
            return 1;
        }
    }
}

static int table_has(const void *ctx, const char *name)
{
    const struct table *t = ctx;
    for (size_t i = 0; i < t->nhead; i++)
        if (!strcmp(t->head[i], name))
            return 1;
    return 0;
}

static int column(const struct table *t, const char *name)
{
    for (size_t i = 0; name && i < t->nhead; i++)
        if (!strcmp(t->head[i], name))
            return (int)i;
    return -1;
}

static const char *field(const struct table *t, int col)
{
    return col >= 0 && (size_t)col < t->nf ? t->f[col] : NULL;
}

static int load_table(struct loader *L, const struct sim_pairs_opts *o, char *s, size_t len)
{
    size_t eol = strcspn(s, "\n");
    char sep = memchr(s, '\t', eol) ? '\t' : ',';
    struct table t = {0};
    unsigned long line = 1, rec_line;
    size_t pos = 0;
    int rc = next_record(L, s, len, &pos, sep, &t, &line);
    if (rc <= 0) {
        free(t.f);
        return rc ? rc : load_error(L, 0, "empty file");
    }
    t.head = t.f;
    t.nhead = t.nf;
    t.f = NULL;
    t.cap = 0;
    struct pair_cols c;
    rc = choose_cols(L, o, table_has, &t, &c, sep == '\t' ? "tsv" : "csv");
    L->want_text = c.has_text && !c.has_emb;
    L->want_emb = c.has_emb;
    int ca = column(&t, c.s.a), cb = column(&t, c.s.b), cl = column(&t, c.s.label);
    int cc = c.has_cat ? column(&t, "category") : -1;
    int cea = column(&t, "emb_a"), ceb = column(&t, "emb_b");
    while (!rc) {
        line++;
        rec_line = line;
        if ((rc = next_record(L, s, len, &pos, sep, &t, &line)) <= 0)
            break;
        if (t.nf == 1 && !t.f[0][0]) {
            rc = 0;
            continue; /* blank line */
        }
        if (t.nf != t.nhead) {
            rc = load_error(L, rec_line, "%zu fields, the header has %zu", t.nf, t.nhead);
            break;
        }
        struct pair_rec r = {field(&t, ca), field(&t, cb), field(&t, cl), field(&t, cc),
                             field(&t, cea), field(&t, ceb), NULL, 0, 0, rec_line};
        rc = add_pair(L, &r);
    }
    free(t.f);
    free(t.head);
    return rc < 0 ? rc : 0;
}

/*=====   JSON array and JSON lines   =====*/

struct json_ctx {
    const struct ej_doc *doc;
    uint32_t obj;
};

static int json_has(const void *ctx, const char *name)
{
    const struct json_ctx *j = ctx;
    return ej_get(j->doc, j->obj, name) != EJ_NONE;
}

/* A member as text: strings as they are, numbers and booleans spelt out. */
static const char *json_text(const struct ej_doc *doc, uint32_t node, char *buf, size_t n)
{
    if (node == EJ_NONE)
        return NULL;
    switch (doc->nodes[node].type) {
    case EJ_STR: return ej_str(doc, node);
    case EJ_NUM: snprintf(buf, n, "%.17g", doc->nodes[node].num); return buf;
    case EJ_TRUE: return "true";
    case EJ_FALSE: return "false";
    default: return "";
    }
}

static int json_object(struct loader *L, const struct ej_doc *doc, uint32_t obj,
                       const struct pair_cols *c)
{
    const struct ej_node *o = &doc->nodes[obj];
    if (o->type != EJ_OBJ)
        return load_error(L, o->line, "expected an object");
    const char *need[5] = {c->has_text ? c->s.a : NULL, c->has_text ? c->s.b : NULL,
                           c->s.label, c->has_emb ? "emb_a" : NULL,
                           c->has_emb ? "emb_b" : NULL};
    for (int i = 0; i < 5; i++)
        if (need[i] && ej_get(doc, obj, need[i]) == EJ_NONE)
            return load_error(L, o->line, "no member '%s'", need[i]);
    char lb[40], cb[40];
    uint32_t na = ej_get(doc, obj, c->s.a), nb = ej_get(doc, obj, c->s.b);
    struct pair_rec r = {json_text(doc, na, lb, 0), json_text(doc, nb, lb, 0),
                         json_text(doc, ej_get(doc, obj, c->s.label ? c->s.label : ""), lb,
                                   sizeof lb),
                         c->has_cat ? json_text(doc, ej_get(doc, obj, "category"), cb, sizeof cb)
                                    : NULL,
                         NULL, NULL, doc, ej_get(doc, obj, "emb_a"), ej_get(doc, obj, "emb_b"),
                         o->line};
    if (c->has_text && !c->has_emb &&
        (doc->nodes[na].type != EJ_STR || doc->nodes[nb].type != EJ_STR))
        return load_error(L, o->line, "'%s' and '%s' must be strings", c->s.a, c->s.b);
    if (c->has_cat && !r.cat)
        return load_error(L, o->line, "no member 'category'");
    return add_pair(L, &r);
}

static int json_cols(struct loader *L, const struct sim_pairs_opts *o,
                     const struct ej_doc *doc, uint32_t obj, struct pair_cols *c,
                     const char *kind)
{
    if (doc->nodes[obj].type != EJ_OBJ)
        return load_error(L, doc->nodes[obj].line, "expected an object");
    struct json_ctx j = {doc, obj};
    int rc = choose_cols(L, o, json_has, &j, c, kind);
    L->want_text = c->has_text && !c->has_emb;
    L->want_emb = c->has_emb;
    return rc;
}

static int load_json_array(struct loader *L, const struct sim_pairs_opts *o, const char *s,
                           size_t len)
{
    struct ej_doc doc;
    char msg[SIM_ERRLEN];
    if (ej_parse(s, len, 1, &doc, msg, sizeof msg))
        return load_error(L, 0, "%s", msg);
    int rc = 0;
    struct pair_cols c;
    uint32_t k = doc.nodes[0].child;
    if (doc.nodes[0].type != EJ_ARR || k == EJ_NONE)
        rc = load_error(L, 1, "expected a non-empty array of objects");
    else
        rc = json_cols(L, o, &doc, k, &c, "json");
    for (; !rc && k != EJ_NONE; k = doc.nodes[k].next)
        rc = json_object(L, &doc, k, &c);
    ej_free(&doc);
    return rc;
}

static int load_jsonl(struct loader *L, const struct sim_pairs_opts *o, const char *s,
                      size_t len)
{
    struct pair_cols c;
    int rc = 0, first = 1;
    uint32_t line = 0;
    for (size_t i = 0; !rc && i < len;) {
        size_t e = i;
        while (e < len && s[e] != '\n')
            e++;
        line++;
        size_t j = i;
        while (j < e && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r'))
            j++;
        if (j < e) {
            struct ej_doc doc;
            char msg[SIM_ERRLEN];
            if (ej_parse(s + i, e - i, line, &doc, msg, sizeof msg))
                return load_error(L, 0, "%s", msg);
            if (first)
                rc = json_cols(L, o, &doc, 0, &c, "jsonl");
            first = 0;
            if (!rc)
                rc = json_object(L, &doc, 0, &c);
            ej_free(&doc);
        }
        i = e + 1;
    }
    if (!rc && first)
        rc = load_error(L, 0, "no JSON lines");
    return rc;
}

/*=====   Loading   =====*/

/* The whole (decompressed) input, NUL-terminated. */
static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
    sim_in *in = sim_in_open(path, err, errlen);
    if (!in)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (buf && n + 1 == cap) {
            char *x = realloc(buf, cap * 2);
            if (!x) {
                free(buf);
                buf = NULL;
            }
            buf = x;
            cap *= 2;
        }
        if (!buf) {
            snprintf(err, errlen, "%s: out of memory", path);
            break;
        }
        ssize_t got = sim_in_read(in, buf + n, cap - 1 - n, err, errlen);
        if (got < 0) {
            free(buf);
            buf = NULL;
            break;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    sim_in_close(in);
    if (buf) {
        buf[n] = 0;
        *len = n;
    }
    return buf;
}

static int load_npy(struct loader *L, const char *path, float **dst)
{
    struct sim_pairs *p = L->p;
    sim_npy *f = sim_npy_open(path, L->err, L->errlen);
    if (!f)
        return SIM_EFORMAT;
    int rc = 0;
    if (sim_npy_rows(f) != p->n)
        rc = load_error(L, 0, "%s has %llu rows for %zu pairs", path,
                        (unsigned long long)sim_npy_rows(f), p->n);
    else if (p->dim && sim_npy_dim(f) != p->dim)
        rc = load_error(L, 0, "dimension mismatch: %s has %u columns, %s %u", path,
                        sim_npy_dim(f), L->p->emb_a ? "the first .npy" : "earlier", p->dim);
    uint32_t d = sim_npy_dim(f);
    if (!rc && !(*dst = malloc((p->n ? p->n : 1) * (size_t)d * sizeof **dst)))
        rc = SIM_ENOMEM;
    for (size_t i = 0; !rc && i < p->n; i++) {
        const float *row;
        int got = sim_npy_next(f, &row, L->err, L->errlen);
        if (got != 1) {
            rc = got ? got : load_error(L, 0, "%s: truncated", path);
            break;
        }
        for (uint32_t k = 0; k < d; k++)
            if (!isfinite(row[k]))
                rc = load_error(L, 0, "%s: row %zu: component %u is not a finite number",
                                path, i, k);
        memcpy(*dst + i * (size_t)d, row, d * sizeof *row);
    }
    p->dim = d;
    sim_npy_close(f);
    return rc;
}

struct sim_pairs *sim_pairs_load(const char *path, const struct sim_pairs_opts *opts,
                                 char *err, size_t errlen)
{
    struct loader L = {path, calloc(1, sizeof(struct sim_pairs)), 0, 0, 0, 0, 0, err, errlen};
    if (!L.p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (opts && !opts->npy_a != !opts->npy_b) {
        snprintf(err, errlen, "embeddings from .npy files need both sides");
        free(L.p);
        return NULL;
    }
    size_t len = 0;
    char *text = slurp(path, &len, err, errlen);
    int rc = text ? 0 : SIM_EIO;
    char *s = text;
    if (s && len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
        s += 3, len -= 3;
    size_t lead = s ? strspn(s, " \t\r\n") : 0;
    if (!rc && lead == len)
        rc = load_error(&L, 0, "empty file");
    else if (!rc && s[lead] == '[')
        rc = load_json_array(&L, opts, s, len);
    else if (!rc && s[lead] == '{')
        rc = load_jsonl(&L, opts, s, len);
    else if (!rc)
        rc = load_table(&L, opts, s, len);
    free(text);
    if (!rc && L.p->n == 0)
        rc = load_error(&L, 0, "no pairs");
    if (!rc && opts && opts->npy_a) {
        free(L.p->emb_a);
        free(L.p->emb_b);
        L.p->emb_a = L.p->emb_b = NULL;
        L.p->dim = 0;
        if (!(rc = load_npy(&L, opts->npy_a, &L.p->emb_a)))
            rc = load_npy(&L, opts->npy_b, &L.p->emb_b);
    }
    if (rc == SIM_ENOMEM)
        snprintf(err, errlen, "%s: out of memory", path);
    if (rc) {
        sim_pairs_free(L.p);
        return NULL;
    }
    return L.p;
}

void sim_pairs_free(struct sim_pairs *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->text_a && i < p->n; i++) {
        free(p->text_a[i]);
        free(p->text_b[i]);
    }
    free(p->text_a);
    free(p->text_b);
    free(p->emb_a);
    free(p->emb_b);
    free(p->label);
    free(p->category);
    for (unsigned i = 0; i < p->ncats; i++)
        free(p->cat_names[i]);
    free(p->cat_names);
    free(p);
}

/*=====   Similarities   =====*/

/* Cosine of two raw vectors (0 if either is zero), in double. */
static float cosine(const float *x, const float *y, uint32_t d)
{
    double xy = 0, xx = 0, yy = 0;
    for (uint32_t k = 0; k < d; k++) {
        xy += (double)x[k] * y[k];
        xx += (double)x[k] * x[k];
        yy += (double)y[k] * y[k];
    }
    return xx > 0 && yy > 0 ? (float)(xy / sqrt(xx * yy)) : 0.0f;
}

int sim_pairs_similarities(const struct sim_pairs *p, const struct sim_embed_opts *eo,
                           float *sims, char *err, size_t errlen)
{
    if (p->emb_a) {
        for (size_t i = 0; i < p->n; i++)
            sims[i] = cosine(p->emb_a + i * p->dim, p->emb_b + i * p->dim, p->dim);
        return 0;
    }
    if (!p->text_a) {
        snprintf(err, errlen, "pairs have neither texts nor embeddings");
        return SIM_EINVAL;
    }
    sim_embedder *e = sim_embedder_create(eo, err, errlen);
    if (!e)
        return SIM_EINVAL;
    int rc = 0;
    for (size_t i = 0; !rc && i < p->n; i++)
        if ((rc = sim_embedder_fit(e, p->text_a[i], strlen(p->text_a[i]))) == 0)
            rc = sim_embedder_fit(e, p->text_b[i], strlen(p->text_b[i]));
    uint32_t d = sim_embedder_dim(e);
    float *x = malloc(2 * (size_t)d * sizeof *x);
    if (!x)
        rc = SIM_ENOMEM;
    for (size_t i = 0; !rc && i < p->n; i++) {
        int ra = sim_embedder_embed(e, p->text_a[i], strlen(p->text_a[i]), x);
        int rb = sim_embedder_embed(e, p->text_b[i], strlen(p->text_b[i]), x + d);
        rc = ra < 0 ? ra : rb < 0 ? rb : 0;
        sims[i] = cosine(x, x + d, d);
    }
    if (rc)
        snprintf(err, errlen, "out of memory embedding texts");
    free(x);
    sim_embedder_free(e);
    return rc;
}
