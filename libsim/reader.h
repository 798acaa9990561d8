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
int reader_error(sim_reader *r, int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The id of category `name` (len bytes), adding it if new; <0 on error. */
int reader_category(sim_reader *r, const char *name, size_t len);

/* Key from text: a decimal u64 as its value, anything else hashed. */
uint64_t reader_key(const char *s, size_t len);

/* Strict number parsers over [s, s+len): 0 on success, -1 if not a number. */
int reader_u64(const char *s, size_t len, uint64_t *v);
int reader_i64(const char *s, size_t len, int64_t *v);
int reader_double(const char *s, size_t len, double *v);

#endif
