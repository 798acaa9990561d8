/*
 * fmt_mooncake.c - the Mooncake traces (FAST'25 release): JSON Lines, one
 * object per request,
 *
 *   {"timestamp": 27482, "input_length": 6955, "output_length": 52,
 *    "hash_ids": [46, 47, 48, 49, 50]}
 *
 * timestamp is in milliseconds; hash_ids are the prompt's 512-token block
 * hashes in prefix order.  A request gets time, tokens_in (input_length),
 * tokens_out (output_length), blocks (hash_ids), size = input_length, and
 * as key the hash of its whole block list (two requests with the same
 * prompt blocks are the same object).
 *
 * The parser is small and strict about this shape: the four members are
 * required, once each, in any order; numbers are non-negative integers
 * (timestamp may have a fraction of a millisecond); other members are
 * skipped whatever their value.  Anything else is an error with file:line
 * saying where.  Parsing is in place, with one grow-only block array.
 */
#include <stdlib.h>
#include <string.h>

#include "reader.h"

struct mooncake {
    uint64_t *blocks;
    size_t cap;
};

struct cursor {
    const char *p, *end;
};

enum { M_TIME = 1, M_IN = 2, M_OUT = 4, M_IDS = 8, M_ALL = 15 };

static void ws(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static int eat(struct cursor *c, char ch)
{
    ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A string's inside (escapes left as they are); -1 if not a string. */
static int string(struct cursor *c, struct reader_span *s)
{
    if (!eat(c, '"'))
        return -1;
    const char *b = c->p;
    while (c->p < c->end && *c->p != '"')
        c->p += *c->p == '\\' ? 2 : 1;
    if (c->p >= c->end)
        return -1;
    *s = (struct reader_span){b, (size_t)(c->p - b)};
    c->p++;
    return 0;
}

/* The characters of a JSON number at the cursor. */
static struct reader_span number(struct cursor *c)
{
    ws(c);
    const char *b = c->p;
    while (c->p < c->end && *c->p && strchr("0123456789+-.eE", *c->p))
        c->p++;
    return (struct reader_span){b, (size_t)(c->p - b)};
}

/* Skips any JSON value (for members we do not use); -1 if malformed. */
static int skip_value(struct cursor *c)
{
    ws(c);
    if (c->p == c->end)
        return -1;
    struct reader_span s;
    if (*c->p == '"')
        return string(c, &s);
    if (*c->p == '[' || *c->p == '{') {
        char close = *c->p == '[' ? ']' : '}';
        c->p++;
        if (eat(c, close))
            return 0;
        do {
            if (close == '}' && (string(c, &s) || !eat(c, ':')))
                return -1;
            if (skip_value(c))
                return -1;
        } while (eat(c, ','));
        return eat(c, close) ? 0 : -1;
    }
    const char *b = c->p;
    while (c->p < c->end && *c->p && strchr("0123456789+-.eEtrufalsn", *c->p))
        c->p++;
    return c->p > b ? 0 : -1;
}

static int mc_error(sim_reader *r, const struct cursor *c, const char *line, char *err,
                    size_t errlen, const char *what)
{
    return reader_error(r, SIM_EFORMAT, err, errlen, "at byte %zu: %s",
                        (size_t)(c->p - line) + 1, what);
}

static int hash_ids(sim_reader *r, struct mooncake *m, struct cursor *c, uint32_t *n,
                    const char *line, char *err, size_t errlen)
{
    size_t k = 0;
    if (!eat(c, '['))
        return mc_error(r, c, line, err, errlen, "hash_ids: expected an array");
    if (!eat(c, ']'))
        do {
            struct reader_span s = number(c);
            if (reader_grow((void **)&m->blocks, &m->cap, k + 1, sizeof *m->blocks))
                return reader_error(r, SIM_ENOMEM, err, errlen, "out of memory");
            if (reader_u64(s.s, s.len, &m->blocks[k++]))
                return mc_error(r, c, line, err, errlen,
                                "hash_ids: expected non-negative integers");
        } while (eat(c, ','));
    if (k && !eat(c, ']'))
        return mc_error(r, c, line, err, errlen, "hash_ids: expected ',' or ']'");
    if (k > UINT32_MAX)
        return mc_error(r, c, line, err, errlen, "hash_ids: too long");
    *n = (uint32_t)k;
    return 0;
}

static int u32_member(struct cursor *c, uint32_t *v)
{
    struct reader_span s = number(c);
    uint64_t x;
    if (reader_u64(s.s, s.len, &x) || x > UINT32_MAX)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

/* One member "name": value; sets its bit in *seen. */
static int member(sim_reader *r, struct mooncake *m, struct cursor *c, struct sim_req *req,
                  unsigned *seen, const char *line, char *err, size_t errlen)
{
    struct reader_span name;
    if (string(c, &name) || !eat(c, ':'))
        return mc_error(r, c, line, err, errlen, "expected \"name\": value");
    static const char *const names[] = {"timestamp", "input_length", "output_length",
                                        "hash_ids"};
    int which = -1;
    for (int i = 0; i < 4; i++)
        if (strlen(names[i]) == name.len && !memcmp(name.s, names[i], name.len))
            which = i;
    if (which < 0)
        return skip_value(c) ? mc_error(r, c, line, err, errlen, "malformed value") : 0;
    if (*seen & (1u << which))
        return mc_error(r, c, line, err, errlen, "a member given twice");
    *seen |= 1u << which;
    int bad = 0;
    if (which == 0) {
        struct reader_span s = number(c); /* milliseconds -> microseconds */
        bad = reader_decimal(s.s, s.len, 3, &req->time);
    } else if (which == 1)
        bad = u32_member(c, &req->tokens_in);
    else if (which == 2)
        bad = u32_member(c, &req->tokens_out);
    else
        return hash_ids(r, m, c, &req->nblocks, line, err, errlen);
    if (bad)
        return mc_error(r, c, line, err, errlen,
                        which ? "expected a non-negative 32-bit integer"
                              : "timestamp: expected non-negative milliseconds");
    return 0;
}

static int mc_next(sim_reader *r, struct sim_req *req, char *err, size_t errlen)
{
    struct mooncake *m = r->state;
    char *line;
    size_t len;
    int rc = reader_line(r, &line, &len, err, errlen);
    if (rc <= 0)
        return rc;
    struct cursor c = {line, line + len};
    if (!eat(&c, '{'))
        return mc_error(r, &c, line, err, errlen, "expected a JSON object");
    unsigned seen = 0;
    if (!eat(&c, '}'))
        do {
            if ((rc = member(r, m, &c, req, &seen, line, err, errlen)))
                return rc;
        } while (eat(&c, ','));
    if (seen && !eat(&c, '}'))
        return mc_error(r, &c, line, err, errlen, "expected ',' or '}'");
    ws(&c);
    if (c.p != c.end)
        return mc_error(r, &c, line, err, errlen, "text after the object");
    if (seen != M_ALL)
        return reader_error(r, SIM_EFORMAT, err, errlen,
                            "missing member%s%s%s%s", seen & M_TIME ? "" : " timestamp",
                            seen & M_IN ? "" : " input_length",
                            seen & M_OUT ? "" : " output_length",
                            seen & M_IDS ? "" : " hash_ids");
    req->blocks = m->blocks;
    req->key = reader_hash_u64s(m->blocks, req->nblocks);
    req->size = req->tokens_in;
    req->present = SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_TOKENS | SIM_F_BLOCKS;
    return 1;
}

static int mc_open(sim_reader *r, char *err, size_t errlen)
{
    r->state = calloc(1, sizeof(struct mooncake));
    if (!r->state)
        return reader_error(r, SIM_ENOMEM, err, errlen, "out of memory");
    return 0;
}

static void mc_close(sim_reader *r)
{
    struct mooncake *m = r->state;
    if (m)
        free(m->blocks);
    free(m);
}

const struct sim_fmt sim_fmt_mooncake = {
    SIM_FMT_MOONCAKE, SIM_F_TIME | SIM_F_SIZE | SIM_F_TOKENS | SIM_F_BLOCKS,
    mc_open, mc_next, NULL, mc_close,
};
