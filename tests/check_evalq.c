/*
 * check_evalq.c - the library half of evalq: the JSON parser (ejson.c),
 * pair loading (pairs.c), sweeps (eval.c).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ejson.h"
#include "sim_eval.h"
#include "sim_vec.h"

static char tmp_path[64];

static const char *write_tmp(const char *text, size_t len)
{
    snprintf(tmp_path, sizeof tmp_path, "/tmp/check_evalq.XXXXXX");
    int fd = mkstemp(tmp_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    return tmp_path;
}

static void teardown(void)
{
    if (tmp_path[0])
        unlink(tmp_path);
    tmp_path[0] = 0;
}

static struct sim_pairs *load(const char *text, const struct sim_pairs_opts *o, char *err)
{
    return sim_pairs_load(write_tmp(text, strlen(text)), o, err, SIM_ERRLEN);
}

/*=====   JSON   =====*/

START_TEST(test_json_escapes_and_unicode)
{
    /* \u00e9 is e-acute, UTF-8 C3 A9; \ud83d\ude00 is U+1F600, F0 9F 98 80. */
    const char *t = "{\"k\": \"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\", \"n\": -1.5e2, "
                    "\"z\": [true, false, null, {}]}";
    struct ej_doc d;
    char err[SIM_ERRLEN];
    ck_assert_int_eq(ej_parse(t, strlen(t), 1, &d, err, sizeof err), 0);
    uint32_t k = ej_get(&d, 0, "k");
    ck_assert_str_eq(ej_str(&d, k), "a\"b\\c\n\xC3\xA9\xF0\x9F\x98\x80");
    ck_assert_double_eq(d.nodes[ej_get(&d, 0, "n")].num, -150);
    uint32_t z = ej_get(&d, 0, "z");
    ck_assert_uint_eq(d.nodes[z].count, 4);
    ck_assert_uint_eq(ej_get(&d, 0, "missing"), EJ_NONE);
    ej_free(&d);
}
END_TEST

START_TEST(test_json_errors_have_lines)
{
    static const struct { const char *text, *needle; } bad[] = {
        {"[1,\n2,]", "line 2: unexpected character ']'"},
        {"{\"a\" 1}", "expected ':'"},
        {"\"abc", "unterminated string"},
        {"\"\\x\"", "bad escape"},
        {"\"\\ud800\"", "unpaired surrogate"},
        {"[1] 2", "unexpected text after"},
        {"1.2.3", "bad number"},
        {"[NaN]", "unexpected character 'N'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ej_doc d;
        char err[SIM_ERRLEN];
        ck_assert_int_eq(ej_parse(bad[i].text, strlen(bad[i].text), 1, &d, err, sizeof err), -1);
        ck_assert_msg(strstr(err, bad[i].needle) != NULL, "'%s': got '%s'", bad[i].text, err);
    }
}
END_TEST

START_TEST(test_json_depth_limited)
{
    char t[200];
    memset(t, '[', sizeof t);
    struct ej_doc d;
    char err[SIM_ERRLEN];
    ck_assert_int_eq(ej_parse(t, sizeof t, 1, &d, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "nesting"));
}
END_TEST

/*=====   Sweeps   =====*/

START_TEST(test_counts_by_hand)
{
    /* sims 1.0 0.8 0.6 0.0 0.9, labels 1 1 0 0 0:
     *   t = 0.7:  TP {1.0, 0.8}, FP {0.9}, TN {0.6, 0}, FN {}
     *   t = 0.95: TP {1.0}, FP {}, TN {0.6, 0, 0.9}, FN {0.8}
     *   t = 0.8:  0.8f >= (float)0.8: a hit (compared in float) */
    const float s[] = {1.0f, 0.8f, 0.6f, 0.0f, 0.9f};
    const uint8_t l[] = {1, 1, 0, 0, 0};
    struct sim_eval_counts c;
    struct sim_eval_rates r;
    sim_eval_count(s, l, NULL, 5, SIM_EVAL_ALL, 0.7, &c);
    ck_assert(c.tp == 2 && c.fp == 1 && c.tn == 2 && c.fn == 0);
    sim_eval_rates(&c, &r);
    ck_assert_double_eq_tol(r.precision, 2.0 / 3, 1e-15);
    ck_assert_double_eq(r.recall, 1);
    ck_assert_double_eq_tol(r.f1, 0.8, 1e-15);
    ck_assert_double_eq_tol(r.false_hit_rate, 0.2, 1e-15);
    ck_assert_double_eq_tol(r.hit_rate, 0.6, 1e-15);
    sim_eval_count(s, l, NULL, 5, SIM_EVAL_ALL, 0.95, &c);
    ck_assert(c.tp == 1 && c.fp == 0 && c.tn == 3 && c.fn == 1);
    sim_eval_count(s, l, NULL, 5, SIM_EVAL_ALL, 0.8, &c);
    ck_assert_uint_eq(c.tp, 2);
}
END_TEST

START_TEST(test_counts_per_category)
{
    const float s[] = {0.9f, 0.9f, 0.1f};
    const uint8_t l[] = {1, 0, 1};
    const uint16_t k[] = {0, 1, 0};
    struct sim_eval_counts c;
    sim_eval_count(s, l, k, 3, 0, 0.5, &c);
    ck_assert(c.tp == 1 && c.fp == 0 && c.tn == 0 && c.fn == 1);
    sim_eval_count(s, l, k, 3, 1, 0.5, &c);
    ck_assert(c.tp == 0 && c.fp == 1);
}
END_TEST

START_TEST(test_choose_best_f1_and_bound)
{
    /* Over thresholds 0.5, 0.7, 0.85, 0.95 with the sims above:
     *   0.5:  TP 2 FP 2 -> P 0.5, R 1, F1 2/3, fhr 2/5
     *   0.7:  TP 2 FP 1 -> F1 0.8, fhr 1/5
     *   0.85: TP 1 FP 1 (0.9) FN 1 -> F1 0.5, fhr 1/5
     *   0.95: TP 1 FN 1 -> F1 2/3, fhr 0
     * best F1 at 0.7; the lowest with fhr <= 0.1 is 0.95. */
    const float s[] = {1.0f, 0.8f, 0.6f, 0.0f, 0.9f};
    const uint8_t l[] = {1, 1, 0, 0, 0};
    const double t[] = {0.5, 0.7, 0.85, 0.95};
    struct sim_eval_choice ch;
    sim_eval_choose(s, l, NULL, 5, SIM_EVAL_ALL, t, 4, 0.1, &ch);
    ck_assert_double_eq(ch.best_f1_threshold, 0.7);
    ck_assert(ch.bound_found);
    ck_assert_double_eq(ch.bound_threshold, 0.95);
    sim_eval_choose(s, l, NULL, 5, SIM_EVAL_ALL, t, 3, 0.1, &ch);
    ck_assert(!ch.bound_found);
}
END_TEST

START_TEST(test_rates_zero_denominators)
{
    struct sim_eval_counts c = {0, 0, 0, 0};
    struct sim_eval_rates r;
    sim_eval_rates(&c, &r);
    ck_assert(r.precision == 0 && r.recall == 0 && r.f1 == 0 && r.accuracy == 0 &&
              r.false_hit_rate == 0);
}
END_TEST

START_TEST(test_thresholds_exact_decimals)
{
    double *t;
    char err[SIM_ERRLEN];
    int n = sim_eval_thresholds(0.5, 0.99, 0.01, &t, err, sizeof err);
    ck_assert_int_eq(n, 50);
    ck_assert(t[37] == 0.87);
    ck_assert(t[49] == 0.99);
    free(t);
    n = sim_eval_thresholds(-1, 1, 0.5, &t, err, sizeof err);
    ck_assert_int_eq(n, 5);
    ck_assert(t[0] == -1 && t[4] == 1);
    free(t);
}
END_TEST

START_TEST(test_thresholds_out_of_range)
{
    double *t;
    char err[SIM_ERRLEN];
    ck_assert_int_eq(sim_eval_thresholds(0, 1.5, 0.1, &t, err, sizeof err), SIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "[-1, 1]"));
    ck_assert_int_eq(sim_eval_thresholds(NAN, 1, 0.1, &t, err, sizeof err), SIM_EINVAL);
    ck_assert_int_eq(sim_eval_thresholds(0.9, 0.1, 0.1, &t, err, sizeof err), SIM_EINVAL);
    ck_assert_int_eq(sim_eval_thresholds(0, 1, 0, &t, err, sizeof err), SIM_EINVAL);
}
END_TEST

/*=====   Loading pairs   =====*/

START_TEST(test_csv_quotes_newlines_crlf_bom)
{
    char err[SIM_ERRLEN];
    struct sim_pairs *p = load("\xEF\xBB\xBFquestion1,question2,is_duplicate\r\n"
                               "\"a, \"\"quoted\"\"\nline\",b,1\r\n\r\nc,d,0\r\n", NULL, err);
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_uint_eq(p->n, 2);
    ck_assert_str_eq(p->text_a[0], "a, \"quoted\"\nline");
    ck_assert_str_eq(p->text_b[1], "d");
    ck_assert(p->label[0] == 1 && p->label[1] == 0);
    sim_pairs_free(p);
}
END_TEST

START_TEST(test_tsv_mrpc_original_header)
{
    char err[SIM_ERRLEN];
    struct sim_pairs *p = load("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
                               "1\t10\t11\tA , b .\tA b .\n", NULL, err);
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_str_eq(p->text_a[0], "A , b .");
    ck_assert_ptr_nonnull(strstr(p->shape, "#1 String"));
    sim_pairs_free(p);
}
END_TEST

START_TEST(test_jsonl_categories_and_booleans)
{
    char err[SIM_ERRLEN];
    struct sim_pairs *p = load("{\"sentence1\":\"x\",\"sentence2\":\"y\",\"label\":true,"
                               "\"category\":\"code\"}\n"
                               "{\"sentence1\":\"p\",\"sentence2\":\"q\",\"label\":0,"
                               "\"category\":\"chat\"}\n", NULL, err);
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_uint_eq(p->ncats, 2);
    ck_assert_str_eq(p->cat_names[p->category[1]], "chat");
    ck_assert(p->label[0] == 1 && p->label[1] == 0);
    sim_pairs_free(p);
}
END_TEST

START_TEST(test_json_embeddings_arrays)
{
    /* cosine((3,4),(4,3)) = 24/25 = 0.96; (1,0),(0,1) = 0. */
    char err[SIM_ERRLEN];
    struct sim_pairs *p = load("[{\"emb_a\":[3,4],\"emb_b\":[4,3],\"label\":1},"
                               "{\"emb_a\":[1,0],\"emb_b\":[0,1],\"label\":0}]", NULL, err);
    ck_assert_msg(p != NULL, "%s", err);
    float s[2];
    ck_assert_int_eq(sim_pairs_similarities(p, NULL, s, err, sizeof err), 0);
    ck_assert_float_eq_tol(s[0], 0.96f, 1e-6f);
    ck_assert_float_eq_tol(s[1], 0.0f, 1e-6f);
    sim_pairs_free(p);
}
END_TEST

START_TEST(test_npy_embeddings)
{
    char err[SIM_ERRLEN], a[] = "/tmp/check_evalq_a.XXXXXX", b[] = "/tmp/check_evalq_b.XXXXXX";
    close(mkstemp(a));
    close(mkstemp(b));
    const float ea[] = {1, 0, 1, 0}, eb[] = {1, 0, 0, 1};
    ck_assert_int_eq(sim_npy_write(a, ea, 2, 2, err, sizeof err), 0);
    ck_assert_int_eq(sim_npy_write(b, eb, 2, 2, err, sizeof err), 0);
    struct sim_pairs_opts o = {NULL, a, b};
    struct sim_pairs *p = load("text_a,text_b,label\nx,x,1\ny,z,0\n", &o, err);
    ck_assert_msg(p != NULL, "%s", err);
    float s[2];
    ck_assert_int_eq(sim_pairs_similarities(p, NULL, s, err, sizeof err), 0);
    ck_assert(s[0] == 1.0f && s[1] == 0.0f);
    sim_pairs_free(p);
    teardown();
    /* Three pairs for two rows. */
    p = load("text_a,text_b,label\nx,x,1\ny,z,0\nu,v,1\n", &o, err);
    ck_assert_ptr_null(p);
    ck_assert_ptr_nonnull(strstr(err, "2 rows for 3 pairs"));
    unlink(a);
    unlink(b);
}
END_TEST

START_TEST(test_builtin_embedder_separates_hand_pairs)
{
    char err[SIM_ERRLEN];
    struct sim_pairs *p = load("text_a,text_b,label\n"
                               "How do I learn Python,How can I learn Python,1\n"
                               "How do I learn Python,Best pizza in Naples,0\n", NULL, err);
    ck_assert_msg(p != NULL, "%s", err);
    float s[2];
    ck_assert_int_eq(sim_pairs_similarities(p, NULL, s, err, sizeof err), 0);
    ck_assert_msg(s[0] > s[1], "paraphrase %.3f <= unrelated %.3f", s[0], s[1]);
    sim_pairs_free(p);
}
END_TEST

/*=====   Errors   =====*/

static void expect_load_error(const char *text, const char *needle)
{
    char err[SIM_ERRLEN];
    struct sim_pairs *p = load(text, NULL, err);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(err, needle) != NULL, "'%s' not in '%s'", needle, err);
    teardown();
}

START_TEST(test_load_errors)
{
    expect_load_error("", "empty file");
    expect_load_error("a,b\n1,2\n", "no pair columns");
    expect_load_error("text_a,text_b\nx,y\n", "no column 'label'");
    expect_load_error("text_a,text_b,label\nx,y,2\n", ":2: label '2'");
    expect_load_error("text_a,text_b,label\nx,y\n", ":2: 2 fields, the header has 3");
    expect_load_error("text_a,text_b,label\n\"x,y,1\n", "unterminated quoted field");
    expect_load_error("emb_a,emb_b,label\n1 0,1 0,1\n1 inf,1 0,1\n", ":3: emb_a: component 1");
    expect_load_error("emb_a,emb_b,label\n1 0,1 0,1\n1 0,1 0 0,1\n",
                      ":3: emb_b: dimension mismatch");
    expect_load_error("emb_a,emb_b,label\n1 x,1 0,1\n", "not a number");
    expect_load_error("{\"text_a\":\"x\",\"text_b\":\"y\",\"label\":1}\n{\"text_a\":\"x\"}\n",
                      ":2: no member 'text_b'");
    expect_load_error("{\"text_a\":\"x\",\"text_b\":\"y\",\"label\":1}\n{\"text_a\":\n",
                      "line 2:");
    expect_load_error("[{\"text_a\":1,\"text_b\":\"y\",\"label\":1}]", "must be strings");
    expect_load_error("[]", "non-empty array");
    expect_load_error("text_a,text_b,label,category\nx,y,1,all\n", "reserved");
}
END_TEST

START_TEST(test_cols_option)
{
    char err[SIM_ERRLEN];
    struct sim_pairs_opts o = {"qa,qb", NULL, NULL};
    struct sim_pairs *p = load("qa,qb\nx,y\n", &o, err);
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_uint_eq(p->label[0], 1); /* no label column: positives */
    sim_pairs_free(p);
    teardown();
    o.cols = "qa";
    ck_assert_ptr_null(load("qa,qb\nx,y\n", &o, err));
    ck_assert_ptr_nonnull(strstr(err, "is not A,B or A,B,LABEL"));
    teardown();
    o.cols = "qa,zz";
    ck_assert_ptr_null(load("qa,qb\nx,y\n", &o, err));
    ck_assert_ptr_nonnull(strstr(err, "no column 'zz'"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("evalq");
    TCase *core = tcase_create("Core"), *lim = tcase_create("Limits"),
          *errs = tcase_create("Errors");
    tcase_add_checked_fixture(core, NULL, teardown);
    tcase_add_checked_fixture(lim, NULL, teardown);
    tcase_add_checked_fixture(errs, NULL, teardown);
    tcase_add_test(core, test_json_escapes_and_unicode);
    tcase_add_test(core, test_counts_by_hand);
    tcase_add_test(core, test_counts_per_category);
    tcase_add_test(core, test_choose_best_f1_and_bound);
    tcase_add_test(core, test_csv_quotes_newlines_crlf_bom);
    tcase_add_test(core, test_tsv_mrpc_original_header);
    tcase_add_test(core, test_jsonl_categories_and_booleans);
    tcase_add_test(core, test_json_embeddings_arrays);
    tcase_add_test(core, test_npy_embeddings);
    tcase_add_test(core, test_builtin_embedder_separates_hand_pairs);
    tcase_add_test(core, test_cols_option);
    tcase_add_test(lim, test_rates_zero_denominators);
    tcase_add_test(lim, test_thresholds_exact_decimals);
    tcase_add_test(lim, test_json_depth_limited);
    tcase_add_test(errs, test_json_errors_have_lines);
    tcase_add_test(errs, test_thresholds_out_of_range);
    tcase_add_test(errs, test_load_errors);
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
