/*
 * check_embed.c - the built-in text embedder (libsim/embed.c).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_embed.h"

static double dot(const float *a, const float *b, uint32_t n)
{
    double s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

static sim_embedder *make(uint32_t dim)
{
    char err[SIM_ERRLEN];
    struct sim_embed_opts o;
    sim_embed_opts_init(&o);
    o.dim = dim;
    sim_embedder *e = sim_embedder_create(&o, err, sizeof err);
    ck_assert_msg(e != NULL, "%s", err);
    return e;
}

static double sim_of(const sim_embedder *e, const char *a, const char *b)
{
    uint32_t d = sim_embedder_dim(e);
    float *x = malloc(d * sizeof *x), *y = malloc(d * sizeof *y);
    ck_assert_int_eq(sim_embedder_embed(e, a, strlen(a), x), 0);
    ck_assert_int_eq(sim_embedder_embed(e, b, strlen(b), y), 0);
    double s = dot(x, y, d);
    free(x);
    free(y);
    return s;
}

/* Hand-made: each paraphrase pair shares most words; each row's unrelated
 * partner is the next row's first sentence, which shares none. */
static const char *const pairs[][2] = {
    {"How do I reset my password?", "How can I reset my password"},
    {"What is the capital of France?", "What's the capital city of France?"},
    {"Best way to learn Python programming", "What is the best way to learn programming in Python?"},
    {"Recipe for chocolate chip cookies", "chocolate chip cookie recipe"},
    {"How tall is Mount Everest?", "What is the height of Mount Everest?"},
    {"Convert a string to an integer in C", "In C, how to convert string to integer"},
};
#define NPAIRS (sizeof pairs / sizeof pairs[0])

START_TEST(test_same_text_same_floats)
{
    sim_embedder *a = make(128), *b = make(128);
    float x[128], y[128];
    const char *t = "The quick brown fox";
    ck_assert_int_eq(sim_embedder_embed(a, t, strlen(t), x), 0);
    ck_assert_int_eq(sim_embedder_embed(b, t, strlen(t), y), 0);
    ck_assert(memcmp(x, y, sizeof x) == 0);
    sim_embedder_free(a);
    sim_embedder_free(b);
}
END_TEST

START_TEST(test_unit_length)
{
    sim_embedder *e = make(64);
    float x[64];
    const char *t = "Unit length after normalisation, whatever the text.";
    ck_assert_int_eq(sim_embedder_embed(e, t, strlen(t), x), 0);
    ck_assert_double_eq_tol(dot(x, x, 64), 1.0, 1e-6);
    sim_embedder_free(e);
}
END_TEST

START_TEST(test_case_and_punctuation_ignored)
{
    /* Lower-casing and splitting at punctuation make these the same words. */
    sim_embedder *e = make(256);
    ck_assert_double_eq_tol(sim_of(e, "Hello, World!", "hello world"), 1.0, 1e-6);
    sim_embedder_free(e);
}
END_TEST

START_TEST(test_paraphrases_beat_unrelated)
{
    sim_embedder *e = make(256);
    for (size_t i = 0; i < NPAIRS; i++) {
        sim_embedder_fit(e, pairs[i][0], strlen(pairs[i][0]));
        sim_embedder_fit(e, pairs[i][1], strlen(pairs[i][1]));
    }
    double min_para = 2, max_unrel = -2;
    for (size_t i = 0; i < NPAIRS; i++) {
        double p = sim_of(e, pairs[i][0], pairs[i][1]);
        double u = sim_of(e, pairs[i][0], pairs[(i + 1) % NPAIRS][0]);
        min_para = p < min_para ? p : min_para;
        max_unrel = u > max_unrel ? u : max_unrel;
    }
    ck_assert_msg(min_para > max_unrel, "weakest paraphrase %.3f <= strongest unrelated %.3f",
                  min_para, max_unrel);
    sim_embedder_free(e);
}
END_TEST

START_TEST(test_fit_order_irrelevant)
{
    sim_embedder *a = make(128), *b = make(128);
    for (size_t i = 0; i < NPAIRS; i++)
        sim_embedder_fit(a, pairs[i][0], strlen(pairs[i][0]));
    for (size_t i = NPAIRS; i-- > 0;)
        sim_embedder_fit(b, pairs[i][0], strlen(pairs[i][0]));
    ck_assert_uint_eq(sim_embedder_docs(a), NPAIRS);
    float x[128], y[128];
    ck_assert_int_eq(sim_embedder_embed(a, pairs[0][1], strlen(pairs[0][1]), x), 0);
    ck_assert_int_eq(sim_embedder_embed(b, pairs[0][1], strlen(pairs[0][1]), y), 0);
    ck_assert(memcmp(x, y, sizeof x) == 0);
    sim_embedder_free(a);
    sim_embedder_free(b);
}
END_TEST

START_TEST(test_idf_downweights_common_words)
{
    /* "the zebra" and "the cat" share only the word "the".  Fitted on five
     * documents that all contain "the", its idf is ln(6/6)+1 = 1 while
     * "zebra" and "cat" get ln(6/2)+1 > 2: the shared part weighs less, so
     * the cosine must fall below the unweighted one. */
    sim_embedder *plain = make(512), *fitted = make(512);
    const char *docs[] = {"the cat", "the dog", "the bird", "the zebra", "the fish"};
    for (size_t i = 0; i < 5; i++)
        sim_embedder_fit(fitted, docs[i], strlen(docs[i]));
    double u = sim_of(plain, "the zebra", "the cat");
    double w = sim_of(fitted, "the zebra", "the cat");
    ck_assert_msg(w < u, "idf did not lower the weight of 'the': %.3f >= %.3f", w, u);
    sim_embedder_free(plain);
    sim_embedder_free(fitted);
}
END_TEST

START_TEST(test_empty_text_zero_vector)
{
    sim_embedder *e = make(16);
    float x[16];
    ck_assert_int_eq(sim_embedder_embed(e, " ,;! ", 5, x), 1);
    for (int i = 0; i < 16; i++)
        ck_assert(x[i] == 0.0f);
    sim_embedder_free(e);
}
END_TEST

START_TEST(test_short_word_still_a_feature)
{
    /* "a" framed is "<a>", 3 bytes: one 3-gram; "I" is "<i>". */
    sim_embedder *e = make(64);
    float x[64];
    ck_assert_int_eq(sim_embedder_embed(e, "a", 1, x), 0);
    sim_embedder_free(e);
}
END_TEST

START_TEST(test_bad_options)
{
    char err[SIM_ERRLEN];
    struct sim_embed_opts o;
    sim_embed_opts_init(&o);
    o.dim = 0;
    ck_assert_ptr_null(sim_embedder_create(&o, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "dim"));
    sim_embed_opts_init(&o);
    o.nmin = 6;
    ck_assert_ptr_null(sim_embedder_create(&o, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "n-gram"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("embed");
    TCase *core = tcase_create("Core"), *lim = tcase_create("Limits"),
          *errs = tcase_create("Errors");
    tcase_add_test(core, test_same_text_same_floats);
    tcase_add_test(core, test_unit_length);
    tcase_add_test(core, test_case_and_punctuation_ignored);
    tcase_add_test(core, test_paraphrases_beat_unrelated);
    tcase_add_test(core, test_fit_order_irrelevant);
    tcase_add_test(core, test_idf_downweights_common_words);
    tcase_add_test(lim, test_empty_text_zero_vector);
    tcase_add_test(lim, test_short_word_still_a_feature);
    tcase_add_test(errs, test_bad_options);
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
