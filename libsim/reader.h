/*
 * reader.h - what the trace readers share; not installed.
 *
 * reader.c opens the stream, picks the format (given, detected from the
 * first bytes, or from the file name) and dispatches to one `struct
 * sim_fmt` per format, each in its own fmt_*.c file.  A format's `next`
 * fills one request and returns 1, 0 at the end, or <0 with
 * "file:line: message" in err (reader_error() formats it).
 */
#ifndef SIM_READER_H
#define SIM_READER_H

#include "internal.h"

struct sim_fmt {
    enum sim_format id;
    uint32_t fields;  /* SIM_F_* always provided (KEY implied) */
    int (*open)(sim_reader *r, char *err, size_t errlen);   /* may be NULL */
    int (*next)(sim_reader *r, struct sim_req *req, char *err, size_t errlen);
    void (*rewind)(sim_reader *r);                          /* may be NULL */
    void (*close)(sim_reader *r);                           /* may be NULL */
};

struct sim_reader_s {
    sim_in *in;
    const struct sim_fmt *fmt;
    struct sim_reader_opts opts;
    uint64_t lineno;     /* line (text) or record (binary) number, 1-based */
    uint64_t index;      /* requests returned so far */
    uint32_t fields;     /* what this trace provides */
    void *state;         /* the format's own */
    char **cats;         /* category names, by id */
    struct sim_npy_s *npy; /* opts.emb_path: embeddings, one row per request */
    uint32_t emb_dim;    /* dimension of the first embedding, 0 before */
    unsigned ncats, capcats;
};

/* Formats (fmt_*.c). */
extern const struct sim_fmt sim_fmt_oracle, sim_fmt_plain, sim_fmt_csv, sim_fmt_twitter,
    sim_fmt_accesslog, sim_fmt_arc, sim_fmt_lrb, sim_fmt_mooncake;

/* "path:line: " + message, into err; returns code. */
/* fmt_oracle.c: up to n requests at once, each complete as
 * sim_reader_next would return it (index and --ignore-size included); the
 * count, 0 at end, <0 on error.  sim__reader_batch uses it: one call per
 * few thousand requests instead of one per request took LRU from ~530 to
 * ~420 instructions a request.  (A function rather than a sim_fmt member
 * so that the other formats' tables stay as they are.) */
int sim_fmt_oracle_batch(sim_reader *r, struct sim_req *req, size_t n, char *err,
                         size_t errlen);

int reader_error(sim_reader *r, int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The next line that is not blank (only spaces and tabs), counted in
 * r->lineno; 1, 0 at the end, or <0 (sim_in_getline's). */
int reader_line(sim_reader *r, char **line, size_t *len, char *err, size_t errlen);

/* The id of category `name` (len bytes), adding it if new; <0 on error. */
int reader_category(sim_reader *r, const char *name, size_t len);

/* Key from text: a decimal u64 as its value, anything else hashed. */
uint64_t reader_key(const char *s, size_t len);

/* Strict number parsers over [s, s+len): 0 on success, -1 if not a number. */
int reader_u64(const char *s, size_t len, uint64_t *v);
int reader_i64(const char *s, size_t len, int64_t *v);
int reader_double(const char *s, size_t len, double *v);

/* A non-negative decimal "123" or "123.4567" times 10^scale (scale 6 turns
 * seconds into microseconds, 3 milliseconds); digits beyond the scale are
 * truncated.  0, or -1 if not such a number or out of range. */
int reader_decimal(const char *s, size_t len, unsigned scale, uint64_t *v);

/* enum sim_op of a verb: get/gets/read -> GET; set/add/replace/cas/append/
 * prepend/incr/decr/write -> SET; delete/del -> DELETE; else OTHER.
 * Case-insensitive. */
uint8_t reader_op(const char *s, size_t len);

/* One field of a line: [s, s+len). */
struct reader_span {
    const char *s;
    size_t len;
};

/* Splits [s, s+len) at `sep` (' ' means runs of spaces and tabs, with
 * leading and trailing blanks ignored) into up to max spans.  Returns the
 * number of fields, which may exceed max (the rest are not stored). */
unsigned reader_split(const char *s, size_t len, char sep, struct reader_span *f,
                      unsigned max);

/* reader_error(SIM_EFORMAT) "<what>: bad value '<f, at most 40 bytes>'". */
int reader_bad(sim_reader *r, char *err, size_t errlen, const char *what,
               const struct reader_span *f);

/* Makes *p (an array of elem-byte items, *cap of them) hold at least need
 * items, doubling; 0 or SIM_ENOMEM (then *p is unchanged). */
int reader_grow(void **p, size_t *cap, size_t need, size_t elem);

/* sim_hash_bytes() of the little-endian bytes of n u64s (any host). */
uint64_t reader_hash_u64s(const uint64_t *v, size_t n);

#endif
