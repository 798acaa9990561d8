/*
 * sim_embed.h - libsim's built-in text embedder, for traces and labelled
 * pairs that carry text but no embeddings.
 *
 * Introduction
 * ------------
 * Semantic caches compare queries by embedding.  Researchers bring their
 * own embeddings (an `emb` column, or a .npy file: see sim_vec.h); this
 * embedder exists so that text-only data works out of the box.  It is a
 * bag of character n-grams, not a language model:
 *
 *   1. the text is lower-cased (ASCII letters) and split into words at
 *      ASCII whitespace and punctuation; bytes >= 0x80 (UTF-8) are word
 *      characters, kept as they are;
 *   2. each word is framed by boundary marks, "<word>", and every byte
 *      n-gram of the framed word with nmin <= n <= nmax is a feature (a
 *      word shorter than nmin - 2 letters still gives its framed whole);
 *   3. a feature's weight is its count in the text times its inverse
 *      document frequency, idf = ln((1 + N) / (1 + df)) + 1 (N documents
 *      fitted, df of them containing the feature: scikit-learn's smoothed
 *      idf); with no fitted corpus every idf is 1;
 *   4. features are hashed (sim_hash_bytes) to one of `dim` coordinates
 *      with a sign taken from another bit of the hash (feature hashing,
 *      Weinberger et al., ICML 2009), so collisions cancel on average;
 *   5. the vector is scaled to unit length, so a dot product is a cosine.
 *
 * Document frequencies are counted per hashed feature in a table of
 * 2^df_bits counters, so distinct n-grams that collide there share an idf.
 *
 * Quality is modest: it sees spelling, not meaning.  Paraphrases that share
 * words score high; paraphrases with different words score low, and two
 * questions that differ only in one decisive word ("not", a name, a number)
 * score high.  Expect far lower F1 than a sentence-embedding model.
 *
 * Determinism: the same options, the same fitted texts (in any order) and
 * the same text give the same floats on every platform.
 *
 * Since 0.1; experimental.
 */
#ifndef SIM_EMBED_H
#define SIM_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIM_EMBED_DEFAULT_DIM 256
#define SIM_EMBED_DEFAULT_NMIN 3
#define SIM_EMBED_DEFAULT_NMAX 5
#define SIM_EMBED_DEFAULT_DF_BITS 20

struct sim_embed_opts {
    uint32_t dim;     /* output length, 1..65536 */
    uint32_t nmin;    /* shortest n-gram, 1..nmax */
    uint32_t nmax;    /* longest n-gram, nmin..16 */
    uint32_t df_bits; /* log2 of the document-frequency table size, 8..26 */
};

/*! sim_embed_opts_init() : fills *o with the defaults above.  Cannot fail. */
void sim_embed_opts_init(struct sim_embed_opts *o);

typedef struct sim_embedder_s sim_embedder;

/*! sim_embedder_create() :
 * An embedder with no fitted corpus (every idf 1).  `o` may be NULL for the
 * defaults.  @return it, or NULL with a message in err naming a bad option. */
sim_embedder *sim_embedder_create(const struct sim_embed_opts *o, char *err, size_t errlen);

/*! sim_embedder_free() : accepts NULL. */
void sim_embedder_free(sim_embedder *e);

/*! sim_embedder_fit() :
 * Counts one document (len bytes of text) into the document frequencies.
 * Call it for every text of the corpus before embedding; the order does not
 * matter.  @return 0 or SIM_ENOMEM (then nothing was counted). */
int sim_embedder_fit(sim_embedder *e, const char *text, size_t len);

/*! sim_embedder_docs() : the number of documents fitted.  Cannot fail. */
uint64_t sim_embedder_docs(const sim_embedder *e);

/*! sim_embedder_dim() : the output length.  Cannot fail. */
uint32_t sim_embedder_dim(const sim_embedder *e);

/*! sim_embedder_embed() :
 * Writes the unit-length embedding of text (len bytes) to out (dim floats).
 * @return 0; 1 if the text has no word characters, or (rarely) all its
 *         features cancel in the hashing: out is then all zeros, whose
 *         similarity with anything is 0; SIM_ENOMEM. */
int sim_embedder_embed(const sim_embedder *e, const char *text, size_t len, float *out);

#ifdef __cplusplus
}
#endif
#endif /* SIM_EMBED_H */
