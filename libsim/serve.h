/*
 * serve.h - internals of the serving simulation shared by serve*.c; not
 * installed.
 */
#ifndef SIM_SERVE_INT_H
#define SIM_SERVE_INT_H

#include "internal.h"
#include "sim_serve.h"

/* One cached example. */
struct exentry {
    uint64_t cls;        /* ground truth: hidden from the router */
    uint16_t cat;
    uint8_t model;       /* index of the model that answered */
    uint8_t acceptable;  /* ground truth: was the answer acceptable */
    uint8_t live;
    float utility;       /* learned estimate, [0, 1] */
    uint32_t tokens;     /* prompt + answer tokens it adds to a prompt */
    uint32_t bytes;      /* what it costs the cache */
    uint32_t uses;
};

/* IVF: entries in clusters around centroids; a search scans the clusters
 * of the nprobe nearest centroids (IC-Cache's clustered retrieval).  Each
 * list keeps its entries' int8 codes contiguous, for the pre-filter of
 * serve_ivf.c. */
struct ivf_list {
    uint32_t *ids, n, cap;
    float *vec;          /* cap rows of dim floats: the unit vectors */
    int8_t *code;        /* cap rows of cdim bytes */
    float *qs, *qe;      /* per slot: code step, residual norm (serve_ivf.c) */
};

/* Where the lists' arrays live (serve_ivf.c): power-of-two blocks cut
 * from 2 MiB chunks, a free list per size. */
struct ivf_arena {
    void **chunk;
    size_t nchunk, capchunk, left;
    char *at;
    void *free[64];
};

/* What a search learnt about the query, so that inserting the same
 * embedding later costs less: best is the nearest of the first ncent
 * centroids (0: not known) as they were then, and if the caller points
 * prep at excache_prep_size() bytes, the search stores the normalised,
 * coded query there (have_prep). */
struct exhint {
    uint32_t ncent, best;
    float sim;
    void *prep;
    int have_prep;
};

/* An int8-coded query, for the kernels of serve_ivf.c. */
struct ivf_query {
    const int8_t *code;  /* cdim bytes */
    float step, c1, c0;  /* a row passes if (D step qs + qe c1) + c0 >= tau */
};

/* A query coded for ranking the centroids (serve_ivf.c): a code in
 * [-63, 64] (cdim bytes) and bias = 128 * its sum. */
struct ivf_rankq {
    const int8_t *code;
    int32_t bias;
    float step;
};

/* The want nearest of centroids [c0, n) by rank similarity (float)(D) *
 * step * qs[c], D the integer dot product of the query's 7-bit code and
 * centroid c's code, ties to the lower number, into probe / probe_sim
 * best first; returns how many (want, or fewer if there are fewer).
 * blocks: the codes in blocks of 8 centroids (serve_ivf.c, cent_store);
 * qs has room for the last block's 8. */
typedef size_t (*ivf_rank_fn)(const struct ivf_rankq *q, const uint8_t *blocks,
                              const float *qs, uint32_t c0, uint32_t n, uint32_t cdim,
                              size_t want, uint64_t *probe, float *probe_sim);
/* The rows r < n (ascending) of codes for which, with D = q . row r,
 * a = ((float)D * step * qs[r] + qe[r] * c1) + c0 >= tau, into pass, and
 * their a into val; returns how many. */
typedef uint32_t (*ivf_filter_fn)(const struct ivf_query *q, const int8_t *codes,
                                  const float *qs, const float *qe, uint32_t n, uint32_t cdim,
                                  float tau, uint32_t *pass, float *val);

/* What a search works in: the query normalised and coded, the lists to
 * scan, and counters.  struct excache has one (w); each other thread that
 * searches (ivf_search_ahead) has its own. */
struct ivf_scratch {
    float *u;            /* dim: the normalised query */
    int8_t *ucode;       /* cdim: its code */
    float ustep, uresid; /* its code's step and residual norm */
    int8_t *rcode;       /* cdim: the query's ranking code (ivf_rankq) */
    uint64_t *probe;     /* nlist: clusters to scan */
    float *probe_sim;
    uint64_t codes;      /* codes compared so far (centroids and rows) */
    uint64_t scored;     /* rows scored in float so far */
};

/* An insertion into the lists, deferred (serve_ivf.c, DEFERRED CHANGES):
 * entry id into list cluster, its prepared vector in the log's preps. */
struct ivf_op {
    uint64_t seq;        /* its change number */
    uint64_t prev;       /* the previous add to the same list: its add
                          * number + 1 (0: none) */
    uint32_t id, cluster;
};

/* Changes are numbered from 1 (next: the next one's), and [applied, next)
 * are not yet in the lists.  Adds are also numbered by themselves, in a
 * ring of cap (a power of two): [keep, nadd) are kept, [add0, nadd) not
 * yet in the lists.  Deletes need no room: gone[id] numbers an entry's
 * latest delete, and the entries deleted since applied are del[0, ndel)
 * (each once: room for every id). */
struct ivf_log {
    int on;              /* changes wait for ivf_apply */
    uint64_t next, applied;
    uint64_t moved;      /* rows last changed lists (Lloyd) before it */
    uint64_t keep, add0, nadd, cap;
    struct ivf_op *op;
    unsigned char *prep; /* cap preps of ivf_prep_size bytes */
    uint64_t *head;      /* by list: its latest add's number + 1, 0 none */
    uint64_t *gone;      /* by id */
    uint32_t *del, ndel;
};

/* A search made ahead of its request (ivf_search_ahead), against the
 * lists as of change `snap`, to be brought up to date by ivf_search_finish:
 * the best k + IVF_AHEAD_SLACK, so that deletes since rarely leave fewer
 * than k of them. */
#define IVF_AHEAD_SLACK 4
#define IVF_AHEAD_MAX 32
struct ivf_ahead {
    uint64_t snap;
    int n;               /* found, or < 0: the query is not a vector */
    uint32_t k;          /* asked for */
    uint64_t ids[IVF_AHEAD_MAX];
    float sims[IVF_AHEAD_MAX];
    uint32_t ncent, best; /* the hint (struct exhint) */
    float bsim;
    uint64_t *probe;     /* the lists scanned: room for ivf_probes() */
    uint32_t nprobe;
    void *prep;          /* the prepared query (caller's buffer) */
};

/* Entries an eviction samples. */
#define EXCACHE_SAMPLE 16

/* A live entry as eviction samples it: its utility per byte next to its
 * id, so that a sample costs one cache miss, not two. */
struct exlive {
    float dens;          /* utility / bytes */
    uint32_t id;
};

struct excache {
    int kind;            /* enum sim_serve_index */
    sim_vec *idx;        /* flat or hnsw */
    /* ivf (serve_ivf.c) */
    uint32_t nlist, nprobe, ncent, cdim;
    float *cent;         /* nlist * dim, unit vectors */
    int64_t *csum;       /* nlist * dim: each list's vector sum, fixed point */
    uint32_t since;      /* insertions since they last moved */
    uint32_t nrows;      /* entries in the lists */
    uint32_t lloyd_at;   /* k-means over all entries when nrows reaches it */
    int8_t *ccode;       /* nlist * cdim: the centroids' codes */
    uint8_t *cblk;       /* the same, + 128, in blocks of 8 for the ranking */
    float *cqs, *cqe;    /* per centroid: code step, residual norm */
    uint32_t *cluster, *slot; /* per entry: its cluster and place in it */
    struct ivf_list *lists;
    struct ivf_arena arena;
    struct ivf_scratch w; /* the calling thread's: searches, inserts */
    struct ivf_log log;  /* changes not yet in the lists (defer) */
    ivf_rank_fn rank;    /* int8 kernels: AVX2 where the CPU has it */
    ivf_filter_fn filter;
    float (*code_dot)(const float *u, const int8_t *code, uint32_t dim);
    void (*quant)(const float *v, uint32_t n8, float st, float inv, int8_t *code, float *r8);
    int32_t (*halve)(const int8_t *code, uint32_t cdim, int8_t *out);
    struct exentry *e;
    uint32_t n, cap;     /* ids handed out, allocated */
    uint32_t *free_ids, nfree;
    struct exlive *live; /* the live entries, for eviction's samples */
    uint32_t *pos, nlive; /* pos: by id, its place in live */
    uint64_t bytes, budget;
    uint32_t dim;
    struct sim_rng rng;
    /* The next eviction's samples, drawn ahead from rng for ahead_n live
     * entries (0: none), and rng after them (serve_excache.c). */
    uint32_t ahead[EXCACHE_SAMPLE], ahead_n;
    int ahead_seen;      /* its likely victim prefetched (prefetch_victim) */
    struct sim_rng ahead_rng;
    uint64_t inserted, evicted;
};

/* sim_rng_below(g, n) for many draws with one n (the eviction's samples,
 * serve_excache.c): the same numbers from the same states, with one 64-bit
 * division at set-up instead of two per draw.  With m = floor((2^64 - 1) /
 * n), the rejection limit UINT64_MAX - UINT64_MAX % n is m n, and the
 * quotient estimate q' = floor(x m / 2^64) of x / n is floor(x / n) or one
 * less (x m / 2^64 > x / n - x / 2^64 > x / n - 1, and < x / n), so
 * x - q' n needs at most one subtraction of n to be x % n. */
struct below {
    uint64_t n, m, limit;
};

/* The high 64 bits of a b, from 32-bit halves (the portable way). */
static inline uint64_t below_mulhi_c(uint64_t a, uint64_t b)
{
    uint64_t al = a & 0xffffffffu, ah = a >> 32, bl = b & 0xffffffffu, bh = b >> 32;
    uint64_t ll = al * bl, hl = ah * bl, lh = al * bh, hh = ah * bh;
    /* <= 2 (2^32 - 1) + (2^32 - 1)^2 = 2^64 - 1: no carry lost */
    uint64_t mid = (ll >> 32) + (hl & 0xffffffffu) + lh;
    return hh + (hl >> 32) + (mid >> 32);
}

static inline uint64_t below_mulhi(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
    __extension__ typedef unsigned __int128 u128;
    return (uint64_t)(((u128)a * b) >> 64);
#else
    return below_mulhi_c(a, b);
#endif
}

/* n >= 1. */
static inline void below_init(struct below *b, uint64_t n)
{
    b->n = n;
    b->m = UINT64_MAX / n;
    b->limit = b->m * n;
}

/* x % n. */
static inline uint64_t below_mod(const struct below *b, uint64_t x)
{
    uint64_t r = x - below_mulhi(x, b->m) * b->n;
    return r >= b->n ? r - b->n : r;
}

static inline uint64_t below_draw(const struct below *b, struct sim_rng *g)
{
    uint64_t x;
    do
        x = sim_rng_step(g);
    while (x >= b->limit);
    return below_mod(b, x);
}

int excache_init(struct excache *x, uint32_t dim, uint64_t budget, int kind,
                 uint64_t seed, char *err, size_t errlen);
void excache_free(struct excache *x);
/* The index of a validated "index" parameter: flat, hnsw or ivf. */
enum sim_serve_index excache_index_named(const char *name);
/* Stores a copy of *proto with embedding emb, evicting to fit the budget. */
int excache_insert(struct excache *x, const struct exentry *proto, const float *emb,
                   char *err, size_t errlen);
void excache_remove(struct excache *x, uint32_t id);
/* Sets entry id's utility (keeping the eviction's copy in step). */
void excache_set_utility(struct excache *x, uint32_t id, float utility);
int excache_search(struct excache *x, const float *q, size_t k, uint64_t *ids, float *sims,
                   char *err, size_t errlen);
/* As excache_search, but returns only entries of similarity >= minsim (the
 * same as filtering the unfloored result: ranks are by similarity) and, if
 * hint is not NULL, fills it for excache_insert_hint. */
int excache_search_floor(struct excache *x, const float *q, size_t k, float minsim,
                         struct exhint *hint, uint64_t *ids, float *sims, char *err,
                         size_t errlen);
/* As excache_insert, for the embedding a search filled hint for (or hint
 * NULL), with fewer centroid comparisons: the same result, except that
 * IVF centroids that moved since the search (serve_ivf.c) are taken as
 * they were then. */
int excache_insert_hint(struct excache *x, const struct exentry *proto, const float *emb,
                        const struct exhint *hint, char *err, size_t errlen);

/* IVF (serve_ivf.c, DEFERRED CHANGES): turns deferred changes on once the
 * index allows it (for good); returns whether they are on. */
int excache_defer(struct excache *x);
/* Makes the index's deferred changes (no search may run meanwhile). */
void excache_apply(struct excache *x);

/* Bytes a hint's prep needs (0: the index does not use it). */
size_t excache_prep_size(const struct excache *x);

/* serve_ivf.c: the IVF index of an excache. */
size_t ivf_prep_size(const struct excache *x);
int ivf_init(struct excache *x, uint64_t budget);
void ivf_free(struct excache *x);
int ivf_grow(struct excache *x, uint32_t cap);
int ivf_add(struct excache *x, uint32_t id, const float *emb, const struct exhint *hint,
            char *err, size_t errlen);
void ivf_del(struct excache *x, uint32_t id);
/* Prefetches what ivf_del(x, id) will read. */
void ivf_prefetch_del(const struct excache *x, uint32_t id);
/* The portable kernels (tests compare the others with them). */
size_t ivf_rank_c(const struct ivf_rankq *q, const uint8_t *blocks, const float *qs,
                  uint32_t c0, uint32_t n, uint32_t cdim, size_t want, uint64_t *probe,
                  float *probe_sim);
uint32_t ivf_filter_c(const struct ivf_query *q, const int8_t *codes, const float *qs,
                      const float *qe, uint32_t n, uint32_t cdim, float tau, uint32_t *pass,
                      float *val);
float ivf_code_dot_c(const float *u, const int8_t *c, uint32_t dim);
int32_t ivf_halve_c(const int8_t *code, uint32_t cdim, int8_t *out);
void ivf_quant_c(const float *v, uint32_t n8, float st, float inv, int8_t *code, float *r8);
/* Copies the centroids' codes (ccode) into the ranking kernels' blocks:
 * for tests that set ccode themselves. */
void ivf_store_centroids(struct excache *x);
int ivf_search(struct excache *x, const float *q, size_t k, float minsim, struct exhint *hint,
               uint64_t *ids, float *sims, char *err, size_t errlen);
/* The lists a search scans: nprobe, within [1, nlist]. */
size_t ivf_probes(const struct excache *x);
/* A search's scratch for x: 0 or SIM_ENOMEM (then free it all the same). */
int ivf_scratch_init(const struct excache *x, struct ivf_scratch *w);
void ivf_scratch_free(struct ivf_scratch *w);
/* Turns deferred changes on once every centroid is founded (serve_ivf.c,
 * DEFERRED CHANGES; for good); returns whether they are on. */
int ivf_defer(struct excache *x);
/* Makes the changes deferred so far (no search may run meanwhile), then
 * moves the centroids if due. */
void ivf_apply(struct excache *x);
/* With changes deferred: searches the lists for q into a (whose probe and
 * prep the caller points at ivf_probes(x) lists and excache_prep_size()
 * bytes), reading x only, with scratch w: other threads may search
 * meanwhile, none change x. */
void ivf_search_ahead(const struct excache *x, struct ivf_scratch *w, const float *q,
                      size_t k, float minsim, struct ivf_ahead *a);
/* The top k (k <= a's) at floor minsim of a's search, brought up to date
 * with the changes since: what ivf_search with a's lists would return
 * now.  Returns how many, or a's error. */
int ivf_search_finish(struct excache *x, const struct ivf_ahead *a, size_t k, float minsim,
                      uint64_t *ids, float *sims);

/* The replicas of one model by occupancy (serve_occ.c): finds the least
 * busy replica with a free batch slot without a scan. */
struct occ {
    uint64_t *row;       /* batch + 1 rows of nw words: bit i of row n is set
                          * iff replica i runs n requests */
    uint32_t *count;     /* replicas per row */
    unsigned nw, lowest, batch; /* lowest: the lowest non-empty row */
};

/* All replicas idle (row 0).  Returns 0 or SIM_ENOMEM. */
int occ_init(struct occ *o, unsigned replicas, unsigned batch);
void occ_free(struct occ *o);
/* Replica's occupancy changed from `from` to `to` (both <= batch). */
void occ_move(struct occ *o, unsigned replica, unsigned from, unsigned to);
/* The first replica (lowest number) among those of least occupancy, if
 * that is below batch; else -1 (every replica is full). */
int occ_least(const struct occ *o);

/* The earliest of n keys, ties to the lower number (serve_events.c): the
 * replicas' next events. */
struct evq {
    double *key;         /* p: by number; INFINITY beyond n (= wk + p) */
    uint32_t *w;         /* 2p: w[1] the winner; leaves at p + number */
    double *wk;          /* 2p: wk[i] = key[w[i]], read with w[i] */
    uint32_t n, p;       /* p: the power of two >= n */
};

/* n keys, all INFINITY.  Returns 0 or SIM_ENOMEM. */
int evq_init(struct evq *q, uint32_t n);
void evq_free(struct evq *q);
/* Sets key g (< n). */
void evq_set(struct evq *q, uint32_t g, double key);
/* The number of the least key (the lowest such number). */
static inline uint32_t evq_min(const struct evq *q) { return q->w[1]; }

/* Latency histograms (serve_hist.c): HIST_PER_DECADE bins per decade from
 * 10^HIST_MIN_EXP s, bin 0 below, bin HIST_BINS + 1 above. */
#define HIST_PER_DECADE 200
#define HIST_MIN_EXP (-6)
#define HIST_DECADES 12
#define HIST_BINS (HIST_PER_DECADE * HIST_DECADES)

/* Tables that find a bin without log10. */
struct hist_tab {
    double *lo, *hi;     /* by bin: x in [lo, hi) is surely in it */
    uint16_t *guess;     /* by top bits of x: the bin of the slot's start */
};

/* Returns 0 or SIM_ENOMEM. */
int hist_tab_init(struct hist_tab *t);
void hist_tab_free(struct hist_tab *t);
/* The bin of x: b - 1 <= (log10(x) + 6) * 200 < b, as computed in double
 * (0 for x <= 0 or below 10^-6, HIST_BINS + 1 from 10^6 up). */
unsigned hist_bin_exact(double x);
/* hist_bin_exact(x), from the tables. */
unsigned hist_bin(const struct hist_tab *t, double x);

#endif
