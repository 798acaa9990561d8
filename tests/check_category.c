/*
 * check_category.c - the category policy (policies/category.c), and the
 * loop from evaluation to simulation: thresholds chosen by sim_eval (what
 * evalq --write-config writes) against the best single global threshold.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"
#include "sim_eval.h"
#include "sim_policy.h"

/*=====   Helpers   =====*/

static char cfg_path[64];

static void write_cfg(const char *text)
{
    snprintf(cfg_path, sizeof cfg_path, "/tmp/check_category.XXXXXX");
    int fd = mkstemp(cfg_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void teardown(void)
{
    if (cfg_path[0])
        unlink(cfg_path);
    cfg_path[0] = 0;
}

static sim_cache *make_cache(uint64_t cap, const char *extra, char *err)
{
    char spec[256];
    snprintf(spec, sizeof spec, "category:config=%s%s", cfg_path, extra ? extra : "");
    struct sim_cache_config cfg = {cap, SIM_UNIT_ENTRIES, 1,
                                   SIM_F_EMB | SIM_F_CLASS | SIM_F_CATEGORY | SIM_F_TIME |
                                       SIM_F_LOAD,
                                   NULL};
    return sim_cache_create(spec, &cfg, err, SIM_ERRLEN);
}

static const char *cat_names[] = {"a", "b", "c"};

/* A request in category cat with a 2-d embedding at `deg` degrees. */
static struct sim_req req2(uint16_t cat, double deg, uint64_t cls, float *buf)
{
    struct sim_req q;
    memset(&q, 0, sizeof q);
    buf[0] = (float)cos(deg * M_PI / 180);
    buf[1] = (float)sin(deg * M_PI / 180);
    q.present = SIM_F_KEY | SIM_F_EMB | SIM_F_CLASS | SIM_F_CATEGORY;
    q.category = cat;
    q.category_name = cat_names[cat];
    q.cls = cls;
    q.dim = 2;
    q.emb = buf;
    return q;
}

static double extra(const sim_cache *c, const char *name)
{
    double v[32];
    const char *const *names = sim_cache_extra_names(c);
    sim_cache_extra_values(c, v);
    for (size_t i = 0; names[i]; i++)
        if (!strcmp(names[i], name))
            return v[i];
    ck_abort_msg("no column %s", name);
    return 0;
}

/*=====   Core   =====*/

START_TEST(test_hand_trace)
{
    /* Category a at threshold 0.95, b at 0.80; embeddings at angles, so
     * similarity is the cosine of the angle between them:
     *   1. a   0 deg cls 1: empty index, miss, stored
     *   2. a  20 deg cls 2: cos 20 = 0.940 < 0.95, miss, stored
     *   3. b   0 deg cls 1: b's index is empty (a's entries do not count),
     *                       miss, not a false miss (class 1 is cached in a,
     *                       not in b), stored
     *   4. b  30 deg cls 3: cos 30 = 0.866 >= 0.80: hit, FALSE (cls 1)
     *   5. a  15 deg cls 2: nearest 20 deg, cos 5 = 0.996: true hit
     *   6. a   8 deg cls 1: nearest 0 deg (cos 8 = 0.990 > cos 12): true hit
     *   7. b  60 deg cls 1: only 0 deg in b (4 was a hit, not stored):
     *                       cos 60 = 0.5, miss; class 1 is cached in b:
     *                       a false miss
     * requests 7, hits 3 (2 true, 1 false), false misses 1;
     * costs (defaults lookup 2 ms, miss 1000 ms): total 7*2 + 4*1000 = 4014,
     * saved 7000 - 4014 = 2986, break-even 14 / 7000 = 0.002. */
    write_cfg("category,threshold\na,0.95\nb,0.80\n");
    char err[SIM_ERRLEN];
    /* The same decisions with either index (HNSW is exact on 3 entries). */
    sim_cache *c = make_cache(100, _i ? ",index=hnsw" : NULL, err);
    ck_assert_msg(c != NULL, "%s", err);
    static const struct { uint16_t cat; double deg; uint64_t cls; int hit, fh, fm; } t[] = {
        {0, 0, 1, 0, 0, 0}, {0, 20, 2, 0, 0, 0}, {1, 0, 1, 0, 0, 0}, {1, 30, 3, 1, 1, 0},
        {0, 15, 2, 1, 0, 0}, {0, 8, 1, 1, 0, 0}, {1, 60, 1, 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        float buf[2];
        struct sim_req q = req2(t[i].cat, t[i].deg, t[i].cls, buf);
        struct sim_outcome out;
        memset(&out, 0, sizeof out);
        q.index = i;
        sim_cache_access(c, &q, &out);
        ck_assert_msg(out.hit == t[i].hit && out.false_hit == t[i].fh &&
                      out.false_miss == t[i].fm, "request %zu: hit %d false_hit %d "
                      "false_miss %d", i + 1, out.hit, out.false_hit, out.false_miss);
        ck_assert_int_eq(sim_cache_check(c, err, sizeof err), 0);
    }
    ck_assert_double_eq(extra(c, "true_hits"), 2);
    ck_assert_double_eq(extra(c, "false_hits"), 1);
    ck_assert_double_eq(extra(c, "false_misses"), 1);
    ck_assert_double_eq_tol(extra(c, "precision"), 2.0 / 3, 1e-12);
    ck_assert_double_eq_tol(extra(c, "recall"), 2.0 / 3, 1e-12);
    ck_assert_double_eq_tol(extra(c, "false_hit_rate"), 1.0 / 7, 1e-12);
    ck_assert_double_eq_tol(extra(c, "cost_total"), 4014, 1e-9);
    ck_assert_double_eq_tol(extra(c, "cost_saved"), 2986, 1e-9);
    ck_assert_double_eq_tol(extra(c, "break_even_hit_rate"), 0.002, 1e-12);
    sim_cache_free(c);
}
END_TEST

START_TEST(test_default_row_serves_unlisted)
{
    /* c is not listed: the default row (threshold 0.5) applies, so a
     * request at 50 deg from a cached one (cos 50 = 0.643) hits. */
    write_cfg("# comment lines are skipped\ncategory,threshold\na,0.99\ndefault,0.5\n");
    char err[SIM_ERRLEN];
    sim_cache *c = make_cache(10, NULL, err);
    ck_assert_msg(c != NULL, "%s", err);
    float b1[2], b2[2];
    struct sim_req q1 = req2(2, 0, 1, b1), q2 = req2(2, 50, 1, b2);
    struct sim_outcome o1 = {0}, o2 = {0};
    sim_cache_access(c, &q1, &o1);
    sim_cache_access(c, &q2, &o2);
    ck_assert_int_eq(o2.hit, 1);
    ck_assert_int_eq(sim_cache_check(c, err, sizeof err), 0);
    sim_cache_free(c);
}
END_TEST

START_TEST(test_quota_evicts_own_lru)
{
    /* Capacity 4, a's quota 0.5 = 2 entries.  Three distinct a queries (90
     * deg apart: never similar) evict a's oldest; then b fills the rest.
     * Re-asking a's first query misses (evicted); a's third still hits. */
    write_cfg("category,threshold,quota\na,0.9,0.5\nb,0.9,1\n");
    char err[SIM_ERRLEN];
    sim_cache *c = make_cache(4, NULL, err);
    ck_assert_msg(c != NULL, "%s", err);
    float b[8][2];
    struct sim_outcome o;
    double degs[] = {0, 90, 180};
    for (int i = 0; i < 3; i++) {
        struct sim_req q = req2(0, degs[i], (uint64_t)i, b[i]);
        memset(&o, 0, sizeof o);
        sim_cache_access(c, &q, &o);
        ck_assert_int_eq(o.evictions, i == 2);
    }
    struct sim_req qb = req2(1, 45, 9, b[3]);
    sim_cache_access(c, &qb, &o);
    struct sim_req again = req2(0, 0, 0, b[4]), third = req2(0, 180, 2, b[5]);
    memset(&o, 0, sizeof o);
    sim_cache_access(c, &third, &o);
    ck_assert_int_eq(o.hit, 1);
    memset(&o, 0, sizeof o);
    sim_cache_access(c, &again, &o);
    ck_assert_int_eq(o.hit, 0);
    ck_assert_int_eq(sim_cache_check(c, err, sizeof err), 0);
    sim_cache_free(c);
}
END_TEST

START_TEST(test_ttl_expires)
{
    /* TTL 10 s: a query stored at t = 0 s hits at t = 5 s and is expired at
     * t = 10 s (expiry at stored time + ttl, inclusive, as objcache does). */
    write_cfg("category,threshold,ttl\na,0.9,10\n");
    char err[SIM_ERRLEN];
    sim_cache *c = make_cache(10, NULL, err);
    ck_assert_msg(c != NULL, "%s", err);
    float b[3][2];
    struct sim_outcome o = {0};
    struct sim_req q = req2(0, 0, 1, b[0]);
    sim_cache_access(c, &q, &o);
    q = req2(0, 1, 1, b[1]);
    q.time = 5000000;
    memset(&o, 0, sizeof o);
    sim_cache_access(c, &q, &o);
    ck_assert_int_eq(o.hit, 1);
    q.time = 10000000;
    memset(&o, 0, sizeof o);
    sim_cache_access(c, &q, &o);
    ck_assert_int_eq(o.hit, 0);
    ck_assert_int_eq(o.expirations, 1);
    sim_cache_free(c);
}
END_TEST

START_TEST(test_adaptive_lowers_threshold_under_load)
{
    /* threshold 0.95, floor 0.75, overload 0.8: at load 1.0 the pressure is
     * (1.0 - 0.8) / 0.2 = 1, so the threshold is the floor 0.75 and a query
     * at cos 30 = 0.866 hits; at load 0.5 it does not. */
    write_cfg("category,threshold,floor,overload\na,0.95,0.75,0.8\n");
    char err[SIM_ERRLEN];
    for (int loaded = 0; loaded < 2; loaded++) {
        sim_cache *c = make_cache(10, ",adaptive=1", err);
        ck_assert_msg(c != NULL, "%s", err);
        float b[2][2];
        struct sim_outcome o = {0};
        struct sim_req q = req2(0, 0, 1, b[0]);
        sim_cache_access(c, &q, &o);
        q = req2(0, 30, 1, b[1]);
        q.present |= SIM_F_LOAD;
        q.load = loaded ? 1.0f : 0.5f;
        memset(&o, 0, sizeof o);
        sim_cache_access(c, &q, &o);
        ck_assert_int_eq(o.hit, loaded);
        sim_cache_free(c);
    }
}
END_TEST

START_TEST(test_adaptive_load_curve)
{
    /* No load in the trace: the config's curve gives load 0 until 100 s,
     * 1.0 from 100 s; same thresholds as above. */
    write_cfg("category,threshold,floor,overload,load_curve\na,0.95,0.75,0.8,0:0 100:1.0\n");
    char err[SIM_ERRLEN];
    sim_cache *c = make_cache(10, ",adaptive=1", err);
    ck_assert_msg(c != NULL, "%s", err);
    float b[3][2];
    struct sim_outcome o = {0};
    struct sim_req q = req2(0, 0, 1, b[0]);
    sim_cache_access(c, &q, &o);
    q = req2(0, 30, 1, b[1]);
    q.time = 50000000;
    memset(&o, 0, sizeof o);
    sim_cache_access(c, &q, &o);
    ck_assert_int_eq(o.hit, 0);
    q = req2(0, 29, 1, b[2]);
    q.time = 150000000;
    memset(&o, 0, sizeof o);
    sim_cache_access(c, &q, &o);
    ck_assert_int_eq(o.hit, 1);
    sim_cache_free(c);
}
END_TEST

/*=====   The mixed workload: evaluation thresholds vs a global one   =====*/

/*
 * Two categories of 32-d unit vectors (sim_rng, seed fixed):
 *   "code" (dense): 200 classes whose centres all lie near one direction
 *     (centre = base + 0.45 g, g Gaussian per class: centres ~0.83 apart in
 *     cosine), queries = centre + 0.12 noise: different classes are close;
 *   "chat" (sparse): 200 classes with independent random centres (cosine
 *     ~0 apart), queries = centre + 0.30 noise: paraphrases are far apart
 *     but nothing else is near.
 * A threshold that keeps code's false hits down wastes chat's hits, and
 * one that catches chat's paraphrases lets code's neighbours through.
 */
#define WL_DIM 32
#define WL_N 3000
#define WL_CLASSES 200

static double gauss(struct sim_rng *g)
{
    double u = sim_rng_unit(g), v = sim_rng_unit(g);
    return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}

static void unit(float *x, const double *y)
{
    double n = 0;
    for (int k = 0; k < WL_DIM; k++)
        n += y[k] * y[k];
    for (int k = 0; k < WL_DIM; k++)
        x[k] = (float)(y[k] / sqrt(n));
}

static const char *wl_names[] = {"code", "chat"};

static void workload(struct sim_req *q, float *emb)
{
    struct sim_rng g;
    sim_rng_seed(&g, 42);
    double centre[2][WL_CLASSES][WL_DIM], base[WL_DIM], y[WL_DIM];
    for (int k = 0; k < WL_DIM; k++)
        base[k] = gauss(&g);
    for (int c = 0; c < WL_CLASSES; c++)
        for (int k = 0; k < WL_DIM; k++) {
            centre[0][c][k] = base[k] / sqrt(WL_DIM) + 0.45 * gauss(&g) / sqrt(WL_DIM);
            centre[1][c][k] = gauss(&g) / sqrt(WL_DIM);
        }
    for (size_t i = 0; i < WL_N; i++) {
        int cat = (int)sim_rng_below(&g, 2);
        int cls = (int)sim_rng_below(&g, WL_CLASSES);
        double sd = cat == 0 ? 0.12 : 0.30;
        for (int k = 0; k < WL_DIM; k++)
            y[k] = centre[cat][cls][k] + sd * gauss(&g) / sqrt(WL_DIM);
        unit(emb + i * WL_DIM, y);
        memset(&q[i], 0, sizeof q[i]);
        q[i].index = i;
        q[i].time = i * 1000000;
        q[i].present = SIM_F_KEY | SIM_F_TIME | SIM_F_EMB | SIM_F_CLASS | SIM_F_CATEGORY;
        q[i].category = (uint16_t)cat;
        q[i].category_name = wl_names[cat];
        q[i].cls = (uint64_t)(cat * 1000 + cls);
        q[i].dim = WL_DIM;
        q[i].emb = emb + i * WL_DIM;
    }
}

struct wl_result {
    double hit_rate, false_hit_rate;
};

static struct wl_result replay(const struct sim_req *q, const char *cfg)
{
    char err[SIM_ERRLEN];
    snprintf(cfg_path, sizeof cfg_path, "%s", cfg);
    sim_cache *c = make_cache(100000, NULL, err);
    ck_assert_msg(c != NULL, "%s", err);
    for (size_t i = 0; i < WL_N; i++)
        sim_cache_access(c, &q[i], NULL);
    ck_assert_int_eq(sim_cache_check(c, err, sizeof err), 0);
    struct sim_metrics m;
    sim_cache_metrics(c, &m);
    struct wl_result r = {(double)m.hits / (double)m.requests,
                          (double)m.false_hits / (double)m.requests};
    sim_cache_free(c);
    return r;
}

START_TEST(test_category_thresholds_beat_global)
{
    char err[SIM_ERRLEN];
    struct sim_req *q = malloc(WL_N * sizeof *q);
    float *emb = malloc(WL_N * WL_DIM * sizeof *emb);
    workload(q, emb);

    /* Step 1: evaluation, as evalq --trace --max-false-hit 0.01
     * --write-config does it. */
    float *sims;
    struct sim_pairs *p = sim_pairs_from_requests(q, WL_N, NULL, &sims, err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_uint_eq(p->ncats, 2);
    double *thr;
    int nt = sim_eval_thresholds(0.5, 0.99, 0.01, &thr, err, sizeof err);
    ck_assert_int_gt(nt, 0);
    double t[2], def;
    struct sim_eval_choice ch;
    for (int k = 0; k < 2; k++) {
        sim_eval_choose(sims, p->label, p->category, p->n, k, thr, (size_t)nt, 0.01, &ch);
        ck_assert(ch.bound_found);
        t[k] = ch.bound_threshold;
    }
    sim_eval_choose(sims, p->label, p->category, p->n, SIM_EVAL_ALL, thr, (size_t)nt, 0.01,
                    &ch);
    def = ch.bound_threshold;
    char cat_cfg[] = "/tmp/check_category_cfg.XXXXXX";
    close(mkstemp(cat_cfg));
    ck_assert_int_eq(sim_eval_write_config(cat_cfg, (const char *const *)p->cat_names, t, 2,
                                           def, err, sizeof err), 0);

    /* Step 2: the category policy with those thresholds. */
    struct wl_result cat = replay(q, cat_cfg);

    /* Step 3: every global threshold of the same sweep. */
    struct wl_result best = {0, 1};
    double best_t = -1;
    char glob_cfg[] = "/tmp/check_category_glob.XXXXXX";
    close(mkstemp(glob_cfg));
    for (int i = 0; i < nt; i++) {
        FILE *f = fopen(glob_cfg, "w");
        fprintf(f, "category,threshold\ndefault,%.9g\n", thr[i]);
        fclose(f);
        struct wl_result g = replay(q, glob_cfg);
        if (g.hit_rate >= cat.hit_rate && g.false_hit_rate < best.false_hit_rate) {
            best = g;
            best_t = thr[i];
        }
    }
    cfg_path[0] = 0;
    unlink(cat_cfg);
    unlink(glob_cfg);
    printf("category thresholds code %.2f chat %.2f: hit rate %.4f, false-hit rate %.4f\n"
           "best global threshold at >= that hit rate: %.2f: hit rate %.4f, false-hit "
           "rate %.4f\n", t[0], t[1], cat.hit_rate, cat.false_hit_rate, best_t, best.hit_rate,
           best.false_hit_rate);
    ck_assert_msg(best_t >= 0, "no global threshold reaches hit rate %.4f", cat.hit_rate);
    ck_assert_msg(cat.false_hit_rate < best.false_hit_rate,
                  "category false-hit rate %.4f is not below the global %.4f",
                  cat.false_hit_rate, best.false_hit_rate);
    free(thr);
    free(sims);
    sim_pairs_free(p);
    free(q);
    free(emb);
}
END_TEST

/*=====   Errors   =====*/

static void expect_create_error(const char *cfg, const char *needle)
{
    char err[SIM_ERRLEN];
    write_cfg(cfg);
    sim_cache *c = make_cache(10, NULL, err);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err, needle) != NULL, "'%s' not in '%s'", needle, err);
    teardown();
}

START_TEST(test_config_errors_name_line_and_field)
{
    expect_create_error("category,threshold\na,1.5\n", ":2: threshold: '1.5'");
    expect_create_error("category,threshold\na,nan\n", ":2: threshold");
    expect_create_error("category,thresh\na,0.5\n", ":1: header: unknown column 'thresh'");
    expect_create_error("category,ttl\na,5\n", "needs columns category and threshold");
    expect_create_error("category,threshold\na,0.5\na,0.6\n", ":3: category: 'a' repeated");
    expect_create_error("category,threshold,quota\na,0.5,2\n", ":2: quota");
    expect_create_error("category,threshold,floor\na,0.5,0.7\n", ":2: floor");
    expect_create_error("category,threshold,load_curve\na,0.5,5:1 2:1\n", ":2: load_curve");
    expect_create_error("category,threshold\na,0.5,1\n", ":2: 3 fields");
    expect_create_error("category,threshold\n", "no category rows");
}
END_TEST

START_TEST(test_missing_config_param)
{
    char err[SIM_ERRLEN];
    struct sim_cache_config cfg = {10, SIM_UNIT_ENTRIES, 1, SIM_F_EMB | SIM_F_CLASS, NULL};
    ck_assert_ptr_null(sim_cache_create("category", &cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "config="));
    ck_assert_ptr_null(sim_cache_create("category:config=/nonexistent/x.csv", &cfg, err,
                                        sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/x.csv"));
}
END_TEST

START_TEST(test_unlisted_category_without_default)
{
    /* b is not in the config and there is no default row: the request is a
     * miss and the check (which sim_run calls) reports it by name. */
    write_cfg("category,threshold\na,0.9\n");
    char err[SIM_ERRLEN];
    sim_cache *c = make_cache(10, NULL, err);
    ck_assert_msg(c != NULL, "%s", err);
    float b[2];
    struct sim_req q = req2(1, 0, 1, b);
    struct sim_outcome o = {0};
    sim_cache_access(c, &q, &o);
    ck_assert_int_eq(o.hit, 0);
    ck_assert_int_eq(sim_cache_check(c, err, sizeof err), SIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "category 'b' is not in the config"));
    sim_cache_free(c);
}
END_TEST

START_TEST(test_nan_embedding_reported)
{
    write_cfg("category,threshold\na,0.9\n");
    char err[SIM_ERRLEN];
    sim_cache *c = make_cache(10, NULL, err);
    ck_assert_msg(c != NULL, "%s", err);
    float b[2];
    struct sim_req q = req2(0, 0, 1, b);
    b[1] = NAN;
    sim_cache_access(c, &q, NULL);
    ck_assert_int_eq(sim_cache_check(c, err, sizeof err), SIM_EINVAL);
    sim_cache_free(c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("category");
    TCase *core = tcase_create("Core"), *lim = tcase_create("Limits"),
          *errs = tcase_create("Errors");
    tcase_add_checked_fixture(core, NULL, teardown);
    tcase_add_checked_fixture(lim, NULL, teardown);
    tcase_add_checked_fixture(errs, NULL, teardown);
    tcase_add_loop_test(core, test_hand_trace, 0, 2);
    tcase_add_test(core, test_default_row_serves_unlisted);
    tcase_add_test(core, test_adaptive_lowers_threshold_under_load);
    tcase_add_test(core, test_adaptive_load_curve);
    tcase_add_test(core, test_category_thresholds_beat_global);
    tcase_set_timeout(core, 120);
    tcase_add_test(lim, test_quota_evicts_own_lru);
    tcase_add_test(lim, test_ttl_expires);
    tcase_add_test(errs, test_config_errors_name_line_and_field);
    tcase_add_test(errs, test_missing_config_param);
    tcase_add_test(errs, test_unlisted_category_without_default);
    tcase_add_test(errs, test_nan_embedding_reported);
    suite_add_tcase(s, core);
    suite_add_tcase(s, lim);
    suite_add_tcase(s, errs);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
