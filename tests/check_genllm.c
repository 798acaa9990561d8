/*
 * check_genllm.c - the LLM workload generators (sim_genllm.h): category
 * shares, paraphrase and class structure, embedding geometry, conversations
 * and token laws of the query workload; prefix sharing of serve and the
 * parts of rag, read back through the project's Mooncake reader; skew and
 * locality of moe; determinism; bad parameters.  Expected values are
 * derived in the comments from the models' definitions (tracegen-llm(7)),
 * never taken from a run.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"
#include "sim_genllm.h"

/*=====   helpers   =====*/

static sim_genllm *make(uint64_t seed, uint64_t n, const char *workload,
                        const char *const *cats, size_t ncats, uint32_t dim)
{
    char err[SIM_ERRLEN];
    struct sim_genllm_config cfg = {seed, n, workload, cats, ncats, dim, NULL};
    sim_genllm *g = sim_genllm_create(&cfg, err, sizeof err);
    ck_assert_msg(g != NULL, "%s", err);
    return g;
}

/* The message of a config that must fail, "" if it did not. */
static const char *create_error(const char *workload, const char *const *cats, size_t ncats,
                                uint32_t dim)
{
    static char err[SIM_ERRLEN];
    struct sim_genllm_config cfg = {1, 100, workload, cats, ncats, dim, NULL};
    err[0] = 0;
    sim_genllm *g = sim_genllm_create(&cfg, err, sizeof err);
    if (g) {
        sim_genllm_free(g);
        return "";
    }
    return err;
}

static int next(sim_genllm *g, struct sim_req *q)
{
    char err[SIM_ERRLEN];
    int rc = sim_genllm_next(g, q, err, sizeof err);
    ck_assert_msg(rc >= 0, "%s", err);
    return rc;
}

static double dot(const float *a, const float *b, uint32_t d)
{
    double s = 0;
    for (uint32_t i = 0; i < d; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* A temporary file name (the file itself removed). */
static void tmpname(char *buf, size_t n, const char *suffix)
{
    snprintf(buf, n, "/tmp/check_genllm.%ld.XXXXXX", (long)getpid());
    int fd = mkstemp(buf);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(buf);
    strncat(buf, suffix, n - strlen(buf) - 1);
}

/*=====   query   =====*/

/* Shares 0.5/0.3/0.2 on 100000 requests: each count is binomial, sd at most
 * sqrt(0.25 / 100000) = 0.0016 of the total, so +-0.01 is over 6 sd. */
START_TEST(query_shares)
{
    const char *cats[] = {"a:share=0.5", "b:share=0.3", "c:share=0.2"};
    const double want[] = {0.5, 0.3, 0.2};
    sim_genllm *g = make(5, 100000, "query", cats, 3, 2);
    unsigned n;
    const char *const *names = sim_genllm_categories(g, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(names[1], "b");
    uint64_t count[3] = {0};
    struct sim_req q;
    while (next(g, &q) == 1) {
        ck_assert_uint_lt(q.category, 3);
        ck_assert_str_eq(q.category_name, names[q.category]);
        count[q.category]++;
    }
    for (int i = 0; i < 3; i++)
        ck_assert_msg(fabs((double)count[i] / 100000 - want[i]) < 0.01, "category %d: %llu", i,
                      (unsigned long long)count[i]);
    sim_genllm_free(g);
}
END_TEST

/* Without shares, the categories split the traffic equally. */
START_TEST(query_equal_shares)
{
    const char *cats[] = {"x", "y"};
    sim_genllm *g = make(2, 20000, "query", cats, 2, 2);
    uint64_t count[2] = {0};
    struct sim_req q;
    while (next(g, &q) == 1)
        count[q.category]++;
    ck_assert(fabs((double)count[0] / 20000 - 0.5) < 0.015); /* sd 0.0035 */
    sim_genllm_free(g);
}
END_TEST

/* Two generators with one seed give identical requests, embeddings
 * included; another seed differs. */
START_TEST(query_same_seed_same_requests)
{
    sim_genllm *a = make(9, 3000, "query", NULL, 0, 16), *b = make(9, 3000, "query", NULL, 0, 16);
    sim_genllm *c = make(10, 3000, "query", NULL, 0, 16);
    struct sim_req x, y, z;
    int differ = 0;
    while (next(a, &x) == 1) {
        ck_assert_int_eq(next(b, &y), 1);
        ck_assert_int_eq(next(c, &z), 1);
        ck_assert(x.time == y.time && x.key == y.key && x.cls == y.cls && x.user == y.user);
        ck_assert(x.context == y.context && x.turn == y.turn && x.category == y.category);
        ck_assert(x.tokens_in == y.tokens_in && x.tokens_out == y.tokens_out);
        ck_assert(memcmp(x.emb, y.emb, 16 * sizeof *x.emb) == 0);
        differ |= x.key != z.key;
    }
    ck_assert_int_eq(next(b, &y), 0);
    ck_assert(differ);
    sim_genllm_free(a);
    sim_genllm_free(b);
    sim_genllm_free(c);
}
END_TEST

/* Paraphrase rate: a request of a category with intents asks an earlier
 * one with probability `paraphrase` (0.6 here); the first request is always
 * new.  Over 50000 requests the repeat share is 0.6 +- 3 sd (sd 0.0022).
 * Classes are numbered from 1 in order of first appearance. */
START_TEST(query_paraphrase_rate)
{
    const char *cats[] = {"only:paraphrase=0.6,alpha=1.1"};
    sim_genllm *g = make(3, 50000, "query", cats, 1, 2);
    uint64_t max_cls = 0, repeats = 0;
    struct sim_req q;
    while (next(g, &q) == 1) {
        if (q.cls <= max_cls)
            repeats++;
        else
            ck_assert_uint_eq(q.cls, max_cls + 1);
        max_cls = q.cls > max_cls ? q.cls : max_cls;
    }
    ck_assert_msg(fabs((double)repeats / 49999 - 0.6) < 0.007, "repeats %llu",
                  (unsigned long long)repeats);
    sim_genllm_free(g);
}
END_TEST

/* exact=1: every repeat is an earlier wording: its key was seen before
 * with the same class and the same embedding; exact=0: every key is new. */
START_TEST(query_exact_repeats)
{
    for (int exact = 0; exact <= 1; exact++) {
        const char *cats[] = {exact ? "e:paraphrase=0.5,exact=1" : "e:paraphrase=0.5,exact=0"};
        sim_genllm *g = make(4, 2000, "query", cats, 1, 4);
        uint64_t keys[2000], cls[2000];
        float embs[2000][4];
        size_t n = 0, seen = 0;
        struct sim_req q;
        while (next(g, &q) == 1) {
            size_t j = 0;
            while (j < n && keys[j] != q.key)
                j++;
            if (j < n) {
                seen++;
                ck_assert_uint_eq(cls[j], q.cls);
                ck_assert(memcmp(embs[j], q.emb, sizeof embs[j]) == 0);
            }
            keys[n] = q.key;
            cls[n] = q.cls;
            memcpy(embs[n++], q.emb, sizeof embs[0]);
        }
        if (exact)
            ck_assert_uint_gt(seen, 800); /* ~1000 repeats, all exact */
        else
            ck_assert_uint_eq(seen, 0);
        sim_genllm_free(g);
    }
}
END_TEST

/* Mean cosines of pairs of requests of one category: same class vs
 * different classes.  Geometry (tracegen-llm(7)): random unit vectors in
 * d = 128 dimensions have cosine 0 +- 1/sqrt(128) = 0.09, so two wordings
 * of one intent have mean cosine ~within, and two wordings of different
 * intents ~density * within: dense (0.85, 0.9) -> 0.765, sparse (0, 0.9)
 * -> 0.  Tolerances 0.05 cover the finite-dimension effects (the
 * normalisations shift means by O(1/d)). */
START_TEST(query_class_geometry)
{
    const char *cats[] = {"dense:share=0.5,density=0.85,within=0.9,paraphrase=0.7",
                          "sparse:share=0.5,density=0,within=0.9,paraphrase=0.7"};
    enum { N = 1500, D = 128 };
    sim_genllm *g = make(6, N, "query", cats, 2, D);
    static float e[N][D];
    uint64_t cls[N];
    unsigned cat[N];
    struct sim_req q;
    size_t n = 0;
    while (next(g, &q) == 1) {
        ck_assert_uint_eq(q.dim, D);
        ck_assert(fabs(dot(q.emb, q.emb, D) - 1) < 1e-5); /* normalised */
        memcpy(e[n], q.emb, sizeof e[n]);
        cls[n] = q.cls;
        cat[n++] = q.category;
    }
    double sum[2][2] = {{0}}, cnt[2][2] = {{0}};
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (cat[i] == cat[j]) {
                int same = cls[i] == cls[j];
                sum[cat[i]][same] += dot(e[i], e[j], D);
                cnt[cat[i]][same]++;
            }
    double dense_in = sum[0][1] / cnt[0][1], dense_out = sum[0][0] / cnt[0][0];
    double sparse_in = sum[1][1] / cnt[1][1], sparse_out = sum[1][0] / cnt[1][0];
    ck_assert_msg(fabs(dense_in - 0.9) < 0.05 && fabs(sparse_in - 0.9) < 0.05,
                  "within: %g %g", dense_in, sparse_in);
    ck_assert_msg(fabs(dense_out - 0.765) < 0.05, "dense between %g", dense_out);
    ck_assert_msg(fabs(sparse_out) < 0.05, "sparse between %g", sparse_out);
    ck_assert(dense_in > dense_out && sparse_in > sparse_out);
    sim_genllm_free(g);
}
END_TEST

/* Conversations: a follow-up (turn > 0) continues a conversation seen
 * before, at the next turn, for the same user; its class is the same
 * whenever (previous class, follow-up intent) is -- checked indirectly:
 * the share of follow-ups is `followup` (0.4) once conversations exist.
 * Turn-0 requests open new conversations (fresh, increasing ids). */
START_TEST(query_conversations)
{
    const char *cats[] = {"chat:followup=0.4"};
    enum { N = 20000 };
    sim_genllm *g = make(8, N, "query", cats, 1, 2);
    static uint32_t last_turn[N];
    static uint64_t user[N];
    uint64_t convs = 0, follow = 0;
    struct sim_req q;
    while (next(g, &q) == 1) {
        if (q.turn == 0) {
            ck_assert_uint_eq(q.context, convs);
            convs++;
        } else {
            follow++;
            ck_assert_uint_lt(q.context, convs);
            ck_assert_uint_eq(q.turn, last_turn[q.context] + 1);
            ck_assert_uint_eq(q.user, user[q.context]);
        }
        last_turn[q.context] = q.turn;
        user[q.context] = q.user;
        ck_assert(q.user >= 1 && q.user <= 1000);
    }
    ck_assert_msg(fabs((double)follow / N - 0.4) < 0.015, "follow-ups %llu", /* sd 0.0035 */
                  (unsigned long long)follow);
    sim_genllm_free(g);
}
END_TEST

/* Tokens: lognormal with the given mean: in=400, out=250, log-sd 0.5.  The
 * sample mean of 40000 has sd 400 * sqrt(e^0.25 - 1) / 200 = 1.07 (in).
 * tokens_out is drawn per class (~8000 classes at paraphrase 0.8), and the
 * uniform repetition law spreads repeats over them (an intent's weight
 * ~ log(N / birth)): effective sample ~4000 classes, sd of the mean
 * ~ 250 * 0.53 / sqrt(4000) = 2.1, under 1%; 4% covers. */
START_TEST(query_token_means)
{
    const char *cats[] = {"c:in=400,in_sigma=0.5,out=250,out_sigma=0.5,law=uniform"};
    sim_genllm *g = make(12, 40000, "query", cats, 1, 2);
    double in = 0, out = 0;
    struct sim_req q;
    while (next(g, &q) == 1) {
        in += q.tokens_in;
        out += q.tokens_out;
        ck_assert_uint_eq(q.size, 4 * (uint64_t)q.tokens_out);
    }
    ck_assert_msg(fabs(in / 40000 / 400 - 1) < 0.03, "mean in %g", in / 40000);
    ck_assert_msg(fabs(out / 40000 / 250 - 1) < 0.04, "mean out %g", out / 40000);
    sim_genllm_free(g);
}
END_TEST

/*=====   serve, rag   =====*/

/* The Mooncake file read back by the project's reader matches the
 * requests of a second generator with the same seed. */
START_TEST(serve_mooncake_round_trip)
{
    char path[256], err[SIM_ERRLEN];
    tmpname(path, sizeof path, ".jsonl");
    sim_genllm *w = make(21, 500, "serve", NULL, 0, 0), *g = make(21, 500, "serve", NULL, 0, 0);
    ck_assert_msg(sim_genllm_write(w, path, SIM_GENLLM_OUT_MOONCAKE, NULL, err, sizeof err) == 0,
                  "%s", err);
    struct sim_reader_opts ro = {SIM_FMT_MOONCAKE, 0, NULL};
    sim_reader *r = sim_reader_open(path, &ro, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    struct sim_req a, b;
    int rc, n = 0;
    while ((rc = sim_reader_next(r, &a, err, sizeof err)) == 1) {
        ck_assert_int_eq(next(g, &b), 1);
        ck_assert_uint_eq(a.time / 1000, b.time / 1000);
        ck_assert_uint_eq(a.tokens_in, b.tokens_in);
        ck_assert_uint_eq(a.tokens_out, b.tokens_out);
        ck_assert_uint_eq(a.nblocks, b.nblocks);
        ck_assert(memcmp(a.blocks, b.blocks, a.nblocks * sizeof *a.blocks) == 0);
        ck_assert_uint_eq(a.key, b.key);
        n++;
    }
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_int_eq(n, 500);
    sim_reader_close(r);
    unlink(path);
    sim_genllm_free(w);
    sim_genllm_free(g);
}
END_TEST

/* Prefix structure: with one system prompt of 1000 tokens every request
 * starts with the same full block (1000 / 512 -> 1 full block, the second
 * is shared with the session's text); a session's turn t+1 starts with all
 * of turn t's blocks and is longer; a prompt of L tokens has ceil(L/512)
 * blocks. */
START_TEST(serve_prefix_sharing)
{
    enum { N = 3000, MAXS = N };
    sim_genllm *g = make(22, N, "serve:prompts=1,system=1000,active=8,turns=5", NULL, 0, 0);
    static uint64_t *prev[MAXS];
    static uint32_t prevn[MAXS], prevturn[MAXS];
    uint64_t first = UINT64_MAX;
    int grown = 0;
    struct sim_req q;
    while (next(g, &q) == 1) {
        ck_assert_uint_eq(q.nblocks, (q.tokens_in + 511) / 512);
        if (first == UINT64_MAX)
            first = q.blocks[0];
        ck_assert_uint_eq(q.blocks[0], first);
        ck_assert_uint_lt(q.context, MAXS);
        uint64_t c = q.context;
        if (q.turn > 0) {
            ck_assert_uint_eq(q.turn, prevturn[c] + 1);
            ck_assert_uint_gt(q.nblocks, 0);
            ck_assert_uint_ge(q.nblocks, prevn[c]);
            ck_assert(memcmp(q.blocks, prev[c], prevn[c] * sizeof *q.blocks) == 0);
            grown++;
        } else if (prev[c]) {
            ck_assert_msg(0, "session %llu restarted", (unsigned long long)c);
        } else if (c > 0 && prev[c - 1] && prevn[c - 1] > 1 && q.nblocks > 1) {
            ck_assert(q.blocks[1] != prev[c - 1][1]); /* the session's text is its own */
        }
        free(prev[c]);
        prev[c] = malloc(q.nblocks * sizeof *q.blocks);
        memcpy(prev[c], q.blocks, q.nblocks * sizeof *q.blocks);
        prevn[c] = q.nblocks;
        prevturn[c] = q.turn;
    }
    ck_assert_int_gt(grown, N / 2); /* mean 5 turns: ~80% are later turns */
    for (int i = 0; i < MAXS; i++)
        free(prev[i]);
    sim_genllm_free(g);
}
END_TEST

/* rag: system 1024 (2 blocks), k=3 chunks of 600 tokens (2 blocks each),
 * a question of ceil(in/512) blocks; the system blocks are the same in
 * every request, a chunk's blocks are the same wherever it appears (so the
 * 6 chunk blocks are 3 pairs of consecutive ids or repeats), and no id
 * repeats within a request. */
START_TEST(rag_parts)
{
    sim_genllm *g = make(23, 2000, "rag:corpus=50,k=3,chunk=600,system=1024,alpha=1", NULL, 0, 0);
    struct sim_req q;
    uint64_t sys0 = UINT64_MAX, sys1 = 0;
    while (next(g, &q) == 1) {
        uint32_t in = q.tokens_in - 1024 - 3 * 600;
        ck_assert_uint_eq(q.nblocks, 2 + 6 + (in + 511) / 512);
        if (sys0 == UINT64_MAX) {
            sys0 = q.blocks[0];
            sys1 = q.blocks[1];
        }
        ck_assert(q.blocks[0] == sys0 && q.blocks[1] == sys1);
        for (uint32_t i = 0; i < q.nblocks; i++)
            for (uint32_t j = i + 1; j < q.nblocks; j++)
                ck_assert(q.blocks[i] != q.blocks[j]);
    }
    sim_genllm_free(g);
}
END_TEST

/*=====   moe   =====*/

/* Rows: tokens x layers, in order; sequences of `len` tokens; experts
 * distinct and in range. */
START_TEST(moe_rows)
{
    sim_genllm *g = make(31, 10, "moe:layers=3,experts=8,k=3,len=4", NULL, 0, 0);
    struct sim_moe_row r;
    int n = 0;
    while (sim_genllm_next_moe(g, &r) == 1) {
        ck_assert_uint_eq(r.layer, (unsigned)n % 3);
        ck_assert_uint_eq(r.pos, (unsigned)(n / 3) % 4);
        ck_assert_uint_eq(r.seq, (unsigned)(n / 3) / 4);
        ck_assert_uint_eq(r.k, 3);
        for (int i = 0; i < 3; i++) {
            ck_assert_uint_lt(r.experts[i], 8);
            for (int j = i + 1; j < 3; j++)
                ck_assert_uint_ne(r.experts[i], r.experts[j]);
        }
        n++;
    }
    ck_assert_int_eq(n, 30);
    sim_genllm_free(g);
}
END_TEST

/* Skew: k=1, alpha=1, 16 experts, no locality: a layer's hottest expert
 * gets P(rank 1) = 1 / H_16 = 1 / 3.380729 = 0.2958 of the tokens
 * (H_16 = sum 1/r, r = 1..16).  4 layers x 20000 tokens: sd 0.0016. */
START_TEST(moe_skew)
{
    sim_genllm *g = make(32, 20000, "moe:layers=4,experts=16,k=1,alpha=1,locality=0", NULL, 0, 0);
    uint64_t count[4][16] = {{0}};
    struct sim_moe_row r;
    while (sim_genllm_next_moe(g, &r) == 1)
        count[r.layer][r.experts[0]]++;
    double h16 = 0;
    for (int i = 1; i <= 16; i++)
        h16 += 1.0 / i;
    int hot[4];
    for (int l = 0; l < 4; l++) {
        hot[l] = 0;
        for (int e = 1; e < 16; e++)
            if (count[l][e] > count[l][hot[l]])
                hot[l] = e;
        ck_assert_msg(fabs((double)count[l][hot[l]] / 20000 - 1 / h16) < 0.01, "layer %d", l);
    }
    ck_assert(hot[0] != hot[1] || hot[1] != hot[2] || hot[2] != hot[3]); /* own orders */
    sim_genllm_free(g);
}
END_TEST

/* Locality: k=1, balanced (alpha 0), 16 experts, locality 0.6: a token
 * repeats the previous token's expert with probability 0.6 + 0.4/16 =
 * 0.625 (kept, or drawn again by chance); locality 0: 1/16 = 0.0625.
 * 2 layers x 20000 tokens (pairs within sequences of 100): sd 0.0025. */
START_TEST(moe_locality)
{
    const char *spec[] = {"moe:layers=2,experts=16,k=1,alpha=0,locality=0.6,len=100",
                          "moe:layers=2,experts=16,k=1,alpha=0,locality=0,len=100"};
    const double want[] = {0.625, 0.0625};
    for (int t = 0; t < 2; t++) {
        sim_genllm *g = make(33, 20000, spec[t], NULL, 0, 0);
        uint32_t last[2] = {0};
        uint64_t same = 0, pairs = 0;
        struct sim_moe_row r;
        while (sim_genllm_next_moe(g, &r) == 1) {
            if (r.pos > 0) {
                pairs++;
                same += r.experts[0] == last[r.layer];
            }
            last[r.layer] = r.experts[0];
        }
        ck_assert_msg(fabs((double)same / pairs - want[t]) < 0.01, "locality %d: %g", t,
                      (double)same / pairs);
        sim_genllm_free(g);
    }
}
END_TEST

/*=====   Limits   =====*/

/* Dimension 1: every embedding is +1 or -1; one request; one category. */
START_TEST(limits_small)
{
    const char *cats[] = {"one"};
    sim_genllm *g = make(1, 1, "query", cats, 1, 1);
    struct sim_req q;
    ck_assert_int_eq(next(g, &q), 1);
    ck_assert(fabs(fabs(q.emb[0]) - 1) < 1e-6);
    ck_assert_uint_eq(q.cls, 1);
    ck_assert_uint_eq(q.turn, 0);
    ck_assert_int_eq(next(g, &q), 0);
    sim_genllm_free(g);
}
END_TEST

/* A category with share 0 gets no request, even the last one. */
START_TEST(limits_zero_share)
{
    const char *cats[] = {"a:share=0", "b:share=1", "c:share=0"};
    sim_genllm *g = make(3, 5000, "query", cats, 3, 2);
    struct sim_req q;
    while (next(g, &q) == 1)
        ck_assert_str_eq(q.category_name, "b");
    sim_genllm_free(g);
}
END_TEST

/* rag with k = corpus: every chunk in every request (the fallback takes
 * the unused ones); moe with k = experts: every expert in every row. */
START_TEST(limits_take_all)
{
    sim_genllm *g = make(2, 50, "rag:corpus=4,k=4,alpha=3,chunk=512,system=0", NULL, 0, 0);
    struct sim_req q;
    while (next(g, &q) == 1)
        ck_assert_uint_ge(q.nblocks, 5);
    sim_genllm_free(g);
    g = make(2, 50, "moe:layers=1,experts=3,k=3,alpha=5", NULL, 0, 0);
    struct sim_moe_row r;
    while (sim_genllm_next_moe(g, &r) == 1)
        ck_assert_uint_eq(r.experts[0] + r.experts[1] + r.experts[2], 0 + 1 + 2);
    sim_genllm_free(g);
}
END_TEST

/*=====   Errors   =====*/

START_TEST(bad_parameters_are_named)
{
    const char *neg[] = {"a:share=-0.1", "b:share=1.1"};
    const char *sum[] = {"a:share=0.5", "b:share=0.4"};
    const char *some[] = {"a:share=0.5", "b"};
    const char *law[] = {"a:law=pareto"};
    const char *twice[] = {"a", "a"};
    const char *noname[] = {":share=1"};
    ck_assert_ptr_nonnull(strstr(create_error("query", NULL, 0, 0), "dimension 0"));
    ck_assert_ptr_nonnull(strstr(create_error("query", neg, 2, 4), "'share'"));
    ck_assert_ptr_nonnull(strstr(create_error("query", sum, 2, 4), "'share' sums to 0.9"));
    ck_assert_ptr_nonnull(strstr(create_error("query", some, 2, 4), "'share'"));
    ck_assert_ptr_nonnull(strstr(create_error("query", law, 1, 4), "'law'"));
    ck_assert_ptr_nonnull(strstr(create_error("query", twice, 2, 4), "twice"));
    ck_assert_ptr_nonnull(strstr(create_error("query", noname, 1, 4), "name"));
    ck_assert_ptr_nonnull(strstr(create_error("chat", NULL, 0, 4), "unknown workload"));
    ck_assert_ptr_nonnull(strstr(create_error("query:users=0", NULL, 0, 4), "'users'"));
    ck_assert_ptr_nonnull(strstr(create_error("serve", law, 1, 4), "query"));
    ck_assert_ptr_nonnull(strstr(create_error("serve:system=600,max=600", NULL, 0, 4), "'max'"));
    ck_assert_ptr_nonnull(strstr(create_error("rag:corpus=3,k=4", NULL, 0, 4), "'k'"));
    ck_assert_ptr_nonnull(strstr(create_error("moe:experts=2,k=3", NULL, 0, 4), "'k'"));
    ck_assert_ptr_nonnull(strstr(create_error("moe:locality=2", NULL, 0, 4), "'locality'"));
}
END_TEST

/* Formats that do not suit the kind are refused before anything is written. */
START_TEST(bad_output_format)
{
    char err[SIM_ERRLEN], path[256];
    tmpname(path, sizeof path, ".out");
    sim_genllm *g = make(1, 10, "query", NULL, 0, 4);
    ck_assert_int_eq(sim_genllm_write(g, path, SIM_GENLLM_OUT_MOONCAKE, NULL, err, sizeof err),
                     SIM_EINVAL);
    ck_assert_int_ne(access(path, F_OK), 0);
    struct sim_req q;
    struct sim_moe_row row;
    ck_assert_int_eq(sim_genllm_next_moe(g, &row), SIM_EINVAL);
    sim_genllm_free(g);
    g = make(1, 10, "serve", NULL, 0, 4);
    ck_assert_int_eq(sim_genllm_write(g, path, SIM_GENLLM_OUT_CSV, path, err, sizeof err),
                     SIM_EINVAL);
    sim_genllm_free(g);
    g = make(1, 10, "moe", NULL, 0, 4);
    ck_assert_int_eq(sim_genllm_next(g, &q, err, sizeof err), SIM_EINVAL);
    sim_genllm_free(g);
}
END_TEST

static Suite *genllm_suite(void)
{
    Suite *s = suite_create("genllm");
    TCase *core = tcase_create("Core");
    tcase_set_timeout(core, 120);
    tcase_add_test(core, query_shares);
    tcase_add_test(core, query_equal_shares);
    tcase_add_test(core, query_same_seed_same_requests);
    tcase_add_test(core, query_paraphrase_rate);
    tcase_add_test(core, query_exact_repeats);
    tcase_add_test(core, query_class_geometry);
    tcase_add_test(core, query_conversations);
    tcase_add_test(core, query_token_means);
    tcase_add_test(core, serve_mooncake_round_trip);
    tcase_add_test(core, serve_prefix_sharing);
    tcase_add_test(core, rag_parts);
    tcase_add_test(core, moe_rows);
    tcase_add_test(core, moe_skew);
    tcase_add_test(core, moe_locality);
    suite_add_tcase(s, core);
    TCase *lim = tcase_create("Limits");
    tcase_add_test(lim, limits_small);
    tcase_add_test(lim, limits_zero_share);
    tcase_add_test(lim, limits_take_all);
    suite_add_tcase(s, lim);
    TCase *errs = tcase_create("Errors");
    tcase_add_test(errs, bad_parameters_are_named);
    tcase_add_test(errs, bad_output_format);
    suite_add_tcase(s, errs);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(genllm_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
