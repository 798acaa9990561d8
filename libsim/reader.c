/*
 * reader.c - opening traces: format names, detection, dispatch, and the
 * helpers every format parser uses (errors with line numbers, categories,
 * strict number parsing).
 *
 * Detection looks at the decompressed first bytes, never at the file name,
 * unless the content is ambiguous; then the name's extension decides, and
 * failing that the error asks for --format.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reader.h"
#include "sim_vec.h"

static const char *const format_names[] = {
    "auto", "csv", "oracle", "plain", "twitter", "accesslog", "arc", "lrb", "mooncake",
};
#define NFORMATS (sizeof format_names / sizeof format_names[0])

const char *sim_format_name(enum sim_format fmt)
{
    return (unsigned)fmt < NFORMATS ? format_names[fmt] : "unknown";
}

int sim_format_parse(const char *name)
{
    for (unsigned i = 0; i < NFORMATS; i++)
        if (!strcasecmp(name, format_names[i]))
            return (int)i;
    if (!strcasecmp(name, "oraclegeneral"))
        return SIM_FMT_ORACLE;
    if (!strcasecmp(name, "nginx") || !strcasecmp(name, "apache"))
        return SIM_FMT_ACCESSLOG;
    if (!strcasecmp(name, "wiki") || !strcasecmp(name, "webcachesim"))
        return SIM_FMT_LRB;
    return SIM_ENOTFOUND;
}

static const struct sim_fmt *fmt_of(enum sim_format f)
{
    switch (f) {
    case SIM_FMT_CSV: return &sim_fmt_csv;
    case SIM_FMT_ORACLE: return &sim_fmt_oracle;
    case SIM_FMT_PLAIN: return &sim_fmt_plain;
    case SIM_FMT_TWITTER: return &sim_fmt_twitter;
    case SIM_FMT_ACCESSLOG: return &sim_fmt_accesslog;
    case SIM_FMT_ARC: return &sim_fmt_arc;
    case SIM_FMT_LRB: return &sim_fmt_lrb;
    case SIM_FMT_MOONCAKE: return &sim_fmt_mooncake;
    case SIM_FMT_AUTO: break;
    }
    return NULL;
}

int reader_error(sim_reader *r, int code, char *err, size_t errlen, const char *fmt, ...)
{
    int n = snprintf(err, errlen, "%s:%llu: ", sim_in_path(r->in),
                     (unsigned long long)r->lineno);
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return code;
}

int reader_line(sim_reader *r, char **line, size_t *len, char *err, size_t errlen)
{
    for (;;) {
        int rc = sim_in_getline(r->in, line, len, err, errlen);
        if (rc <= 0)
            return rc;
        r->lineno++;
        for (size_t i = 0; i < *len; i++)
            if ((*line)[i] != ' ' && (*line)[i] != '\t')
                return 1;
    }
}

int reader_category(sim_reader *r, const char *name, size_t len)
{
    for (unsigned i = 0; i < r->ncats; i++)
        if (strlen(r->cats[i]) == len && !memcmp(r->cats[i], name, len))
            return (int)i;
    if (r->ncats == 65535)
        return SIM_EFORMAT;
    if (r->ncats == r->capcats) {
        unsigned n = r->capcats ? r->capcats * 2 : 16;
        char **c = realloc(r->cats, n * sizeof *c);
        if (!c)
            return SIM_ENOMEM;
        r->cats = c;
        r->capcats = n;
    }
    char *s = malloc(len + 1);
    if (!s)
        return SIM_ENOMEM;
    memcpy(s, name, len);
    s[len] = 0;
    r->cats[r->ncats] = s;
    return (int)r->ncats++;
}

int reader_u64(const char *s, size_t len, uint64_t *v)
{
    if (len == 0 || len > 20)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9 || x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

int reader_i64(const char *s, size_t len, int64_t *v)
{
    int neg = len > 0 && s[0] == '-';
    uint64_t x;
    if (reader_u64(s + neg, len - (size_t)neg, &x) || x > (uint64_t)INT64_MAX + neg)
        return -1;
    *v = neg ? (int64_t)(0 - x) : (int64_t)x;
    return 0;
}

int reader_double(const char *s, size_t len, double *v)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    *v = strtod(buf, &end);
    return (*end || errno == ERANGE || *v != *v) ? -1 : 0;
}

int reader_decimal(const char *s, size_t len, unsigned scale, uint64_t *v)
{
    const char *dot = memchr(s, '.', len);
    size_t ilen = dot ? (size_t)(dot - s) : len;
    uint64_t x = 0, f = 0;
    if (ilen == 0 ? !dot : reader_u64(s, ilen, &x))
        return -1;
    if (dot && ilen + 1 == len && ilen == 0)
        return -1; /* "." alone */
    for (unsigned i = 0; i < scale; i++) {
        size_t at = ilen + 1 + i;
        unsigned d = 0;
        if (dot && at < len) {
            d = (unsigned)(s[at] - '0');
            if (d > 9)
                return -1;
        }
        if (x > UINT64_MAX / 10)
            return -1;
        x *= 10;
        f = f * 10 + d;
    }
    for (size_t at = ilen + 1 + scale; dot && at < len; at++)
        if ((unsigned)(s[at] - '0') > 9)
            return -1;
    if (x > UINT64_MAX - f)
        return -1;
    *v = x + f;
    return 0;
}

uint8_t reader_op(const char *s, size_t len)
{
#define OP(w, op) {w, sizeof w - 1, op}
    static const struct { const char *w; size_t len; uint8_t op; } ops[] = {
        OP("get", SIM_OP_GET),        OP("gets", SIM_OP_GET),     OP("read", SIM_OP_GET),
        OP("set", SIM_OP_SET),        OP("add", SIM_OP_SET),      OP("replace", SIM_OP_SET),
        OP("cas", SIM_OP_SET),        OP("append", SIM_OP_SET),   OP("prepend", SIM_OP_SET),
        OP("incr", SIM_OP_SET),       OP("decr", SIM_OP_SET),     OP("write", SIM_OP_SET),
        OP("delete", SIM_OP_DELETE),  OP("del", SIM_OP_DELETE),
    };
#undef OP
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ops[i].len == len && strncasecmp(s, ops[i].w, len) == 0)
            return ops[i].op;
    return SIM_OP_OTHER;
}

static int blank(char c) { return c == ' ' || c == '\t'; }

unsigned reader_split(const char *s, size_t len, char sep, struct reader_span *f,
                      unsigned max)
{
    const char *p = s, *end = s + len;
    unsigned n = 0;
    if (sep == ' ') {
        for (;;) {
            while (p < end && blank(*p))
                p++;
            if (p == end)
                return n;
            const char *b = p;
            while (p < end && !blank(*p))
                p++;
            if (n < max)
                f[n] = (struct reader_span){b, (size_t)(p - b)};
            n++;
        }
    }
    for (;;) {
        const char *e = memchr(p, sep, (size_t)(end - p));
        if (!e)
            e = end;
        if (n < max)
            f[n] = (struct reader_span){p, (size_t)(e - p)};
        n++;
        if (e == end)
            return n;
        p = e + 1;
    }
}

int reader_bad(sim_reader *r, char *err, size_t errlen, const char *what,
               const struct reader_span *f)
{
    return reader_error(r, SIM_EFORMAT, err, errlen, "%s: bad value '%.*s'", what,
                        (int)(f->len > 40 ? 40 : f->len), f->s);
}

int reader_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return SIM_ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

/* Chunks of 512 values; each chunk's hash is prefixed to the next, so the
 * result depends on every value and on their order. */
uint64_t reader_hash_u64s(const uint64_t *v, size_t n)
{
    unsigned char buf[8 + 512 * 8];
    uint64_t h = 0;
    size_t i = 0;
    do {
        size_t k = n - i < 512 ? n - i : 512, len = 0;
        for (int b = 0; b < 8 && i > 0; b++)
            buf[len++] = (unsigned char)(h >> (8 * b));
        for (size_t j = 0; j < k; j++)
            for (int b = 0; b < 8; b++)
                buf[len++] = (unsigned char)(v[i + j] >> (8 * b));
        h = sim_hash_bytes(buf, len);
        i += k;
    } while (i < n);
    return h;
}

uint64_t reader_key(const char *s, size_t len)
{
    uint64_t v;
    if (reader_u64(s, len, &v) == 0)
        return v;
    return sim_hash_bytes(s, len);
}

/*=====   Detection   =====*/

static int is_binary(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == 0 || (p[i] < 32 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t'))
            return 1;
    return 0;
}

static unsigned count_fields(const char *s, size_t n, char sep)
{
    unsigned k = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && sep == ' ' && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i >= n)
            break;
        k++;
        while (i < n && !(sep == ' ' ? (s[i] == ' ' || s[i] == '\t') : s[i] == sep))
            i++;
        if (sep != ' ' && i < n)
            i++;
    }
    return k;
}

static int all_numeric_fields(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]) && s[i] != ' ' && s[i] != '\t' && s[i] != '.'
            && s[i] != '-' && s[i] != ',')
            return 0;
    return 1;
}

static const char *const twitter_ops[] = {"get", "gets", "set", "add", "replace", "cas",
                                          "append", "prepend", "delete", "incr", "decr",
                                          NULL};

/* Field 6 (1-based) of a comma line is a memcached verb. */
static int twitter_like(const char *s, size_t n)
{
    if (count_fields(s, n, ',') != 7)
        return 0;
    const char *f = s;
    for (int i = 0; i < 5; i++)
        f = (const char *)memchr(f, ',', n - (size_t)(f - s)) + 1;
    const char *e = memchr(f, ',', n - (size_t)(f - s));
    for (int i = 0; twitter_ops[i]; i++)
        if (strlen(twitter_ops[i]) == (size_t)(e - f) && !memcmp(f, twitter_ops[i], (size_t)(e - f)))
            return 1;
    return 0;
}

/* A header naming only a column that can key a CSV trace. */
static int csv_key_column(const char *s, size_t len)
{
    static const char *const names[] = {"key", "obj_id", "id", "lbn", "object", "obj",
                                        "text", "emb", NULL};
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == len && !strncasecmp(s, names[i], len))
            return 1;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

static enum sim_format from_name(const char *path)
{
    char base[4096];
    snprintf(base, sizeof base, "%s", path);
    size_t n = strlen(base);
    if (ends_with(base, ".zst"))
        base[n - 4] = 0;
    else if (ends_with(base, ".gz"))
        base[n - 3] = 0;
    if (ends_with(base, ".oraclegeneral.bin") || ends_with(base, ".oraclegeneral")
        || ends_with(base, ".bin"))
        return SIM_FMT_ORACLE;
    if (ends_with(base, ".arc"))
        return SIM_FMT_ARC;
    if (ends_with(base, ".tr") || ends_with(base, ".lrb"))
        return SIM_FMT_LRB;
    if (ends_with(base, ".jsonl"))
        return SIM_FMT_MOONCAKE;
    if (ends_with(base, ".log"))
        return SIM_FMT_ACCESSLOG;
    if (ends_with(base, ".csv"))
        return SIM_FMT_CSV;
    return SIM_FMT_AUTO;
}

/* Decides from the first line(s) of content; SIM_FMT_AUTO if it cannot. */
static enum sim_format from_content(const unsigned char *p, size_t n)
{
    if (n == 0)
        return SIM_FMT_AUTO;
    size_t probe = n < 4096 ? n : 4096;
    if (is_binary(p, probe))
        return SIM_FMT_ORACLE;
    const char *s = (const char *)p;
    const char *nl = memchr(s, '\n', n);
    size_t len = nl ? (size_t)(nl - s) : n;
    if (len && s[len - 1] == '\r')
        len--;
    if (len && s[0] == '{')
        return SIM_FMT_MOONCAKE;
    if (memmem(s, len, " [", 2) && memmem(s, len, "] \"", 3))
        return SIM_FMT_ACCESSLOG;
    if (memchr(s, ',', len)) {
        if (twitter_like(s, len))
            return SIM_FMT_TWITTER;
        if (!all_numeric_fields(s, len))
            return SIM_FMT_CSV; /* a header line */
        return SIM_FMT_AUTO;
    }
    unsigned k = count_fields(s, len, ' ');
    if (k == 1 && csv_key_column(s, len))
        return SIM_FMT_CSV; /* a one-column CSV header */
    if (k == 1)
        return SIM_FMT_PLAIN;
    if (all_numeric_fields(s, len)) {
        if (k == 3)
            return SIM_FMT_LRB;
        if (k == 4)
            return SIM_FMT_ARC; /* LRB with one extra feature looks the same: see man */
    }
    return SIM_FMT_AUTO;
}

/*
 * Errors of the stream (decompression, reads) say "path: what"; give them
 * the line (record) being read, so every reader error is "path:line: what".
 */
static void locate(sim_reader *r, char *err, size_t errlen)
{
    const char *path = sim_in_path(r->in);
    size_t n = strlen(path);
    if (!err || errlen == 0 || strncmp(err, path, n) || strncmp(err + n, ": ", 2))
        return;
    char tail[SIM_ERRLEN];
    snprintf(tail, sizeof tail, "%s", err + n + 2);
    snprintf(err, errlen, "%s:%llu: %s", path, (unsigned long long)r->lineno + 1, tail);
}

sim_reader *sim_reader_open(const char *path, const struct sim_reader_opts *opts,
                            char *err, size_t errlen)
{
    sim_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    if (opts)
        r->opts = *opts;
    r->in = sim_in_open(path, err, errlen);
    if (!r->in) {
        free(r);
        return NULL;
    }
    enum sim_format f = r->opts.format;
    if (f == SIM_FMT_AUTO) {
        size_t avail;
        const unsigned char *p = sim_in_peek(r->in, 64 * 1024, &avail, err, errlen);
        if (!p) {
            locate(r, err, errlen);
            sim_reader_close(r);
            return NULL;
        }
        if (avail == 0) {
            snprintf(err, errlen, "%s:1: empty trace", path);
            sim_reader_close(r);
            return NULL;
        }
        f = from_content(p, avail);
        /* oracleGeneral is the only binary format: a binary file whose size
         * is not a whole number of its records is something else (e.g. a
         * vscsi trace), and reading it would yield garbage first. */
        long long size = sim_in_raw_size(r->in);
        if (f == SIM_FMT_ORACLE && size > 0 && size % 24) {
            snprintf(err, errlen, "%s: binary, but not an oracleGeneral trace (%lld bytes is "
                     "not a multiple of 24-byte records)", path, size);
            sim_reader_close(r);
            return NULL;
        }
        enum sim_format byname = from_name(path);
        /* A comma line of numbers only is the only case content cannot settle. */
        if (f == SIM_FMT_AUTO || (byname == SIM_FMT_LRB && f == SIM_FMT_ARC))
            f = byname;
        if (f == SIM_FMT_AUTO) {
            snprintf(err, errlen, "%s: cannot tell the trace format; name it with --format",
                     path);
            sim_reader_close(r);
            return NULL;
        }
    }
    r->fmt = fmt_of(f);
    if (!r->fmt) {
        snprintf(err, errlen, "%s: unknown trace format", path);
        sim_reader_close(r);
        return NULL;
    }
    r->fields = r->fmt->fields | SIM_F_KEY;
    if (r->fmt->open && r->fmt->open(r, err, errlen)) {
        locate(r, err, errlen);
        r->fmt = NULL;
        sim_reader_close(r);
        return NULL;
    }
    if (r->opts.ignore_size)
        r->fields |= SIM_F_SIZE;
    if (r->opts.emb_path) {
        r->npy = sim_npy_open(r->opts.emb_path, err, errlen);
        if (!r->npy) {
            sim_reader_close(r);
            return NULL;
        }
        r->fields |= SIM_F_EMB;
    }
    return r;
}

/* Every embedding of a trace must have the first one's dimension and only
 * finite components: a policy cannot report bad input, the reader can. */
static int reader_check_emb(sim_reader *r, const struct sim_req *req, char *err,
                            size_t errlen)
{
    if (r->emb_dim == 0)
        r->emb_dim = req->dim;
    if (req->dim != r->emb_dim)
        return reader_error(r, SIM_EFORMAT, err, errlen,
                            "embedding dimension mismatch: %u, the first request's is %u",
                            req->dim, r->emb_dim);
    for (uint32_t i = 0; i < req->dim; i++)
        if (!isfinite(req->emb[i]))
            return reader_error(r, SIM_EFORMAT, err, errlen,
                                "embedding component %u is %s", i + 1,
                                isnan(req->emb[i]) ? "NaN" : "infinite");
    return 0;
}

/* Companion .npy: its rows are consumed in step with the requests and
 * replace any inline embedding; the counts must agree. */
static int reader_emb(sim_reader *r, struct sim_req *req, int rc, char *err,
                      size_t errlen)
{
    const float *row;
    int k = sim_npy_next(r->npy, &row, err, errlen);
    if (k < 0)
        return k;
    if (rc == 0 && k == 1)
        return reader_error(r, SIM_EFORMAT, err, errlen,
                            "trace ended after %llu requests but %s has %llu rows",
                            (unsigned long long)r->index, sim_npy_path(r->npy),
                            (unsigned long long)sim_npy_rows(r->npy));
    if (rc == 1 && k == 0)
        return reader_error(r, SIM_EFORMAT, err, errlen,
                            "request %llu has no embedding: %s has only %llu rows",
                            (unsigned long long)req->index + 1, sim_npy_path(r->npy),
                            (unsigned long long)sim_npy_rows(r->npy));
    if (rc == 1) {
        req->emb = row;
        req->dim = sim_npy_dim(r->npy);
        req->present |= SIM_F_EMB;
    }
    return rc;
}

int sim_reader_next(sim_reader *r, struct sim_req *req, char *err, size_t errlen)
{
    /* A struct copy, not memset: glibc's memset of 136 bytes compiles to
     * "rep stos" here, which was 8% of a whole LRU run. */
    static const struct sim_req empty = {.next_access = -1};
    *req = empty;
    int rc = r->fmt->next(r, req, err, errlen);
    if (rc == 0 && r->npy)
        return reader_emb(r, req, rc, err, errlen);
    if (rc < 0)
        locate(r, err, errlen);
    if (rc != 1)
        return rc;
    req->index = r->index++;
    if (r->npy && (rc = reader_emb(r, req, rc, err, errlen)) < 0)
        return rc;
    if ((req->present & SIM_F_EMB) && (rc = reader_check_emb(r, req, err, errlen)) < 0)
        return rc;
    req->present |= SIM_F_KEY;
    if (req->present & SIM_F_CATEGORY)
        req->category_name = sim_reader_category_name(r, req->category);
    if (r->opts.ignore_size) {
        req->size = 1;
        req->present |= SIM_F_SIZE;
    }
    return 1;
}

int sim__reader_batch(sim_reader *r, struct sim_req *req, size_t n, char *err,
                      size_t errlen)
{
    if (r->fmt != &sim_fmt_oracle || r->npy) {
        size_t k = 0;
        for (int rc; k < n; k++)
            if ((rc = sim_reader_next(r, &req[k], err, errlen)) != 1) {
                if (rc < 0)
                    return rc;
                break;
            }
        return (int)k;
    }
    int k = sim_fmt_oracle_batch(r, req, n, err, errlen); /* complete requests */
    if (k < 0)
        locate(r, err, errlen);
    return k;
}

int sim_reader_rewind(sim_reader *r, char *err, size_t errlen)
{
    int rc = sim_in_rewind(r->in, err, errlen);
    if (rc)
        return rc;
    r->lineno = 0;
    r->index = 0;
    r->emb_dim = 0;
    if (r->fmt->rewind)
        r->fmt->rewind(r);
    return r->npy ? sim_npy_rewind(r->npy, err, errlen) : 0;
}

enum sim_format sim_reader_format(const sim_reader *r) { return r->fmt->id; }
uint32_t sim_reader_fields(const sim_reader *r) { return r->fields; }
const char *sim_reader_path(const sim_reader *r) { return sim_in_path(r->in); }
double sim_reader_progress(const sim_reader *r) { return sim_in_progress(r->in); }

const char *sim_reader_category_name(const sim_reader *r, unsigned id)
{
    return id < r->ncats ? r->cats[id] : NULL;
}

void sim_reader_close(sim_reader *r)
{
    if (!r)
        return;
    if (r->fmt && r->fmt->close)
        r->fmt->close(r);
    for (unsigned i = 0; i < r->ncats; i++)
        free(r->cats[i]);
    free(r->cats);
    sim_npy_close(r->npy);
    sim_in_close(r->in);
    free(r);
}
