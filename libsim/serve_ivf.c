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
 * Centroids are ranked by integer dot products of codes times float
 * steps (rank_body), the same on every machine, so the lists probed, and
 * hence the results, are too.  The ranking reads every centroid's code on
 * every search, so its kernel is built for that: the codes in blocks of 8
 * centroids interleaved by 4 bytes, so that one multiply-add serves 8
 * centroids and none needs a horizontal sum, four blocks sharing each load
 * of the query, and the query's code halved (rank_query) so that the
 * unsigned centroid codes need no sign trick; the two best per lane are
 * kept in registers and merged at the end.  About 2x fewer cycles per
 * centroid than scoring rows one by one and then selecting.
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
 * and is skipped.  For a row that passes, its code also gives step * (u .
 * c) with the float query, off by at most |u.r| <= |r|, half the bound:
 * only rows still above the k-th similarity are scored by the float dot
 * product (scan_list).  The results within the lists probed
 * are therefore those of the float index, bit for bit, on every machine;
 * integer sums do not depend on the instruction set, so the AVX2 kernels
 * (chosen at run time, when the CPU has AVX2) and the portable ones pass
 * the same rows, and only speed depends on the machine.
 *
 * Codes are stored per list, contiguous, so that a scan streams through
 * memory, and the float vectors next to them, per list, since the few
 * candidates that pass are mostly paraphrases of one intent, in one list
 * (a delete moves the list's last row into the hole).  The lists' arrays
 * are blocks of an arena on 2 MiB pages (list storage, below).  A scan is
 * bound by memory more than arithmetic; 4-bit codes as a first filter
 * halved the bytes streamed, but the rows they let through (51 a request
 * in bench_serve, most of them a popular intent's paraphrases, not 18 as
 * here) then had their 8-bit codes read at random: searches were 7%
 * slower, inserts 25% (three more arrays per row).  Also measured at 10^5
 * entries and not kept: ranking the next request's centroids during this
 * search, this search's lists prefetched meanwhile (their scan took half
 * as long, the ranking 1.6 times as long: the core's miss buffers, not
 * the DRAM, are the limit; no change in the whole simulation); 4-bit
 * centroid codes with an 8-bit re-rank of each lane's two best (the first
 * pass 17% faster in place, the re-rank took it back); coding v minus its
 * projection on a per-list anchor (residuals 7 times smaller in a popular
 * intent's list, float reads 14 -> 6 a request, but one more array per
 * row and the anchors' reads: 21% more last-level misses in callgrind).
 *
 * While the serving simulation searches ahead in other threads, the
 * lists do not change: adds and deletes wait in a log until ivf_apply,
 * and searches catch up with it (DEFERRED CHANGES, below).
 *
 * Invariants: 1. entry id is lists[cluster[id]].ids[slot[id]] (its
 *                changes applied; UINT32_MAX: in no list);
 *             2. vec, code, qs and qe of slot i of a list describe entry
 *                ids[i];
 *             3. codes are in [-127, 127] (so the AVX2 pair sums cannot
 *                saturate: 2 * 127 * 127 < 32767) and zero past dim;
 *             4. csum of list c is the sum over its rows of
 *                (int32_t)(vec * 2^20), and nrows the rows of all lists;
 *             5. cblk holds ccode (cent_store) for centroids < ncent.
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

/* Keeps the k best (sim desc, id asc) in ids/sims, n of them so far. */
static inline __attribute__((always_inline)) size_t topk_add(uint64_t *ids, float *sims,
                                                             size_t n, size_t k, uint32_t id,
                                                             float sim)
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

/* Where centroid c's code starts in the ranking's blocks (cent_store's
 * layout): byte 4g + j of the code, plus 128, is at blocks + block_at(c,
 * cdim) + 32 g + j. */
static size_t block_at(uint32_t c, uint32_t cdim)
{
    return (size_t)(c / 8) * 8 * cdim + (c % 8) * 4;
}

/* out[i] = (code[i] + 1) / 2 rounded down, for i < cdim; returns their
 * sum. */
int32_t ivf_halve_c(const int8_t *code, uint32_t cdim, int8_t *out)
{
    int32_t sum = 0;
    for (uint32_t i = 0; i < cdim; i++) {
        /* without shifting a negative number */
        out[i] = (int8_t)(((code[i] + 129) >> 1) - 64);
        sum += out[i];
    }
    return sum;
}

size_t ivf_rank_c(const struct ivf_rankq *q, const uint8_t *blocks, const float *qs,
                  uint32_t c0, uint32_t n, uint32_t cdim, size_t want, uint64_t *probe,
                  float *probe_sim)
{
    size_t np = 0;
    for (uint32_t c = c0; c < n; c++) {
        const uint8_t *b = blocks + block_at(c, cdim);
        int32_t d = 0;
        for (uint32_t g = 0; g < cdim / 4; g++)
            for (uint32_t j = 0; j < 4; j++)
                d += b[32 * g + j] * q->code[4 * g + j];
        float s = (float)(d - q->bias) * q->step * qs[c];
        if (np < want || s >= probe_sim[want - 1])
            np = topk_add(probe, probe_sim, np, want, c, s);
    }
    return np;
}

/* u . c for a float u and an int8 code c, in the summation order of
 * vec_dot (so that the compiler can keep the sums in SIMD registers). */
float ivf_code_dot_c(const float *u, const int8_t *c, uint32_t dim)
{
    float s0[4] = {0}, s1[4] = {0}, s2[4] = {0}, s3[4] = {0};
    uint32_t n = dim & ~15u, i = 0;
    for (; i < n; i += 16) {
        for (uint32_t j = 0; j < 4; j++)
            s0[j] += u[i + j] * (float)c[i + j];
        for (uint32_t j = 0; j < 4; j++)
            s1[j] += u[i + 4 + j] * (float)c[i + 4 + j];
        for (uint32_t j = 0; j < 4; j++)
            s2[j] += u[i + 8 + j] * (float)c[i + 8 + j];
        for (uint32_t j = 0; j < 4; j++)
            s3[j] += u[i + 12 + j] * (float)c[i + 12 + j];
    }
    float t = 0;
    for (uint32_t j = 0; j < 4; j++)
        t += (s0[j] + s1[j]) + (s2[j] + s3[j]);
    for (; i < dim; i++)
        t += u[i] * (float)c[i];
    return t;
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

/* Ranks blocks of 8 centroids, four blocks at a time (they share the
 * query's loads): for each group of 4 dimensions one multiply-add of a
 * block's 32 bytes (8 centroids' codes + 128, unsigned) by the query's
 * group repeated 8 times (signed, in [-63, 64]: a pair sums to at most 2 *
 * 255 * 64 < 32767, no saturation), and a widening into 8 sums, one per
 * centroid: no horizontal step, and the query needs no sign trick.  Then
 * the similarities in float, as ivf_rank_c computes them; only centroids
 * that reach the want-th best so far leave the registers.  blocks has
 * room for 3 blocks past the last (ivf_init), so that the last step
 * reads no further. */
AVX2_INLINE __m256i rank_acc(__m256i acc, const uint8_t *p, __m256i q)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i c = _mm256_load_si256((const __m256i *)(const void *)p);
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(c, q), ones));
}

/* The lanes m of block b (similarities s) into the top want, branching on
 * each: for want > 2. */
AVX2_INLINE size_t rank_take(__m256 s, uint32_t b, unsigned m, size_t want, size_t np,
                             uint64_t *probe, float *probe_sim)
{
    if (np == want)
        m &= (unsigned)_mm256_movemask_ps(
            _mm256_cmp_ps(s, _mm256_set1_ps(probe_sim[want - 1]), _CMP_GE_OQ));
    if (!m)
        return np;
    float sv[8];
    _mm256_storeu_ps(sv, s);
    for (; m; m &= m - 1) {
        unsigned j = (unsigned)__builtin_ctz(m);
        np = topk_add(probe, probe_sim, np, want, 8 * b + j, sv[j]);
    }
    return np;
}

/* The valid lanes of block b: centroids in [c0, n). */
static unsigned lanes_of(uint32_t b, uint32_t c0, uint32_t n)
{
    unsigned m = 0xffu;
    if (8 * b < c0)
        m &= 0xffu << (c0 - 8 * b);
    if (8 * b + 8 > n)
        m &= 0xffu >> (8 * b + 8 - n);
    return m;
}

/* The two best so far in each lane (strictly better replaces, so of equals
 * the lower number stays), without a branch: the ranking of the usual
 * nprobe (1 or 2) never leaves the registers until the end. */
struct lane_top2 {
    __m256 s1, s2; /* best, second best similarity per lane */
    __m256 c1, c2; /* their centroid numbers (integers, as float bits) */
};

AVX2_INLINE void top2_add(struct lane_top2 *t, __m256 s, __m256 c)
{
    __m256 gt1 = _mm256_cmp_ps(s, t->s1, _CMP_GT_OQ), gt2 = _mm256_cmp_ps(s, t->s2, _CMP_GT_OQ);
    t->s2 = _mm256_blendv_ps(_mm256_blendv_ps(t->s2, s, gt2), t->s1, gt1);
    t->c2 = _mm256_blendv_ps(_mm256_blendv_ps(t->c2, c, gt2), t->c1, gt1);
    t->s1 = _mm256_blendv_ps(t->s1, s, gt1);
    t->c1 = _mm256_blendv_ps(t->c1, c, gt1);
}

/* The lanes' candidates into the top want (<= 2). */
AVX2_INLINE size_t top2_merge(const struct lane_top2 *t, size_t want, uint64_t *probe,
                              float *probe_sim)
{
    float s[16];
    int32_t c[16];
    size_t np = 0;
    _mm256_storeu_ps(s, t->s1);
    _mm256_storeu_ps(s + 8, t->s2);
    _mm256_storeu_si256((__m256i *)(void *)c, _mm256_castps_si256(t->c1));
    _mm256_storeu_si256((__m256i *)(void *)(c + 8), _mm256_castps_si256(t->c2));
    for (int i = 0; i < 16; i++)
        if (c[i] >= 0)
            np = topk_add(probe, probe_sim, np, want, (uint32_t)c[i], s[i]);
    return np;
}

/* The similarities of 8 centroids from their dot products d (with the
 * bias) and their steps qs: as ivf_rank_c computes them. */
AVX2_INLINE __m256 rank_sims(__m256i d, const struct ivf_rankq *q, const float *qs)
{
    __m256 f = _mm256_cvtepi32_ps(_mm256_sub_epi32(d, _mm256_set1_epi32(q->bias)));
    return _mm256_mul_ps(_mm256_mul_ps(f, _mm256_set1_ps(q->step)), _mm256_loadu_ps(qs));
}

/* Block b (dot products d) into the top want, lanes outside [c0, n)
 * excluded: the edges of the range, and any want. */
AVX2_INLINE size_t rank_edge(__m256i d, const struct ivf_rankq *q, const float *qs, uint32_t b,
                             uint32_t c0, uint32_t n, size_t want, size_t np, uint64_t *probe,
                             float *probe_sim, struct lane_top2 *t)
{
    __m256 s = rank_sims(d, q, qs + 8 * (size_t)b);
    unsigned m = lanes_of(b, c0, n);
    if (want > 2)
        return rank_take(s, b, m, want, np, probe, probe_sim);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i bits = _mm256_and_si256(_mm256_set1_epi32((int)m),
                                    _mm256_sllv_epi32(_mm256_set1_epi32(1), lane));
    __m256i off = _mm256_cmpeq_epi32(bits, _mm256_setzero_si256());
    s = _mm256_blendv_ps(s, _mm256_set1_ps(-INFINITY), _mm256_castsi256_ps(off));
    __m256i c = _mm256_add_epi32(_mm256_set1_epi32((int)(8 * b)), lane);
    top2_add(t, s, _mm256_castsi256_ps(c));
    return np;
}

AVX2_INLINE size_t rank_body(const struct ivf_rankq *q, const uint8_t *blocks, const float *qs,
                             uint32_t c0, uint32_t n, uint32_t cdim, size_t want,
                             uint64_t *probe, float *probe_sim, int8_t *bcast)
{
    const __m256 none = _mm256_set1_ps(-INFINITY);
    const __m256i eight = _mm256_set1_epi32(8);
    const size_t bs = (size_t)8 * cdim;
    struct lane_top2 t = {none, none, _mm256_castsi256_ps(_mm256_set1_epi32(-1)),
                          _mm256_castsi256_ps(_mm256_set1_epi32(-1))};
    size_t np = 0;
    for (uint32_t g = 0; g < cdim / 4; g++) {
        int32_t w;
        memcpy(&w, q->code + 4 * g, 4);
        _mm256_store_si256((__m256i *)(void *)(bcast + 32 * g), _mm256_set1_epi32(w));
    }
    for (uint32_t b = c0 / 8; 8 * b < n; b += 4) {
        const uint8_t *p = blocks + b * bs;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        for (uint32_t g = 0; g < cdim / 4; g++) {
            __m256i qg = _mm256_load_si256((const __m256i *)(const void *)(bcast + 32 * g));
            a0 = rank_acc(a0, p + 32 * g, qg);
            a1 = rank_acc(a1, p + bs + 32 * g, qg);
            a2 = rank_acc(a2, p + 2 * bs + 32 * g, qg);
            a3 = rank_acc(a3, p + 3 * bs + 32 * g, qg);
        }
        if (want <= 2 && 8 * b >= c0 && 8 * b + 32 <= n) {
            /* The common case: four whole blocks, no branch per block. */
            const float *s = qs + 8 * (size_t)b;
            __m256 c = _mm256_castsi256_ps(_mm256_add_epi32(
                _mm256_set1_epi32((int)(8 * b)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
            top2_add(&t, rank_sims(a0, q, s), c);
            c = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(c), eight));
            top2_add(&t, rank_sims(a1, q, s + 8), c);
            c = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(c), eight));
            top2_add(&t, rank_sims(a2, q, s + 16), c);
            c = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(c), eight));
            top2_add(&t, rank_sims(a3, q, s + 24), c);
            continue;
        }
        np = rank_edge(a0, q, qs, b, c0, n, want, np, probe, probe_sim, &t);
        if (8 * b + 8 < n)
            np = rank_edge(a1, q, qs, b + 1, c0, n, want, np, probe, probe_sim, &t);
        if (8 * b + 16 < n)
            np = rank_edge(a2, q, qs, b + 2, c0, n, want, np, probe, probe_sim, &t);
        if (8 * b + 24 < n)
            np = rank_edge(a3, q, qs, b + 3, c0, n, want, np, probe, probe_sim, &t);
    }
    return want > 2 ? np : top2_merge(&t, want, probe, probe_sim);
}

__attribute__((target("avx2")))
static size_t rank_avx2(const struct ivf_rankq *q, const uint8_t *blocks, const float *qs,
                        uint32_t c0, uint32_t n, uint32_t cdim, size_t want, uint64_t *probe,
                        float *probe_sim)
{
    _Alignas(32) int8_t bcast[8 * MAXCDIM];
    if (cdim > MAXCDIM)
        return ivf_rank_c(q, blocks, qs, c0, n, cdim, want, probe, probe_sim);
    if (cdim == 64)
        return rank_body(q, blocks, qs, c0, n, 64, want, probe, probe_sim, bcast);
    return rank_body(q, blocks, qs, c0, n, cdim, want, probe, probe_sim, bcast);
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

/* As ivf_code_dot_c, 16 dimensions at a time (another summation order:
 * the result only bounds similarities, within slack()). */
__attribute__((target("avx2")))
static float code_dot_avx2(const float *u, const int8_t *c, uint32_t dim)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    uint32_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(c + i));
        __m256 c0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
        __m256 c1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(b, 8)));
        s0 = _mm256_add_ps(s0, _mm256_mul_ps(_mm256_loadu_ps(u + i), c0));
        s1 = _mm256_add_ps(s1, _mm256_mul_ps(_mm256_loadu_ps(u + i + 8), c1));
    }
    __m256 s = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    float t = _mm_cvtss_f32(h);
    for (; i < dim; i++)
        t += u[i] * (float)c[i];
    return t;
}

/* ivf_halve_c 32 bytes at a time: c + 128 is unsigned, and the rounding
 * average with 0, (c + 129) / 2 rounded down, is the result plus 64;
 * sums of absolute differences from 0 add the bytes up. */
__attribute__((target("avx2")))
static int32_t halve_avx2(const int8_t *code, uint32_t cdim, int8_t *out)
{
    const __m256i top = _mm256_set1_epi8((char)0x80), zero = _mm256_setzero_si256();
    const __m256i off = _mm256_set1_epi8(64);
    __m256i sums = zero;
    for (uint32_t i = 0; i < cdim; i += 32) {
        __m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(code + i));
        __m256i h = _mm256_avg_epu8(_mm256_xor_si256(c, top), zero);
        _mm256_storeu_si256((__m256i *)(void *)(out + i), _mm256_sub_epi8(h, off));
        sums = _mm256_add_epi64(sums, _mm256_sad_epu8(h, zero));
    }
    int64_t s[4];
    _mm256_storeu_si256((__m256i *)(void *)s, sums);
    return (int32_t)(s[0] + s[1] + s[2] + s[3] - 64 * (int64_t)cdim);
}

/* ivf_quant_c eight at a time: the same operations on each value, in the
 * same order (multiply, add and subtract 1.5 * 2^23, clamp; residual,
 * square, add to its lane), so the same codes and sums. */
__attribute__((target("avx2")))
static void quant_avx2(const float *v, uint32_t n8, float st, float inv, int8_t *code,
                       float *r8)
{
    const __m256 magic = _mm256_set1_ps(12582912.0f), hi = _mm256_set1_ps(127);
    const __m256 lo = _mm256_set1_ps(-127), vst = _mm256_set1_ps(st);
    const __m256 vinv = _mm256_set1_ps(inv);
    __m256 acc = _mm256_loadu_ps(r8);
    for (uint32_t i = 0; i < n8; i += 8) {
        __m256 x = _mm256_loadu_ps(v + i);
        __m256 c = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(x, vinv), magic), magic);
        c = _mm256_max_ps(_mm256_min_ps(c, hi), lo);
        __m256i ci = _mm256_cvtps_epi32(c); /* integers already: exact */
        __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(ci), _mm256_extracti128_si256(ci, 1));
        _mm_storel_epi64((__m128i *)(void *)(code + i), _mm_packs_epi16(w, w));
        __m256 r = _mm256_sub_ps(x, _mm256_mul_ps(c, vst));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(r, r));
    }
    _mm256_storeu_ps(r8, acc);
}
#endif

static void pick_kernels(struct excache *x)
{
    x->rank = ivf_rank_c;
    x->filter = ivf_filter_c;
    x->code_dot = ivf_code_dot_c;
    x->quant = ivf_quant_c;
    x->halve = ivf_halve_c;
#ifdef IVF_AVX2
    if (__builtin_cpu_supports("avx2")) {
        x->rank = rank_avx2;
        x->filter = filter_avx2;
        x->code_dot = code_dot_avx2;
        x->quant = quant_avx2;
        x->halve = halve_avx2;
    }
#endif
}

/* x rounded to an integer (ties to even), within [-lim, lim].  Any
 * rounding serves (residuals are measured, not assumed): adding and
 * subtracting 1.5 * 2^23 rounds a float below 2^22 without a branch or a
 * library call. */
static float round_clamp(float x, float lim)
{
    const float magic = 12582912.0f;
    float t = x + magic;
    float c = t - magic;
    return c > lim ? lim : c < -lim ? -lim : c;
}

/* Codes v[0..n8) (n8 a multiple of 8) at step st (inv = 1 / st), adding
 * the squares of the residuals to r8[i % 8]. */
void ivf_quant_c(const float *v, uint32_t n8, float st, float inv, int8_t *code, float *r8)
{
    for (uint32_t i = 0; i < n8; i += 8)
        for (uint32_t j = 0; j < 8; j++) {
            float c = round_clamp(v[i + j] * inv, 127);
            code[i + j] = (int8_t)c;
            float r = v[i + j] - c * st;
            r8[j] += r * r;
        }
}

/* The code of unit vector v (cdim bytes, zero past dim), its step and the
 * norm of its residual. */
static void quantise(const struct excache *x, const float *v, int8_t *code, float *step,
                     float *resid)
{
    /* Eight running maxima and sums, each in a fixed order, so that SIMD
     * registers can hold them without changing a result. */
    float m8[8] = {0}, r8[8] = {0};
    uint32_t dim = x->dim, n8 = dim & ~7u, i = 0;
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
    float st = m > 0 ? m / 127.0f : 1, inv = 1 / st, r2 = 0;
    x->quant(v, n8, st, inv, code, r8);
    for (uint32_t j = 0; n8 + j < dim; j++) {
        float c = round_clamp(v[n8 + j] * inv, 127);
        code[n8 + j] = (int8_t)c;
        float r = v[n8 + j] - c * st;
        r8[j] += r * r;
    }
    for (uint32_t j = 0; j < 8; j++)
        r2 += r8[j];
    memset(code + dim, 0, x->cdim - dim);
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
    uint32_t nblk = (x->nlist + 7) / 8 + 3; /* rank_body reads 4 blocks at a time */
    x->ccode = malloc((size_t)x->nlist * x->cdim);
    x->cblk = aligned_alloc(32, (size_t)nblk * 8 * x->cdim);
    x->cqs = calloc((size_t)nblk * 8, sizeof *x->cqs);
    x->cqe = malloc(x->nlist * sizeof *x->cqe);
    x->lists = calloc(x->nlist, sizeof *x->lists);
    x->log.head = calloc(x->nlist, sizeof *x->log.head);
    x->log.next = x->log.applied = 1;
    if (!(x->cent && x->csum && x->ccode && x->cblk && x->cqs && x->cqe && x->lists
          && x->log.head) || ivf_scratch_init(x, &x->w))
        return SIM_ENOMEM;
    memset(x->cblk, 128, (size_t)nblk * 8 * x->cdim); /* code 0 */
    return 0;
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
    free(x->cblk);
    ivf_scratch_free(&x->w);
    free(x->log.op);
    free(x->log.prep);
    free(x->log.head);
    free(x->log.gone);
    free(x->log.del);
}

int ivf_scratch_init(const struct excache *x, struct ivf_scratch *w)
{
    memset(w, 0, sizeof *w);
    w->u = malloc(x->dim * sizeof *w->u);
    w->ucode = malloc(x->cdim);
    w->rcode = malloc(x->cdim);
    w->probe = malloc(x->nlist * sizeof *w->probe);
    w->probe_sim = malloc(x->nlist * sizeof *w->probe_sim);
    return w->u && w->ucode && w->rcode && w->probe && w->probe_sim ? 0 : SIM_ENOMEM;
}

void ivf_scratch_free(struct ivf_scratch *w)
{
    free(w->u);
    free(w->ucode);
    free(w->rcode);
    free(w->probe);
    free(w->probe_sim);
}

/* Per-id arrays to cap entries. */
int ivf_grow(struct excache *x, uint32_t cap)
{
    uint32_t *c = realloc(x->cluster, cap * sizeof *c);
    if (!c)
        return SIM_ENOMEM;
    x->cluster = c;
    for (uint32_t i = x->cap; i < cap; i++)
        c[i] = UINT32_MAX; /* in no list */
    uint32_t *sl = realloc(x->slot, cap * sizeof *sl);
    if (!sl)
        return SIM_ENOMEM;
    x->slot = sl;
    uint64_t *g = realloc(x->log.gone, cap * sizeof *g);
    if (!g)
        return SIM_ENOMEM;
    x->log.gone = g;
    /* ids are handed out in order: the new ones were never deleted */
    memset(g + x->cap, 0, (cap - x->cap) * sizeof *g);
    uint32_t *dl = realloc(x->log.del, cap * sizeof *dl);
    if (!dl)
        return SIM_ENOMEM;
    x->log.del = dl;
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
    void *p[5] = {l->ids, l->vec, l->code, l->qs, l->qe};
    const size_t row[5] = {sizeof *l->ids, x->dim * sizeof *l->vec, x->cdim, sizeof *l->qs,
                           sizeof *l->qe};
    int rc = 0;
    for (int i = 0; i < 5 && !rc; i++)
        rc = move_rows(a, &p[i], row[i], l->n, l->cap, n);
    l->ids = p[0];
    l->vec = p[1];
    l->code = p[2];
    l->qs = p[3];
    l->qe = p[4];
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

/* Normalises q into w->u and codes it into w->ucode, w->ustep,
 * w->uresid. */
static int prepare(const struct excache *x, struct ivf_scratch *w, const float *q)
{
    memcpy(w->u, q, x->dim * sizeof *w->u);
    if (sim_vec_normalise(w->u, x->dim))
        return SIM_EINVAL;
    quantise(x, w->u, w->ucode, &w->ustep, &w->uresid);
    return 0;
}

static void prep_save(const struct excache *x, const struct ivf_scratch *w, void *prep)
{
    float *f = prep;
    memcpy(f, w->u, x->dim * sizeof *f);
    f[x->dim] = w->ustep;
    f[x->dim + 1] = w->uresid;
    memcpy(f + x->dim + 2, w->ucode, x->cdim);
}

static void prep_load(const struct excache *x, struct ivf_scratch *w, const void *prep)
{
    const float *f = prep;
    memcpy(w->u, f, x->dim * sizeof *f);
    w->ustep = f[x->dim];
    w->uresid = f[x->dim + 1];
    memcpy(w->ucode, f + x->dim + 2, x->cdim);
}

/*=====   deferred changes   =====*/

/* DEFERRED CHANGES
 * The serving simulation searches for a batch of requests in other
 * threads while it runs the previous batch's events (serve.c), so the
 * lists must not change under those searches: with the log on, an add or
 * a delete is recorded, and ivf_apply makes them, between batches.  A
 * search is still exact for the moment it is asked: it scans the lists,
 * skips the rows deleted since they were brought up to date, and adds the
 * rows added since (add_pending), whose lists the log chains.  A search
 * made ahead (ivf_search_ahead) keeps IVF_AHEAD_SLACK candidates more, as
 * rows may be deleted before its request arrives; ivf_search_finish drops
 * those, and scans its lists again in the rare cases that fewer than k
 * remain or that Lloyd moved rows between lists since.  The centroids
 * change only in ivf_apply (refresh, Lloyd), so a request's lists are
 * those of the centroids as of its search. */

/* Room in the ring for one more add: 0 or SIM_ENOMEM. */
static int log_room(struct excache *x)
{
    struct ivf_log *g = &x->log;
    if (g->nadd - g->keep < g->cap)
        return 0;
    uint64_t cap = g->cap ? 2 * g->cap : 1024;
    size_t ps = ivf_prep_size(x);
    struct ivf_op *op = malloc(cap * sizeof *op);
    unsigned char *prep = malloc(cap * ps);
    if (!op || !prep) {
        free(op);
        free(prep);
        return SIM_ENOMEM;
    }
    for (uint64_t a = g->keep; a < g->nadd; a++) {
        op[a & (cap - 1)] = g->op[a & (g->cap - 1)];
        memcpy(prep + (a & (cap - 1)) * ps, g->prep + (a & (g->cap - 1)) * ps, ps);
    }
    free(g->op);
    free(g->prep);
    g->op = op;
    g->prep = prep;
    g->cap = cap;
    return 0;
}

static const struct ivf_op *log_op(const struct ivf_log *g, uint64_t a)
{
    return &g->op[a & (g->cap - 1)];
}

static const float *log_vec(const struct excache *x, uint64_t a)
{
    const void *p = x->log.prep + (a & (x->log.cap - 1)) * ivf_prep_size(x);
    return p;
}

/* Records the add of entry id (prepared in x->w) to list c: 0 or
 * SIM_ENOMEM. */
static int log_add(struct excache *x, uint32_t id, uint32_t c)
{
    struct ivf_log *g = &x->log;
    if (log_room(x))
        return SIM_ENOMEM;
    uint64_t a = g->nadd++;
    g->op[a & (g->cap - 1)] = (struct ivf_op){g->next++, g->head[c], id, c};
    g->head[c] = a + 1;
    prep_save(x, &x->w, g->prep + (a & (g->cap - 1)) * ivf_prep_size(x));
    return 0;
}

/* Records the delete of entry id (needs no memory). */
static void log_del(struct excache *x, uint32_t id)
{
    struct ivf_log *g = &x->log;
    if (g->gone[id] < g->applied) /* its first delete since */
        g->del[g->ndel++] = id;
    g->gone[id] = g->next++;
}

/* Adds to the top k (ids, sims, n so far) the rows added since change
 * snap to lists probe[0, np) and still live, for the unit query u;
 * returns how many. */
static int add_pending(const struct excache *x, const float *u, const uint64_t *probe,
                       size_t np, uint64_t snap, size_t k, float minsim, uint64_t *ids,
                       float *sims, size_t n)
{
    const struct ivf_log *g = &x->log;
    if (k > MAXK)
        k = MAXK;
    for (size_t p = 0; p < np; p++)
        for (uint64_t a = g->head[probe[p]]; a > g->keep;) {
            const struct ivf_op *op = log_op(g, a - 1);
            if (op->seq < snap)
                break;
            if (g->gone[op->id] < op->seq) { /* not deleted since */
                float sim = vec_dot(u, log_vec(x, a - 1), x->dim);
                if (sim >= minsim)
                    n = topk_add(ids, sims, n, k, op->id, sim);
            }
            a = op->prev;
        }
    return (int)n;
}

/*=====   search   =====*/

static struct ivf_query query_of(const struct excache *x, const struct ivf_scratch *w)
{
    return (struct ivf_query){w->ucode, w->ustep, 1 + w->uresid, slack(x->dim) + w->uresid};
}

/* The ranking code of the query (struct ivf_rankq): its 8-bit code halved,
 * rounding up, so in [-63, 64]: the centroids' unsigned codes times it
 * cannot saturate the kernel's pair sums (2 * 255 * 64 < 32767), and the
 * kernel needs no sign trick.  The ranking only chooses the lists to scan,
 * so it may be coarser than the lists' pre-filter. */
static struct ivf_rankq rank_query(const struct excache *x, struct ivf_scratch *w)
{
    int32_t sum = x->halve(w->ucode, x->cdim, w->rcode);
    return (struct ivf_rankq){w->rcode, 128 * sum, 2 * w->ustep};
}

/* The want nearest of centroids [c0, ncent) to w->u by rank similarity
 * (ties to the lower number) into probe / probe_sim, best first; returns
 * how many. */
static size_t rank_centroids(const struct excache *x, struct ivf_scratch *w, uint32_t c0,
                             size_t want, uint64_t *probe, float *probe_sim)
{
    if (x->ncent == c0 || want == 0)
        return 0;
    struct ivf_rankq q = rank_query(x, w);
    w->codes += x->ncent - c0;
    return x->rank(&q, x->cblk, x->cqs, c0, x->ncent, x->cdim, want, probe, probe_sim);
}

size_t ivf_probes(const struct excache *x)
{
    return x->nprobe < 1 ? 1 : x->nprobe < x->nlist ? x->nprobe : x->nlist;
}

/* The lists to scan for the query in w, best first, into w->probe;
 * returns how many. */
static size_t probe_lists(const struct excache *x, struct ivf_scratch *w)
{
    return rank_centroids(x, w, 0, ivf_probes(x), w->probe, w->probe_sim);
}

/* How a scan treats rows: it skips those deleted since change snap (gone:
 * by id, the number of its latest delete; NULL: none), and asks for the
 * entries of those it finds, for the router, unless it runs ahead in
 * another thread (the entries' array may move meanwhile). */
struct skip {
    const uint64_t *gone;
    uint64_t snap;
    int ahead;
};

/* Scores list l against the query into the top k (ids, sims, *n so far):
 * the exact similarity of the rows that can still enter it.  The int8
 * filter's bound covers both codes' residuals; for a row that passes, its
 * code, just read, also gives step * (u . code) with the float query, off
 * by at most u . r <= |r| = qe (plus float rounding, inside slack()):
 * half the filter's width, which spares reading the float vectors of many
 * of a popular intent's paraphrases, whose similarities crowd near the
 * k-th best (float re-scores per request in bench_serve: 24.3 -> 18.1;
 * with the bar from lower bounds below, 17.9 -> 15.8 in the index alone). */
static void scan_list(const struct excache *x, struct ivf_scratch *w, const struct ivf_list *l,
                      size_t k, float minsim, const struct ivf_query *q, struct skip sk,
                      uint64_t *ids, float *sims, size_t *n)
{
    uint32_t pass[CHUNK];
    float val[CHUNK];
    float tau = *n == k && sims[k - 1] > minsim ? sims[k - 1] : minsim;
    const float sl = slack(x->dim);
    for (uint32_t at = 0; at < l->n; at += CHUNK) {
        uint32_t m = l->n - at < CHUNK ? l->n - at : CHUNK;
        w->codes += m;
        uint32_t np = x->filter(q, l->code + (size_t)at * x->cdim, l->qs + at, l->qe + at, m,
                                x->cdim, tau, pass, val);
        /* The chunk's rows are scored after all of it is screened (their
         * float vectors fetched together), so the k-th best found does not
         * rise within it: of a list's first chunk, all of a popular
         * request's paraphrases would be scored.  So the bar is the k-th
         * largest of the similarities found and of the lower bounds of the
         * rows let through so far (bv, bm of them; bid only orders ties),
         * which will be scored: the k-th best will clear it. */
        uint64_t bid[MAXK];
        float bv[MAXK];
        size_t bm = *n;
        memcpy(bid, ids, *n * sizeof *ids);
        memcpy(bv, sims, *n * sizeof *sims);
        uint32_t nk = 0;
        for (uint32_t i = 0; i < np; i++) {
            uint32_t slot = at + pass[i];
            float a = l->qs[slot] * x->code_dot(w->u, l->code + (size_t)slot * x->cdim, x->dim);
            float t = bm == k && bv[k - 1] > tau ? bv[k - 1] : tau;
            if (a + l->qe[slot] + sl < t || (sk.gone && sk.gone[l->ids[slot]] >= sk.snap))
                continue;
            pass[nk++] = slot;
            bm = topk_add(bid, bv, bm, k, slot, a - l->qe[slot] - sl);
            for (uint32_t b = 0; b < x->dim; b += 16)
                __builtin_prefetch(l->vec + (size_t)slot * x->dim + b);
        }
        for (uint32_t i = 0; i < nk; i++) {
            uint32_t slot = pass[i];
            w->scored++;
            float sim = vec_dot(w->u, l->vec + (size_t)slot * x->dim, x->dim);
            if (sim < minsim)
                continue;
            if (!sk.ahead) /* the router reads the entries found */
                __builtin_prefetch(&x->e[l->ids[slot]]);
            *n = topk_add(ids, sims, *n, k, l->ids[slot], sim);
            if (*n == k && sims[k - 1] > tau)
                tau = sims[k - 1];
        }
    }
}

/* The top k (at most MAXK) of lists probe[0, np) for the query in w, as
 * the lists are (less the rows sk skips); returns how many. */
static int scan_lists(const struct excache *x, struct ivf_scratch *w, const uint64_t *probe,
                      size_t np, size_t k, float minsim, struct skip sk, uint64_t *ids,
                      float *sims)
{
    size_t n = 0;
    if (k > MAXK)
        k = MAXK;
    /* The starts of the lists' arrays, all at once: each is a stream the
     * hardware prefetcher takes over only after a miss or two, and the
     * lists are mostly in DRAM. */
    for (size_t p = 0; p < np; p++) {
        const struct ivf_list *l = &x->lists[probe[p]];
        for (uint32_t b = 0; b < 4 * 64 && b < l->n * x->cdim; b += 64)
            __builtin_prefetch(l->code + b);
        __builtin_prefetch(l->qs);
        __builtin_prefetch(l->qe);
    }
    struct ivf_query iq = query_of(x, w);
    for (size_t p = 0; p < np; p++)
        scan_list(x, w, &x->lists[probe[p]], k, minsim, &iq, sk, ids, sims, &n);
    return (int)n;
}

int ivf_search(struct excache *x, const float *q, size_t k, float minsim, struct exhint *hint,
               uint64_t *ids, float *sims, char *err, size_t errlen)
{
    struct ivf_scratch *w = &x->w;
    if (prepare(x, w, q)) {
        snprintf(err, errlen, "query embedding: NaN, infinite or zero");
        return SIM_EINVAL;
    }
    size_t np = probe_lists(x, w);
    if (hint && np) {
        hint->ncent = x->ncent;
        hint->best = (uint32_t)w->probe[0];
        hint->sim = w->probe_sim[0];
    }
    if (hint && hint->prep) {
        prep_save(x, w, hint->prep);
        hint->have_prep = 1;
    }
    if (!x->log.on)
        return scan_lists(x, w, w->probe, np, k, minsim, (struct skip){NULL, 0, 0}, ids, sims);
    /* Deferred changes: the lists less the rows deleted since they were
     * brought up to date, then the rows added since. */
    struct skip sk = {x->log.gone, x->log.applied, 0};
    int n = scan_lists(x, w, w->probe, np, k, minsim, sk, ids, sims);
    return add_pending(x, w->u, w->probe, np, sk.snap, k, minsim, ids, sims, (size_t)n);
}

void ivf_search_ahead(const struct excache *x, struct ivf_scratch *w, const float *q,
                      size_t k, float minsim, struct ivf_ahead *a)
{
    a->snap = x->log.applied;
    a->ncent = 0;
    a->nprobe = 0;
    if (prepare(x, w, q)) {
        a->n = SIM_EINVAL;
        return;
    }
    size_t np = probe_lists(x, w);
    memcpy(a->probe, w->probe, np * sizeof *a->probe);
    a->nprobe = (uint32_t)np;
    if (np) {
        a->ncent = x->ncent;
        a->best = (uint32_t)w->probe[0];
        a->bsim = w->probe_sim[0];
    }
    prep_save(x, w, a->prep);
    a->k = (uint32_t)(k + IVF_AHEAD_SLACK < IVF_AHEAD_MAX ? k + IVF_AHEAD_SLACK
                                                          : IVF_AHEAD_MAX);
    a->n = scan_lists(x, w, a->probe, np, a->k, minsim, (struct skip){NULL, 0, 1}, a->ids,
                      a->sims);
}

int ivf_search_finish(struct excache *x, const struct ivf_ahead *a, size_t k, float minsim,
                      uint64_t *ids, float *sims)
{
    if (a->n < 0)
        return a->n;
    if (k > MAXK)
        k = MAXK;
    const float *u = a->prep;
    size_t n = 0, live = 0;
    for (int i = 0; i < a->n; i++)
        if (x->log.gone[a->ids[i]] < a->snap) {
            live++;
            n = topk_add(ids, sims, n, k, (uint32_t)a->ids[i], a->sims[i]);
        }
    uint64_t snap = a->snap;
    if (((uint32_t)a->n == a->k && live < k) || snap < x->log.moved) {
        /* Of a full top, more were deleted than it kept spare, or rows
         * moved between lists since: the lists as they are now, less
         * their rows deleted since. */
        struct ivf_scratch *w = &x->w;
        prep_load(x, w, a->prep);
        snap = x->log.applied;
        n = (size_t)scan_lists(x, w, a->probe, a->nprobe, k, minsim,
                               (struct skip){x->log.gone, snap, 0}, ids, sims);
    }
    return add_pending(x, u, a->probe, a->nprobe, snap, k, minsim, ids, sims, n);
}

/*=====   insert, delete   =====*/

/* Adds sign * v to a list's sum, in fixed point (2^-20): integer sums are
 * exact, so a delete undoes its insert and the sum does not drift. */
static void sum_add(int64_t *sum, const float *v, uint32_t dim, int sign)
{
    for (uint32_t d = 0; d < dim; d++)
        sum[d] += sign * (int32_t)(v[d] * 1048576.0f);
}

/* Copies centroid c's code into the ranking kernels' blocks: block c / 8
 * holds 8 centroids, cdim / 4 groups of 32 bytes, group g bytes 4g to 4g
 * + 3 of each centroid's code, plus 128 (so unsigned), one centroid after
 * another.  A group of 8 centroids is then one multiply-add by the query's
 * 4 bytes repeated 8 times (rank_body). */
static void cent_store(struct excache *x, uint32_t c)
{
    const int8_t *code = x->ccode + (size_t)c * x->cdim;
    uint8_t *b = x->cblk + block_at(c, x->cdim);
    for (uint32_t g = 0; g < x->cdim / 4; g++)
        for (uint32_t j = 0; j < 4; j++)
            b[32 * g + j] = (uint8_t)(code[4 * g + j] + 128);
}

void ivf_store_centroids(struct excache *x)
{
    for (uint32_t c = 0; c < x->ncent; c++)
        cent_store(x, c);
}

/* Moves every centroid to the mean direction of its list (a list left
 * empty keeps its centroid). */
static void refresh(struct excache *x)
{
    float *v = x->w.u; /* scratch: x->w.u is not needed after an insert */
    for (uint32_t c = 0; c < x->ncent; c++) {
        const int64_t *s = x->csum + (size_t)c * x->dim;
        for (uint32_t d = 0; d < x->dim; d++)
            v[d] = (float)s[d];
        if (x->lists[c].n == 0 || sim_vec_normalise(v, x->dim))
            continue;
        memcpy(x->cent + (size_t)c * x->dim, v, x->dim * sizeof *v);
        quantise(x, v, x->ccode + (size_t)c * x->cdim, &x->cqs[c], &x->cqe[c]);
        cent_store(x, c);
    }
    x->since = 0;
}

/* The nearest centroid to x->w.u by rank similarity (ties to the lower
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
    if (rank_centroids(x, &x->w, c0, 1, &c, &s) && (s > *bsim || (s == *bsim && c < best))) {
        best = c;
        *bsim = s;
    }
    return (uint32_t)best;
}

/* Appends x->w.u (and its code) to list c as entry id. */
static int list_append(struct excache *x, uint32_t c, uint32_t id)
{
    struct ivf_list *l = &x->lists[c];
    if (l->n == l->cap && list_grow(x, l))
        return SIM_ENOMEM;
    memcpy(l->vec + (size_t)l->n * x->dim, x->w.u, x->dim * sizeof *l->vec);
    memcpy(l->code + (size_t)l->n * x->cdim, x->w.ucode, x->cdim);
    l->qs[l->n] = x->w.ustep;
    l->qe[l->n] = x->w.uresid;
    x->cluster[id] = c;
    x->slot[id] = l->n;
    l->ids[l->n++] = id;
    x->nrows++;
    sum_add(x->csum + (size_t)c * x->dim, x->w.u, x->dim, 1);
    return 0;
}

/* Removes entry id's row from its list: the list's last row takes its
 * place. */
static void del_now(struct excache *x, uint32_t id)
{
    uint32_t c = x->cluster[id], at = x->slot[id];
    if (c == UINT32_MAX)
        return; /* in no list: deferred, deleted before it was applied */
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
    x->cluster[id] = UINT32_MAX;
}

/* Moves entry id, whose vector and code are in x->w.u, to list c (if list
 * c has room, or can grow: else it stays). */
static void move_entry(struct excache *x, uint32_t id, uint32_t c)
{
    struct ivf_list *l = &x->lists[c];
    if (l->n == l->cap && list_grow(x, l))
        return;
    del_now(x, id);
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
            memcpy(x->w.u, l->vec + (size_t)at * x->dim, x->dim * sizeof *x->w.u);
            memcpy(x->w.ucode, l->code + (size_t)at * x->cdim, x->cdim);
            x->w.ustep = l->qs[at];
            x->w.uresid = l->qe[at];
            float bs;
            uint32_t c = best_centroid(x, NULL, &bs);
            if (c != x->cluster[id])
                move_entry(x, id, c);
        }
    }
    refresh(x);
    free(ids);
}

/* Keeps the centroids up: every REFRESH * nlist insertions they move to
 * their lists' means, and each time the entries double, Lloyd's
 * iterations run over all of them. */
static void maintain(struct excache *x)
{
    if (x->since >= REFRESH * x->nlist)
        refresh(x);
    if (x->nrows >= x->lloyd_at) {
        if (x->ncent == x->nlist) {
            lloyd(x);
            x->log.moved = x->log.next;
        }
        x->lloyd_at *= 2;
    }
}

int ivf_add(struct excache *x, uint32_t id, const float *emb, const struct exhint *hint,
            char *err, size_t errlen)
{
    if (hint && hint->have_prep)
        prep_load(x, &x->w, hint->prep);
    else if (prepare(x, &x->w, emb)) {
        snprintf(err, errlen, "example embedding: NaN, infinite or zero");
        return SIM_EINVAL;
    }
    float bsim;
    uint32_t best = best_centroid(x, hint, &bsim);
    if (x->log.on) {
        /* every centroid is founded (ivf_defer): no leader */
        if (log_add(x, id, best)) {
            snprintf(err, errlen, "example cache: out of memory");
            return SIM_ENOMEM;
        }
        return 0;
    }
    if (x->ncent < x->nlist && (x->ncent == 0 || bsim < LEADER_SIM)) {
        best = x->ncent++;
        memcpy(x->cent + (size_t)best * x->dim, x->w.u, x->dim * sizeof *x->w.u);
        memcpy(x->ccode + (size_t)best * x->cdim, x->w.ucode, x->cdim);
        cent_store(x, best);
        x->cqs[best] = x->w.ustep;
        x->cqe[best] = x->w.uresid;
    }
    if (list_append(x, best, id)) {
        snprintf(err, errlen, "example cache: out of memory");
        return SIM_ENOMEM;
    }
    x->since++;
    maintain(x);
    return 0;
}

void ivf_prefetch_del(const struct excache *x, uint32_t id)
{
    if (x->log.on)
        return; /* the delete waits for ivf_apply */
    uint32_t at = x->slot[id];
    const struct ivf_list *l = &x->lists[x->cluster[id]];
    uint32_t last = l->n - 1;
    for (uint32_t b = 0; b < x->dim; b += 16) {
        __builtin_prefetch(l->vec + (size_t)at * x->dim + b);
        __builtin_prefetch(l->vec + (size_t)last * x->dim + b);
    }
    __builtin_prefetch(l->code + (size_t)last * x->cdim);
    __builtin_prefetch(l->code + (size_t)at * x->cdim, 1);
    __builtin_prefetch(&l->ids[last]);
    __builtin_prefetch(&l->qs[last]);
    __builtin_prefetch(&l->qe[last]);
    __builtin_prefetch(&x->slot[l->ids[last]], 1);
}

void ivf_del(struct excache *x, uint32_t id)
{
    if (x->log.on)
        log_del(x, id);
    else
        del_now(x, id);
}

int ivf_defer(struct excache *x)
{
    if (!x->log.on && x->ncent == x->nlist)
        x->log.on = 1;
    return x->log.on;
}

/* Asks for what deleting entry id will read (del_now), in two steps
 * (far: its list's number; near: the rows, which that number locates). */
static void prefetch_del_far(const struct excache *x, uint32_t id)
{
    __builtin_prefetch(&x->cluster[id]);
    __builtin_prefetch(&x->slot[id]);
}

static void prefetch_del_near(const struct excache *x, uint32_t id)
{
    uint32_t c = x->cluster[id];
    if (c == UINT32_MAX)
        return;
    const struct ivf_list *l = &x->lists[c];
    if (l->n == 0)
        return;
    uint32_t at = x->slot[id], last = l->n - 1;
    for (uint32_t b = 0; b < x->dim; b += 16) {
        __builtin_prefetch(l->vec + (size_t)at * x->dim + b, 1);
        __builtin_prefetch(l->vec + (size_t)last * x->dim + b);
        __builtin_prefetch(x->csum + (size_t)c * x->dim + b / 2, 1);
        __builtin_prefetch(x->csum + (size_t)c * x->dim + b / 2 + 8, 1);
    }
    __builtin_prefetch(l->code + (size_t)at * x->cdim, 1);
    __builtin_prefetch(l->code + (size_t)last * x->cdim);
    __builtin_prefetch(&l->ids[last]);
    __builtin_prefetch(&l->qs[last]);
    __builtin_prefetch(&l->qe[last]);
}

/* The same for appending to list c. */
static void prefetch_add(const struct excache *x, const struct ivf_op *op)
{
    const struct ivf_list *l = &x->lists[op->cluster];
    __builtin_prefetch(&x->cluster[op->id], 1);
    __builtin_prefetch(&x->slot[op->id], 1);
    if (l->n >= l->cap)
        return;
    for (uint32_t b = 0; b < x->dim; b += 16) {
        __builtin_prefetch(l->vec + (size_t)l->n * x->dim + b, 1);
        __builtin_prefetch(x->csum + (size_t)op->cluster * x->dim + b / 2, 1);
        __builtin_prefetch(x->csum + (size_t)op->cluster * x->dim + b / 2 + 8, 1);
    }
    __builtin_prefetch(l->code + (size_t)l->n * x->cdim, 1);
    __builtin_prefetch(&l->ids[l->n], 1);
    __builtin_prefetch(&l->qs[l->n], 1);
    __builtin_prefetch(&l->qe[l->n], 1);
}

void ivf_apply(struct excache *x)
{
    struct ivf_log *g = &x->log;
    if (!g->on)
        return;
    /* The deleted entries' rows that were in the lists, then the adds
     * still live, in order (the outcome does not depend on the order of
     * rows within a list). */
    enum { FAR = 16, NEAR = 6 }; /* rows are in DRAM: many asked at once */
    for (uint32_t i = 0; i < g->ndel; i++) {
        if (i + FAR < g->ndel)
            prefetch_del_far(x, g->del[i + FAR]);
        if (i + NEAR < g->ndel)
            prefetch_del_near(x, g->del[i + NEAR]);
        del_now(x, g->del[i]);
    }
    for (uint64_t a = g->add0; a < g->nadd; a++) {
        const struct ivf_op *op = log_op(g, a);
        if (a + NEAR < g->nadd)
            prefetch_add(x, log_op(g, a + NEAR));
        if (g->gone[op->id] > op->seq)
            continue;
        prep_load(x, &x->w, log_vec(x, a));
        if (list_append(x, op->cluster, op->id))
            x->cluster[op->id] = UINT32_MAX; /* out of memory: not found */
        x->since++;
    }
    g->ndel = 0;
    g->applied = g->next;
    /* Searches made ahead since the last apply look back to then. */
    g->keep = g->add0;
    g->add0 = g->nadd;
    maintain(x);
}
