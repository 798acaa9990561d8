/*
 * check_core.c - libsim's core: key table, parameters, the object-cache
 * framework (through LRU and FIFO), runs, CSV output and the PRNG.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"
#include "sim_policy.h"

/*=====   helpers   =====*/

static struct sim_req req_of(uint64_t key, uint64_t size, uint64_t index)
{
    struct sim_req q;
    memset(&q, 0, sizeof q);
    q.key = key;
    q.size = size;
    q.index = index;
    q.next_access = -1;
    q.present = SIM_F_KEY | SIM_F_SIZE;
    return q;
}

static sim_cache *make_cache(const char *spec, uint64_t cap, enum sim_unit unit)
{
    char err[SIM_ERRLEN];
    struct sim_cache_config cfg = {cap, unit, 1, SIM_F_KEY | SIM_F_SIZE | SIM_F_TIME | SIM_F_TTL,
                                   NULL};
    sim_cache *c = sim_cache_create(spec, &cfg, err, sizeof err);
    ck_assert_msg(c != NULL, "%s: %s", spec, err);
    return c;
}

/* Runs keys (one char each) through c; returns the hit pattern as a string. */
static void run_keys(sim_cache *c, const char *keys, const uint64_t *sizes, char *pattern)
{
    for (size_t i = 0; keys[i]; i++) {
        struct sim_req q = req_of((uint64_t)keys[i], sizes ? sizes[i] : 1, i);
        struct sim_outcome o;
        sim_cache_access(c, &q, &o);
        pattern[i] = o.hit ? 'H' : 'M';
        char err[SIM_ERRLEN];
        ck_assert_msg(sim_cache_check(c, err, sizeof err) == 0, "%s", err);
    }
    pattern[strlen(keys)] = 0;
}

/*=====   keymap   =====*/

struct rec { uint64_t key; uint32_t pad[2]; };

START_TEST(keymap_matches_naive_model)
{
    /* Random puts and deletes against a direct-indexed model. */
    enum { N = 20000, KEYS = 5000 };
    struct rec *recs = calloc(KEYS, sizeof *recs);
    uint8_t *base = (uint8_t *)recs;
    int *present = calloc(KEYS, sizeof *present);
    struct sim_keymap m;
    ck_assert_int_eq(sim_keymap_init(&m, 0, &base, sizeof *recs), 0);
    struct sim_rng g;
    sim_rng_seed(&g, 7);
    for (uint32_t i = 0; i < KEYS; i++)
        recs[i].key = sim_rng_next(&g) | 1; /* any distinct-ish 64-bit keys */
    for (int step = 0; step < N; step++) {
        uint32_t id = (uint32_t)sim_rng_below(&g, KEYS);
        if (present[id]) {
            sim_keymap_del(&m, recs[id].key);
            present[id] = 0;
        } else {
            ck_assert_int_eq(sim_keymap_put(&m, recs[id].key, id), 0);
            present[id] = 1;
        }
        if (step % 997 == 0)
            for (uint32_t k = 0; k < KEYS; k++)
                ck_assert_uint_eq(sim_keymap_get(&m, recs[k].key),
                                  present[k] ? k : SIM_KEYMAP_NONE);
    }
    uint64_t n = 0;
    for (uint32_t k = 0; k < KEYS; k++)
        n += (uint64_t)present[k];
    ck_assert_uint_eq(m.count, n);
    sim_keymap_free(&m);
    free(recs);
    free(present);
}
END_TEST

START_TEST(keymap_sequential_keys_and_zero)
{
    /* Block ids are sequential; key 0 is a legal key. */
    enum { KEYS = 3000 };
    struct rec *recs = calloc(KEYS, sizeof *recs);
    uint8_t *base = (uint8_t *)recs;
    struct sim_keymap m;
    ck_assert_int_eq(sim_keymap_init(&m, 10, &base, sizeof *recs), 0);
    for (uint32_t i = 0; i < KEYS; i++) {
        recs[i].key = i;
        ck_assert_int_eq(sim_keymap_put(&m, i, i), 0);
    }
    for (uint32_t i = 0; i < KEYS; i += 2)
        sim_keymap_del(&m, i);
    for (uint32_t i = 0; i < KEYS; i++)
        ck_assert_uint_eq(sim_keymap_get(&m, i), i % 2 ? i : SIM_KEYMAP_NONE);
    ck_assert_uint_eq(sim_keymap_get(&m, KEYS + 5), SIM_KEYMAP_NONE);
    sim_keymap_free(&m);
    free(recs);
}
END_TEST

/*=====   parameters   =====*/

static const struct sim_param_def defs[] = {
    {"ratio", SIM_P_REAL, "0.1", 0, 1, NULL, "a fraction"},
    {"count", SIM_P_INT, "4", 1, 16, NULL, "a count"},
    {"flag", SIM_P_BOOL, "false", 0, 0, NULL, "a switch"},
    {"mode", SIM_P_ENUM, "lru", 0, 0, "lru|lfu|fifo", "a choice"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

START_TEST(params_defaults_and_values)
{
    char err[SIM_ERRLEN];
    sim_params *p = sim_params_parse("t", defs, "count=7,MODE=LFU,flag=yes", err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_double_eq(sim_params_real(p, "ratio"), 0.1);
    ck_assert_int_eq(sim_params_int(p, "count"), 7);
    ck_assert_int_eq(sim_params_bool(p, "flag"), 1);
    ck_assert_str_eq(sim_params_str(p, "mode"), "lfu");
    /* Only what the user set, in declaration order. */
    ck_assert_str_eq(sim_params_canonical(p), "count=7,flag=yes,mode=lfu");
    sim_params_free(p);
}
END_TEST

static const char *const bad_specs[][2] = {
    {"foo=1", "unknown parameter 'foo'"},
    {"ratio=2", "outside"},
    {"ratio=0.5x", "not a number"},
    {"count=1.5", "not an integer"},
    {"count=", "not an integer"},
    {"flag=maybe", "not a boolean"},
    {"mode=arc", "not one of"},
    {"count=2,count=3", "given twice"},
    {"ratio", "no value"},
};

START_TEST(params_errors_name_the_key)
{
    char err[SIM_ERRLEN] = "";
    sim_params *p = sim_params_parse("t", defs, bad_specs[_i][0], err, sizeof err);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(err, bad_specs[_i][1]) != NULL, "'%s' gave '%s'", bad_specs[_i][0],
                  err);
    ck_assert_msg(strncmp(err, "t: ", 3) == 0, "owner missing in '%s'", err);
}
END_TEST

/*=====   object caches   =====*/

START_TEST(lru_hand_sequence)
{
    /* LRU, 3 objects.  a b c a d b e a:
     * a M [a]; b M [b a]; c M [c b a]; a H [a c b]; d M evict b [d a c];
     * b M evict c [b d a]; e M evict a [e b d]; a M evict d [a e b]. */
    sim_cache *c = make_cache("lru", 3, SIM_UNIT_OBJECTS);
    char pat[32];
    run_keys(c, "abcadbea", NULL, pat);
    ck_assert_str_eq(pat, "MMMHMMMM");
    struct sim_metrics m;
    sim_cache_metrics(c, &m);
    ck_assert_uint_eq(m.requests, 8);
    ck_assert_uint_eq(m.hits, 1);
    ck_assert_uint_eq(m.evictions, 4);
    sim_cache_free(c);
}
END_TEST

START_TEST(fifo_hand_sequence)
{
    /* FIFO, 3 objects.  a b c a d a b:
     * a b c M; a H (order unchanged: a oldest); d M evicts a [d c b];
     * a M evicts b [a d c]; b M evicts c. */
    sim_cache *c = make_cache("fifo", 3, SIM_UNIT_OBJECTS);
    char pat[32];
    run_keys(c, "abcadab", NULL, pat);
    ck_assert_str_eq(pat, "MMMHMMM");
    sim_cache_free(c);
}
END_TEST

START_TEST(bytes_first_size_and_too_large)
{
    /* LRU, 10 bytes.  a(4) b(4) a(9: keeps its first size 4, a hit)
     * c(11: larger than the cache, a miss, not stored, nothing evicted)
     * d(3): needs 3, 8 used -> evict LRU b; a H. */
    sim_cache *c = make_cache("lru", 10, SIM_UNIT_BYTES);
    uint64_t sizes[] = {4, 4, 9, 11, 3, 4};
    char pat[32];
    run_keys(c, "abacda", sizes, pat);
    ck_assert_str_eq(pat, "MMHMMH");
    struct sim_metrics m;
    sim_cache_metrics(c, &m);
    ck_assert_uint_eq(m.evictions, 1);
    ck_assert_uint_eq(m.bytes, 4 + 4 + 9 + 11 + 3 + 4);
    ck_assert_uint_eq(m.bytes_missed, 4 + 4 + 11 + 3);
    sim_cache_free(c);
}
END_TEST

START_TEST(ttl_expires_lazily)
{
    /* a at t=0 with ttl 10 s: hit at t=9.999999, miss at t=10 (expired,
     * counted), then stored again. */
    sim_cache *c = make_cache("lru", 10, SIM_UNIT_OBJECTS);
    uint64_t times[] = {0, 9999999, 10000000, 10000001};
    int want[] = {0, 1, 0, 1};
    for (int i = 0; i < 4; i++) {
        struct sim_req q = req_of('a', 1, (uint64_t)i);
        q.time = times[i];
        q.ttl = 10;
        q.present |= SIM_F_TIME | SIM_F_TTL;
        struct sim_outcome o;
        sim_cache_access(c, &q, &o);
        ck_assert_int_eq(o.hit, want[i]);
    }
    struct sim_metrics m;
    sim_cache_metrics(c, &m);
    ck_assert_uint_eq(m.expirations, 1);
    sim_cache_free(c);
}
END_TEST

START_TEST(delete_removes_and_is_not_counted)
{
    sim_cache *c = make_cache("lru", 10, SIM_UNIT_OBJECTS);
    struct sim_req q = req_of('a', 1, 0);
    sim_cache_access(c, &q, NULL);
    q.op = SIM_OP_DELETE;
    sim_cache_access(c, &q, NULL);
    q.op = SIM_OP_GET;
    struct sim_outcome o;
    sim_cache_access(c, &q, &o);
    ck_assert_int_eq(o.hit, 0);
    struct sim_metrics m;
    sim_cache_metrics(c, &m);
    ck_assert_uint_eq(m.requests, 2);
    sim_cache_free(c);
}
END_TEST

START_TEST(cache_create_errors)
{
    char err[SIM_ERRLEN];
    struct sim_cache_config cfg = {10, SIM_UNIT_OBJECTS, 1, SIM_F_KEY | SIM_F_SIZE, NULL};
    ck_assert_ptr_null(sim_cache_create("nosuch", &cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "unknown policy 'nosuch'"));
    ck_assert_ptr_null(sim_cache_create("lru:x=1", &cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "unknown parameter 'x'"));
    cfg.capacity = 0;
    ck_assert_ptr_null(sim_cache_create("lru", &cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "greater than 0"));
}
END_TEST

/* A naive LRU over an array, as an independent model. */
static uint64_t naive_lru_misses(const uint64_t *keys, size_t n, size_t cap)
{
    uint64_t *stack = calloc(cap, sizeof *stack);
    size_t len = 0;
    uint64_t misses = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < len && stack[j] != keys[i])
            j++;
        if (j == len) {
            misses++;
            if (len < cap)
                len++;
            j = len - 1;
        }
        memmove(stack + 1, stack, j * sizeof *stack);
        stack[0] = keys[i];
    }
    free(stack);
    return misses;
}

START_TEST(lru_equals_naive_model)
{
    enum { N = 20000 };
    uint64_t *keys = malloc(N * sizeof *keys);
    struct sim_rng g;
    sim_rng_seed(&g, 3);
    for (size_t i = 0; i < N; i++) /* skewed: squares of uniforms */
        keys[i] = (uint64_t)(pow(sim_rng_unit(&g), 2) * 500);
    size_t caps[] = {1, 7, 50, 200, 600};
    for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
        sim_cache *c = make_cache("lru", caps[k], SIM_UNIT_OBJECTS);
        for (size_t i = 0; i < N; i++) {
            struct sim_req q = req_of(keys[i], 1, i);
            sim_cache_access(c, &q, NULL);
        }
        struct sim_metrics m;
        sim_cache_metrics(c, &m);
        ck_assert_uint_eq(m.misses, naive_lru_misses(keys, N, caps[k]));
        sim_cache_free(c);
    }
    free(keys);
}
END_TEST

/*=====   runs and CSV   =====*/

static char *write_plain_trace(const char *keys)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/check_core_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    for (size_t i = 0; keys[i]; i++)
        fprintf(f, "%c\n", keys[i]);
    fclose(f);
    return path;
}

START_TEST(run_threads_warmup_and_csv)
{
    /* plain trace a b a c b a; LRU 2 objects:
     * a M, b M, a H, c M (evict b), b M (evict a), a M -> 1 hit of 6.
     * With warmup 2 only the last 4 count: a H, c M, b M, a M. */
    char *path = write_plain_trace("abacba");
    char err[SIM_ERRLEN];
    sim_reader *r = sim_reader_open(path, NULL, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_int_eq(sim_reader_format(r), SIM_FMT_PLAIN);
    sim_cache *cs[3] = {make_cache("lru", 2, SIM_UNIT_OBJECTS),
                        make_cache("lru", 2, SIM_UNIT_OBJECTS),
                        make_cache("fifo", 2, SIM_UNIT_OBJECTS)};
    struct sim_run_opts ro = {0, 2, NULL, NULL};
    ck_assert_int_eq(sim_run(r, cs, 3, &ro, err, sizeof err), 0);
    struct sim_metrics m;
    sim_cache_metrics(cs[0], &m);
    ck_assert_uint_eq(m.hits, 1);
    ck_assert_uint_eq(m.requests, 6);

    ck_assert_int_eq(sim_reader_rewind(r, err, sizeof err), 0);
    sim_cache *w = make_cache("lru", 2, SIM_UNIT_OBJECTS);
    struct sim_run_opts ro2 = {2, 1, NULL, NULL};
    ck_assert_int_eq(sim_run(r, &w, 1, &ro2, err, sizeof err), 0);
    sim_cache_metrics(w, &m);
    ck_assert_uint_eq(m.requests, 4);
    ck_assert_uint_eq(m.hits, 1);

    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    sim_csv_header(f, NULL);
    sim_csv_row(f, "t,1", w, NULL);
    fclose(f);
    /* The trace name has a comma: quoted.  miss_ratio 3/4 = 0.75. */
    ck_assert_msg(strstr(buf, "\n\"t,1\",lru,,2,objects,4,1,3,0.75,4,3,0.75,") != NULL, "%s",
                  buf);
    free(buf);
    for (int i = 0; i < 3; i++)
        sim_cache_free(cs[i]);
    sim_cache_free(w);
    sim_reader_close(r);
    unlink(path);
}
END_TEST

/* sim_trace_stats against an independent count: 80,000 oracleGeneral
 * requests over keys 0..49,999 (key = i * 7919 mod 50000, so every key,
 * key 0 included, comes up; 50,000 distinct keys outgrow the first table
 * of the pre-pass), each key's size key % 100 + 1; the distinct keys and
 * the sum of their sizes are counted with a flag array. */
START_TEST(trace_stats_counts_distinct)
{
    enum { N = 80000, K = 50000 };
    static uint8_t seen[K];
    static char path[64];
    snprintf(path, sizeof path, "/tmp/check_core_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "wb");
    uint64_t objects = 0, bytes = 0;
    memset(seen, 0, sizeof seen);
    for (uint32_t i = 0; i < N; i++) {
        uint64_t key = (uint64_t)i * 7919 % K;
        uint32_t t = i, size = (uint32_t)(key % 100 + 1);
        int64_t next = -1;
        unsigned char rec[24];
        memcpy(rec, &t, 4); /* little-endian host, as the format */
        memcpy(rec + 4, &key, 8);
        memcpy(rec + 12, &size, 4);
        memcpy(rec + 16, &next, 8);
        ck_assert_uint_eq(fwrite(rec, 1, sizeof rec, f), sizeof rec);
        if (!seen[key]) {
            seen[key] = 1;
            objects++;
            bytes += size;
        }
    }
    fclose(f);
    ck_assert_uint_eq(objects, K);
    char err[SIM_ERRLEN];
    struct sim_reader_opts ro = {SIM_FMT_ORACLE, 0, NULL};
    sim_reader *r = sim_reader_open(path, &ro, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    struct sim_trace_stats st;
    ck_assert_int_eq(sim_trace_stats(r, &st, err, sizeof err), 0);
    ck_assert_uint_eq(st.requests, N);
    ck_assert_uint_eq(st.objects, objects);
    ck_assert_uint_eq(st.bytes, bytes);
    sim_reader_close(r);
    unlink(path);
}
END_TEST

START_TEST(rng_is_deterministic_and_bounded)
{
    struct sim_rng a, b;
    sim_rng_seed(&a, 42);
    sim_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(sim_rng_next(&a), sim_rng_next(&b));
    sim_rng_seed(&b, 43);
    ck_assert_uint_ne(sim_rng_next(&a), sim_rng_next(&b));
    /* below(6): every face within 1% of 1/6 over 600k draws (sd ~0.05%). */
    uint64_t count[6] = {0};
    for (int i = 0; i < 600000; i++)
        count[sim_rng_below(&a, 6)]++;
    for (int i = 0; i < 6; i++)
        ck_assert_msg(count[i] > 99000 && count[i] < 101000, "face %d: %llu", i,
                      (unsigned long long)count[i]);
    for (int i = 0; i < 1000; i++) {
        double u = sim_rng_unit(&a);
        ck_assert(u >= 0 && u < 1);
    }
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("Core");
    tcase_add_test(tc, keymap_matches_naive_model);
    tcase_add_test(tc, keymap_sequential_keys_and_zero);
    tcase_add_test(tc, params_defaults_and_values);
    tcase_add_test(tc, lru_hand_sequence);
    tcase_add_test(tc, fifo_hand_sequence);
    tcase_add_test(tc, ttl_expires_lazily);
    tcase_add_test(tc, delete_removes_and_is_not_counted);
    tcase_add_test(tc, lru_equals_naive_model);
    tcase_add_test(tc, run_threads_warmup_and_csv);
    tcase_add_test(tc, trace_stats_counts_distinct);
    tcase_add_test(tc, rng_is_deterministic_and_bounded);
    suite_add_tcase(s, tc);
    TCase *lim = tcase_create("Limits");
    tcase_add_test(lim, bytes_first_size_and_too_large);
    suite_add_tcase(s, lim);
    TCase *e = tcase_create("Errors");
    tcase_add_loop_test(e, params_errors_name_the_key, 0,
                        (int)(sizeof bad_specs / sizeof bad_specs[0]));
    tcase_add_test(e, cache_create_errors);
    suite_add_tcase(s, e);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(core_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
