/*
 * sim.h - libsim, the cache simulation library behind cachesim.
 *
 * Introduction
 * ------------
 * libsim replays request traces against cache policies and measures them.
 * The data flow is
 *
 *     trace file --> sim_reader --> struct sim_req --> sim_cache --> sim_outcome
 *                                                         |
 *                                                  struct sim_metrics --> CSV
 *
 * A program uses libsim in one of three ways:
 *   1. Simple: sim_run() replays one trace through several caches (threads
 *      optional) and returns their metrics; sim_csv_*() prints them.
 *   2. Explicit: open a reader (sim_reader_open), create caches
 *      (sim_cache_create), and feed each request to sim_cache_access().
 *   3. Extending: a new policy implements struct sim_policy_ops
 *      (sim_policy.h) and is listed in policies/registry.c.
 *
 * Object lifecycle: every opaque object has a create/open function and a
 * matching free/close that accepts NULL.
 *
 * Error model: a fallible call returns 0 (or a count) on success and a
 * negative SIM_E* code on failure, or NULL for constructors.  Calls that can
 * fail with a message take `char *err, size_t errlen` and write a one-line,
 * NUL-terminated explanation there (prefixed "file:line: " when the error is
 * about a trace line).  On error, the state of the objects involved is
 * unchanged unless the function says otherwise.  libsim never prints, never
 * calls exit() or abort() on bad input, and keeps no mutable global state:
 * distinct objects may be used from distinct threads concurrently.
 *
 * Stability: everything in this file is stable API since 0.1 unless marked
 * otherwise.  Enum values have explicit numbers and are never renumbered.
 */
#ifndef SIM_H
#define SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SIM_VERSION_MAJOR 0
#define SIM_VERSION_MINOR 2
#define SIM_VERSION_PATCH 0
#define SIM_VERSION_STRING "0.2.0"

/*! sim_version() :
 * @return the library's version string, e.g. "0.2.0" (cannot fail). */
const char *sim_version(void);

/*=====   Errors   =====*/

enum sim_errcode {
    SIM_OK = 0,
    SIM_ENOMEM = -1,       /* allocation failed */
    SIM_EINVAL = -2,       /* bad argument, parameter or configuration */
    SIM_EIO = -3,          /* the operating system failed a read or write */
    SIM_EFORMAT = -4,      /* malformed or truncated input */
    SIM_ENOTFOUND = -5,    /* unknown name (policy, parameter, format, column) */
    SIM_EUNSUPPORTED = -6, /* valid but not supported here (e.g. rewinding stdin) */
    SIM_EMISSING = -7      /* a policy needs a request field the trace lacks */
};

/*! sim_strerror() :
 * @return a static description of a SIM_E* code (cannot fail). */
const char *sim_strerror(int code);

/*! Recommended size of the `err` buffers passed to libsim. */
#define SIM_ERRLEN 512

/*=====   Requests   =====*/

/* Bits of sim_req.present: which fields the trace provided. */
enum sim_field {
    SIM_F_TIME = 1u << 0,
    SIM_F_KEY = 1u << 1,
    SIM_F_SIZE = 1u << 2,
    SIM_F_TTL = 1u << 3,
    SIM_F_OP = 1u << 4,
    SIM_F_NEXT = 1u << 5,     /* next_access */
    SIM_F_CATEGORY = 1u << 6,
    SIM_F_USER = 1u << 7,
    SIM_F_CONTEXT = 1u << 8,  /* context and turn */
    SIM_F_CLASS = 1u << 9,
    SIM_F_EMB = 1u << 10,     /* emb and dim */
    SIM_F_TOKENS = 1u << 11,  /* tokens_in and tokens_out */
    SIM_F_BLOCKS = 1u << 12,  /* blocks and nblocks */
    SIM_F_TEXT = 1u << 13,    /* text and text_len */
    SIM_F_LOAD = 1u << 14     /* load */
};

/*! sim_field_name() :
 * @return the lower-case name of one SIM_F_* bit ("time", "key", ...), or
 *         NULL if `field` is not exactly one known bit. */
const char *sim_field_name(uint32_t field);

/* Operations.  Object caches treat every op but SIM_OP_DELETE as a get. */
enum sim_op {
    SIM_OP_GET = 0,
    SIM_OP_SET = 1,
    SIM_OP_DELETE = 2,
    SIM_OP_OTHER = 3
};

/*
 * One request.  A reader fills the fields its format carries and sets their
 * bits in `present`; the others are zero.  Pointer fields (emb, blocks, text)
 * are owned by the reader and valid until its next call.
 */
struct sim_req {
    uint64_t index;       /* 0-based position among the trace's requests */
    uint64_t time;        /* trace clock, microseconds */
    uint64_t key;         /* object id; string keys hashed to 64 bits */
    uint64_t size;        /* bytes; 1 when sizes are ignored */
    int64_t next_access;  /* index of the next request for key, -1 never */
    uint32_t ttl;         /* seconds until expiry, 0 for none */
    uint32_t present;     /* SIM_F_* bits */
    uint8_t op;           /* enum sim_op */
    uint16_t category;    /* index into the trace's category names */
    uint32_t turn;        /* turn within the conversation `context` */
    uint64_t user;        /* who asked */
    uint64_t context;     /* conversation or preceding-query id */
    uint64_t cls;         /* ground-truth equivalence class ("class") */
    uint32_t tokens_in;   /* prompt length */
    uint32_t tokens_out;  /* answer length */
    float load;           /* downstream load (utilisation, 1 = saturated) */
    uint32_t dim;         /* length of emb */
    const float *emb;     /* embedding, dim floats */
    uint32_t nblocks;     /* length of blocks */
    const uint64_t *blocks; /* prefix block hashes, prefix order */
    uint32_t text_len;    /* length of text in bytes */
    const char *text;     /* query text, not NUL-terminated */
    const char *category_name; /* name of `category`, NUL-terminated, owned by
                                  the reader and valid while it is open; NULL
                                  without SIM_F_CATEGORY */
};

/*! sim_hash_bytes() :
 * 64-bit hash used for string keys (and anywhere a stable hash is needed).
 * Same input, same output, on every platform.  Cannot fail. */
uint64_t sim_hash_bytes(const void *data, size_t len);

/*=====   Traces   =====*/

enum sim_format {
    SIM_FMT_AUTO = 0,       /* detect from content, else from the file name */
    SIM_FMT_CSV = 1,        /* native CSV with a header naming columns */
    SIM_FMT_ORACLE = 2,     /* libCacheSim oracleGeneral binary */
    SIM_FMT_PLAIN = 3,      /* one key per line */
    SIM_FMT_TWITTER = 4,    /* Twitter cache-trace CSV */
    SIM_FMT_ACCESSLOG = 5,  /* NGINX/Apache combined access log */
    SIM_FMT_ARC = 6,        /* ARC "start n ignored req" */
    SIM_FMT_LRB = 7,        /* LRB/Wikipedia/webcachesim "time id size" */
    SIM_FMT_MOONCAKE = 8    /* Mooncake JSONL */
};

/*! sim_format_name() / sim_format_parse() :
 * Names are "csv", "oracle", "plain", "twitter", "accesslog", "arc", "lrb",
 * "mooncake" ("auto" for SIM_FMT_AUTO).  sim_format_parse() returns the
 * format or SIM_ENOTFOUND. */
const char *sim_format_name(enum sim_format fmt);
int sim_format_parse(const char *name);

struct sim_reader_opts {
    enum sim_format format; /* SIM_FMT_AUTO to detect */
    int ignore_size;        /* report size 1 for every request */
    const char *emb_path;   /* companion .npy of embeddings, or NULL */
};

typedef struct sim_reader_s sim_reader;

/*! sim_reader_open() :
 * Opens `path` ("-" for standard input) for streaming.  zstd and gzip
 * compression are detected from the first bytes.  `opts` may be NULL.
 * @return the reader, or NULL with a message in err. */
sim_reader *sim_reader_open(const char *path, const struct sim_reader_opts *opts,
                            char *err, size_t errlen);

/*! sim_reader_next() :
 * Reads the next request into *req.
 * @return 1 for a request, 0 at the end of the trace, or a negative SIM_E*
 *         code with "file:line: message" in err.
 * Note 1: records a format defines as skipped (e.g. size 0 in oracleGeneral,
 *         the "*" markers of LIRS traces) are skipped and not indexed.
 * Note 2: a truncated final record is an error, not the end. */
int sim_reader_next(sim_reader *r, struct sim_req *req, char *err, size_t errlen);

/*! sim_reader_rewind() :
 * Restarts the trace from its first request.
 * @return 0, or SIM_EUNSUPPORTED for standard input, or another error. */
int sim_reader_rewind(sim_reader *r, char *err, size_t errlen);

/*! sim_reader_format() / sim_reader_fields() / sim_reader_path() :
 * The detected format; the SIM_F_* fields this trace provides; the path. */
enum sim_format sim_reader_format(const sim_reader *r);
uint32_t sim_reader_fields(const sim_reader *r);
const char *sim_reader_path(const sim_reader *r);

/*! sim_reader_progress() :
 * @return the fraction of the input consumed, in [0, 1], or -1 when the
 *         total size is unknown (pipes). */
double sim_reader_progress(const sim_reader *r);

/*! sim_reader_category_name() :
 * @return the name of category `id` as the trace spells it, or NULL. */
const char *sim_reader_category_name(const sim_reader *r, unsigned id);

/*! sim_reader_close() : accepts NULL. */
void sim_reader_close(sim_reader *r);

/*=====   Trace writers   =====*/

typedef struct sim_writer_s sim_writer;

/*! sim_writer_open() :
 * Creates a trace writer for `path` ("-" for standard output).  The output is
 * compressed with zstd when the name ends in ".zst" and with gzip when it
 * ends in ".gz".  A file is written to a temporary name and renamed into
 * place by a successful sim_writer_close(), so a failed run leaves nothing.
 * `fields` is the SIM_F_* set to write (CSV columns); SIM_FMT_ORACLE computes
 * next_access itself and so holds its records until close.
 * @return the writer, or NULL with a message in err. */
sim_writer *sim_writer_open(const char *path, enum sim_format fmt, uint32_t fields,
                            char *err, size_t errlen);

/*! sim_writer_set_category_names() :
 * Names to write for category ids 0..n-1 (CSV); copied. @return 0 or error. */
int sim_writer_set_category_names(sim_writer *w, const char *const *names, unsigned n,
                                  char *err, size_t errlen);

/*! sim_writer_put() : appends one request. @return 0 or a SIM_E* code. */
int sim_writer_put(sim_writer *w, const struct sim_req *req, char *err, size_t errlen);

/*! sim_writer_close() :
 * Flushes, closes and renames into place.  @return 0 or a SIM_E* code (the
 * temporary file is removed then).  sim_writer_abort() discards everything.
 * Both free the writer and accept NULL. */
int sim_writer_close(sim_writer *w, char *err, size_t errlen);
void sim_writer_abort(sim_writer *w);

/*=====   Policies and caches   =====*/

/* What a capacity counts. */
enum sim_unit {
    SIM_UNIT_BYTES = 0,
    SIM_UNIT_OBJECTS = 1,
    SIM_UNIT_ENTRIES = 2,
    SIM_UNIT_TOKENS = 3
};
const char *sim_unit_name(enum sim_unit unit);

struct sim_policy_ops; /* sim_policy.h */

/*! sim_policy_count() / sim_policy_at() / sim_policy_find() :
 * The registry of built-in policies, in a fixed order.  sim_policy_find()
 * matches names case-insensitively and returns NULL if there is none. */
size_t sim_policy_count(void);
const struct sim_policy_ops *sim_policy_at(size_t i);
const struct sim_policy_ops *sim_policy_find(const char *name);

/* Parameter types. */
enum sim_ptype {
    SIM_P_INT = 1,
    SIM_P_REAL = 2,
    SIM_P_BOOL = 3,
    SIM_P_STR = 4,
    SIM_P_ENUM = 5   /* one of the '|'-separated words in `choices` */
};

/* One declared parameter of a policy. */
struct sim_param_def {
    const char *name;
    enum sim_ptype type;
    const char *def;      /* default, as text */
    double min, max;      /* inclusive bounds for INT and REAL */
    const char *choices;  /* ENUM: "lru|lfu|fifo"; otherwise NULL */
    const char *help;     /* one line */
};

struct sim_cache_config {
    uint64_t capacity;    /* in `unit`s; must be > 0 */
    enum sim_unit unit;
    uint64_t seed;        /* for randomised policies */
    uint32_t fields;      /* SIM_F_* the trace provides */
    const char *params;   /* "key=value,..." or NULL */
};

typedef struct sim_cache_s sim_cache;

/*! sim_cache_create() :
 * Creates a cache running policy `spec`, written "name" or
 * "name:key=value,...".  Parameters are checked against the policy's
 * declarations: unknown keys, bad numbers and values out of bounds are errors
 * that name the key.  cfg->params, if set, is appended to the spec's.
 * @return the cache, or NULL with a message in err. */
sim_cache *sim_cache_create(const char *spec, const struct sim_cache_config *cfg,
                            char *err, size_t errlen);

/* What happened to one request. */
struct sim_outcome {
    uint8_t hit;          /* served from the cache (true or false hit) */
    uint8_t false_hit;    /* semantic: served an answer of another class */
    uint8_t false_miss;   /* semantic: missed while an equivalent was cached */
    uint8_t uncounted;    /* not a lookup (e.g. a delete): not in the metrics */
    uint32_t evictions;   /* objects evicted to make room */
    uint32_t expirations; /* objects found or removed expired */
};

/*! sim_cache_access() :
 * Presents one request to the cache, updates its metrics and fills *out
 * (which may be NULL).  Cannot fail: a request the policy cannot use is a
 * miss.  Requests must come in trace order. */
void sim_cache_access(sim_cache *c, const struct sim_req *req, struct sim_outcome *out);

/*! sim_cache_reset_metrics() :
 * Zeroes the metrics (end of warm-up); cache contents stay. */
void sim_cache_reset_metrics(sim_cache *c);

/* Core metrics of one cache. */
struct sim_metrics {
    uint64_t requests, hits, misses;
    uint64_t bytes, bytes_missed;
    uint64_t evictions, expirations;
    uint64_t false_hits, false_misses;
    double seconds;       /* time spent inside the policy */
};

/*! sim_cache_metrics() : copies the metrics out. Cannot fail. */
void sim_cache_metrics(const sim_cache *c, struct sim_metrics *m);

/*! sim_cache_extra() :
 * The policy's own CSV columns (names NULL-terminated, may be empty) and
 * their current values; `values` must hold sim_cache_extra_count() doubles. */
const char *const *sim_cache_extra_names(const sim_cache *c);
size_t sim_cache_extra_count(const sim_cache *c);
void sim_cache_extra_values(const sim_cache *c, double *values);

/*! Accessors: the policy, its canonical parameter string, capacity, unit. */
const struct sim_policy_ops *sim_cache_policy(const sim_cache *c);
const char *sim_cache_params(const sim_cache *c);
uint64_t sim_cache_capacity(const sim_cache *c);
enum sim_unit sim_cache_unit(const sim_cache *c);

/*! sim_cache_check() :
 * Runs the policy's invariant checks, if it has any.
 * @return 0, or SIM_EINVAL with the broken invariant in err. */
int sim_cache_check(sim_cache *c, char *err, size_t errlen);

/*! sim_cache_free() : accepts NULL. */
void sim_cache_free(sim_cache *c);

/*=====   Runs: one trace through many caches   =====*/

struct sim_run_opts {
    uint64_t warmup;        /* requests not counted */
    unsigned threads;       /* worker threads, 0 or 1 for none */
    /* Called about every 2^20 requests with the reader's progress and the
     * count so far; return non-zero to stop the run (SIM_EINVAL: stopped). */
    int (*progress)(void *arg, double fraction, uint64_t requests);
    void *progress_arg;
};

/*! sim_run() :
 * Streams the reader's trace once through `n` caches.  Requests are parsed
 * once, in batches, and each batch is run through the caches (split over
 * `threads`).  If a cache's policy needs next_access and the trace lacks it,
 * the run reads the trace once ahead to compute it (the only case where the
 * whole trace's keys are held in memory) and rewinds.
 * @return 0, or a SIM_E* code with a message in err (then the metrics are
 *         partial). */
int sim_run(sim_reader *r, sim_cache *const *caches, size_t n,
            const struct sim_run_opts *opts, char *err, size_t errlen);

/*! sim_trace_stats() :
 * One pass over the trace: requests, distinct keys, and the working set in
 * bytes (each key counted once, at its first size).  Used to turn fractions
 * into cache sizes.  Rewinds the reader before and after. */
struct sim_trace_stats {
    uint64_t requests, objects, bytes;
};
int sim_trace_stats(sim_reader *r, struct sim_trace_stats *st, char *err, size_t errlen);

/*=====   CSV output   =====*/

/*! sim_csv_header() / sim_csv_row() :
 * Write the result table: the core columns
 *   trace,policy,params,cache_size,unit,requests,hits,misses,miss_ratio,
 *   bytes,bytes_missed,byte_miss_ratio,evictions,expirations,seconds,
 *   requests_per_s
 * then `extra`, the union of the caches' own columns (NULL-terminated).
 * Ratios are printed with 17 significant digits (round-trip), in the C
 * locale.  @return 0 or SIM_EIO. */
int sim_csv_header(FILE *f, const char *const *extra);
int sim_csv_row(FILE *f, const char *trace, const sim_cache *c, const char *const *extra);

/*! sim_csv_quote() :
 * Writes `s` as one CSV field, quoted when it holds a comma, quote or newline. */
int sim_csv_quote(FILE *f, const char *s);

/*=====   Result files   =====*/

typedef struct sim_outfile_s sim_outfile;

/*! sim_outfile_open() :
 * An output file that appears under `path` only when complete: it is written
 * to "path.tmp.XXXXXX" and renamed by sim_outfile_commit().  "-" is standard
 * output (written directly).  @return the handle, or NULL with err set. */
sim_outfile *sim_outfile_open(const char *path, char *err, size_t errlen);
/*! The stdio stream to write to. */
FILE *sim_outfile_stream(sim_outfile *f);
/*! Flushes, checks for write errors, renames into place and frees.
 * @return 0, or SIM_EIO (the temporary file is removed then). */
int sim_outfile_commit(sim_outfile *f, char *err, size_t errlen);
/*! Removes the temporary file and frees; accepts NULL. */
void sim_outfile_abort(sim_outfile *f);

/*=====   Deterministic random numbers   =====*/

/* xoshiro256** by Blackman and Vigna, seeded through splitmix64: the same
 * seed gives the same stream on every platform.  State is caller-owned. */
struct sim_rng { uint64_t s[4]; };
void sim_rng_seed(struct sim_rng *g, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *g);
/* Uniform in [0, n), unbiased; n > 0. */
uint64_t sim_rng_below(struct sim_rng *g, uint64_t n);
/* Uniform double in [0, 1) with 53 random bits. */
double sim_rng_unit(struct sim_rng *g);

#ifdef __cplusplus
}
#endif
#endif /* SIM_H */
