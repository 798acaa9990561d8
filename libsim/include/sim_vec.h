/*
 * sim_vec.h - vector indexes and embedding files for semantic caching.
 *
 * Introduction
 * ------------
 * A semantic cache decides hits by meaning: a request carries an embedding
 * (struct sim_req.emb, dim floats) and is a hit when a cached query's
 * embedding is similar enough.  This header gives libsim's policies (and
 * tools such as evalq) two things:
 *
 *   1. sim_vec: a vector index behind one interface, in two kinds:
 *      - "flat": exact search; the vectors are contiguous float32 rows and
 *        a query is one streaming pass of dot products over them;
 *      - "hnsw": approximate search, Hierarchical Navigable Small World
 *        graphs (Malkov and Yashunin, IEEE TPAMI, 2020), with parameters M,
 *        ef_construction and ef_search, and with deletion (caches evict).
 *   2. sim_npy: a streaming reader (and a writer) for the numpy .npy files
 *      that researchers' embedding pipelines produce with np.save.
 *
 * Similarity.  Every vector is normalised to unit length when it enters an
 * index (and every query when it is searched), so the similarity reported
 * is the cosine, i.e. the normalised dot product, in [-1, 1].  A vector
 * with a NaN or infinite component, or of length zero, is refused.
 *
 * Ids.  The caller names each stored vector with a 64-bit id of its own
 * choice (a policy uses its entry number).  Ids are unique in an index.
 *
 * Determinism.  For the same config (including the seed) and the same
 * sequence of calls, an index returns the same results on every platform
 * that has IEEE-754 float arithmetic: HNSW draws node levels from sim_rng
 * seeded with cfg.seed, and ties in similarity are broken by the smaller
 * internal slot.  (The compiler may vectorise the dot product differently
 * on different targets, which can change the last bits of a similarity.)
 *
 * Threads.  An index is not thread-safe, even for searches (an HNSW search
 * uses scratch space inside the index).  Distinct indexes are independent.
 *
 * Error model: as sim.h.  Functions that can fail return 0 (or a count) or
 * a negative SIM_E* code, with a one-line message in `err` where they take
 * one; on error the index is unchanged.
 *
 * Since 0.1; experimental: the API may still change before 1.0.
 */
#ifndef SIM_VEC_H
#define SIM_VEC_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/*=====   Vector kernels   =====*/

/*! sim_vec_dot() :
 * The dot product of a and b (dim floats each), accumulated in float in an
 * order the compiler can vectorise (8 independent partial sums).  For unit
 * vectors this is the cosine similarity.  Cannot fail. */
float sim_vec_dot(const float *a, const float *b, uint32_t dim);

/*! sim_vec_normalise() :
 * Scales x (dim floats) in place to unit Euclidean length.
 * @return 0, or SIM_EINVAL if a component is NaN or infinite or the vector
 *         is zero (then x is unchanged). */
int sim_vec_normalise(float *x, uint32_t dim);

/*=====   Index   =====*/

enum sim_vec_kind {
    SIM_VEC_FLAT = 0,  /* exact: linear scan over contiguous rows */
    SIM_VEC_HNSW = 1   /* approximate: HNSW graph */
};

/*! sim_vec_kind_name() / sim_vec_kind_parse() :
 * "flat" and "hnsw".  sim_vec_kind_parse() returns the kind or SIM_ENOTFOUND. */
const char *sim_vec_kind_name(enum sim_vec_kind kind);
int sim_vec_kind_parse(const char *name);

/* Defaults of the HNSW parameters (those of hnswlib's examples, with
 * ef_search raised so that recall@1 >= 0.98 on clustered 384-d data). */
#define SIM_VEC_DEFAULT_M 16
#define SIM_VEC_DEFAULT_EF_CONSTRUCTION 200
#define SIM_VEC_DEFAULT_EF_SEARCH 64

struct sim_vec_config {
    enum sim_vec_kind kind;
    uint32_t dim;             /* vector length, 1..65536 */
    uint64_t capacity;        /* expected number of vectors (a hint; 0 = small);
                                 the index grows past it as needed */
    uint64_t seed;            /* HNSW level draws */
    uint32_t M;               /* HNSW: links per node on upper layers (2M on
                                 layer 0); 2..256; 0 = default */
    uint32_t ef_construction; /* HNSW: candidate list while inserting; 0 = default */
    uint32_t ef_search;       /* HNSW: candidate list while searching (at least
                                 k is used); 0 = default */
};

/*! sim_vec_config_init() :
 * Fills *cfg with `kind`, `dim` and the defaults above (capacity 0, seed 0).
 * Cannot fail. */
void sim_vec_config_init(struct sim_vec_config *cfg, enum sim_vec_kind kind, uint32_t dim);

typedef struct sim_vec_s sim_vec;

/*! sim_vec_create() :
 * An empty index.  Zero HNSW parameters take their defaults; the flat kind
 * ignores them.
 * @return the index, or NULL with a message in err (bad dim or parameter:
 *         the message names it; or out of memory). */
sim_vec *sim_vec_create(const struct sim_vec_config *cfg, char *err, size_t errlen);

/*! sim_vec_free() : accepts NULL. */
void sim_vec_free(sim_vec *v);

/*! sim_vec_insert() :
 * Stores a normalised copy of x (dim floats) under `id`.
 * Deleted slots are reused before the index grows (see sim_vec_slots()).
 * @return 0, or a negative code with a message in err:
 *         SIM_EINVAL  dim differs from the index's ("dimension mismatch:
 *                     got D, index has E"), a component is NaN or
 *                     infinite, the vector is zero, or id is already stored;
 *         SIM_ENOMEM  out of memory.
 *         On error the index is unchanged. */
int sim_vec_insert(sim_vec *v, uint64_t id, const float *x, uint32_t dim,
                   char *err, size_t errlen);

/*! sim_vec_delete() :
 * Removes `id`.  Its slot is freed for reuse by a later insert; an HNSW
 * index unlinks the node and repairs its neighbours' links (see vec_hnsw.c).
 * @return 0, or SIM_ENOTFOUND if id is not stored (index unchanged). */
int sim_vec_delete(sim_vec *v, uint64_t id);

/*! sim_vec_search() :
 * The (up to) k stored vectors most similar to q (dim floats; normalised
 * internally, q itself is not modified), best first: ids[i] and, if sims is
 * not NULL, sims[i] their cosine similarities.  Equal similarities are
 * ordered by slot.  Exact for "flat"; approximate for "hnsw" (uses
 * max(ef_search, k) candidates).
 * @return the number of results written (min(k, size), 0 on an empty
 *         index), or SIM_EINVAL with a message in err for a dimension
 *         mismatch, a NaN/infinite component or a zero query. */
int sim_vec_search(sim_vec *v, const float *q, uint32_t dim, size_t k, uint64_t *ids,
                   float *sims, char *err, size_t errlen);

/*! sim_vec_get() :
 * The stored (normalised) vector of id, valid until the next insert or
 * delete; NULL if id is not stored. */
const float *sim_vec_get(const sim_vec *v, uint64_t id);

/*! sim_vec_set_ef_search() :
 * Changes HNSW's ef_search (>= 1) for later searches; ignored by "flat".
 * @return 0 or SIM_EINVAL. */
int sim_vec_set_ef_search(sim_vec *v, uint32_t ef);

/*! Accessors (cannot fail):
 *   sim_vec_size()   vectors stored;
 *   sim_vec_slots()  slots allocated (stored + free for reuse): after any
 *                    sequence of inserts and deletes it is at most the
 *                    largest size the index ever had, i.e. deletions do
 *                    not leak slots;
 *   sim_vec_dim(), sim_vec_kind();
 *   sim_vec_memory() bytes held by the index (vectors, links, id map). */
size_t sim_vec_size(const sim_vec *v);
size_t sim_vec_slots(const sim_vec *v);
uint32_t sim_vec_dim(const sim_vec *v);
enum sim_vec_kind sim_vec_kind(const sim_vec *v);
size_t sim_vec_memory(const sim_vec *v);

/*! sim_vec_check() :
 * Verifies the index's invariants (id map and slots agree; HNSW: no link to
 * a free slot, link counts within bounds, entry point on the top layer).
 * O(size * M); for tests.  @return 0, or SIM_EINVAL with the broken
 * invariant in err. */
int sim_vec_check(const sim_vec *v, char *err, size_t errlen);

/*=====   .npy embedding files   =====*/

/*
 * The numpy .npy format (numpy.lib.format): the magic "\x93NUMPY", a major
 * and minor version byte, a header length (2 bytes little-endian in version
 * 1.0, 4 bytes in 2.0), then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (1000, 384), }
 * padded with spaces and a newline, then the raw data.  sim_npy accepts
 * exactly what embeddings need: versions 1.0 and 2.0, descr '<f4' (float32,
 * little-endian), fortran_order False, a 2-D shape (rows, dim).  Anything
 * else is an error naming the file and what is wrong.  Rows are read one at
 * a time (the file is streamed, never loaded whole); zstd- or
 * gzip-compressed files are read transparently.
 */
typedef struct sim_npy_s sim_npy;

/*! sim_npy_open() :
 * Opens path ("-" for standard input) and parses its header.
 * @return the reader, or NULL with "path: message" in err (SIM_EIO-like
 *         failures and format errors alike: bad magic, unsupported version,
 *         dtype other than '<f4', fortran_order True, shape not 2-D, dim 0
 *         or larger than 65536, a truncated header). */
sim_npy *sim_npy_open(const char *path, char *err, size_t errlen);

/*! sim_npy_rows() / sim_npy_dim() / sim_npy_path() :
 * The shape from the header, and the path given to sim_npy_open(). */
uint64_t sim_npy_rows(const sim_npy *n);
uint32_t sim_npy_dim(const sim_npy *n);
const char *sim_npy_path(const sim_npy *n);

/*! sim_npy_next() :
 * Reads the next row.  *row points to dim floats valid until the next call.
 * @return 1 for a row, 0 after the last row of the shape, or a negative
 *         SIM_E* code with "path: row R: message" in err (truncated data). */
int sim_npy_next(sim_npy *n, const float **row, char *err, size_t errlen);

/*! sim_npy_rewind() : back to row 0.  @return 0 or a SIM_E* code (stdin). */
int sim_npy_rewind(sim_npy *n, char *err, size_t errlen);

/*! sim_npy_close() : accepts NULL. */
void sim_npy_close(sim_npy *n);

/*! sim_npy_write() :
 * Writes rows x dim floats (row-major) as a version 1.0 '<f4' C-order .npy
 * that np.load reads; the file appears only when complete (written to a
 * temporary and renamed).  @return 0 or a SIM_E* code with err set. */
int sim_npy_write(const char *path, const float *data, uint64_t rows, uint32_t dim,
                  char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* SIM_VEC_H */
