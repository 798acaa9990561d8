/*
 * check_npy.c - .npy embedding files: headers written byte by byte here
 * (as np.save lays them out), the writer's exact bytes, streaming rows, the
 * --emb hook of the trace reader, and the errors: wrong dtype, order,
 * shape, truncated data, row-count mismatches, NaN.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_vec.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/check_npy.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *path_of(const char *name)
{
    static char p[4][128];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
}

/* Writes a .npy of version major.0 with header text `dict`, padded with
 * spaces and '\n' so that the data starts at a multiple of 64 (np.save's
 * layout), then `n` bytes of data. */
static const char *write_npy(const char *name, int major, const char *dict,
                             const void *data, size_t n)
{
    const char *p = path_of(name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    size_t pre = major == 1 ? 10 : 12, len = strlen(dict);
    size_t hlen = ((pre + len + 1 + 63) / 64) * 64 - pre;
    fwrite("\x93NUMPY", 1, 6, f);
    unsigned char v[6] = {(unsigned char)major, 0, (unsigned char)(hlen & 0xff),
                          (unsigned char)(hlen >> 8), 0, 0};
    fwrite(v, 1, pre - 6, f);
    fputs(dict, f);
    for (size_t i = len; i + 1 < hlen; i++)
        fputc(' ', f);
    fputc('\n', f);
    fwrite(data, 1, n, f);
    ck_assert_int_eq(fclose(f), 0);
    return p;
}

static const char *write_bytes(const char *name, const void *data, size_t n)
{
    const char *p = path_of(name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
    return p;
}

static const char *write_text(const char *name, const char *text)
{
    const char *p = path_of(name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    return p;
}

static const float six[6] = {0, 1, 2, 3, 4, 5};
#define DICT32 "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }"

/* Opens path, expecting failure with `what` in the message. */
static void open_fails(const char *path, const char *what)
{
    char err[SIM_ERRLEN];
    sim_npy *n = sim_npy_open(path, err, sizeof err);
    ck_assert_msg(n == NULL, "%s opened", path);
    ck_assert_msg(strstr(err, what) && strstr(err, path), "message: %s", err);
}

static void expect_rows(sim_npy *n, const float *want, uint64_t rows, uint32_t dim)
{
    char err[SIM_ERRLEN];
    const float *row;
    for (uint64_t r = 0; r < rows; r++) {
        ck_assert_int_eq(sim_npy_next(n, &row, err, sizeof err), 1);
        ck_assert(memcmp(row, want + r * dim, dim * sizeof *row) == 0);
    }
    ck_assert_int_eq(sim_npy_next(n, &row, err, sizeof err), 0);
}

/*=====   Core   =====*/

START_TEST(reads_version_1_and_2_headers)
{
    for (int major = 1; major <= 2; major++) {
        const char *p = write_npy("a.npy", major, DICT32, six, sizeof six);
        char err[SIM_ERRLEN];
        sim_npy *n = sim_npy_open(p, err, sizeof err);
        ck_assert_msg(n != NULL, "%s", err);
        ck_assert_uint_eq(sim_npy_rows(n), 3);
        ck_assert_uint_eq(sim_npy_dim(n), 2);
        expect_rows(n, six, 3, 2);
        ck_assert_int_eq(sim_npy_rewind(n, err, sizeof err), 0);
        expect_rows(n, six, 3, 2);
        sim_npy_close(n);
    }
}
END_TEST

START_TEST(writer_lays_out_bytes_like_numpy)
{
    /* Header text for shape (2, 3) is 59 characters; 10 bytes of preamble
     * + 59 + '\n' = 70, padded to 128: so HEADER_LEN = 118 and the data
     * starts at byte 128. */
    const float d[6] = {1.5f, -2, 0, 3, 4, 5};
    const char *p = path_of("w.npy");
    char err[SIM_ERRLEN];
    ck_assert_int_eq(sim_npy_write(p, d, 2, 3, err, sizeof err), 0);
    unsigned char buf[256];
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ck_assert_uint_eq(n, 128 + sizeof d);
    ck_assert(memcmp(buf, "\x93NUMPY\x01\x00\x76\x00", 10) == 0);
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    ck_assert_uint_eq(strlen(dict), 59);
    ck_assert(memcmp(buf + 10, dict, 59) == 0);
    for (int i = 69; i < 127; i++)
        ck_assert_int_eq(buf[i], ' ');
    ck_assert_int_eq(buf[127], '\n');
    ck_assert(memcmp(buf + 128, d, sizeof d) == 0); /* little-endian host */
    sim_npy *r = sim_npy_open(p, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    expect_rows(r, d, 2, 3);
    sim_npy_close(r);
}
END_TEST

START_TEST(numpy_written_file_loads_if_numpy_is_here)
{
    /* Only when python3 with numpy exists locally; the tests never need it. */
    const char *p = path_of("np.npy");
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "python3 -c \"import numpy as np; np.save('%s', "
             "np.arange(12, dtype='<f4').reshape(4, 3))\" 2>/dev/null",
             p);
    if (system(cmd) != 0)
        return;
    const float want[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    char err[SIM_ERRLEN];
    sim_npy *n = sim_npy_open(p, err, sizeof err);
    ck_assert_msg(n != NULL, "%s", err);
    expect_rows(n, want, 4, 3);
    sim_npy_close(n);
}
END_TEST

START_TEST(reader_takes_embeddings_from_npy)
{
    const char *trace = write_text("t.txt", "a\nb\nc\n");
    const char *npy = write_npy("e.npy", 1, DICT32, six, sizeof six);
    struct sim_reader_opts o = {SIM_FMT_PLAIN, 0, npy};
    char err[SIM_ERRLEN];
    sim_reader *r = sim_reader_open(trace, &o, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert(sim_reader_fields(r) & SIM_F_EMB);
    for (int pass = 0; pass < 2; pass++) {
        struct sim_req q;
        for (int i = 0; i < 3; i++) {
            ck_assert_int_eq(sim_reader_next(r, &q, err, sizeof err), 1);
            ck_assert(q.present & SIM_F_EMB);
            ck_assert_uint_eq(q.dim, 2);
            ck_assert(memcmp(q.emb, six + 2 * i, 2 * sizeof *q.emb) == 0);
        }
        ck_assert_int_eq(sim_reader_next(r, &q, err, sizeof err), 0);
        ck_assert_int_eq(sim_reader_rewind(r, err, sizeof err), 0);
    }
    sim_reader_close(r);
}
END_TEST

/*=====   Errors   =====*/

START_TEST(wrong_dtype_order_shape_are_errors)
{
    open_fails(write_npy("f8.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 1), }",
                         six, sizeof six),
               "'<f8' is not float32");
    open_fails(write_npy("be.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3, 2), }",
                         six, sizeof six),
               "'>f4'");
    open_fails(write_npy("fo.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }",
                         six, sizeof six),
               "fortran_order");
    open_fails(write_npy("1d.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }",
                         six, sizeof six),
               "1 dimensions");
    open_fails(write_npy("3d.npy", 1,
                         "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 2), }", six,
                         sizeof six),
               "3 dimensions");
    open_fails(write_npy("d0.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 0), }",
                         six, 0),
               "dimension 0");
    open_fails(write_npy("v9.npy", 9, DICT32, six, sizeof six), "version 9.0");
    open_fails(write_text("magic.npy", "NUMPY not really\n"), "magic");
    open_fails(write_npy("nodescr.npy", 1, "{'shape': (3, 2), }", six, sizeof six),
               "lacks 'descr'");
    /* The preamble announces a 64-byte header; the file ends after 7. */
    open_fails(write_bytes("short.npy", "\x93NUMPY\x01\x00\x40\x00{'descr'", 17), "truncated");
    open_fails(path_of("missing.npy"), "missing.npy");
}
END_TEST

START_TEST(truncated_or_overlong_data_is_an_error)
{
    char err[SIM_ERRLEN];
    const float *row;
    const char *p = write_npy("t.npy", 1, DICT32, six, 5 * sizeof(float));
    sim_npy *n = sim_npy_open(p, err, sizeof err);
    ck_assert_msg(n != NULL, "%s", err);
    ck_assert_int_eq(sim_npy_next(n, &row, err, sizeof err), 1);
    ck_assert_int_eq(sim_npy_next(n, &row, err, sizeof err), 1);
    ck_assert_int_eq(sim_npy_next(n, &row, err, sizeof err), SIM_EFORMAT);
    ck_assert_msg(strstr(err, "row 2: truncated"), "%s", err);
    sim_npy_close(n);
    const float seven[7] = {0};
    p = write_npy("long.npy", 1, DICT32, seven, sizeof seven);
    n = sim_npy_open(p, err, sizeof err);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(sim_npy_next(n, &row, err, sizeof err), 1);
    ck_assert_int_eq(sim_npy_next(n, &row, err, sizeof err), SIM_EFORMAT);
    ck_assert_msg(strstr(err, "after the 3 rows"), "%s", err);
    sim_npy_close(n);
}
END_TEST

/* Reads the whole trace; returns the final code and leaves the message. */
static int read_all(const char *trace, const char *npy, char *err, size_t errlen)
{
    struct sim_reader_opts o = {SIM_FMT_PLAIN, 0, npy};
    sim_reader *r = sim_reader_open(trace, &o, err, errlen);
    ck_assert_msg(r != NULL, "%s", err);
    struct sim_req q;
    int rc;
    while ((rc = sim_reader_next(r, &q, err, errlen)) == 1)
        ;
    sim_reader_close(r);
    return rc;
}

START_TEST(row_count_mismatch_and_nan_are_reader_errors)
{
    char err[SIM_ERRLEN];
    const char *npy = write_npy("e.npy", 1, DICT32, six, sizeof six);
    ck_assert_int_eq(read_all(write_text("t4.txt", "a\nb\nc\nd\n"), npy, err, sizeof err),
                     SIM_EFORMAT);
    ck_assert_msg(strstr(err, "t4.txt:4: request 4 has no embedding") && strstr(err, "only 3 rows"),
                  "%s", err);
    ck_assert_int_eq(read_all(write_text("t2.txt", "a\nb\n"), npy, err, sizeof err),
                     SIM_EFORMAT);
    ck_assert_msg(strstr(err, "ended after 2 requests") && strstr(err, "has 3 rows"), "%s",
                  err);
    const float bad[6] = {0, 1, 2, NAN, 4, 5};
    npy = write_npy("nan.npy", 1, DICT32, bad, sizeof bad);
    ck_assert_int_eq(read_all(write_text("t3.txt", "a\nb\nc\n"), npy, err, sizeof err),
                     SIM_EFORMAT);
    ck_assert_msg(strstr(err, "t3.txt:2: embedding component 2 is NaN"), "%s", err);
}
END_TEST

static Suite *npy_suite(void)
{
    Suite *s = suite_create("npy");
    TCase *core = tcase_create("Core"), *errors = tcase_create("Errors");
    tcase_add_checked_fixture(core, setup, teardown);
    tcase_add_checked_fixture(errors, setup, teardown);
    tcase_add_test(core, reads_version_1_and_2_headers);
    tcase_add_test(core, writer_lays_out_bytes_like_numpy);
    tcase_add_test(core, numpy_written_file_loads_if_numpy_is_here);
    tcase_add_test(core, reader_takes_embeddings_from_npy);
    tcase_add_test(errors, wrong_dtype_order_shape_are_errors);
    tcase_add_test(errors, truncated_or_overlong_data_is_an_error);
    tcase_add_test(errors, row_count_mismatch_and_nan_are_reader_errors);
    suite_add_tcase(s, core);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(npy_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
