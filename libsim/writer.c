/*
 * writer.c - trace writers: the native CSV and libCacheSim's oracleGeneral.
 *
 * Output goes through sim_out (stream.c): compressed by the name's suffix
 * (.zst, .gz), written to a temporary and renamed into place on close.
 *
 * CSV: the header lists, in a fixed order, the vocabulary columns of the
 * `fields` mask (fmt_csv.c reads them back): time (seconds, with up to six
 * decimals), key, size, ttl, op, next_access, category (the names given to
 * sim_writer_set_category_names, else the id), user, context and turn,
 * class, tokens_in and tokens_out, load, emb, text, blocks.  Reals are
 * printed with "%.9g", which reads back to the same float.  Text is always
 * quoted; a text with a line break cannot be written (the reader does not
 * accept one) and is an error.
 *
 * oracleGeneral: 24-byte little-endian records {u32 time_s, u64 key,
 * u32 size, i64 next}.  `next` is the 1-based position of the key's next
 * request, -1 if none (libCacheSim's next_access_vtime), known only at the
 * end, where one backward pass computes it.  To a plain file (file mode) the
 * records are written as they come, through one ~1 MB buffer, and the pass
 * reads the file back piece by piece from the end, fills in `next` and
 * writes each piece back: memory is O(distinct keys), and no fresh memory
 * is touched beyond the file's own page cache.  (Holding the records in
 * memory, 240 MB for 10^7 requests, cost more in page faults and page
 * clearing than the two extra copies: bench_tracegen's oracleGeneral line,
 * runs alternated on the shared 2-core VM, gave 19 M requests per CPU
 * second this way and 14.5 M holding them.)  Standard output and
 * compressed files cannot be re-read, so there every record is held in
 * blocks until close.
 * Times are truncated to whole seconds; without SIM_F_SIZE every size is 1
 * (size 0 records are skipped by readers).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "u64map.h"

#define FLUSH_AT (64 * 1024)
#define REC 24
#define BLK_RECS ((size_t)1 << 18) /* memory mode: records per block (6 MB) */
#define PIECE_RECS ((size_t)43690)  /* records per write(2): just under 1 MB */

struct sim_writer_s {
    sim_out *o;
    char *path;
    enum sim_format fmt;
    uint32_t fields;
    char **cats;           /* category names by id (CSV) */
    unsigned ncats;
    char *buf;             /* CSV: pending text */
    size_t len, cap;
    long dim;              /* CSV: emb length of the first row, -1 before */
    uint64_t rows;
    int fd;                /* oracle: the file, in file mode (else -1) */
    unsigned char **blk;   /* oracle: file mode, one piece; else every record */
    size_t nblk, capblk;
    size_t nrec;           /* records so far */
    unsigned char *cur, *lim; /* the next record's place; the end of the last block */
    uint64_t kmin, kmax;   /* oracle: the key range, for next_by_array() */
};

/* The CSV columns in header order, with the field bit each needs. */
static const struct {
    const char *name;
    uint32_t field;
} columns[] = {
    {"time", SIM_F_TIME},       {"key", SIM_F_KEY},         {"size", SIM_F_SIZE},
    {"ttl", SIM_F_TTL},         {"op", SIM_F_OP},           {"next_access", SIM_F_NEXT},
    {"category", SIM_F_CATEGORY}, {"user", SIM_F_USER},     {"context", SIM_F_CONTEXT},
    {"turn", SIM_F_CONTEXT},    {"class", SIM_F_CLASS},     {"tokens_in", SIM_F_TOKENS},
    {"tokens_out", SIM_F_TOKENS}, {"load", SIM_F_LOAD},     {"emb", SIM_F_EMB},
    {"text", SIM_F_TEXT},       {"blocks", SIM_F_BLOCKS},
};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

/*=====   Buffer   =====*/

static int reserve(sim_writer *w, size_t n, char *err, size_t errlen)
{
    if (w->len + n <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : FLUSH_AT * 2;
    while (cap < w->len + n)
        cap *= 2;
    char *b = realloc(w->buf, cap);
    if (!b) {
        snprintf(err, errlen, "%s: out of memory", w->path);
        return SIM_ENOMEM;
    }
    w->buf = b;
    w->cap = cap;
    return 0;
}

static int put(sim_writer *w, const char *s, size_t n, char *err, size_t errlen)
{
    int rc = reserve(w, n, err, errlen);
    if (rc)
        return rc;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    return 0;
}

static int putf(sim_writer *w, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int putf(sim_writer *w, char *err, size_t errlen, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return put(w, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1, err, errlen);
}

static int flush(sim_writer *w, char *err, size_t errlen)
{
    int rc = sim_out_write(w->o, w->buf, w->len, err, errlen);
    w->len = 0;
    return rc;
}

/*=====   Open, abort   =====*/

static int put_row(sim_writer *w, const struct sim_req *q, char *err, size_t errlen);

sim_writer *sim_writer_open(const char *path, enum sim_format fmt, uint32_t fields,
                            char *err, size_t errlen)
{
    if (fmt != SIM_FMT_CSV && fmt != SIM_FMT_ORACLE) {
        snprintf(err, errlen, "%s: cannot write format '%s' (csv or oracle only)", path,
                 sim_format_name(fmt));
        return NULL;
    }
    sim_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    w->fmt = fmt;
    w->fields = fields | SIM_F_KEY;
    w->dim = -1;
    w->o = sim_out_open(path, -1, err, errlen);
    if (!w->o || (fmt == SIM_FMT_CSV && put_row(w, NULL, err, errlen))) {
        sim_writer_abort(w);
        return NULL;
    }
    w->fd = fmt == SIM_FMT_ORACLE ? sim_out_file_fd(w->o) : -1;
    return w;
}

static void free_cats(sim_writer *w)
{
    for (unsigned i = 0; i < w->ncats; i++)
        free(w->cats[i]);
    free(w->cats);
    w->cats = NULL;
    w->ncats = 0;
}

static void writer_free(sim_writer *w)
{
    free_cats(w);
    free(w->buf);
    for (size_t i = 0; i < w->nblk; i++)
        free(w->blk[i]);
    free(w->blk);
    free(w->path);
    free(w);
}

void sim_writer_abort(sim_writer *w)
{
    if (!w)
        return;
    sim_out_abort(w->o);
    writer_free(w);
}

int sim_writer_set_category_names(sim_writer *w, const char *const *names, unsigned n,
                                  char *err, size_t errlen)
{
    char **c = calloc(n ? n : 1, sizeof *c);
    if (!c)
        goto nomem;
    for (unsigned i = 0; i < n; i++) {
        if (strpbrk(names[i], "\n\r")) {
            snprintf(err, errlen, "%s: category name %u has a line break", w->path, i);
            for (unsigned j = 0; j < i; j++)
                free(c[j]);
            free(c);
            return SIM_EINVAL;
        }
        if (!(c[i] = strdup(names[i]))) {
            for (unsigned j = 0; j < i; j++)
                free(c[j]);
            free(c);
            goto nomem;
        }
    }
    free_cats(w);
    w->cats = c;
    w->ncats = n;
    return 0;
nomem:
    snprintf(err, errlen, "%s: out of memory", w->path);
    return SIM_ENOMEM;
}

/*=====   CSV rows   =====*/

/* s as one CSV field: quoted when it holds a comma, quote or edge space, or
 * always with `force`. */
static int put_quoted(sim_writer *w, const char *s, size_t n, int force, char *err,
                      size_t errlen)
{
    if (!force && n && !memchr(s, ',', n) && !memchr(s, '"', n) && s[0] != ' '
        && s[n - 1] != ' ' && s[0] != '\t' && s[n - 1] != '\t')
        return put(w, s, n, err, errlen);
    int rc = reserve(w, 2 * n + 2, err, errlen);
    if (rc)
        return rc;
    char *d = w->buf + w->len;
    *d++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            *d++ = '"';
        *d++ = s[i];
    }
    *d++ = '"';
    w->len = (size_t)(d - w->buf);
    return 0;
}

/* Decimal integers by hand: printf's parsing of the format was most of a
 * CSV row's cost. */
static int put_u64(sim_writer *w, uint64_t v, char *err, size_t errlen)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";
    char tmp[20];
    int i = 20;
    for (; v >= 100; v /= 100) /* two digits a step: half the dependent divisions */
        memcpy(tmp + (i -= 2), pairs + 2 * (v % 100), 2);
    if (v >= 10)
        memcpy(tmp + (i -= 2), pairs + 2 * v, 2);
    else
        tmp[--i] = (char)('0' + v);
    return put(w, tmp + i, (size_t)(20 - i), err, errlen);
}

static int put_i64(sim_writer *w, int64_t v, char *err, size_t errlen)
{
    if (v >= 0)
        return put_u64(w, (uint64_t)v, err, errlen);
    int rc = put(w, "-", 1, err, errlen);
    return rc ? rc : put_u64(w, (uint64_t)0 - (uint64_t)v, err, errlen);
}

/* Seconds with up to six decimals, trailing zeros dropped ("12", "12.5"). */
static int put_time(sim_writer *w, uint64_t us, char *err, size_t errlen)
{
    uint64_t f = us % 1000000;
    int rc = put_u64(w, us / 1000000, err, errlen);
    if (rc || !f)
        return rc;
    char tmp[7] = {'.'};
    int digits = 6;
    for (int i = 6; i >= 1; i--, f /= 10)
        tmp[i] = (char)('0' + f % 10);
    while (tmp[digits] == '0')
        digits--;
    return put(w, tmp, (size_t)digits + 1, err, errlen);
}

/* Names set with sim_writer_set_category_names() win; else the name the
 * reader gave the request (so a conversion keeps names); else the id. */
static int put_category(sim_writer *w, const struct sim_req *q, char *err, size_t errlen)
{
    unsigned id = q->category;
    if (id < w->ncats)
        return put_quoted(w, w->cats[id], strlen(w->cats[id]), 0, err, errlen);
    if (q->category_name)
        return put_quoted(w, q->category_name, strlen(q->category_name), 0, err, errlen);
    return put_u64(w, id, err, errlen);
}

static int put_emb(sim_writer *w, const struct sim_req *q, char *err, size_t errlen)
{
    if (w->dim < 0)
        w->dim = q->dim;
    if ((long)q->dim != w->dim) {
        snprintf(err, errlen, "%s: request %llu has an embedding of %u numbers, earlier ones "
                 "%ld (a CSV trace needs one length)", w->path,
                 (unsigned long long)q->index, q->dim, w->dim);
        return SIM_EINVAL;
    }
    int rc = 0;
    for (uint32_t i = 0; i < q->dim && !rc; i++)
        rc = putf(w, err, errlen, i ? " %.9g" : "%.9g", (double)q->emb[i]);
    return rc;
}

static int put_blocks(sim_writer *w, const struct sim_req *q, char *err, size_t errlen)
{
    int rc = 0;
    for (uint32_t i = 0; i < q->nblocks && !rc; i++) {
        if (i)
            rc = put(w, " ", 1, err, errlen);
        if (!rc)
            rc = put_u64(w, q->blocks[i], err, errlen);
    }
    return rc;
}

static int put_text(sim_writer *w, const struct sim_req *q, char *err, size_t errlen)
{
    const char *t = q->text_len ? q->text : "";
    if (memchr(t, '\n', q->text_len) || memchr(t, '\r', q->text_len)) {
        snprintf(err, errlen, "%s: request %llu: text with a line break cannot be written "
                 "to a CSV trace", w->path, (unsigned long long)q->index);
        return SIM_EINVAL;
    }
    return put_quoted(w, t, q->text_len, 1, err, errlen);
}

static const char *const op_names[] = {"get", "set", "delete", "other"};

/* Column i of request q. */
static int put_column(sim_writer *w, size_t i, const struct sim_req *q, char *err,
                      size_t errlen)
{
    const char *name = columns[i].name;
    switch (columns[i].field) {
    case SIM_F_TIME: return put_time(w, q->time, err, errlen);
    case SIM_F_KEY: return put_u64(w, q->key, err, errlen);
    case SIM_F_SIZE: return put_u64(w, q->size, err, errlen);
    case SIM_F_TTL: return put_u64(w, q->ttl, err, errlen);
    case SIM_F_OP: {
        const char *s = op_names[q->op < 4 ? q->op : 3];
        return put(w, s, strlen(s), err, errlen);
    }
    case SIM_F_NEXT: return put_i64(w, q->next_access, err, errlen);
    case SIM_F_CATEGORY: return put_category(w, q, err, errlen);
    case SIM_F_USER: return put_u64(w, q->user, err, errlen);
    case SIM_F_CONTEXT:
        return put_u64(w, name[0] == 't' ? q->turn : q->context, err, errlen);
    case SIM_F_CLASS: return put_u64(w, q->cls, err, errlen);
    case SIM_F_TOKENS: return put_u64(w, name[7] == 'i' ? q->tokens_in : q->tokens_out, err, errlen);
    case SIM_F_LOAD: return putf(w, err, errlen, "%.9g", (double)q->load);
    case SIM_F_EMB: return put_emb(w, q, err, errlen);
    case SIM_F_TEXT: return put_text(w, q, err, errlen);
    case SIM_F_BLOCKS: return put_blocks(w, q, err, errlen);
    }
    return 0;
}

/* One line: the header when q is NULL, else q's row. */
static int put_row(sim_writer *w, const struct sim_req *q, char *err, size_t errlen)
{
    size_t mark = w->len;
    int first = 1, rc = 0;
    for (size_t i = 0; i < NCOLUMNS && !rc; i++) {
        if (!(w->fields & columns[i].field))
            continue;
        if (!first)
            rc = put(w, ",", 1, err, errlen);
        if (!rc)
            rc = q ? put_column(w, i, q, err, errlen)
                   : put(w, columns[i].name, strlen(columns[i].name), err, errlen);
        first = 0;
    }
    if (!rc)
        rc = put(w, "\n", 1, err, errlen);
    if (rc) {
        w->len = mark; /* nothing of a failed row is written */
        return rc;
    }
    return w->len >= FLUSH_AT ? flush(w, err, errlen) : 0;
}

/*=====   oracleGeneral   =====*/

/* Little-endian stores: one memcpy on little-endian hosts (what compilers
 * turn into a single mov), byte by byte elsewhere. */
static void le(unsigned char *p, uint64_t v, int bytes)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (bytes == 8) {
        memcpy(p, &v, 8);
        return;
    }
    if (bytes == 4) {
        uint32_t v32 = (uint32_t)v;
        memcpy(p, &v32, 4);
        return;
    }
#endif
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (bytes == 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
#endif
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Room for more records: in file mode the piece so far goes to the file
 * and its buffer is reused; in memory mode a new block is added. */
static int oracle_room(sim_writer *w, char *err, size_t errlen)
{
    if (w->fd >= 0 && w->nblk) {
        w->cur = w->blk[0];
        return sim_out_write(w->o, w->blk[0], PIECE_RECS * REC, err, errlen);
    }
    if (w->nblk == w->capblk) {
        size_t cap = w->capblk ? w->capblk * 2 : 16;
        unsigned char **b = realloc(w->blk, cap * sizeof *b);
        if (!b)
            goto nomem;
        w->blk = b;
        w->capblk = cap;
    }
    size_t recs = w->fd >= 0 ? PIECE_RECS : BLK_RECS;
    if (!(w->blk[w->nblk] = malloc(recs * REC)))
        goto nomem;
    w->cur = w->blk[w->nblk++];
    w->lim = w->cur + recs * REC;
    return 0;
nomem:
    snprintf(err, errlen, "%s: out of memory holding %zu records", w->path, w->nrec);
    return SIM_ENOMEM;
}

static int put_oracle(sim_writer *w, const struct sim_req *q, char *err, size_t errlen)
{
    uint64_t t = q->time / 1000000, size = (w->fields & SIM_F_SIZE) ? q->size : 1;
    if (t > UINT32_MAX || size > UINT32_MAX) {
        snprintf(err, errlen, "%s: request %llu: %s does not fit oracleGeneral's 32 bits",
                 w->path, (unsigned long long)q->index, t > UINT32_MAX ? "time" : "size");
        return SIM_EINVAL;
    }
    int rc = w->cur != w->lim ? 0 : oracle_room(w, err, errlen);
    if (rc)
        return rc;
    if (!w->nrec || q->key < w->kmin)
        w->kmin = q->key;
    if (!w->nrec || q->key > w->kmax)
        w->kmax = q->key;
    unsigned char *p = w->cur;
    w->cur += REC;
    w->nrec++;
    le(p, t, 4);
    le(p + 4, q->key, 8);
    le(p + 12, size, 4);
    le(p + 16, 0, 8);
    return 0;
}

/*
 * The backward pass's key -> last position table.  Dense keys (a synthetic
 * workload's 1..n, a scan) use a flat array of 32-bit positions indexed by
 * key - kmin: for 10^5 keys 400 KB, inside L2.  Scattered keys use a hash
 * table of {key, pos} pairs in one 16-byte slot (one cache line per probe),
 * which starts small and doubles at load 1/2, so it stays the size of the
 * distinct keys rather than of the request count.  Positions are 1-based;
 * 0 marks "not seen".
 */
struct lastpos {
    uint32_t *dense;        /* last[key - kmin], or NULL */
    uint64_t kmin;
    uint64_t (*slot)[2];
    size_t mask, count;
};

static int lastpos_grow(struct lastpos *t)
{
    size_t n = t->slot ? (t->mask + 1) * 2 : 1024;
    uint64_t(*s)[2] = calloc(n, sizeof *s);
    if (!s)
        return SIM_ENOMEM;
    for (size_t i = 0; t->slot && i <= t->mask; i++) {
        if (!t->slot[i][1])
            continue;
        size_t j = sim_key_hash(t->slot[i][0]) & (n - 1);
        while (s[j][1])
            j = (j + 1) & (n - 1);
        s[j][0] = t->slot[i][0];
        s[j][1] = t->slot[i][1];
    }
    free(t->slot);
    t->slot = s;
    t->mask = n - 1;
    return 0;
}

static int lastpos_init(struct lastpos *t, const sim_writer *w)
{
    memset(t, 0, sizeof *t);
    uint64_t span = w->nrec ? w->kmax - w->kmin : 0;
    t->kmin = w->kmin;
    if (w->nrec < UINT32_MAX && span < UINT32_MAX && span <= 4 * (uint64_t)w->nrec + 65536)
        return (t->dense = calloc(span + 1, sizeof *t->dense)) ? 0 : SIM_ENOMEM;
    return lastpos_grow(t);
}

static void lastpos_free(struct lastpos *t)
{
    free(t->dense);
    free(t->slot);
}

/* Fills the next field of `count` records at recs, which are records
 * first.. of the trace, last to first: the 1-based position of the key's
 * next request, or -1. */
static int fill_next(struct lastpos *t, unsigned char *recs, size_t count, size_t first)
{
    for (size_t i = count; i-- > 0;) {
        unsigned char *p = recs + i * REC;
        uint64_t key = get_le(p + 4, 8), pos = first + i + 1;
        if (t->dense) {
            uint32_t *l = &t->dense[key - t->kmin];
            le(p + 16, *l ? (uint64_t)*l : (uint64_t)-1, 8);
            *l = (uint32_t)pos;
            continue;
        }
        size_t j = sim_key_hash(key) & t->mask;
        while (t->slot[j][1] && t->slot[j][0] != key)
            j = (j + 1) & t->mask;
        le(p + 16, t->slot[j][1] ? t->slot[j][1] : (uint64_t)-1, 8);
        if (t->slot[j][1]) {
            t->slot[j][1] = pos;
            continue;
        }
        t->slot[j][0] = key;
        t->slot[j][1] = pos;
        if (++t->count * 2 > t->mask + 1 && lastpos_grow(t))
            return SIM_ENOMEM;
    }
    return 0;
}

/* Memory mode: next accesses block by block from the end, then the
 * records out in 1 MB writes. */
static int finish_held(sim_writer *w, struct lastpos *t, char *err, size_t errlen)
{
    for (size_t b = w->nblk; b-- > 0;) {
        size_t n = b + 1 < w->nblk ? BLK_RECS : (size_t)(w->cur - w->blk[b]) / REC;
        if (fill_next(t, w->blk[b], n, b * BLK_RECS))
            goto nomem;
    }
    for (size_t b = 0; b < w->nblk; b++) {
        size_t bytes = b + 1 < w->nblk ? BLK_RECS * REC : (size_t)(w->cur - w->blk[b]);
        for (size_t off = 0; off < bytes; off += PIECE_RECS * REC) {
            size_t len = bytes - off < PIECE_RECS * REC ? bytes - off : PIECE_RECS * REC;
            int rc = sim_out_write(w->o, w->blk[b] + off, len, err, errlen);
            if (rc)
                return rc;
        }
    }
    return 0;
nomem:
    snprintf(err, errlen, "%s: out of memory computing next accesses", w->path);
    return SIM_ENOMEM;
}

/* pread/pwrite exactly n bytes at off; 0 or -1 (errno set). */
static int file_io(int fd, unsigned char *buf, size_t n, off_t off, int wr)
{
    while (n) {
        ssize_t k = wr ? pwrite(fd, buf, n, off) : pread(fd, buf, n, off);
        if (k <= 0) {
            if (k < 0 && errno == EINTR)
                continue;
            if (k == 0)
                errno = EIO;
            return -1;
        }
        buf += k;
        n -= (size_t)k;
        off += k;
    }
    return 0;
}

/* File mode: the records are in the file with next = 0; read it back piece
 * by piece from the end, fill in the next accesses, write each piece back. */
static int finish_file(sim_writer *w, struct lastpos *t, char *err, size_t errlen)
{
    int rc = w->nblk ? sim_out_write(w->o, w->blk[0], (size_t)(w->cur - w->blk[0]), err, errlen)
                     : 0;
    int fd = rc ? -1 : sim_out_file_fd(w->o);
    if (rc)
        return rc;
    for (size_t end = w->nrec; end > 0 && fd >= 0;) {
        size_t first = end > PIECE_RECS ? end - PIECE_RECS : 0, n = end - first;
        off_t off = (off_t)first * REC;
        if (file_io(fd, w->blk[0], n * REC, off, 0) < 0)
            fd = -1;
        else if (fill_next(t, w->blk[0], n, first)) {
            snprintf(err, errlen, "%s: out of memory computing next accesses", w->path);
            return SIM_ENOMEM;
        } else if (file_io(fd, w->blk[0], n * REC, off, 1) < 0)
            fd = -1;
        end = first;
    }
    if (fd < 0) {
        snprintf(err, errlen, "%s: write error: %s", w->path, strerror(errno));
        return SIM_EIO;
    }
    return 0;
}

/* Computes the next accesses and writes the records. */
static int oracle_finish(sim_writer *w, char *err, size_t errlen)
{
    struct lastpos t;
    if (lastpos_init(&t, w)) {
        snprintf(err, errlen, "%s: out of memory computing next accesses", w->path);
        return SIM_ENOMEM;
    }
    int rc = w->fd >= 0 ? finish_file(w, &t, err, errlen) : finish_held(w, &t, err, errlen);
    lastpos_free(&t);
    return rc;
}

/*=====   Public   =====*/

int sim_writer_put(sim_writer *w, const struct sim_req *req, char *err, size_t errlen)
{
    w->rows++;
    return w->fmt == SIM_FMT_CSV ? put_row(w, req, err, errlen)
                                 : put_oracle(w, req, err, errlen);
}

int sim_writer_close(sim_writer *w, char *err, size_t errlen)
{
    if (!w)
        return 0;
    int rc = w->fmt == SIM_FMT_CSV ? flush(w, err, errlen) : oracle_finish(w, err, errlen);
    if (rc) {
        sim_writer_abort(w);
        return rc;
    }
    rc = sim_out_commit(w->o, err, errlen);
    writer_free(w);
    return rc;
}
