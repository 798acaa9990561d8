/*
 * pairs_trace.c - scored pairs from a trace with ground-truth classes: the
 * cache-free nearest-neighbour decision of sim_pairs_from_trace().
 *
 * Why cache-free: a threshold should be judged on the similarity structure
 * of the queries, not on what one cache size happened to keep.  Each
 * request is paired with its most similar earlier request of the same
 * category (what an unbounded category-aware semantic cache would find),
 * labelled 1 if the two share a class.  Exact search by brute force.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_eval.h"

struct trace_rows {
    size_t n, cap;
    uint32_t dim;
    float *emb;         /* n x dim, normalised */
    uint64_t *cls;
    uint16_t *cat;
    char **text;        /* when the trace has no emb */
    char *names[65536]; /* category names by id, from the requests */
    unsigned ncats;     /* 1 + the largest category id seen */
};

static void rows_free(struct trace_rows *t)
{
    for (unsigned c = 0; c < t->ncats; c++)
        free(t->names[c]);
    for (size_t i = 0; t->text && i < t->n; i++)
        free(t->text[i]);
    free(t->text);
    free(t->emb);
    free(t->cls);
    free(t->cat);
}

static int rows_grow(struct trace_rows *t, int text)
{
    if (t->n < t->cap)
        return 0;
    size_t n = t->cap ? t->cap * 2 : 1024;
    void *x;
    if (!(x = realloc(t->cls, n * sizeof *t->cls)))
        return SIM_ENOMEM;
    t->cls = x;
    if (!(x = realloc(t->cat, n * sizeof *t->cat)))
        return SIM_ENOMEM;
    t->cat = x;
    if (text) {
        if (!(x = realloc(t->text, n * sizeof *t->text)))
            return SIM_ENOMEM;
        t->text = x;
    } else {
        if (!(x = realloc(t->emb, n * (size_t)t->dim * sizeof *t->emb)))
            return SIM_ENOMEM;
        t->emb = x;
    }
    t->cap = n;
    return 0;
}

/* Copies one request's embedding, normalised; NaN and zero are errors. */
static int put_emb(struct trace_rows *t, const struct sim_req *q, const char *path,
                   char *err, size_t errlen)
{
    if (t->n == 0)
        t->dim = q->dim;
    if (q->dim != t->dim) {
        snprintf(err, errlen, "%s: request %llu: dimension mismatch: %u, earlier %u", path,
                 (unsigned long long)q->index, q->dim, t->dim);
        return SIM_EINVAL;
    }
    if (rows_grow(t, 0))
        return SIM_ENOMEM;
    double norm = 0;
    for (uint32_t k = 0; k < q->dim; k++) {
        if (!isfinite(q->emb[k])) {
            snprintf(err, errlen, "%s: request %llu: embedding component %u is not a finite "
                     "number", path, (unsigned long long)q->index, k);
            return SIM_EINVAL;
        }
        norm += (double)q->emb[k] * q->emb[k];
    }
    float *dst = t->emb + t->n * (size_t)t->dim;
    for (uint32_t k = 0; k < q->dim; k++)
        dst[k] = norm > 0 ? (float)(q->emb[k] / sqrt(norm)) : 0.0f;
    return 0;
}

/* Takes one request's class, category and embedding (or text). */
static int add_req(struct trace_rows *t, const struct sim_req *q, int use_text,
                   const char *path, char *err, size_t errlen)
{
    uint32_t need = SIM_F_CLASS | (use_text ? SIM_F_TEXT : SIM_F_EMB);
    int rc;
    if ((q->present & need) != need) {
        snprintf(err, errlen, "%s: request %llu has no %s", path, (unsigned long long)q->index,
                 (q->present & SIM_F_CLASS) ? (use_text ? "text" : "embedding") : "class");
        return SIM_EFORMAT;
    }
    if (use_text) {
        if (rows_grow(t, 1))
            return SIM_ENOMEM;
        if (!(t->text[t->n] = strndup(q->text, q->text_len)))
            return SIM_ENOMEM;
    } else if ((rc = put_emb(t, q, path, err, errlen)))
        return rc;
    uint16_t c = (q->present & SIM_F_CATEGORY) ? q->category : 0;
    if (c >= t->ncats)
        t->ncats = c + 1u;
    if (!t->names[c] && q->category_name && !(t->names[c] = strdup(q->category_name)))
        return SIM_ENOMEM;
    t->cls[t->n] = q->cls;
    t->cat[t->n] = c;
    t->n++;
    return 0;
}

static int read_rows(sim_reader *r, struct trace_rows *t, int use_text, char *err,
                     size_t errlen)
{
    struct sim_req q;
    int rc;
    while ((rc = sim_reader_next(r, &q, err, errlen)) == 1)
        if ((rc = add_req(t, &q, use_text, sim_reader_path(r), err, errlen)))
            return rc;
    return rc;
}

static int embed_texts(struct trace_rows *t, const struct sim_embed_opts *eo, char *err,
                       size_t errlen)
{
    sim_embedder *e = sim_embedder_create(eo, err, errlen);
    if (!e)
        return SIM_EINVAL;
    t->dim = sim_embedder_dim(e);
    int rc = 0;
    for (size_t i = 0; !rc && i < t->n; i++)
        rc = sim_embedder_fit(e, t->text[i], strlen(t->text[i]));
    if (!rc && !(t->emb = malloc((t->n ? t->n : 1) * (size_t)t->dim * sizeof *t->emb)))
        rc = SIM_ENOMEM;
    for (size_t i = 0; !rc && i < t->n; i++) {
        int r = sim_embedder_embed(e, t->text[i], strlen(t->text[i]), t->emb + i * t->dim);
        rc = r < 0 ? r : 0;
    }
    sim_embedder_free(e);
    if (rc == SIM_ENOMEM)
        snprintf(err, errlen, "out of memory embedding the trace's texts");
    return rc;
}

static float dotf(const float *a, const float *b, uint32_t d)
{
    float s = 0;
    for (uint32_t k = 0; k < d; k++)
        s += a[k] * b[k];
    return s;
}

/* The pairs: each request with its nearest earlier one of its category. */
static int nearest_pairs(const struct trace_rows *t, struct sim_pairs *p, float *sims)
{
    /* last[i]: the previous request of i's category; prev[c]: the latest of c. */
    size_t *last = malloc((t->n ? t->n : 1) * sizeof *last);
    size_t *prev = malloc(65536 * sizeof *prev);
    if (!last || !prev) {
        free(last);
        free(prev);
        return SIM_ENOMEM;
    }
    for (size_t c = 0; c < 65536; c++)
        prev[c] = SIZE_MAX;
    for (size_t i = 0; i < t->n; i++) {
        last[i] = prev[t->cat[i]];
        prev[t->cat[i]] = i;
        if (last[i] == SIZE_MAX)
            continue;
        const float *x = t->emb + i * t->dim;
        float best = -2;
        size_t arg = 0;
        for (size_t j = last[i]; j != SIZE_MAX; j = last[j]) {
            float s = dotf(x, t->emb + j * t->dim, t->dim);
            if (s > best) {
                best = s;
                arg = j;
            }
        }
        sims[p->n] = best;
        p->label[p->n] = t->cls[arg] == t->cls[i];
        p->category[p->n] = t->cat[i];
        p->n++;
    }
    free(last);
    free(prev);
    return 0;
}

/* Names of categories 0..ncats-1: as the requests named them, else the id;
 * none at all when the trace has no category field. */
static int name_categories(const struct trace_rows *t, struct sim_pairs *p)
{
    unsigned n = t->ncats, named = 0;
    for (unsigned c = 0; c < n; c++)
        named += t->names[c] != NULL;
    if (!named)
        return 0; /* no categories in the trace: only "all" */
    if (!(p->cat_names = calloc(n, sizeof *p->cat_names)))
        return SIM_ENOMEM;
    p->ncats = n;
    for (unsigned c = 0; c < n; c++) {
        char buf[16];
        snprintf(buf, sizeof buf, "%u", c);
        if (!(p->cat_names[c] = strdup(t->names[c] ? t->names[c] : buf)))
            return SIM_ENOMEM;
    }
    return 0;
}

/* From collected rows to scored pairs; frees the rows. */
static struct sim_pairs *rows_to_pairs(struct trace_rows *t, int use_text, int rc,
                                       const struct sim_embed_opts *eo, float **sims,
                                       const char *path, char *err, size_t errlen)
{
    if (!rc && use_text)
        rc = embed_texts(t, eo, err, errlen);
    struct sim_pairs *p = rc ? NULL : calloc(1, sizeof *p);
    *sims = NULL;
    if (p) {
        p->label = malloc(t->n ? t->n : 1);
        p->category = malloc((t->n ? t->n : 1) * sizeof *p->category);
        *sims = malloc((t->n ? t->n : 1) * sizeof **sims);
        rc = p->label && p->category && *sims ? 0 : SIM_ENOMEM;
        if (!rc)
            rc = nearest_pairs(t, p, *sims);
        if (!rc)
            rc = name_categories(t, p);
        snprintf(p->shape, sizeof p->shape, "trace %s nearest earlier request",
                 use_text ? "text" : "emb");
    } else if (!rc)
        rc = SIM_ENOMEM;
    if (rc == SIM_ENOMEM)
        snprintf(err, errlen, "%s: out of memory", path);
    rows_free(t);
    free(t);
    if (rc) {
        sim_pairs_free(p);
        free(*sims);
        *sims = NULL;
        return NULL;
    }
    return p;
}

struct sim_pairs *sim_pairs_from_requests(const struct sim_req *reqs, size_t n,
                                          const struct sim_embed_opts *eo, float **sims,
                                          char *err, size_t errlen)
{
    struct trace_rows *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int use_text = n && !(reqs[0].present & SIM_F_EMB);
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++)
        rc = add_req(t, &reqs[i], use_text, "requests", err, errlen);
    return rows_to_pairs(t, use_text, rc, eo, sims, "requests", err, errlen);
}

struct sim_pairs *sim_pairs_from_trace(sim_reader *r, const struct sim_embed_opts *eo,
                                       float **sims, char *err, size_t errlen)
{
    uint32_t f = sim_reader_fields(r);
    const char *path = sim_reader_path(r);
    if (!(f & SIM_F_CLASS)) {
        snprintf(err, errlen, "%s: the trace has no 'class' field (the ground truth)", path);
        return NULL;
    }
    if (!(f & (SIM_F_EMB | SIM_F_TEXT))) {
        snprintf(err, errlen, "%s: the trace has neither 'emb' nor 'text'", path);
        return NULL;
    }
    struct trace_rows *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int use_text = !(f & SIM_F_EMB);
    int rc = read_rows(r, t, use_text, err, errlen);
    return rows_to_pairs(t, use_text, rc, eo, sims, path, err, errlen);
}
