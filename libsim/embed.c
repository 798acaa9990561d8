/*
 * embed.c - the built-in text embedder: hashed character n-grams weighted
 * by idf, projected by feature hashing, normalised (see sim_embed.h for the
 * definition and its limits).
 *
 * Why this design: it needs no model file and no vocabulary, runs in one
 * pass over the text, and is exactly reproducible; a text's features are
 * sorted before they are summed, so the floats do not depend on the order
 * in which n-grams occur or on the platform's qsort.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_embed.h"

struct sim_embedder_s {
    struct sim_embed_opts o;
    uint32_t *df;   /* 2^df_bits document counts, or NULL before any fit */
    uint64_t docs;
};

/* A growable array of feature hashes for one text. */
struct feats {
    uint64_t *h;
    size_t n, cap;
};

void sim_embed_opts_init(struct sim_embed_opts *o)
{
    o->dim = SIM_EMBED_DEFAULT_DIM;
    o->nmin = SIM_EMBED_DEFAULT_NMIN;
    o->nmax = SIM_EMBED_DEFAULT_NMAX;
    o->df_bits = SIM_EMBED_DEFAULT_DF_BITS;
}

sim_embedder *sim_embedder_create(const struct sim_embed_opts *o, char *err, size_t errlen)
{
    struct sim_embed_opts d;
    if (!o) {
        sim_embed_opts_init(&d);
        o = &d;
    }
    if (o->dim < 1 || o->dim > 65536) {
        snprintf(err, errlen, "embedder: dim %u is not in 1..65536", o->dim);
        return NULL;
    }
    if (o->nmax < 1 || o->nmax > 16 || o->nmin < 1 || o->nmin > o->nmax) {
        snprintf(err, errlen, "embedder: n-gram lengths %u..%u are not within 1..16",
                 o->nmin, o->nmax);
        return NULL;
    }
    if (o->df_bits < 8 || o->df_bits > 26) {
        snprintf(err, errlen, "embedder: df_bits %u is not in 8..26", o->df_bits);
        return NULL;
    }
    sim_embedder *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "embedder: out of memory");
        return NULL;
    }
    e->o = *o;
    return e;
}

void sim_embedder_free(sim_embedder *e)
{
    if (!e)
        return;
    free(e->df);
    free(e);
}

uint64_t sim_embedder_docs(const sim_embedder *e) { return e->docs; }
uint32_t sim_embedder_dim(const sim_embedder *e) { return e->o.dim; }

static int feats_push(struct feats *f, uint64_t h)
{
    if (f->n == f->cap) {
        size_t n = f->cap ? f->cap * 2 : 256;
        uint64_t *p = realloc(f->h, n * sizeof *p);
        if (!p)
            return SIM_ENOMEM;
        f->h = p;
        f->cap = n;
    }
    f->h[f->n++] = h;
    return 0;
}

/* Word characters: ASCII letters and digits, and every byte >= 0x80. */
static int is_word(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

/* The n-grams of one framed word "<w>" (w lower-cased, wlen bytes). */
static int word_feats(const struct sim_embed_opts *o, const unsigned char *w, size_t wlen,
                      unsigned char *buf, struct feats *f)
{
    size_t len = wlen + 2;
    buf[0] = '<';
    memcpy(buf + 1, w, wlen);
    buf[len - 1] = '>';
    if (len < o->nmin)
        return feats_push(f, sim_hash_bytes(buf, len));
    for (size_t n = o->nmin; n <= o->nmax && n <= len; n++)
        for (size_t i = 0; i + n <= len; i++)
            if (feats_push(f, sim_hash_bytes(buf + i, n)))
                return SIM_ENOMEM;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* All features of a text, sorted (duplicates kept: they are the counts). */
static int text_feats(const struct sim_embed_opts *o, const char *text, size_t len,
                      struct feats *f)
{
    const unsigned char *s = (const unsigned char *)text;
    unsigned char *word = malloc(len + 1), *buf = malloc(len + 3);
    int rc = (word && buf) ? 0 : SIM_ENOMEM;
    size_t i = 0;
    while (!rc && i < len) {
        while (i < len && !is_word(s[i]))
            i++;
        size_t wlen = 0;
        for (; i < len && is_word(s[i]); i++)
            word[wlen++] = (s[i] >= 'A' && s[i] <= 'Z') ? (unsigned char)(s[i] + 32) : s[i];
        if (wlen)
            rc = word_feats(o, word, wlen, buf, f);
    }
    free(word);
    free(buf);
    if (!rc && f->n > 1)
        qsort(f->h, f->n, sizeof *f->h, cmp_u64);
    return rc;
}

static uint32_t df_slot(const sim_embedder *e, uint64_t h)
{
    return (uint32_t)(h & ((1u << e->o.df_bits) - 1));
}

int sim_embedder_fit(sim_embedder *e, const char *text, size_t len)
{
    if (!e->df) {
        e->df = calloc((size_t)1 << e->o.df_bits, sizeof *e->df);
        if (!e->df)
            return SIM_ENOMEM;
    }
    struct feats f = {NULL, 0, 0};
    int rc = text_feats(&e->o, text, len, &f);
    /* Each distinct feature counts once per document; a run of equal
     * hashes in the sorted list is one feature. */
    for (size_t i = 0; !rc && i < f.n; i++)
        if ((i == 0 || f.h[i] != f.h[i - 1]) && e->df[df_slot(e, f.h[i])] < UINT32_MAX)
            e->df[df_slot(e, f.h[i])]++;
    if (!rc)
        e->docs++;
    free(f.h);
    return rc;
}

static double idf(const sim_embedder *e, uint64_t h)
{
    if (!e->docs)
        return 1.0;
    double df = e->df[df_slot(e, h)];
    return log((1.0 + (double)e->docs) / (1.0 + df)) + 1.0;
}

int sim_embedder_embed(const sim_embedder *e, const char *text, size_t len, float *out)
{
    uint32_t dim = e->o.dim;
    double *acc = calloc(dim, sizeof *acc);
    struct feats f = {NULL, 0, 0};
    int rc = acc ? text_feats(&e->o, text, len, &f) : SIM_ENOMEM;
    for (size_t i = 0; !rc && i < f.n;) {
        size_t j = i;
        while (j < f.n && f.h[j] == f.h[i])
            j++;
        uint64_t h = f.h[i];
        /* Coordinate from the high 32 bits (multiply-shift), sign from bit
         * 31; the df table uses the low bits. */
        uint32_t k = (uint32_t)(((h >> 32) * (uint64_t)dim) >> 32);
        double w = (double)(j - i) * idf(e, h);
        acc[k] += (h >> 31) & 1 ? -w : w;
        i = j;
    }
    if (!rc) {
        double norm = 0;
        for (uint32_t k = 0; k < dim; k++)
            norm += acc[k] * acc[k];
        norm = sqrt(norm);
        for (uint32_t k = 0; k < dim; k++)
            out[k] = norm > 0 ? (float)(acc[k] / norm) : 0.0f;
        rc = norm > 0 ? 0 : 1;
    }
    free(f.h);
    free(acc);
    return rc;
}
