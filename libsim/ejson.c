/*
 * ejson.c - a small strict JSON parser (see ejson.h).
 *
 * Recursive descent over the text; nodes are appended to one array, so a
 * parent's index is known before its children are parsed and siblings are
 * linked as they come.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ejson.h"

#define EJ_MAX_DEPTH 64

struct ej_parser {
    const char *s, *end, *p;
    uint32_t line;
    struct ej_doc *doc;
    char *err;
    size_t errlen;
};

static int ej_error(struct ej_parser *P, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int ej_error(struct ej_parser *P, const char *fmt, ...)
{
    int n = snprintf(P->err, P->errlen, "line %u: ", P->line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < P->errlen)
        vsnprintf(P->err + n, P->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static void ej_skip_ws(struct ej_parser *P)
{
    for (; P->p < P->end; P->p++) {
        if (*P->p == '\n')
            P->line++;
        else if (*P->p != ' ' && *P->p != '\t' && *P->p != '\r')
            return;
    }
}

static uint32_t ej_new_node(struct ej_parser *P, enum ej_type t)
{
    struct ej_doc *d = P->doc;
    if (d->n == d->cap) {
        uint32_t n = d->cap ? d->cap * 2 : 1024;
        struct ej_node *x = realloc(d->nodes, (size_t)n * sizeof *x);
        if (!x)
            return EJ_NONE;
        d->nodes = x;
        d->cap = n;
    }
    struct ej_node *nd = &d->nodes[d->n];
    memset(nd, 0, sizeof *nd);
    nd->type = t;
    nd->child = nd->next = EJ_NONE;
    nd->line = P->line;
    return d->n++;
}

static int ej_put(struct ej_parser *P, const char *b, size_t n)
{
    struct ej_doc *d = P->doc;
    if (d->slen + n + 1 > d->scap) {
        size_t c = d->scap ? d->scap : 4096;
        while (c < d->slen + n + 1)
            c *= 2;
        char *x = realloc(d->strs, c);
        if (!x)
            return ej_error(P, "out of memory");
        d->strs = x;
        d->scap = c;
    }
    memcpy(d->strs + d->slen, b, n);
    d->slen += n;
    return 0;
}

static int ej_hex4(struct ej_parser *P, unsigned *v)
{
    if (P->end - P->p < 4)
        return ej_error(P, "truncated \\u escape");
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *P->p++;
        unsigned h = (c >= '0' && c <= '9') ? (unsigned)(c - '0')
                   : (c >= 'a' && c <= 'f') ? (unsigned)(c - 'a' + 10)
                   : (c >= 'A' && c <= 'F') ? (unsigned)(c - 'A' + 10) : 16;
        if (h == 16)
            return ej_error(P, "bad hex digit in \\u escape");
        *v = *v * 16 + h;
    }
    return 0;
}

/* \uXXXX (P->p after the 'u'), with a surrogate pair, as UTF-8. */
static int ej_unicode(struct ej_parser *P)
{
    unsigned c, lo;
    if (ej_hex4(P, &c))
        return -1;
    if (c >= 0xD800 && c < 0xDC00) {
        if (P->end - P->p < 2 || P->p[0] != '\\' || P->p[1] != 'u')
            return ej_error(P, "unpaired surrogate in \\u escape");
        P->p += 2;
        if (ej_hex4(P, &lo))
            return -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return ej_error(P, "unpaired surrogate in \\u escape");
        c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
    } else if (c >= 0xDC00 && c <= 0xDFFF)
        return ej_error(P, "unpaired surrogate in \\u escape");
    char b[4];
    size_t n;
    if (c < 0x80) {
        b[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        b[0] = (char)(0xC0 | (c >> 6));
        b[1] = (char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        b[0] = (char)(0xE0 | (c >> 12));
        b[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        b[2] = (char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (c >> 18));
        b[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        b[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    return ej_put(P, b, n);
}

/* A string (P->p at the opening quote); its offset and length. */
static int ej_string(struct ej_parser *P, size_t *off, size_t *len)
{
    static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
    P->p++;
    *off = P->doc->slen;
    for (;;) {
        const char *q = P->p;
        while (q < P->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
            q++;
        if (ej_put(P, P->p, (size_t)(q - P->p)))
            return -1;
        P->p = q;
        if (q == P->end)
            return ej_error(P, "unterminated string");
        if (*q == '"')
            break;
        if (*q != '\\')
            return ej_error(P, "control character in string");
        if (++P->p == P->end)
            return ej_error(P, "unterminated string");
        char e = *P->p++;
        const char *k = e ? strchr(esc_in, e) : NULL;
        if (e == 'u') {
            if (ej_unicode(P))
                return -1;
        } else if (!k)
            return ej_error(P, "bad escape '\\%c' in string", e);
        else if (ej_put(P, &esc_out[k - esc_in], 1))
            return -1;
    }
    P->p++;
    *len = P->doc->slen - *off;
    return ej_put(P, "", 1);
}

static int ej_number(struct ej_parser *P, double *v)
{
    const char *q = P->p;
    if (q < P->end && *q == '-')
        q++;
    if (q == P->end || *q < '0' || *q > '9')
        return ej_error(P, "unexpected character '%c'", *P->p);
    while (q < P->end && strchr("0123456789+-.eE", *q))
        q++;
    char buf[64];
    size_t n = (size_t)(q - P->p);
    if (n >= sizeof buf)
        return ej_error(P, "number too long");
    memcpy(buf, P->p, n);
    buf[n] = 0;
    char *e;
    errno = 0;
    *v = strtod(buf, &e);
    if (*e || !isfinite(*v))
        return ej_error(P, "bad number '%s'", buf);
    P->p = q;
    return 0;
}

static int ej_value(struct ej_parser *P, uint32_t *out, int depth);

/* Array or object: P->p at '[' or '{'. */
static int ej_container(struct ej_parser *P, uint32_t id, int depth)
{
    int obj = P->doc->nodes[id].type == EJ_OBJ;
    char close = obj ? '}' : ']';
    uint32_t last = EJ_NONE;
    P->p++;
    ej_skip_ws(P);
    if (P->p < P->end && *P->p == close) {
        P->p++;
        return 0;
    }
    for (;;) {
        size_t koff = 0, klen = 0;
        uint32_t kid;
        ej_skip_ws(P);
        if (obj) {
            if (P->p == P->end || *P->p != '"')
                return ej_error(P, "expected a member name");
            if (ej_string(P, &koff, &klen))
                return -1;
            ej_skip_ws(P);
            if (P->p == P->end || *P->p != ':')
                return ej_error(P, "expected ':'");
            P->p++;
        }
        if (ej_value(P, &kid, depth + 1))
            return -1;
        struct ej_node *k = &P->doc->nodes[kid];
        k->key = koff;
        k->keylen = klen;
        if (last == EJ_NONE)
            P->doc->nodes[id].child = kid;
        else
            P->doc->nodes[last].next = kid;
        last = kid;
        P->doc->nodes[id].count++;
        ej_skip_ws(P);
        if (P->p < P->end && *P->p == ',') {
            P->p++;
            continue;
        }
        if (P->p < P->end && *P->p == close) {
            P->p++;
            return 0;
        }
        return ej_error(P, "expected ',' or '%c'", close);
    }
}

static int ej_literal(struct ej_parser *P, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(P->end - P->p) < n || memcmp(P->p, word, n))
        return ej_error(P, "unexpected character '%c'", *P->p);
    P->p += n;
    return 0;
}

static int ej_value(struct ej_parser *P, uint32_t *out, int depth)
{
    ej_skip_ws(P);
    if (P->p == P->end)
        return ej_error(P, "unexpected end of input");
    if (depth > EJ_MAX_DEPTH)
        return ej_error(P, "nesting deeper than %d", EJ_MAX_DEPTH);
    char c = *P->p;
    enum ej_type t = c == '{' ? EJ_OBJ : c == '[' ? EJ_ARR : c == '"' ? EJ_STR
                   : c == 't' ? EJ_TRUE : c == 'f' ? EJ_FALSE : c == 'n' ? EJ_NULL : EJ_NUM;
    uint32_t id = ej_new_node(P, t);
    if (id == EJ_NONE)
        return ej_error(P, "out of memory");
    *out = id;
    switch (t) {
    case EJ_OBJ:
    case EJ_ARR: return ej_container(P, id, depth);
    case EJ_STR: {
        size_t off, len;
        if (ej_string(P, &off, &len))
            return -1;
        P->doc->nodes[id].str = off;
        P->doc->nodes[id].len = len;
        return 0;
    }
    case EJ_TRUE: return ej_literal(P, "true");
    case EJ_FALSE: return ej_literal(P, "false");
    case EJ_NULL: return ej_literal(P, "null");
    case EJ_NUM: return ej_number(P, &P->doc->nodes[id].num);
    }
    return -1;
}

int ej_parse(const char *text, size_t len, uint32_t line0, struct ej_doc *doc, char *err,
             size_t errlen)
{
    struct ej_parser P = {text, text + len, text, line0, doc, err, errlen};
    uint32_t root;
    memset(doc, 0, sizeof *doc);
    if (ej_value(&P, &root, 0)) {
        ej_free(doc);
        return -1;
    }
    ej_skip_ws(&P);
    if (P.p != P.end) {
        ej_error(&P, "unexpected text after the JSON value");
        ej_free(doc);
        return -1;
    }
    return 0;
}

void ej_free(struct ej_doc *doc)
{
    free(doc->nodes);
    free(doc->strs);
    memset(doc, 0, sizeof *doc);
}

uint32_t ej_get(const struct ej_doc *doc, uint32_t obj, const char *name)
{
    size_t n = strlen(name);
    for (uint32_t k = doc->nodes[obj].child; k != EJ_NONE; k = doc->nodes[k].next)
        if (doc->nodes[k].keylen == n && !memcmp(doc->strs + doc->nodes[k].key, name, n))
            return k;
    return EJ_NONE;
}
