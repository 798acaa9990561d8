/*
 * check_contract.c - the contract every registered policy keeps, and
 * properties that relate policies to each other.
 *
 * Contract (one loop test over the registry): on generated traces (Zipf-
 * like and uniform keys, mixed sizes, TTLs and deletes), in byte and object
 * units: hits + misses = counted requests (deletes are not counted),
 * sim_cache_check() passes after every request (the policies' checks
 * include used <= capacity), and the same seed gives the same metrics.
 * Policies that need request fields beyond key, size, time, TTL, op and
 * next_access (semantic caches) are skipped: these traces cannot feed them.
 *
 * Properties: LRU is a stack algorithm (its misses never rise with the
 * size); Belady's MIN has no more misses than any policy at the same object
 * count; LFU and SIEVE differ in general but must agree when everything
 * fits (compulsory misses only) and at capacity 1 (a miss at every change
 * of key).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "sim_policy.h"

#define NREQ 3000
#define NKEYS 400
#define FIELDS (SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_TTL | SIM_F_OP | SIM_F_NEXT)

enum kind { ZIPF, UNIFORM, TTL_DELETE, NKINDS };

struct trace {
    struct sim_req r[NREQ];
    uint64_t bytes;     /* working set: each key's size once */
    uint64_t keys;      /* distinct keys requested */
};

static uint64_t key_size(uint64_t key, int unit_sizes)
{
    return unit_sizes ? 1 : 1 + sim_key_hash(key) % 4000;
}

/* Fills next_access by a backward scan (keys are < NKEYS). */
static void set_next(struct trace *t)
{
    int64_t last[NKEYS];
    for (int k = 0; k < NKEYS; k++)
        last[k] = -1;
    for (int i = NREQ; i-- > 0;) {
        t->r[i].next_access = last[t->r[i].key];
        last[t->r[i].key] = i;
    }
}

/* Zipf-like keys: NKEYS * u^3 puts about 46% of requests on the first 10%
 * of keys.  TTL_DELETE: Zipf-like keys, one key in five has a TTL of 1-20 s
 * (the trace lasts 30 s), 3% of requests are deletes. */
static void gen(struct trace *t, enum kind kind, uint64_t seed, int unit_sizes)
{
    struct sim_rng g;
    uint8_t seen[NKEYS] = {0};
    sim_rng_seed(&g, seed);
    memset(t, 0, sizeof *t);
    for (int i = 0; i < NREQ; i++) {
        struct sim_req *q = &t->r[i];
        double u = sim_rng_unit(&g);
        q->key = kind == UNIFORM ? sim_rng_below(&g, NKEYS) : (uint64_t)(NKEYS * u * u * u);
        q->index = (uint64_t)i;
        q->time = (uint64_t)i * 10000;
        q->size = key_size(q->key, unit_sizes);
        q->present = FIELDS;
        if (kind == TTL_DELETE) {
            if (sim_key_hash(q->key) % 5 == 0)
                q->ttl = 1 + (uint32_t)(sim_key_hash(q->key + 1) % 20);
            if (sim_rng_below(&g, 100) < 3)
                q->op = SIM_OP_DELETE;
        }
        if (!seen[q->key]) {
            seen[q->key] = 1;
            t->keys++;
            t->bytes += q->size;
        }
    }
    set_next(t);
}

static sim_cache *make(const char *spec, enum sim_unit unit, uint64_t cap)
{
    char err[SIM_ERRLEN];
    struct sim_cache_config cfg = {cap, unit, 7, FIELDS, NULL};
    sim_cache *c = sim_cache_create(spec, &cfg, err, sizeof err);
    ck_assert_msg(c != NULL, "%s: %s", spec, err);
    return c;
}

/* Runs the trace; with `check`, asserts the invariants after each request.
 * Returns the metrics; *counted gets the non-delete requests. */
static struct sim_metrics run(const char *spec, enum sim_unit unit, uint64_t cap,
                              const struct trace *t, int check, uint64_t *counted)
{
    sim_cache *c = make(spec, unit, cap);
    char err[SIM_ERRLEN];
    uint64_t n = 0;
    for (int i = 0; i < NREQ; i++) {
        sim_cache_access(c, &t->r[i], NULL);
        n += t->r[i].op != SIM_OP_DELETE;
        if (check)
            ck_assert_msg(sim_cache_check(c, err, sizeof err) == 0, "%s, request %d: %s",
                          spec, i, err);
    }
    struct sim_metrics m;
    sim_cache_metrics(c, &m);
    sim_cache_free(c);
    if (counted)
        *counted = n;
    return m;
}

static int runnable(const struct sim_policy_ops *ops)
{
    return (ops->needs & ~(uint32_t)FIELDS) == 0;
}

/*=====   The contract, for every registered policy   =====*/

START_TEST(test_policy_contract)
{
    const struct sim_policy_ops *ops = sim_policy_at((size_t)_i);
    ck_assert_ptr_nonnull(ops);
    if (!runnable(ops))
        return; /* a semantic policy: needs fields these traces lack */
    ck_assert_msg(ops->check != NULL, "%s has no check hook", ops->name);
    static struct trace t;
    for (int kind = 0; kind < NKINDS; kind++) {
        for (int unit = SIM_UNIT_BYTES; unit <= SIM_UNIT_OBJECTS; unit++) {
            gen(&t, (enum kind)kind, 100 + (uint64_t)kind, unit == SIM_UNIT_OBJECTS);
            uint64_t cap = unit == SIM_UNIT_BYTES ? t.bytes / 5 : 60, counted;
            struct sim_metrics a = run(ops->name, (enum sim_unit)unit, cap, &t, 1, &counted);
            ck_assert_msg(a.hits + a.misses == a.requests && a.requests == counted,
                          "%s kind %d unit %d: %llu hits + %llu misses, %llu requests",
                          ops->name, kind, unit, (unsigned long long)a.hits,
                          (unsigned long long)a.misses, (unsigned long long)counted);
            ck_assert_msg(a.hits > 0, "%s kind %d unit %d: no hit at all", ops->name, kind,
                          unit);
            struct sim_metrics b = run(ops->name, (enum sim_unit)unit, cap, &t, 0, NULL);
            ck_assert_msg(a.hits == b.hits && a.bytes_missed == b.bytes_missed
                              && a.evictions == b.evictions && a.expirations == b.expirations,
                          "%s kind %d unit %d: same seed, different result", ops->name, kind,
                          unit);
        }
    }
}
END_TEST

/*=====   Properties   =====*/

/* LRU is a stack algorithm (Mattson et al. 1970): the cache of size c is a
 * subset of the cache of size c+1 at every step, so misses never rise. */
START_TEST(test_lru_misses_never_rise_with_size)
{
    static struct trace t;
    for (int kind = ZIPF; kind <= UNIFORM; kind++) {
        gen(&t, (enum kind)kind, 5, 1);
        uint64_t prev = UINT64_MAX;
        for (uint64_t cap = 1; cap <= 200; cap++) {
            uint64_t m = run("lru", SIM_UNIT_OBJECTS, cap, &t, 0, NULL).misses;
            ck_assert_msg(m <= prev, "kind %d: %llu misses at %llu > %llu at %llu", kind,
                          (unsigned long long)m, (unsigned long long)cap,
                          (unsigned long long)prev, (unsigned long long)(cap - 1));
            prev = m;
        }
        ck_assert_uint_gt(prev, t.keys); /* 200 < 400 keys: not only compulsory */
    }
}
END_TEST

/* Belady's MIN is optimal for unit sizes among policies that store every
 * missed object (Belady 1966; Mattson et al. 1970).  A policy that may
 * refuse an object could in principle do better; none of ours gains from
 * it at these sizes, which this test would reveal. */
START_TEST(test_belady_has_fewest_misses)
{
    static struct trace t;
    const uint64_t caps[] = {20, 50, 100, 200};
    for (int kind = ZIPF; kind <= UNIFORM; kind++) {
        gen(&t, (enum kind)kind, 9, 1);
        for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
            uint64_t opt = run("belady", SIM_UNIT_OBJECTS, caps[c], &t, 0, NULL).misses;
            for (size_t i = 0; i < sim_policy_count(); i++) {
                const struct sim_policy_ops *ops = sim_policy_at(i);
                if (!runnable(ops))
                    continue;
                uint64_t m = run(ops->name, SIM_UNIT_OBJECTS, caps[c], &t, 0, NULL).misses;
                ck_assert_msg(opt <= m, "kind %d size %llu: belady %llu misses > %s %llu", kind,
                              (unsigned long long)caps[c], (unsigned long long)opt, ops->name,
                              (unsigned long long)m);
            }
        }
    }
}
END_TEST

/* Hit/miss string of a policy on the trace. */
static void outcomes(const char *spec, uint64_t cap, const struct trace *t, char *out)
{
    sim_cache *c = make(spec, SIM_UNIT_OBJECTS, cap);
    for (int i = 0; i < NREQ; i++) {
        struct sim_outcome o;
        sim_cache_access(c, &t->r[i], &o);
        out[i] = o.hit ? 'H' : 'M';
    }
    out[NREQ] = 0;
    sim_cache_free(c);
}

START_TEST(test_lfu_and_sieve_differ)
{
    static struct trace t;
    static char a[NREQ + 1], b[NREQ + 1];
    gen(&t, ZIPF, 11, 1);
    outcomes("lfu", 50, &t, a);
    outcomes("sieve", 50, &t, b);
    ck_assert_msg(strcmp(a, b) != 0, "LFU and SIEVE agree on every request");
}
END_TEST

/* When every object fits, nothing is evicted: only the first request of
 * each key misses.  At capacity 1, the one cached object is the previous
 * request's, so exactly the requests that change the key miss. */
START_TEST(test_lfu_and_sieve_agree_where_forced)
{
    static struct trace t;
    static char a[NREQ + 1], b[NREQ + 1];
    for (int kind = ZIPF; kind <= UNIFORM; kind++) {
        gen(&t, (enum kind)kind, 13, 1);
        uint64_t changes = 0;
        for (int i = 0; i < NREQ; i++)
            changes += i == 0 || t.r[i].key != t.r[i - 1].key;
        const char *specs[] = {"lfu", "sieve"};
        for (int s = 0; s < 2; s++) {
            ck_assert_uint_eq(run(specs[s], SIM_UNIT_OBJECTS, NKEYS, &t, 0, NULL).misses,
                              t.keys);
            ck_assert_uint_eq(run(specs[s], SIM_UNIT_OBJECTS, 1, &t, 0, NULL).misses,
                              changes);
        }
        outcomes("lfu", NKEYS, &t, a);
        outcomes("sieve", NKEYS, &t, b);
        ck_assert_str_eq(a, b);
        outcomes("lfu", 1, &t, a);
        outcomes("sieve", 1, &t, b);
        ck_assert_str_eq(a, b);
    }
}
END_TEST

static Suite *contract_suite(void)
{
    Suite *s = suite_create("contract");
    TCase *core = tcase_create("Core");
    tcase_set_timeout(core, 120);
    tcase_add_loop_test(core, test_policy_contract, 0, (int)sim_policy_count());
    tcase_add_test(core, test_lru_misses_never_rise_with_size);
    tcase_add_test(core, test_belady_has_fewest_misses);
    tcase_add_test(core, test_lfu_and_sieve_differ);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("Limits");
    tcase_add_test(limits, test_lfu_and_sieve_agree_where_forced);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(contract_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
