/*
 * serve_ivf.c - the example cache's IVF index: IC-Cache's clustered
 * retrieval, with an int8 pre-filter that leaves every result exact.
 *
 * Clusters: nlist = 2 sqrt(expected entries) centroids; every entry joins
 * its nearest centroid's list, and a search scans the lists of the nprobe
 * (default 2) nearest centroids.  Per request that is about nlist + nprobe
 * * N / nlist code comparisons; the insertion of the same embedding, at
 * the request's completion, reuses the search's nearest centroid and its
 * normalised, coded vector (struct exhint).
 *
 * The centroids are k-means centroids, kept up online: the first ones are
 * leaders (an entry below cosine LEADER_SIM to every centroid founds one),
 * each list keeps the exact (fixed-point) sum of its vectors, every
 * REFRESH * nlist insertions every centroid moves to its list's mean
 * direction, and each
 * time the entries double, LLOYD_ITERS full Lloyd iterations also move
 * every entry to its nearest centroid.  On bench_serve's workload (random
 * intents, popular ones repeated) the leaders alone left the lists of
 * popular intents ambiguous: recall of the top 16 above cosine 0.5 / 0.8
 * was 0.74 / 0.95 with nprobe 4 of sqrt(N) lists; k-means with 2 sqrt(N)
 * lists gives 0.75 / 0.98 with nprobe 2, at 60% of the codes compared.
 * Per-list radius bounds (skip a list whose members are all too far) do
 * not pay on such data: a member's mean worst cosine to its centroid is
 * 0.30 (72 degrees), wider than the angle to the lists probed.
 *
 * Centroids are ranked by code similarity (below): integer dot products
 * times float steps, the same on every machine, so the lists probed, and
 * hence the results, are too.
 *
 * HOW THE PRE-FILTER STAYS EXACT
 * Every unit vector v also has an int8 code c with v = c * step + r: step =
 * max|v_i| / 127, and the residual's norm |r| is kept.  For a query u with
 * code c', step' and residual r', the integer dot product D = c . c' gives
 * the code similarity a = D * step * step', and
 *     |u.v - a| = |u.r + r'.(v - r)| <= |r| + |r'| (1 + |r|),
 * plus slack() for float rounding (the float dot product's own error is at
 * most about dim * 2^-24).  So a candidate whose a + bound is below the
 * current k-th similarity (or the caller's minsim) cannot enter the top k,
 * and is skipped; every other one is scored by the float dot product, as
 * before.  The results within the lists probed are therefore those of the
 * float index, bit for bit, on every machine; integer sums do not depend
 * on the instruction set, so the AVX2 kernels (chosen at run time, when
 * the CPU has AVX2) and the portable ones agree, and only speed depends on
 * the machine.
 *
 * Codes are stored per list, contiguous, so that a scan streams through
 * memory, and the float vectors next to them, per list, since the few
 * candidates that pass are mostly paraphrases of one intent, in one list
 * (a delete moves the list's last row into the hole).  The lists' arrays
 * are blocks of an arena on 2 MiB pages (list storage, below).
 *
 * Invariants: 1. entry id is lists[cluster[id]].ids[slot[id]];
 *             2. vec, code, qs and qe of slot i of a list describe entry
 *                ids[i];
 *             3. codes are in [-127, 127] (so the AVX2 pair sums cannot
 *                saturate: 2 * 127 * 127 < 32767) and zero past dim;
 *             4. csum of list c is the sum over its rows of
 *                (int32_t)(vec * 2^20), and nrows the rows of all lists.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "serve.h"
#include "vec_impl.h"

#define LEADER_SIM 0.9f
#define REFRESH 4u /* the centroids move every REFRESH * nlist insertions */
#define LLOYD_ITERS 2 /* Lloyd iterations each time the entries double */
#define MAXK 64
#define CHUNK 256 /* codes scored per kernel call */
#define MAXCDIM 4096 /* longest code the AVX2 kernels take (a stack buffer) */

/*=====   int8 kernels   =====*/

static void dots_c(const int8_t *q, const int8_t *codes, uint32_t n, uint32_t cdim,
                   int32_t *out)
{
    for (uint32_t r = 0; r < n; r++) {
        const int8_t *c = codes + (size_t)r * cdim;
        int32_t s = 0;
        for (uint32_t i = 0; i < cdim; i++)
            s += q[i] * c[i];
        out[r] = s;
    }
}

uint32_t ivf_filter_c(const struct ivf_query *q, const int8_t *codes, const float *qs,
                      const float *qe, uint32_t n, uint32_t cdim, float tau, uint32_t *pass,
                      float *val)
{
    int32_t d[CHUNK];
    uint32_t np = 0;
    for (uint32_t at = 0; at < n; at += CHUNK) {
        uint32_t m = n - at < CHUNK ? n - at : CHUNK;
        dots_c(q->code, codes + (size_t)at * cdim, m, cdim, d);
        for (uint32_t i = 0; i < m; i++) {
            float a = (float)d[i] * q->step * qs[at + i] + qe[at + i] * q->c1 + q->c0;
            pass[np] = at + i;
            val[np] = a;
            np += a >= tau;
        }
    }
    return np;
}

/* The largest of out[i], i in [b, e). */
static float max_of(const float *out, uint32_t b, uint32_t e)
{
    float m = out[b];
    for (uint32_t i = b + 1; i < e; i++)
        m = out[i] > m ? out[i] : m;
    return m;
}

void ivf_score_c(const struct ivf_query *q, const int8_t *codes, const float *qs, uint32_t n,
                 uint32_t cdim, float *out, float *bmax)
{
    int32_t d[CHUNK];
    for (uint32_t at = 0; at < n; at += CHUNK) {
        uint32_t m = n - at < CHUNK ? n - at : CHUNK;
        dots_c(q->code, codes + (size_t)at * cdim, m, cdim, d);
        for (uint32_t i = 0; i < m; i++)
            out[at + i] = (float)d[i] * q->step * qs[at + i];
    }
    for (uint32_t b = 0; b < n; b += 8)
        bmax[b / 8] = max_of(out, b, n - b < 8 ? n : b + 8);
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define IVF_AVX2 1

/* The kernels are written once, as always-inline bodies taking cdim, and
 * instantiated for cdim = 64 (and 32, 128), where the compiler unrolls
 * the inner loop and keeps the query in registers, and for any cdim. */
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2")))

/* |q| times sign(q) * c, 32 bytes at a time: maddubs multiplies unsigned
 * by signed bytes and adds pairs into 16 bits (at most 2 * 127 * 127, no
 * saturation), madd with ones widens the pairs into 32-bit sums. */
AVX2_INLINE __m256i dot_acc(const int8_t *qa, const int8_t *q, const int8_t *c, uint32_t cdim)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    for (uint32_t i = 0; i < cdim; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(q + i));
        __m256i ua = _mm256_loadu_si256((const __m256i *)(const void *)(qa + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(c + i));
        __m256i p = _mm256_maddubs_epi16(ua, _mm256_sign_epi8(b, a));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
    }
    return acc;
}

/* Four rows at a time, so that one horizontal reduction serves four. */
AVX2_INLINE __m128i dots4(const int8_t *qa, const int8_t *q, const int8_t *c, uint32_t cdim)
{
    __m256i a0 = dot_acc(qa, q, c, cdim), a1 = dot_acc(qa, q, c + cdim, cdim);
    __m256i a2 = dot_acc(qa, q, c + 2 * (size_t)cdim, cdim);
    __m256i a3 = dot_acc(qa, q, c + 3 * (size_t)cdim, cdim);
    __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

AVX2_INLINE int32_t dot1(const int8_t *qa, const int8_t *q, const int8_t *c, uint32_t cdim)
{
    __m256i acc = dot_acc(qa, q, c, cdim);
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* |q| into qa (cdim bytes, a multiple of 32). */
AVX2_INLINE void abs_code(const int8_t *q, uint32_t cdim, int8_t *qa)
{
    for (uint32_t i = 0; i < cdim; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(q + i));
        _mm256_storeu_si256((__m256i *)(void *)(qa + i), _mm256_sign_epi8(a, a));
    }
}

/* Eight int32 as floats. */
AVX2_INLINE __m256 float8(const int32_t *d)
{
    return _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(const void *)d));
}

AVX2_INLINE void dots_body(const int8_t *qa, const int8_t *q, const int8_t *codes, uint32_t n,
                           uint32_t cdim, int32_t *out)
{
    uint32_t r = 0;
    for (; r + 4 <= n; r += 4)
        _mm_storeu_si128((__m128i *)(void *)(out + r),
                         dots4(qa, q, codes + (size_t)r * cdim, cdim));
    for (; r < n; r++)
        out[r] = dot1(qa, q, codes + (size_t)r * cdim, cdim);
}

/* As ivf_score_c: the dot products of a chunk, then D step qs and their
 * maximum eight at a time. */
AVX2_INLINE void score_body(const struct ivf_query *q, const int8_t *qa, const int8_t *codes,
                            const float *qs, uint32_t n, uint32_t cdim, float *out,
                            float *bmax)
{
    int32_t d[CHUNK];
    const __m256 step = _mm256_set1_ps(q->step);
    for (uint32_t at = 0; at < n; at += CHUNK) {
        uint32_t m = n - at < CHUNK ? n - at : CHUNK, r = 0;
        dots_body(qa, q->code, codes + (size_t)at * cdim, m, cdim, d);
        for (; r + 8 <= m; r += 8) {
            __m256 v = _mm256_mul_ps(_mm256_mul_ps(float8(d + r), step),
                                     _mm256_loadu_ps(qs + at + r));
            _mm256_storeu_ps(out + at + r, v);
            __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
            h = _mm_max_ps(h, _mm_shuffle_ps(h, h, 0x4e));
            h = _mm_max_ps(h, _mm_shuffle_ps(h, h, 0xb1));
            bmax[(at + r) / 8] = _mm_cvtss_f32(h);
        }
        for (uint32_t i = r; i < m; i++)
            out[at + i] = (float)d[i] * q->step * qs[at + i];
        if (r < m)
            bmax[(at + r) / 8] = max_of(out, at + r, at + m);
    }
}

__attribute__((target("avx2")))
static void score_avx2(const struct ivf_query *q, const int8_t *codes, const float *qs,
                       uint32_t n, uint32_t cdim, float *out, float *bmax)
{
    int8_t qa[MAXCDIM];
    if (cdim > MAXCDIM) {
        ivf_score_c(q, codes, qs, n, cdim, out, bmax);
        return;
    }
    abs_code(q->code, cdim, qa);
    if (cdim == 64)
        score_body(q, qa, codes, qs, n, 64, out, bmax);
    else
        score_body(q, qa, codes, qs, n, cdim, out, bmax);
}

/* Appends the rows of mask (bit b: row r + b) and their a to pass, val. */
AVX2_INLINE uint32_t collect(unsigned mask, __m256 a, uint32_t r, uint32_t np, uint32_t *pass,
                             float *val)
{
    float av[8];
    _mm256_storeu_ps(av, a);
    while (mask) {
        unsigned b = (unsigned)__builtin_ctz(mask);
        pass[np] = r + b;
        val[np++] = av[b];
        mask &= mask - 1;
    }
    return np;
}

/* The integer dot products of a chunk first (four rows at a time, few
 * registers), then their bound test in float eight at a time (the same
 * operations in the same order as ivf_filter_c), a mask. */
AVX2_INLINE uint32_t filter_body(const struct ivf_query *q, const int8_t *qa,
                                 const int8_t *codes, const float *qs, const float *qe,
                                 uint32_t n, uint32_t cdim, float tau, uint32_t *pass,
                                 float *val)
{
    int32_t d[CHUNK];
    const __m256 step = _mm256_set1_ps(q->step), c1 = _mm256_set1_ps(q->c1);
    const __m256 c0 = _mm256_set1_ps(q->c0), t = _mm256_set1_ps(tau);
    uint32_t np = 0;
    for (uint32_t at = 0; at < n; at += CHUNK) {
        uint32_t m = n - at < CHUNK ? n - at : CHUNK, r = 0;
        dots_body(qa, q->code, codes + (size_t)at * cdim, m, cdim, d);
        for (; r + 8 <= m; r += 8) {
            __m256 a = _mm256_mul_ps(_mm256_mul_ps(float8(d + r), step),
                                     _mm256_loadu_ps(qs + at + r));
            a = _mm256_add_ps(_mm256_add_ps(a, _mm256_mul_ps(_mm256_loadu_ps(qe + at + r), c1)),
                              c0);
            unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(a, t, _CMP_GE_OQ));
            if (mask)
                np = collect(mask, a, at + r, np, pass, val);
        }
        for (; r < m; r++) {
            float a = (float)d[r] * q->step * qs[at + r] + qe[at + r] * q->c1 + q->c0;
            pass[np] = at + r;
            val[np] = a;
            np += a >= tau;
        }
    }
    return np;
}

__attribute__((target("avx2")))
static uint32_t filter_avx2(const struct ivf_query *q, const int8_t *codes, const float *qs,
                            const float *qe, uint32_t n, uint32_t cdim, float tau,
                            uint32_t *pass, float *val)
{
    int8_t qa[MAXCDIM];
    if (cdim > MAXCDIM)
        return ivf_filter_c(q, codes, qs, qe, n, cdim, tau, pass, val);
    abs_code(q->code, cdim, qa);
    if (cdim == 64)
        return filter_body(q, qa, codes, qs, qe, n, 64, tau, pass, val);
    return filter_body(q, qa, codes, qs, qe, n, cdim, tau, pass, val);
}
#endif

static void pick_kernels(struct excache *x)
{
    x->score = ivf_score_c;
    x->filter = ivf_filter_c;
#ifdef IVF_AVX2
    if (__builtin_cpu_supports("avx2")) {
        x->score = score_avx2;
        x->filter = filter_avx2;
    }
#endif
}

/* The code of unit vector v (cdim bytes, zero past dim), its step and the
 * norm of its residual. */
static void quantise(const float *v, uint32_t dim, uint32_t cdim, int8_t *code, float *step,
                     float *resid)
{
    /* Eight running maxima and sums, each in a fixed order, so that the
     * compiler can use SIMD registers without changing a result. */
    float m8[8] = {0}, r8[8] = {0};
    uint32_t n8 = dim & ~7u, i = 0;
    for (; i < n8; i += 8)
        for (uint32_t j = 0; j < 8; j++) {
            float a = fabsf(v[i + j]);
            m8[j] = a > m8[j] ? a : m8[j];
        }
    float m = 0;
    for (; i < dim; i++)
        m = fabsf(v[i]) > m ? fabsf(v[i]) : m;
    for (uint32_t j = 0; j < 8; j++)
        m = m8[j] > m ? m8[j] : m;
    /* Any rounding serves (the residual is measured, not assumed): adding
     * and subtracting 1.5 * 2^23 rounds a float below 2^22 to an integer
     * without a branch or a library call. */
    const float magic = 12582912.0f;
    float st = m > 0 ? m / 127.0f : 1, inv = 1 / st, r2 = 0;
    for (i = 0; i < dim; i += 8)
        for (uint32_t j = 0; j < 8 && i + j < dim; j++) {
            float t = v[i + j] * inv + magic;
            float c = t - magic;
            c = c > 127 ? 127 : c < -127 ? -127 : c;
            code[i + j] = (int8_t)c;
            float r = v[i + j] - c * st;
            r8[j] += r * r;
        }
    for (uint32_t j = 0; j < 8; j++)
        r2 += r8[j];
    memset(code + dim, 0, cdim - dim);
    *step = st;
    /* Float sums: relative error far below slack()'s share. */
    *resid = sqrtf(r2) * (1 + 1e-5f);
}

/* Slack for float rounding: the dot product's error (dim * 2^-24 at most
 * for unit vectors), the product D * step * step' and the stored norms. */
static float slack(uint32_t dim)
{
    return 1e-4f + (float)dim * 1.2e-7f;
}

/*=====   lifecycle   =====*/

int ivf_init(struct excache *x, uint64_t budget)
{
    /* Expected entries: the budget over a typical entry (600 tokens of text
     * at 4 bytes, plus the embedding). */
    double expect = (double)budget / (2400.0 + 4.0 * x->dim);
    uint32_t nlist = (uint32_t)ceil(2 * sqrt(expect));
    x->nlist = nlist < 8 ? 8 : nlist > 65536 ? 65536 : nlist;
    x->nprobe = 2;
    x->lloyd_at = 2 * x->nlist;
    x->cdim = (x->dim + 31) & ~31u;
    pick_kernels(x);
    x->cent = malloc((size_t)x->nlist * x->dim * sizeof *x->cent);
    x->csum = calloc((size_t)x->nlist * x->dim, sizeof *x->csum);
    x->ccode = malloc((size_t)x->nlist * x->cdim);
    x->cqs = malloc(x->nlist * sizeof *x->cqs);
    x->cqe = malloc(x->nlist * sizeof *x->cqe);
    x->lists = calloc(x->nlist, sizeof *x->lists);
    x->u = malloc(x->dim * sizeof *x->u);
    x->ucode = malloc(x->cdim);
    x->score_of = malloc(x->nlist * sizeof *x->score_of);
    x->score_max = malloc((x->nlist / 8 + 1) * sizeof *x->score_max);
    x->probe = malloc(x->nlist * sizeof *x->probe);
    x->probe_sim = malloc(x->nlist * sizeof *x->probe_sim);
    return x->cent && x->csum && x->ccode && x->cqs && x->cqe && x->lists && x->u && x->ucode
                   && x->score_of && x->score_max && x->probe && x->probe_sim
               ? 0 : SIM_ENOMEM;
}

void ivf_free(struct excache *x)
{
    free(x->cent);
    free(x->csum);
    free(x->ccode);
    free(x->cqs);
    free(x->cqe);
    free(x->cluster);
    free(x->slot);
    for (size_t i = 0; i < x->arena.nchunk; i++)
        free(x->arena.chunk[i]);
    free(x->arena.chunk);
    free(x->lists);
    free(x->u);
    free(x->ucode);
    free(x->score_of);
    free(x->score_max);
    free(x->probe);
    free(x->probe_sim);
}

/* Per-id arrays to cap entries. */
int ivf_grow(struct excache *x, uint32_t cap)
{
    uint32_t *c = realloc(x->cluster, cap * sizeof *c);
    if (!c)
        return SIM_ENOMEM;
    x->cluster = c;
    uint32_t *sl = realloc(x->slot, cap * sizeof *sl);
    if (!sl)
        return SIM_ENOMEM;
    x->slot = sl;
    return 0;
}

/*=====   list storage   =====*/

#define HUGE_PAGE ((size_t)2 << 20)

/* Size class of a block of bytes: its log2, rounded up, at least 6 (a
 * cache line). */
static unsigned size_class(size_t bytes)
{
    unsigned k = 6;
    while (((size_t)1 << k) < bytes)
        k++;
    return k;
}

/* A block of at least bytes (64-byte aligned), or NULL.  The lists are
 * read at random, one after another: on 4 KiB pages nearly every list
 * scanned would also miss the TLB, so chunks ask for 2 MiB pages where the
 * system allows it (transparent huge pages, madvise mode): about +8% of
 * the request rate at 10^5 entries (bench_serve; a noisy measurement).
 * Blocks are cut in power-of-two sizes from 2 MiB-aligned chunks, so they
 * are 64-byte aligned. */
static void *arena_alloc(struct ivf_arena *a, size_t bytes)
{
    unsigned k = size_class(bytes);
    size_t size = (size_t)1 << k;
    if (a->free[k]) {
        void *p = a->free[k];
        memcpy(&a->free[k], p, sizeof p);
        return p;
    }
    if (size > a->left) {
        if (a->nchunk == a->capchunk) {
            size_t n = a->capchunk ? a->capchunk * 2 : 16;
            void **c = realloc(a->chunk, n * sizeof *c);
            if (!c)
                return NULL;
            a->chunk = c;
            a->capchunk = n;
        }
        size_t csize = (size + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
        void *p = NULL;
        if (posix_memalign(&p, HUGE_PAGE, csize))
            return NULL;
#ifdef MADV_HUGEPAGE
        (void)madvise(p, csize, MADV_HUGEPAGE);
#endif
        a->chunk[a->nchunk++] = p;
        a->at = p;
        a->left = csize;
    }
    void *p = a->at;
    a->at += size;
    a->left -= size;
    return p;
}

static void arena_free(struct ivf_arena *a, void *p, size_t bytes)
{
    unsigned k = size_class(bytes);
    memcpy(p, &a->free[k], sizeof p);
    a->free[k] = p;
}

/* *p (rows of row bytes, n of them in use, cap allocated) moved to a
 * block of ncap rows; 0 or SIM_ENOMEM. */
static int move_rows(struct ivf_arena *a, void **p, size_t row, uint32_t n, uint32_t cap,
                     uint32_t ncap)
{
    void *q = arena_alloc(a, row * ncap);
    if (!q)
        return SIM_ENOMEM;
    if (cap) {
        memcpy(q, *p, row * n);
        arena_free(a, *p, row * cap);
    }
    *p = q;
    return 0;
}

/* On failure the arrays moved so far keep their larger blocks (freed later
 * as of the old cap: a larger block in a smaller class is harmless). */
static int list_grow(struct excache *x, struct ivf_list *l)
{
    uint32_t n = l->cap ? l->cap * 2 : 16;
    struct ivf_arena *a = &x->arena;
    void *ids = l->ids, *vec = l->vec, *code = l->code, *qs = l->qs, *qe = l->qe;
    int rc = move_rows(a, &ids, sizeof *l->ids, l->n, l->cap, n);
    l->ids = ids;
    rc = rc ? rc : move_rows(a, &vec, x->dim * sizeof *l->vec, l->n, l->cap, n);
    l->vec = vec;
    rc = rc ? rc : move_rows(a, &code, x->cdim, l->n, l->cap, n);
    l->code = code;
    rc = rc ? rc : move_rows(a, &qs, sizeof *l->qs, l->n, l->cap, n);
    l->qs = qs;
    rc = rc ? rc : move_rows(a, &qe, sizeof *l->qe, l->n, l->cap, n);
    l->qe = qe;
    if (!rc)
        l->cap = n;
    return rc;
}

/*=====   the prepared vector   =====*/

/* A prepared vector, as a hint carries it: the unit vector (dim floats),
 * its step and residual norm (2 floats), its code (cdim bytes). */
size_t ivf_prep_size(const struct excache *x)
{
    return (x->dim + 2) * sizeof(float) + x->cdim;
}

/* Normalises q into x->u and codes it into x->ucode, x->ustep,
 * x->uresid. */
static int prepare(struct excache *x, const float *q)
{
    memcpy(x->u, q, x->dim * sizeof *x->u);
    if (sim_vec_normalise(x->u, x->dim))
        return SIM_EINVAL;
    quantise(x->u, x->dim, x->cdim, x->ucode, &x->ustep, &x->uresid);
    return 0;
}

static void prep_save(const struct excache *x, void *prep)
{
    float *f = prep;
    memcpy(f, x->u, x->dim * sizeof *f);
    f[x->dim] = x->ustep;
    f[x->dim + 1] = x->uresid;
    memcpy(f + x->dim + 2, x->ucode, x->cdim);
}

static void prep_load(struct excache *x, const void *prep)
{
    const float *f = prep;
    memcpy(x->u, f, x->dim * sizeof *f);
    x->ustep = f[x->dim];
    x->uresid = f[x->dim + 1];
    memcpy(x->ucode, f + x->dim + 2, x->cdim);
}

/*=====   search   =====*/

/* Keeps the k best (sim desc, id asc) in ids/sims, n of them so far. */
static size_t topk_add(uint64_t *ids, float *sims, size_t n, size_t k, uint32_t id, float sim)
{
    size_t i = n < k ? n++ : k;
    if (i == k && !(sim > sims[k - 1] || (sim == sims[k - 1] && id < ids[k - 1])))
        return n;
    if (i == k)
        i = k - 1;
    while (i > 0 && (sims[i - 1] < sim || (sims[i - 1] == sim && ids[i - 1] > id))) {
        ids[i] = ids[i - 1];
        sims[i] = sims[i - 1];
        i--;
    }
    ids[i] = id;
    sims[i] = sim;
    return n;
}

static struct ivf_query query_of(const struct excache *x)
{
    return (struct ivf_query){x->ucode, x->ustep, 1 + x->uresid, slack(x->dim) + x->uresid};
}

/* The want nearest of centroids [c0, ncent) by code similarity (ties to
 * the lower number) into probe / probe_sim, best first; returns how many.
 * Most centroids fall below the want-th best so far at the first test. */
static size_t rank_centroids(struct excache *x, uint32_t c0, size_t want, uint64_t *probe,
                             float *probe_sim)
{
    struct ivf_query q = query_of(x);
    float *s = x->score_of;
    if (x->ncent == c0 || want == 0)
        return 0;
    x->codes += x->ncent - c0;
    x->score(&q, x->ccode + (size_t)c0 * x->cdim, x->cqs + c0, x->ncent - c0, x->cdim, s,
             x->score_max);
    /* Blocks of 8 whose largest score is below the want-th best so far
     * are passed over. */
    size_t np = 0;
    uint32_t n = x->ncent - c0;
    for (uint32_t b = 0; b < n; b += 8) {
        uint32_t e = n - b < 8 ? n : b + 8;
        if (np == want && x->score_max[b / 8] < probe_sim[want - 1])
            continue;
        for (uint32_t i = b; i < e; i++)
            if (np < want || s[i] >= probe_sim[want - 1])
                np = topk_add(probe, probe_sim, np, want, c0 + i, s[i]);
    }
    return np;
}

/* Scores list l against the query into the top k (ids, sims, *n so far):
 * the exact similarity of the rows the int8 filter lets through. */
static void scan_list(struct excache *x, const struct ivf_list *l, size_t k, float minsim,
                      const struct ivf_query *q, uint64_t *ids, float *sims, size_t *n)
{
    uint32_t pass[CHUNK];
    float val[CHUNK];
    float tau = *n == k && sims[k - 1] > minsim ? sims[k - 1] : minsim;
    for (uint32_t at = 0; at < l->n; at += CHUNK) {
        uint32_t m = l->n - at < CHUNK ? l->n - at : CHUNK;
        x->codes += m;
        uint32_t np = x->filter(q, l->code + (size_t)at * x->cdim, l->qs + at, l->qe + at, m,
                                x->cdim, tau, pass, val);
        for (uint32_t i = 0; i < np; i++)
            for (uint32_t b = 0; b < x->dim; b += 16)
                __builtin_prefetch(l->vec + (size_t)(at + pass[i]) * x->dim + b);
        for (uint32_t i = 0; i < np; i++) {
            if (val[i] < tau)
                continue; /* tau rose since the filter ran */
            uint32_t slot = at + pass[i];
            x->scored++;
            float sim = vec_dot(x->u, l->vec + (size_t)slot * x->dim, x->dim);
            if (sim < minsim)
                continue;
            *n = topk_add(ids, sims, *n, k, l->ids[slot], sim);
            if (*n == k && sims[k - 1] > tau)
                tau = sims[k - 1];
        }
    }
}

int ivf_search(struct excache *x, const float *q, size_t k, float minsim, struct exhint *hint,
               uint64_t *ids, float *sims, char *err, size_t errlen)
{
    if (prepare(x, q)) {
        snprintf(err, errlen, "query embedding: NaN, infinite or zero");
        return SIM_EINVAL;
    }
    size_t want = x->nprobe < 1 ? 1 : x->nprobe < x->nlist ? x->nprobe : x->nlist;
    size_t np = rank_centroids(x, 0, want, x->probe, x->probe_sim);
    if (hint && np) {
        hint->ncent = x->ncent;
        hint->best = (uint32_t)x->probe[0];
        hint->sim = x->probe_sim[0];
    }
    if (hint && hint->prep) {
        prep_save(x, hint->prep);
        hint->have_prep = 1;
    }
    size_t n = 0;
    if (k > MAXK)
        k = MAXK;
    struct ivf_query iq = query_of(x);
    for (size_t p = 0; p < np; p++)
        scan_list(x, &x->lists[x->probe[p]], k, minsim, &iq, ids, sims, &n);
    return (int)n;
}

/*=====   insert, delete   =====*/

/* Adds sign * v to a list's sum, in fixed point (2^-20): integer sums are
 * exact, so a delete undoes its insert and the sum does not drift. */
static void sum_add(int64_t *sum, const float *v, uint32_t dim, int sign)
{
    for (uint32_t d = 0; d < dim; d++)
        sum[d] += sign * (int32_t)(v[d] * 1048576.0f);
}

/* Moves every centroid to the mean direction of its list (a list left
 * empty keeps its centroid). */
static void refresh(struct excache *x)
{
    float *v = x->u; /* scratch: x->u is not needed after an insert */
    for (uint32_t c = 0; c < x->ncent; c++) {
        const int64_t *s = x->csum + (size_t)c * x->dim;
        for (uint32_t d = 0; d < x->dim; d++)
            v[d] = (float)s[d];
        if (x->lists[c].n == 0 || sim_vec_normalise(v, x->dim))
            continue;
        memcpy(x->cent + (size_t)c * x->dim, v, x->dim * sizeof *v);
        quantise(v, x->dim, x->cdim, x->ccode + (size_t)c * x->cdim, &x->cqs[c], &x->cqe[c]);
    }
    x->since = 0;
}

/* The nearest centroid to x->u by code similarity (ties to the lower
 * number), starting from the hint's answer for the centroids it saw, as
 * they were then: the centroids move slowly, and a request completes
 * after about as many others arrive as are in flight (half of the hints
 * of bench_serve's serving runs are older than the last move; checking
 * them again would cost half a search each). */
static uint32_t best_centroid(struct excache *x, const struct exhint *hint, float *bsim)
{
    uint32_t c0 = 0;
    uint64_t best = 0;
    *bsim = -INFINITY;
    if (hint && hint->ncent && hint->ncent <= x->ncent) {
        c0 = hint->ncent;
        best = hint->best;
        *bsim = hint->sim;
    }
    uint64_t c;
    float s;
    if (rank_centroids(x, c0, 1, &c, &s) && (s > *bsim || (s == *bsim && c < best))) {
        best = c;
        *bsim = s;
    }
    return (uint32_t)best;
}

/* Appends x->u (and its code) to list c as entry id. */
static int list_append(struct excache *x, uint32_t c, uint32_t id)
{
    struct ivf_list *l = &x->lists[c];
    if (l->n == l->cap && list_grow(x, l))
        return SIM_ENOMEM;
    memcpy(l->vec + (size_t)l->n * x->dim, x->u, x->dim * sizeof *x->u);
    memcpy(l->code + (size_t)l->n * x->cdim, x->ucode, x->cdim);
    l->qs[l->n] = x->ustep;
    l->qe[l->n] = x->uresid;
    x->cluster[id] = c;
    x->slot[id] = l->n;
    l->ids[l->n++] = id;
    x->nrows++;
    sum_add(x->csum + (size_t)c * x->dim, x->u, x->dim, 1);
    return 0;
}

/* Moves entry id, whose vector and code are in x->u, to list c (if list
 * c has room, or can grow: else it stays). */
static void move_entry(struct excache *x, uint32_t id, uint32_t c)
{
    struct ivf_list *l = &x->lists[c];
    if (l->n == l->cap && list_grow(x, l))
        return;
    ivf_del(x, id);
    list_append(x, c, id); /* cannot fail: there is room */
}

/* Lloyd's k-means iterations over every entry: centroids to their lists'
 * means, then each entry to its nearest centroid.  Entries are visited
 * list by list, in slot order, so the outcome depends only on the
 * index's state. */
static void lloyd(struct excache *x)
{
    uint32_t *ids = malloc((size_t)x->nrows * sizeof *ids);
    if (!ids)
        return; /* an optimisation: skipped when memory is short */
    for (int it = 0; it < LLOYD_ITERS; it++) {
        refresh(x);
        size_t n = 0;
        for (uint32_t c = 0; c < x->ncent; c++)
            for (uint32_t i = 0; i < x->lists[c].n; i++)
                ids[n++] = x->lists[c].ids[i];
        for (size_t i = 0; i < n; i++) {
            uint32_t id = ids[i], at = x->slot[id];
            const struct ivf_list *l = &x->lists[x->cluster[id]];
            memcpy(x->u, l->vec + (size_t)at * x->dim, x->dim * sizeof *x->u);
            memcpy(x->ucode, l->code + (size_t)at * x->cdim, x->cdim);
            x->ustep = l->qs[at];
            x->uresid = l->qe[at];
            float bs;
            uint32_t c = best_centroid(x, NULL, &bs);
            if (c != x->cluster[id])
                move_entry(x, id, c);
        }
    }
    refresh(x);
    free(ids);
}

int ivf_add(struct excache *x, uint32_t id, const float *emb, const struct exhint *hint,
            char *err, size_t errlen)
{
    if (hint && hint->have_prep)
        prep_load(x, hint->prep);
    else if (prepare(x, emb)) {
        snprintf(err, errlen, "example embedding: NaN, infinite or zero");
        return SIM_EINVAL;
    }
    float bsim;
    uint32_t best = best_centroid(x, hint, &bsim);
    if (x->ncent < x->nlist && (x->ncent == 0 || bsim < LEADER_SIM)) {
        best = x->ncent++;
        memcpy(x->cent + (size_t)best * x->dim, x->u, x->dim * sizeof *x->u);
        memcpy(x->ccode + (size_t)best * x->cdim, x->ucode, x->cdim);
        x->cqs[best] = x->ustep;
        x->cqe[best] = x->uresid;
    }
    if (list_append(x, best, id)) {
        snprintf(err, errlen, "example cache: out of memory");
        return SIM_ENOMEM;
    }
    if (++x->since >= REFRESH * x->nlist)
        refresh(x);
    if (x->nrows >= x->lloyd_at) {
        if (x->ncent == x->nlist)
            lloyd(x);
        x->lloyd_at *= 2;
    }
    return 0;
}

void ivf_del(struct excache *x, uint32_t id)
{
    uint32_t c = x->cluster[id], at = x->slot[id];
    struct ivf_list *l = &x->lists[c];
    sum_add(x->csum + (size_t)c * x->dim, l->vec + (size_t)at * x->dim, x->dim, -1);
    uint32_t last = --l->n;
    x->nrows--;
    uint32_t moved = l->ids[last];
    l->ids[at] = moved;
    memcpy(l->vec + (size_t)at * x->dim, l->vec + (size_t)last * x->dim,
           x->dim * sizeof *l->vec);
    memcpy(l->code + (size_t)at * x->cdim, l->code + (size_t)last * x->cdim, x->cdim);
    l->qs[at] = l->qs[last];
    l->qe[at] = l->qe[last];
    x->slot[moved] = at;
}
