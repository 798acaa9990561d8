/*
 * sim_eval.h - scoring semantic-cache decisions against ground truth: the
 * library half of evalq(1).
 *
 * Introduction
 * ------------
 * A semantic cache answers a query with a cached answer when the two
 * queries' embeddings are similar enough: similarity >= threshold.  Whether
 * that was right is known for labelled pairs (label 1: the two queries have
 * interchangeable answers; 0: they do not).  For each threshold t:
 *
 *   TP  label 1, sim >= t   a true hit
 *   FP  label 0, sim >= t   a false hit: a wrong answer served
 *   TN  label 0, sim <  t   a correct miss
 *   FN  label 1, sim <  t   a false miss: an answer that could have been reused
 *
 *   precision      = TP / (TP + FP)        (0 when there are no hits)
 *   recall         = TP / (TP + FN)        (0 when there are no positives)
 *   f1             = 2 P R / (P + R)       (0 when P + R = 0)
 *   accuracy       = (TP + TN) / N
 *   hit_rate       = (TP + FP) / N         lookups answered from the cache
 *   false_hit_rate = FP / N                lookups answered wrongly
 *
 * false_hit_rate is per lookup, not per hit (that would be 1 - precision)
 * and not per negative pair (the false-positive rate): it is the fraction
 * of all requests that get a wrong answer, the number an operator bounds,
 * and the same ratio as false_hits / requests in a cache simulation.
 *
 * Similarities and thresholds are compared in single precision (the
 * threshold is rounded to float first), so a similarity of 0.9f is a hit at
 * threshold 0.9.
 *
 * The inputs are loaded by sim_pairs_load() (labelled pairs: CSV, TSV, JSON
 * array or JSON lines) or built from a trace by sim_pairs_from_trace().
 *
 * Since 0.1; experimental.
 */
#ifndef SIM_EVAL_H
#define SIM_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"
#include "sim_embed.h"

#ifdef __cplusplus
extern "C" {
#endif

/*=====   Labelled pairs   =====*/

/* Loaded pairs.  Either texts or embeddings (or both) are present. */
struct sim_pairs {
    size_t n;
    char **text_a, **text_b;  /* n strings each, or NULL */
    float *emb_a, *emb_b;     /* n x dim each (row-major), or NULL */
    uint32_t dim;
    uint8_t *label;           /* n labels, 0 or 1 */
    uint16_t *category;       /* n category ids (0 when the input has none) */
    char **cat_names;         /* ncats names; "all" is never one of them;
                                 ncats is 0 when the input has no categories */
    unsigned ncats;
    char shape[96];           /* what was recognised, e.g. "csv question1,question2,is_duplicate" */
};

struct sim_pairs_opts {
    const char *cols;   /* "A,B" or "A,B,LABEL": the columns (CSV/TSV) or
                           member names (JSON) of the two texts and the
                           label; NULL to recognise the usual names.  With
                           "A,B" every pair is a positive. */
    const char *npy_a;  /* embeddings of the first texts (.npy), or NULL */
    const char *npy_b;  /* ... of the second texts; both or neither */
};

/*! sim_pairs_load() :
 * Reads labelled pairs from path ("-" for standard input; gzip and zstd
 * detected).  The shape is recognised from the content: a JSON array of
 * objects ('[' first), JSON lines ('{' first), else a table with a header
 * row, tab-separated if the header holds a tab, else comma-separated
 * (RFC 4180 quoting, a leading UTF-8 byte-order mark ignored).  Names
 * recognised without `cols`, in this order:
 *   text_a, text_b, label          (GPTCache's QQP file)
 *   question1, question2, is_duplicate   (QQP, MeanCache)
 *   sentence1, sentence2, label    (MRPC repaired, PAWS, GLUE)
 *   #1 String, #2 String, Quality  (MRPC as Microsoft ships it)
 *   origin, similar                (GPTCache mock data: all positives)
 *   emb_a, emb_b, label            (embeddings: JSON arrays of numbers, or
 *                                   strings of space-separated numbers)
 * A `category` column, if any, names each pair's category.  emb_a/emb_b
 * columns, when present beside texts, are used instead of them.  Labels
 * are 0, 1, true or false (JSON: numbers, booleans or such strings).
 * @return the pairs, or NULL with "path:line: message" in err (no pair
 *         columns found: the message lists the names tried; a missing
 *         column; a bad label; a NaN or infinite embedding component; a
 *         dimension that differs between rows; .npy rows != pairs). */
struct sim_pairs *sim_pairs_load(const char *path, const struct sim_pairs_opts *opts,
                                 char *err, size_t errlen);

/*! sim_pairs_from_trace() :
 * Turns a trace with a `class` field into scored pairs by a cache-free
 * nearest-neighbour decision: for each request, its most similar earlier
 * request of the same category (exact search) is its pair; the label is 1
 * when their classes are equal, and the similarity is stored in *sims
 * (allocated; p->n floats).  The first request of each category has no
 * earlier one and is not a pair.  Embeddings come from the trace's `emb`
 * field, or else from its text through an embedder with options `eo`
 * (NULL: defaults) fitted on all the trace's texts (kept in memory, so the
 * reader is read once and may be standard input).
 * O(n^2 dim / categories) time: meant for evaluation-sized traces.
 * @return the pairs (no texts, no embeddings kept), or NULL with err set
 *         (no class field; neither emb nor text; NaN embedding; dimension
 *         mismatch; read errors). */
struct sim_pairs *sim_pairs_from_trace(sim_reader *r, const struct sim_embed_opts *eo,
                                       float **sims, char *err, size_t errlen);

/*! sim_pairs_from_requests() :
 * The same from n requests in memory (each with class, and emb or text;
 * category names from their category_name).  @return as above. */
struct sim_pairs *sim_pairs_from_requests(const struct sim_req *reqs, size_t n,
                                          const struct sim_embed_opts *eo, float **sims,
                                          char *err, size_t errlen);

/*! sim_pairs_similarities() :
 * The cosine similarity of each pair into sims (p->n floats): from the
 * embeddings if present, else from the texts through an embedder with
 * options `eo` (NULL: defaults) fitted on all the pairs' texts (both sides).
 * @return 0, or a SIM_E* code with err set (a zero embedding is not an
 *         error: its similarity is 0). */
int sim_pairs_similarities(const struct sim_pairs *p, const struct sim_embed_opts *eo,
                           float *sims, char *err, size_t errlen);

/*! sim_pairs_free() : accepts NULL. */
void sim_pairs_free(struct sim_pairs *p);

/*=====   Sweeps   =====*/

struct sim_eval_counts {
    uint64_t tp, fp, tn, fn;
};

struct sim_eval_rates {
    double precision, recall, f1, accuracy, hit_rate, false_hit_rate;
};

/*! Category selector meaning every pair. */
#define SIM_EVAL_ALL (-1)

/*! sim_eval_count() :
 * Counts the decisions at `threshold` over the pairs of category `cat`
 * (SIM_EVAL_ALL for all; `cats` may then be NULL).  Cannot fail. */
void sim_eval_count(const float *sims, const uint8_t *labels, const uint16_t *cats, size_t n,
                    int cat, double threshold, struct sim_eval_counts *c);

/*! sim_eval_rates() : the ratios defined above.  Cannot fail. */
void sim_eval_rates(const struct sim_eval_counts *c, struct sim_eval_rates *r);

/*! sim_eval_thresholds() :
 * The sweep from, from+step, ... up to `to` (inclusive within 1e-9), each
 * rounded to 9 decimals so that 0.5 + 37 * 0.01 prints as 0.87.
 * @return the count written to *out (allocated), or SIM_EINVAL with err set
 *         (a bound outside [-1, 1], from > to, step <= 0, more than 10^6
 *         thresholds) or SIM_ENOMEM. */
int sim_eval_thresholds(double from, double to, double step, double **out, char *err,
                        size_t errlen);

/* What a sweep recommends for one category. */
struct sim_eval_choice {
    double best_f1_threshold;  /* lowest threshold with the highest F1 */
    struct sim_eval_counts best_f1;
    int bound_found;           /* 1 if some threshold met max_false_hit */
    double bound_threshold;    /* lowest threshold with false_hit_rate <= bound */
    struct sim_eval_counts bound;
};

/*! sim_eval_choose() :
 * Sweeps `thr` (nthr ascending thresholds) over category `cat` and fills
 * *ch.  max_false_hit < 0 means no bound (bound_found 0).  Cannot fail. */
void sim_eval_choose(const float *sims, const uint8_t *labels, const uint16_t *cats,
                     size_t n, int cat, const double *thr, size_t nthr,
                     double max_false_hit, struct sim_eval_choice *ch);

/*! sim_eval_write_config() :
 * Writes a config file for the `category` policy: the header
 * "category,threshold", then "default,<def>" and one row per name (a
 * category literally named "default" gets no row of its own).  Written
 * to a temporary file and renamed, so a failure leaves nothing.
 * @return 0 or a SIM_E* code with err set. */
int sim_eval_write_config(const char *path, const char *const *names,
                          const double *thresholds, unsigned n, double def, char *err,
                          size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* SIM_EVAL_H */
