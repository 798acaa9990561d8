/*
 * fmt_csv.c - the native CSV trace: a header line names the columns, one
 * request per line after it.
 *
 * Column vocabulary (names case-insensitive; aliases after the '/'):
 *   time (seconds, fractional allowed) / time_ms / time_us / timestamp (s)
 *   key / obj_id, id, lbn, object, obj   decimal u64 kept, other text hashed
 *   size / obj_size, bytes              ttl (seconds)
 *   op        get/gets/read, set/add/.../write, delete/del, else "other"
 *   next_access (0-based index, -1 none) / next_access_vtime (libCacheSim's
 *             1-based convention, converted; <= 0 means none)
 *   category (a name; ids in order of first appearance)
 *   user, context, class (like key)   turn, tokens_in, tokens_out (u32)
 *   load (real)   emb (space-separated floats; every row the same count)
 *   text (the query; quote it)        blocks (space-separated u64)
 * Columns with other names are ignored, so traces may carry notes.  With no
 * key column the key is the hash of text, else of emb; a header with none of
 * the three is an error.
 *
 * Fields follow RFC 4180: a field in double quotes may hold commas and ""
 * for a quote.  Line breaks inside quotes are not supported: the line is
 * reported as an unterminated quote.  Blank lines, and a UTF-8 byte order
 * mark before the header, are skipped.  Every row
 * must have as many fields as the header, and every value must parse: an
 * empty value is an error except for text and blocks.
 *
 * Speed: lines are split in place in the stream's buffer (quoted fields are
 * unescaped where they lie); the only allocations are per trace (column
 * tables) or grow-only (emb, blocks).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reader.h"

enum col {
    C_IGNORE, C_TIME_S, C_TIME_MS, C_TIME_US, C_KEY, C_SIZE, C_TTL, C_OP, C_NEXT,
    C_NEXT_VTIME, C_CATEGORY, C_USER, C_CONTEXT, C_TURN, C_CLASS, C_TOK_IN, C_TOK_OUT,
    C_LOAD, C_EMB, C_TEXT, C_BLOCKS
};

static const struct {
    const char *name;
    enum col col;
    uint32_t field;
} vocab[] = {
    {"time", C_TIME_S, SIM_F_TIME},         {"timestamp", C_TIME_S, SIM_F_TIME},
    {"time_ms", C_TIME_MS, SIM_F_TIME},     {"time_us", C_TIME_US, SIM_F_TIME},
    {"key", C_KEY, SIM_F_KEY},              {"obj_id", C_KEY, SIM_F_KEY},
    {"id", C_KEY, SIM_F_KEY},               {"lbn", C_KEY, SIM_F_KEY},
    {"object", C_KEY, SIM_F_KEY},           {"obj", C_KEY, SIM_F_KEY},
    {"size", C_SIZE, SIM_F_SIZE},           {"obj_size", C_SIZE, SIM_F_SIZE},
    {"bytes", C_SIZE, SIM_F_SIZE},          {"ttl", C_TTL, SIM_F_TTL},
    {"op", C_OP, SIM_F_OP},                 {"next_access", C_NEXT, SIM_F_NEXT},
    {"next_access_vtime", C_NEXT_VTIME, SIM_F_NEXT},
    {"category", C_CATEGORY, SIM_F_CATEGORY}, {"user", C_USER, SIM_F_USER},
    {"context", C_CONTEXT, SIM_F_CONTEXT},  {"turn", C_TURN, SIM_F_CONTEXT},
    {"class", C_CLASS, SIM_F_CLASS},        {"tokens_in", C_TOK_IN, SIM_F_TOKENS},
    {"tokens_out", C_TOK_OUT, SIM_F_TOKENS}, {"load", C_LOAD, SIM_F_LOAD},
    {"emb", C_EMB, SIM_F_EMB},              {"text", C_TEXT, SIM_F_TEXT},
    {"blocks", C_BLOCKS, SIM_F_BLOCKS},
};
#define NVOCAB (sizeof vocab / sizeof vocab[0])

struct csv {
    unsigned ncols;
    enum col *cols;        /* kind of each column */
    char **names;          /* each column's header name, for messages */
    char **fv;             /* fields of the current line */
    size_t *fl;
    int has_key, skip_header;
    long dim;              /* emb length, -1 until the first row */
    float *emb;
    size_t embcap;
    uint64_t *blocks;
    size_t blockcap;
};

/*=====   Splitting   =====*/

/*
 * Splits line in place into at most max fields, unescaping quoted ones and
 * NUL-terminating each.  Returns the count, or -1 with *why set.
 */
static long split(char *line, size_t len, char **fv, size_t *fl, unsigned max,
                  const char **why)
{
    char *p = line, *end = line + len;
    unsigned n = 0;
    for (;;) {
        if (n == max) {
            *why = "more fields than the header has columns";
            return -1;
        }
        char *start = p, *w = p;
        if (p < end && *p == '"') {
            start = w = ++p;
            for (;;) {
                if (p == end) {
                    *why = "unterminated quoted field (line breaks inside quotes are not "
                           "supported)";
                    return -1;
                }
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *w++ = *p++;
            }
            if (p < end && *p != ',') {
                *why = "text after a closing quote";
                return -1;
            }
        } else {
            while (p < end && *p != ',') {
                if (*p == '"') {
                    *why = "quote inside an unquoted field";
                    return -1;
                }
                p++;
            }
            w = p;
        }
        fv[n] = start;
        fl[n] = (size_t)(w - start);
        n++;
        if (p == end) {
            *w = 0;
            return n;
        }
        *w = 0; /* p points at the ',' (or w < p): safe to overwrite */
        p++;
    }
}

static void trim(char **s, size_t *len)
{
    while (*len && ((*s)[0] == ' ' || (*s)[0] == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

/*=====   Header   =====*/

static void csv_free(struct csv *c)
{
    if (!c)
        return;
    for (unsigned i = 0; c->names && i < c->ncols; i++)
        free(c->names[i]);
    free(c->names);
    free(c->cols);
    free(c->fv);
    free(c->fl);
    free(c->emb);
    free(c->blocks);
    free(c);
}

static int nomem(sim_reader *r, char *err, size_t errlen)
{
    return reader_error(r, SIM_ENOMEM, err, errlen, "out of memory");
}

/* Fills cols/names from the header line's fields; sets r->fields. */
static int map_columns(sim_reader *r, struct csv *c, unsigned n, char *err, size_t errlen)
{
    uint32_t seen = 0;
    for (unsigned i = 0; i < n; i++) {
        char *s = c->fv[i];
        size_t len = c->fl[i];
        trim(&s, &len);
        c->names[i] = strndup(s, len);
        if (!c->names[i])
            return nomem(r, err, errlen);
        c->cols[i] = C_IGNORE;
        for (size_t v = 0; v < NVOCAB; v++) {
            if (strlen(vocab[v].name) != len || strncasecmp(s, vocab[v].name, len))
                continue;
            if (seen & (1u << vocab[v].col))
                return reader_error(r, SIM_EFORMAT, err, errlen,
                                    "column '%s' given twice (or with an alias)",
                                    c->names[i]);
            seen |= 1u << vocab[v].col;
            c->cols[i] = vocab[v].col;
            r->fields |= vocab[v].field;
        }
    }
    /* Aliases of one column kind were caught above; time has three kinds. */
    if (((seen >> C_TIME_S) & 1) + ((seen >> C_TIME_MS) & 1) + ((seen >> C_TIME_US) & 1) > 1)
        return reader_error(r, SIM_EFORMAT, err, errlen, "more than one time column");
    if (((seen >> C_NEXT) & 1) && ((seen >> C_NEXT_VTIME) & 1))
        return reader_error(r, SIM_EFORMAT, err, errlen,
                            "both next_access and next_access_vtime columns");
    c->has_key = (seen >> C_KEY) & 1;
    if (!c->has_key && !(seen & (1u << C_TEXT | 1u << C_EMB)))
        return reader_error(r, SIM_EFORMAT, err, errlen,
                            "the header names no key column (key, obj_id, id, lbn, object, "
                            "obj), nor text or emb");
    return 0;
}

static int read_header(sim_reader *r, struct csv *c, char *err, size_t errlen)
{
    char *line;
    size_t len;
    int rc = sim_in_getline(r->in, &line, &len, err, errlen);
    if (rc < 0)
        return rc;
    r->lineno++;
    if (rc == 1 && len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) { /* a UTF-8 byte order mark */
        line += 3;
        len -= 3;
    }
    if (rc == 0 || len == 0)
        return reader_error(r, SIM_EFORMAT, err, errlen, "expected a CSV header line");
    if (c->cols) /* rewind: the header was mapped at open */
        return 0;
    unsigned n = 1;
    for (size_t i = 0; i < len; i++) /* an upper bound: quoted commas count too */
        n += line[i] == ',';
    c->cols = calloc(n, sizeof *c->cols);
    c->names = calloc(n, sizeof *c->names);
    c->fv = calloc(n, sizeof *c->fv);
    c->fl = calloc(n, sizeof *c->fl);
    if (!c->cols || !c->names || !c->fv || !c->fl)
        return nomem(r, err, errlen);
    const char *why;
    long got = split(line, len, c->fv, c->fl, n, &why);
    if (got < 0)
        return reader_error(r, SIM_EFORMAT, err, errlen, "header: %s", why);
    c->ncols = (unsigned)got;
    return map_columns(r, c, c->ncols, err, errlen);
}

static int csv_open(sim_reader *r, char *err, size_t errlen)
{
    struct csv *c = calloc(1, sizeof *c);
    if (!c)
        return nomem(r, err, errlen);
    c->dim = -1;
    r->state = c;
    int rc = read_header(r, c, err, errlen);
    if (rc) {
        csv_free(c);
        r->state = NULL;
    }
    return rc;
}

/*=====   Values   =====*/

static int bad(sim_reader *r, struct csv *c, unsigned i, const char *what, char *err,
               size_t errlen)
{
    return reader_error(r, SIM_EFORMAT, err, errlen, "column %s: '%.40s' is not %s",
                        c->names[i], c->fv[i], what);
}

static int parse_emb(sim_reader *r, struct csv *c, unsigned i, struct sim_req *req,
                     char *err, size_t errlen)
{
    const char *p = c->fv[i];
    size_t n = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        char *e;
        float x = strtof(p, &e); /* underflow to a subnormal is fine: %.9g wrote it */
        if (e == p || (*e && *e != ' ' && *e != '\t') || x - x != 0) /* inf or nan */
            return bad(r, c, i, "a list of numbers separated by spaces", err, errlen);
        if (reader_grow((void **)&c->emb, &c->embcap, n + 1, sizeof *c->emb))
            return nomem(r, err, errlen);
        c->emb[n++] = x;
        p = e;
    }
    if (c->dim < 0)
        c->dim = (long)n;
    else if ((size_t)c->dim != n)
        return reader_error(r, SIM_EFORMAT, err, errlen,
                            "column %s: %zu numbers, but earlier rows have %ld", c->names[i],
                            n, c->dim);
    req->emb = c->emb;
    req->dim = (uint32_t)n;
    return 0;
}

static int parse_blocks(sim_reader *r, struct csv *c, unsigned i, struct sim_req *req,
                        char *err, size_t errlen)
{
    const char *p = c->fv[i], *end = p + c->fl[i];
    size_t n = 0;
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end)
            break;
        const char *s = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        uint64_t v;
        if (reader_u64(s, (size_t)(p - s), &v))
            return bad(r, c, i, "a list of unsigned integers separated by spaces", err,
                       errlen);
        if (reader_grow((void **)&c->blocks, &c->blockcap, n + 1, sizeof *c->blocks))
            return nomem(r, err, errlen);
        c->blocks[n++] = v;
    }
    if (n > UINT32_MAX)
        return bad(r, c, i, "a list of at most 2^32-1 blocks", err, errlen);
    req->blocks = c->blocks;
    req->nblocks = (uint32_t)n;
    return 0;
}

static int parse_u32(const char *s, size_t len, uint32_t *v)
{
    uint64_t x;
    if (reader_u64(s, len, &x) || x > UINT32_MAX)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

/* One field into req; 0 or an error. */
static int parse_field(sim_reader *r, struct csv *c, unsigned i, struct sim_req *req,
                       char *err, size_t errlen)
{
    char *s = c->fv[i];
    size_t len = c->fl[i];
    enum col k = c->cols[i];
    if (k == C_TEXT) { /* verbatim: spaces are part of the text */
        req->text = s;
        req->text_len = (uint32_t)len;
        return len > UINT32_MAX ? bad(r, c, i, "shorter than 4 GiB", err, errlen) : 0;
    }
    trim(&s, &len);
    s[len] = 0;
    c->fv[i] = s;
    if (k == C_BLOCKS)
        return parse_blocks(r, c, i, req, err, errlen);
    if (len == 0 && k != C_IGNORE)
        return reader_error(r, SIM_EFORMAT, err, errlen, "column %s: empty value",
                            c->names[i]);
    switch (k) {
    case C_IGNORE: case C_TEXT: case C_BLOCKS: return 0;
    case C_TIME_S: case C_TIME_MS: case C_TIME_US:
        if (reader_decimal(s, len, k == C_TIME_S ? 6 : k == C_TIME_MS ? 3 : 0, &req->time))
            return bad(r, c, i, "a non-negative decimal time", err, errlen);
        return 0;
    case C_KEY: req->key = reader_key(s, len); return 0;
    case C_USER: req->user = reader_key(s, len); return 0;
    case C_CONTEXT: req->context = reader_key(s, len); return 0;
    case C_CLASS: req->cls = reader_key(s, len); return 0;
    case C_SIZE:
        return reader_u64(s, len, &req->size) ? bad(r, c, i, "a size in bytes", err, errlen)
                                               : 0;
    case C_TTL:
        return parse_u32(s, len, &req->ttl) ? bad(r, c, i, "a TTL in seconds", err, errlen)
                                             : 0;
    case C_TURN:
        return parse_u32(s, len, &req->turn) ? bad(r, c, i, "a turn number", err, errlen) : 0;
    case C_TOK_IN:
        return parse_u32(s, len, &req->tokens_in) ? bad(r, c, i, "a token count", err, errlen)
                                                   : 0;
    case C_TOK_OUT:
        return parse_u32(s, len, &req->tokens_out) ? bad(r, c, i, "a token count", err, errlen)
                                                    : 0;
    case C_OP: req->op = reader_op(s, len); return 0;
    case C_NEXT: case C_NEXT_VTIME: {
        int64_t v;
        if (reader_i64(s, len, &v) || (k == C_NEXT && v < -1))
            return bad(r, c, i, "a request index (or -1)", err, errlen);
        req->next_access = k == C_NEXT ? v : v <= 0 || v == INT64_MAX ? -1 : v - 1;
        return 0;
    }
    case C_CATEGORY: {
        int id = reader_category(r, s, len);
        if (id < 0)
            return id == SIM_ENOMEM ? nomem(r, err, errlen)
                                    : bad(r, c, i, "one of at most 65535 categories", err,
                                          errlen);
        req->category = (uint16_t)id;
        return 0;
    }
    case C_LOAD: {
        double v;
        if (reader_double(s, len, &v))
            return bad(r, c, i, "a number", err, errlen);
        req->load = (float)v;
        return 0;
    }
    case C_EMB: return parse_emb(r, c, i, req, err, errlen);
    }
    return 0;
}

/*=====   Rows   =====*/

static int csv_next(sim_reader *r, struct sim_req *req, char *err, size_t errlen)
{
    struct csv *c = r->state;
    if (c->skip_header) {
        int rc = read_header(r, c, err, errlen);
        if (rc)
            return rc;
        c->skip_header = 0;
    }
    char *line;
    size_t len;
    int rc = reader_line(r, &line, &len, err, errlen);
    if (rc <= 0)
        return rc;
    const char *why;
    long n = split(line, len, c->fv, c->fl, c->ncols, &why);
    if (n < 0)
        return reader_error(r, SIM_EFORMAT, err, errlen, "%s", why);
    if ((unsigned)n != c->ncols)
        return reader_error(r, SIM_EFORMAT, err, errlen,
                            "%ld fields, but the header has %u columns", n, c->ncols);
    for (unsigned i = 0; i < c->ncols; i++)
        if ((rc = parse_field(r, c, i, req, err, errlen)))
            return rc;
    if (!c->has_key) {
        if (r->fields & SIM_F_TEXT)
            req->key = sim_hash_bytes(req->text, req->text_len);
        else {
            uint64_t h = 0x9e3779b97f4a7c15ULL; /* emb: hash of the float bits */
            for (uint32_t d = 0; d < req->dim; d++) {
                uint32_t bits;
                memcpy(&bits, &req->emb[d], 4);
                uint64_t v = h ^ bits;
                h = reader_hash_u64s(&v, 1);
            }
            req->key = h;
        }
    }
    req->present = r->fields;
    return 1;
}

static void csv_rewind(sim_reader *r)
{
    struct csv *c = r->state;
    c->skip_header = 1;
}

static void csv_close(sim_reader *r) { csv_free(r->state); }

const struct sim_fmt sim_fmt_csv = {
    SIM_FMT_CSV, 0, csv_open, csv_next, csv_rewind, csv_close,
};
