/*
 * fmt_accesslog.c - NGINX and Apache access logs in the "combined" layout:
 *
 *   host ident user [dd/Mon/yyyy:HH:MM:SS +zone] "METHOD path PROTO" status bytes
 *       "referer" "user agent" ["more" ...]
 *
 * The key is the hash of "METHOD path" (the request without its protocol);
 * the size is the bytes sent ("-", Apache's zero, is 0); the op follows the
 * method (GET/HEAD get, POST/PUT/PATCH set, DELETE delete, others "other").
 * The time is converted to UTC microseconds by a days-from-civil computation
 * (no locale, no timegm, no TZ).  Trailing quoted fields may be absent
 * (common log format) or more than two: Cold-RL's cache_combined appends
 * "$upstream_cache_status" "$cache_key" "$upstream_response_time"
 * "$cache_ttl", and a numeric sixth quoted field is taken as the TTL in
 * seconds (the trace then provides ttl; "-" means none).  Inside quotes a
 * backslash escapes the next character (NGINX writes \x22, Apache \").
 *
 * A line that does not have this shape, in particular one cut short inside
 * a quoted field, is an error with its file:line.
 */
#include <string.h>

#include "reader.h"

#define TTL_FIELD 5 /* 0-based index of $cache_ttl among the trailing quoted fields */

struct logline {
    uint64_t time, bytes, ttl;
    int has_ttl;
    struct reader_span request;
};

/*=====   Time   =====*/

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil: eras of 400 years, years starting in March). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int num(const char *s, int n, unsigned *v)
{
    unsigned x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (unsigned)(s[i] - '0');
    }
    *v = x;
    return 0;
}

static unsigned month_of(const char *s)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (unsigned i = 0; i < 12; i++)
        if (!memcmp(s, names + 3 * i, 3))
            return i + 1;
    return 0;
}

/* "dd/Mon/yyyy:HH:MM:SS +hhmm" (26 bytes) to UTC microseconds; 0 or -1. */
static int parse_time(const char *s, size_t len, uint64_t *us)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned d, mo, y, h, mi, sec, zh, zm;
    if (len != 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':'
        || s[17] != ':' || s[20] != ' ' || (s[21] != '+' && s[21] != '-'))
        return -1;
    if (num(s, 2, &d) || !(mo = month_of(s + 3)) || num(s + 7, 4, &y) || num(s + 12, 2, &h)
        || num(s + 15, 2, &mi) || num(s + 18, 2, &sec) || num(s + 22, 2, &zh)
        || num(s + 24, 2, &zm))
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59
        || sec > 60 || zh > 23 || zm > 59)
        return -1;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    int64_t zone = (int64_t)(zh * 3600 + zm * 60);
    t -= s[21] == '+' ? zone : -zone; /* local = UTC + zone */
    if (t < 0)
        return -1;
    *us = (uint64_t)t * 1000000u;
    return 0;
}

/*=====   Line   =====*/

/* A quoted field starting at *p (on the quote): its inside, and *p past it;
 * -1 if the line ends first. */
static int quoted(const char **p, const char *end, struct reader_span *f)
{
    const char *q = *p + 1;
    while (q < end && *q != '"')
        q += *q == '\\' ? 2 : 1;
    if (q >= end)
        return -1;
    *f = (struct reader_span){*p + 1, (size_t)(q - *p - 1)};
    *p = q + 1;
    return 0;
}

static const char *token(const char *p, const char *end)
{
    while (p < end && *p != ' ')
        p++;
    return p;
}

/* Parses one line into *l; NULL, or what is wrong. */
static const char *parse_line(const char *p, const char *end, struct logline *l)
{
    const char *b = memchr(p, '[', (size_t)(end - p));
    if (!b)
        return "no [time] field";
    const char *e = memchr(b, ']', (size_t)(end - b));
    if (!e)
        return "unterminated [time] field (line truncated?)";
    if (parse_time(b + 1, (size_t)(e - b - 1), &l->time))
        return "bad time: expected [dd/Mon/yyyy:HH:MM:SS +zone] after 1970";
    p = e + 1;
    if (end - p < 2 || p[0] != ' ' || p[1] != '"')
        return "expected a quoted request after the time";
    p++;
    if (quoted(&p, end, &l->request))
        return "unterminated request field (line truncated?)";
    if (p == end || *p != ' ')
        return "expected the status after the request";
    const char *s = ++p;
    p = token(p, end);
    uint64_t status;
    if (!(p - s == 1 && *s == '-') && (reader_u64(s, (size_t)(p - s), &status) || status > 999))
        return "bad status code";
    if (p == end)
        return "no byte count after the status (line truncated?)";
    s = ++p;
    p = token(p, end);
    if (p - s == 1 && *s == '-')
        l->bytes = 0;
    else if (reader_u64(s, (size_t)(p - s), &l->bytes))
        return "bad byte count";
    l->has_ttl = 0;
    for (int i = 0;; i++) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end)
            return NULL;
        struct reader_span f;
        if (*p != '"')
            return "unexpected text after the byte count (only quoted fields may follow)";
        if (quoted(&p, end, &f))
            return "unterminated quoted field after the byte count (line truncated?)";
        if (i == TTL_FIELD) {
            l->has_ttl = 1;
            l->ttl = 0;
            if (!(f.len == 1 && *f.s == '-')
                && (reader_decimal(f.s, f.len, 0, &l->ttl) || l->ttl > UINT32_MAX))
                return "bad $cache_ttl (6th quoted field after the byte count)";
        }
    }
}

static uint8_t method_op(const char *s, size_t len)
{
    static const struct { const char *m; uint8_t op; } t[] = {
        {"GET", SIM_OP_GET}, {"HEAD", SIM_OP_GET}, {"POST", SIM_OP_SET},
        {"PUT", SIM_OP_SET}, {"PATCH", SIM_OP_SET}, {"DELETE", SIM_OP_DELETE},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strlen(t[i].m) == len && !memcmp(s, t[i].m, len))
            return t[i].op;
    return SIM_OP_OTHER;
}

/*=====   Format   =====*/

/* The first line tells whether the log carries Cold-RL's $cache_ttl. */
static int log_open(sim_reader *r, char *err, size_t errlen)
{
    size_t avail;
    const unsigned char *p = sim_in_peek(r->in, 64 * 1024, &avail, err, errlen);
    if (!p)
        return SIM_EIO;
    const char *s = (const char *)p, *nl = memchr(s, '\n', avail);
    const char *end = nl ? nl : s + avail;
    if (end > s && end[-1] == '\r')
        end--;
    struct logline l;
    if (!parse_line(s, end, &l) && l.has_ttl)
        r->fields |= SIM_F_TTL;
    return 0;
}

static int log_next(sim_reader *r, struct sim_req *req, char *err, size_t errlen)
{
    char *line;
    size_t len;
    int rc = reader_line(r, &line, &len, err, errlen);
    if (rc <= 0)
        return rc;
    struct logline l;
    const char *why = parse_line(line, line + len, &l);
    if (why)
        return reader_error(r, SIM_EFORMAT, err, errlen, "%s", why);
    /* "METHOD path PROTO": the key covers the method and the path */
    const char *rq = l.request.s, *rend = rq + l.request.len;
    const char *sp1 = token(rq, rend);
    const char *sp2 = sp1 < rend ? token(sp1 + 1, rend) : rend;
    req->key = sim_hash_bytes(rq, (size_t)(sp2 - rq));
    req->op = method_op(rq, (size_t)(sp1 - rq));
    req->time = l.time;
    req->size = l.bytes;
    req->ttl = l.has_ttl && (r->fields & SIM_F_TTL) ? (uint32_t)l.ttl : 0;
    req->present = SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_OP | (r->fields & SIM_F_TTL);
    return 1;
}

const struct sim_fmt sim_fmt_accesslog = {
    SIM_FMT_ACCESSLOG, SIM_F_TIME | SIM_F_SIZE | SIM_F_OP, log_open, log_next, NULL, NULL,
};
