/*
 * check_serve.c - the serving simulation: model pool configs, queueing
 * against analytic results, conservation, routers and the example cache.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"
#include "serve.h"
#include "sim_serve.h"

static char cfg_path[64];

static void write_cfg(const char *text)
{
    snprintf(cfg_path, sizeof cfg_path, "/tmp/check_serve_XXXXXX");
    int fd = mkstemp(cfg_path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
}

static sim_modelpool *load(const char *text, char *err)
{
    write_cfg(text);
    sim_modelpool *p = sim_modelpool_load(cfg_path, err, SIM_ERRLEN);
    unlink(cfg_path);
    return p;
}

#define MODEL(name, rep, batch, dec, tps, q)                                             \
    "[model " name "]\nreplicas = " rep "\nbatch = " batch "\nprefill_ms_per_token = 0\n" \
    "decode_ms_per_token = " dec "\ntokens_per_s = " tps "\ncost_in_per_mtok = 1\n"       \
    "cost_out_per_mtok = 2\nquality = " q "\n"

/*=====   config   =====*/

START_TEST(pool_parses_fields)
{
    char err[SIM_ERRLEN];
    sim_modelpool *p = load("[pool]\ncategories = code chat\n" MODEL("s", "2", "8", "5", "400", "0.6")
                            "quality.code = 0.5\nexample_gain = 0.2\n"
                            MODEL("l", "1", "4", "20", "100", "0.9"), err);
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_uint_eq(sim_modelpool_count(p), 2);
    const struct sim_model *s = sim_modelpool_model(p, 0);
    ck_assert_str_eq(s->name, "s");
    ck_assert_uint_eq(s->replicas, 2);
    ck_assert_double_eq_tol(s->decode_s, 0.005, 1e-12);
    ck_assert_double_eq_tol(s->cost_out, 2e-6, 1e-15);
    ck_assert_int_eq(sim_modelpool_category(p, "chat"), 1);
    ck_assert_double_eq(s->quality[0], 0.5); /* code */
    ck_assert_double_eq(s->quality[1], 0.6); /* chat: the default */
    ck_assert_uint_eq(sim_modelpool_largest(p), 1);
    ck_assert_int_eq(sim_modelpool_category(p, "nope"), SIM_ENOTFOUND);
    sim_modelpool_free(p);
}
END_TEST

/* Each bad config and a fragment its message must contain. */
static const char *const bad_cfgs[][2] = {
    {MODEL("a", "0", "1", "1", "1000", "0.5"), ":2: replicas: 0 is outside"},
    {MODEL("a", "1", "1", "1", "1000", "1.5"), ":9: quality: 1.5 is outside"},
    {"[pool]\ncategories = x\n" MODEL("a", "1", "1", "1", "1000", "0.5") "quality.y = 0.4\n",
     ":12: quality.y: unknown category 'y'"},
    {"[model a]\nreplicas = 1\n", ":1: model 'a': missing field 'batch'"},
    {MODEL("a", "1", "1", "10", "50", "0.5"), "tokens_per_s 50 is below"},
    {MODEL("a", "1", "1", "1", "1000", "0.5") "speed = 3\n", ":10: unknown field 'speed'"},
    {MODEL("a", "1", "1", "1", "1000", "zero"), ":9: quality: 'zero' is not a number"},
    {"[pool]\n", "no [model] section"},
};

START_TEST(pool_errors_name_line_and_field)
{
    char err[SIM_ERRLEN] = "";
    sim_modelpool *p = load(bad_cfgs[_i][0], err);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(err, bad_cfgs[_i][1]) != NULL, "case %d: '%s'", _i, err);
    ck_assert_msg(strncmp(err, "/tmp/check_serve_", 17) == 0, "no file name: '%s'", err);
}
END_TEST

/*=====   queueing   =====*/

/* One replica, batch 1, no prefill, 1 ms per output token: a FIFO single
 * server whose service time is tokens_out ms. */
static const char *single_server =
    MODEL("only", "1", "1", "1", "1000", "0.8");

static struct sim_serve_stats run_queue(double lambda, int exponential, uint64_t n)
{
    char err[SIM_ERRLEN];
    sim_modelpool *p = load(single_server, err);
    ck_assert_msg(p != NULL, "%s", err);
    struct sim_serve_config c;
    sim_serve_config_init(&c, p);
    c.router = SIM_ROUTE_LARGE;
    c.arrival_rate = lambda;
    c.seed = 11;
    sim_serve *s = sim_serve_create(&c, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    struct sim_rng g;
    sim_rng_seed(&g, 5);
    for (uint64_t i = 0; i < n; i++) {
        struct sim_req q;
        memset(&q, 0, sizeof q);
        q.index = i;
        q.key = i;
        q.present = SIM_F_KEY | SIM_F_TOKENS;
        q.tokens_in = 10;
        /* Exponential with mean 1000 tokens (1 s), drawn continuous and
         * rounded: the rounding changes the mean by < 0.01%. */
        q.tokens_out = exponential ? (uint32_t)llround(-1000 * log(1 - sim_rng_unit(&g))) : 1000;
        ck_assert_int_eq(sim_serve_arrive(s, &q, NULL, err, sizeof err), 0);
    }
    struct sim_serve_stats st;
    sim_serve_finish(s, 1, &st);
    ck_assert_uint_eq(st.completed, n);
    ck_assert_uint_eq(st.in_flight, 0);
    sim_serve_free(s);
    sim_modelpool_free(p);
    return st;
}

START_TEST(mm1_mean_latency)
{
    /* M/M/1, mu = 1/s: at rho 0.5 the mean time in system is
     * 1 / (mu - lambda) = 2 s; at rho 0.7, 3.33 s. */
    struct sim_serve_stats st = run_queue(0.5, 1, 200000);
    ck_assert_msg(fabs(st.e2e_mean - 2.0) / 2.0 < 0.03, "rho 0.5: %g", st.e2e_mean);
    ck_assert_msg(fabs(st.throughput_rps - 0.5) / 0.5 < 0.02, "throughput %g", st.throughput_rps);
    st = run_queue(0.7, 1, 200000);
    ck_assert_msg(fabs(st.e2e_mean - 1 / 0.3) / (1 / 0.3) < 0.05, "rho 0.7: %g", st.e2e_mean);
}
END_TEST

START_TEST(md1_mean_latency)
{
    /* M/D/1, service 1 s: mean wait rho / (2 mu (1 - rho)); at rho 0.6 that
     * is 0.75 s, so the mean time in system is 1.75 s.  TTFT = wait (no
     * prefill work), exactly. */
    struct sim_serve_stats st = run_queue(0.6, 0, 200000);
    ck_assert_msg(fabs(st.e2e_mean - 1.75) / 1.75 < 0.03, "e2e %g", st.e2e_mean);
    ck_assert_msg(fabs(st.ttft_mean - 0.75) / 0.75 < 0.05, "ttft %g", st.ttft_mean);
}
END_TEST

START_TEST(requests_are_conserved)
{
    /* Overload (rho 2): stop at the last arrival without draining. */
    char err[SIM_ERRLEN];
    sim_modelpool *p = load(single_server, err);
    struct sim_serve_config c;
    sim_serve_config_init(&c, p);
    c.router = SIM_ROUTE_LARGE;
    c.arrival_rate = 2;
    sim_serve *s = sim_serve_create(&c, err, sizeof err);
    for (uint64_t i = 0; i < 5000; i++) {
        struct sim_req q = {.index = i, .present = SIM_F_TOKENS, .tokens_in = 1,
                            .tokens_out = 1000};
        ck_assert_int_eq(sim_serve_arrive(s, &q, NULL, err, sizeof err), 0);
    }
    struct sim_serve_stats st;
    sim_serve_finish(s, 0, &st);
    ck_assert_uint_eq(st.arrived, 5000);
    ck_assert_uint_eq(st.completed + st.in_flight, 5000);
    ck_assert_uint_gt(st.in_flight, 2000); /* half the work is still queued */
    sim_serve_free(s);
    sim_modelpool_free(p);
}
END_TEST

START_TEST(batching_shares_throughput)
{
    /* Two requests of 1000 tokens arrive together at a replica with batch 2,
     * decode 1 ms/token and tokens_per_s 1000: alpha = 1, so each advances
     * at half speed and both finish at 2 s (processor sharing). */
    char err[SIM_ERRLEN];
    sim_modelpool *p = load(MODEL("m", "1", "2", "1", "1000", "0.5"), err);
    struct sim_serve_config c;
    sim_serve_config_init(&c, p);
    c.router = SIM_ROUTE_LARGE;
    sim_serve *s = sim_serve_create(&c, err, sizeof err);
    for (uint64_t i = 0; i < 2; i++) {
        struct sim_req q = {.index = i, .present = SIM_F_TOKENS | SIM_F_TIME,
                            .tokens_out = 1000};
        ck_assert_int_eq(sim_serve_arrive(s, &q, NULL, err, sizeof err), 0);
    }
    struct sim_serve_stats st;
    sim_serve_finish(s, 1, &st);
    ck_assert_double_eq_tol(st.e2e_mean, 2.0, 1e-9);
    sim_serve_free(s);
    sim_modelpool_free(p);
}
END_TEST

/*=====   routers   =====*/

/* A query workload: intents (classes) in 3 categories, Zipf-like
 * popularity, embeddings = intent centroid + noise, normalised. */
enum { DIM = 32, INTENTS = 400 };
static float centroids[INTENTS][DIM];

static void make_request(struct sim_rng *g, uint64_t i, double rate, struct sim_req *q,
                         float *emb, const char **cat)
{
    static const char *cats[] = {"math", "knowledge", "chat"};
    uint64_t c = (uint64_t)(INTENTS * pow(sim_rng_unit(g), 3)); /* skewed */
    memset(q, 0, sizeof *q);
    q->index = i;
    q->time = (uint64_t)((double)i / rate * 1e6);
    q->cls = c + 1;
    q->present = SIM_F_TIME | SIM_F_TOKENS | SIM_F_CLASS | SIM_F_EMB | SIM_F_CATEGORY;
    q->tokens_in = 200 + (uint32_t)sim_rng_below(g, 400);
    q->tokens_out = 100 + (uint32_t)sim_rng_below(g, 300);
    double norm = 0;
    for (int d = 0; d < DIM; d++) {
        emb[d] = centroids[c][d] + 0.25f * (float)(sim_rng_unit(g) - 0.5);
        norm += emb[d] * emb[d];
    }
    for (int d = 0; d < DIM; d++)
        emb[d] /= (float)sqrt(norm);
    q->emb = emb;
    q->dim = DIM;
    *cat = cats[c % 3];
}

static void init_centroids(void)
{
    struct sim_rng g;
    sim_rng_seed(&g, 99);
    for (int c = 0; c < INTENTS; c++)
        for (int d = 0; d < DIM; d++)
            centroids[c][d] = (float)(sim_rng_unit(&g) - 0.5);
}

static const char *pair_cfg =
    "[pool]\ncategories = math knowledge chat\n"
    MODEL("small", "2", "16", "6", "2500", "0.66") "difficulty_slope = 0.4\nexample_gain = 0.25\n"
    "cost_in_per_mtok = 0.1\ncost_out_per_mtok = 0.1\n"
    MODEL("large", "2", "16", "25", "700", "0.83") "difficulty_slope = 0.3\nexample_gain = 0.05\n";

struct windows {
    struct sim_serve_stats w[64];
    unsigned n;
};

static void keep_window(void *arg, const struct sim_serve_stats *st)
{
    struct windows *w = arg;
    if (w->n < 64)
        w->w[w->n++] = *st;
}

/* A run of the pair pool over n requests of the workload above. */
struct run {
    enum sim_router router;
    double target, rate;
    uint64_t n, cache_bytes, seed;
    unsigned threads;
    struct windows *w; /* if not NULL: windows of 500 s kept here, and a
                        * sim_serve_finish midway (it serves the requests
                        * waiting in a batch) */
};

static struct sim_serve_stats run_serving(const struct run *o)
{
    char err[SIM_ERRLEN];
    sim_modelpool *p = load(pair_cfg, err);
    ck_assert_msg(p != NULL, "%s", err);
    struct sim_serve_config c;
    sim_serve_config_init(&c, p);
    c.router = o->router;
    c.quality_target = o->target;
    c.cache_bytes = o->cache_bytes;
    c.threads = o->threads;
    c.window_s = o->w ? 500 : 0;
    sim_serve *s = sim_serve_create(&c, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    if (o->w) {
        o->w->n = 0;
        sim_serve_on_window(s, keep_window, o->w);
    }
    struct sim_rng g;
    sim_rng_seed(&g, o->seed);
    init_centroids();
    float emb[DIM];
    struct sim_serve_stats st;
    for (uint64_t i = 0; i < o->n; i++) {
        struct sim_req q;
        const char *cat;
        make_request(&g, i, o->rate, &q, emb, &cat);
        ck_assert_msg(sim_serve_arrive(s, &q, cat, err, sizeof err) == 0, "%s", err);
        if (o->w && i == o->n / 2)
            sim_serve_finish(s, 0, &st);
    }
    ck_assert_int_eq(sim_serve_finish(s, 1, &st), 0);
    ck_assert_uint_eq(st.arrived, o->n);
    ck_assert_uint_eq(st.completed, o->n);
    sim_serve_free(s);
    sim_modelpool_free(p);
    return st;
}

static struct sim_serve_stats run_router(enum sim_router r, double target, uint64_t n,
                                         double rate)
{
    return run_serving(&(struct run){r, target, rate, n, 8u << 20, 21, 1, NULL});
}

/* IC-Cache over n requests with the IVF example cache (about 800 entries:
 * evictions) searched ahead in `threads` threads, windows into *w. */
static struct sim_serve_stats run_threads(unsigned threads, enum sim_router r, uint64_t n,
                                          struct windows *w)
{
    return run_serving(&(struct run){r, 0.8, 2, n, 2u << 20, 23, threads, w});
}

START_TEST(threads_do_not_change_results)
{
    /* Searches made ahead in 2 or 3 threads (serve.c, HOW IT WORKS) must
     * give the results of one thread, bit for bit: overall and per window,
     * for IC-Cache and for the semantic cache (one candidate). */
    static const enum sim_router routers[2] = {SIM_ROUTE_ICCACHE, SIM_ROUTE_SEMCACHE};
    static struct windows w1, wn;
    struct sim_serve_stats one = run_threads(1, routers[_i], 12000, &w1);
    ck_assert_uint_gt(w1.n, 8);
    ck_assert_double_gt(one.example_hit_rate + one.cache_served, 0.1);
    for (unsigned t = 2; t <= 3; t++) {
        struct sim_serve_stats many = run_threads(t, routers[_i], 12000, &wn);
        ck_assert_msg(memcmp(&one, &many, sizeof one) == 0, "%u threads: overall differs", t);
        ck_assert_uint_eq(w1.n, wn.n);
        for (unsigned i = 0; i < w1.n; i++)
            ck_assert_msg(memcmp(&w1.w[i], &wn.w[i], sizeof w1.w[i]) == 0,
                          "%u threads: window %u differs", t, i);
    }
}
END_TEST

START_TEST(target_one_is_always_large)
{
    struct sim_serve_stats a = run_router(SIM_ROUTE_LARGE, 0.75, 4000, 2);
    struct sim_serve_stats b = run_router(SIM_ROUTE_ICCACHE, 1.0, 4000, 2);
    ck_assert_double_eq(b.offload[1], 1.0);
    ck_assert_double_eq(a.quality, b.quality);
    ck_assert_double_eq(a.e2e_mean, b.e2e_mean);
    ck_assert_double_eq(a.ttft_mean, b.ttft_mean);
    ck_assert_double_eq(a.cost, b.cost);
    ck_assert_double_eq(a.win_rate, 0.5); /* against itself: all ties */
}
END_TEST

START_TEST(iccache_offloads_and_keeps_quality)
{
    /* With examples the small model reaches the target on requests whose
     * intent is cached, so IC-Cache sends work to it; quality stays near
     * always-large's. */
    struct sim_serve_stats large = run_router(SIM_ROUTE_LARGE, 0.75, 6000, 2);
    struct sim_serve_stats small = run_router(SIM_ROUTE_SMALL, 0.75, 6000, 2);
    struct sim_serve_stats ic = run_router(SIM_ROUTE_ICCACHE, 0.80, 6000, 2);
    ck_assert_msg(ic.offload[0] > 0.3, "offload %g", ic.offload[0]);
    ck_assert_msg(ic.example_hit_rate > 0.3, "example hits %g", ic.example_hit_rate);
    ck_assert_msg(ic.quality > small.quality + 0.05, "ic %g small %g", ic.quality,
                  small.quality);
    ck_assert_msg(ic.cost < large.cost, "cost %g vs %g", ic.cost, large.cost);
}
END_TEST

START_TEST(threshold_router_extremes)
{
    /* tau -1: every predicted gap exceeds it, all large; tau 1: none does. */
    char err[SIM_ERRLEN];
    sim_modelpool *p = load(pair_cfg, err);
    for (int k = 0; k < 2; k++) {
        struct sim_serve_config c;
        sim_serve_config_init(&c, p);
        c.router = SIM_ROUTE_THRESHOLD;
        c.route_tau = k ? 1 : -1;
        sim_serve *s = sim_serve_create(&c, err, sizeof err);
        for (uint64_t i = 0; i < 200; i++) {
            struct sim_req q = {.index = i, .time = i * 1000000, .cls = i % 7,
                                .present = SIM_F_TOKENS | SIM_F_TIME | SIM_F_CLASS,
                                .tokens_in = 100, .tokens_out = 50};
            ck_assert_int_eq(sim_serve_arrive(s, &q, "math", err, sizeof err), 0);
        }
        struct sim_serve_stats st;
        sim_serve_finish(s, 1, &st);
        ck_assert_double_eq(st.offload[k ? 0 : 1], 1.0);
        sim_serve_free(s);
    }
    sim_modelpool_free(p);
}
END_TEST

START_TEST(semcache_serves_as_is)
{
    struct sim_serve_stats sc = run_router(SIM_ROUTE_SEMCACHE, 0.75, 6000, 2);
    struct sim_serve_stats large = run_router(SIM_ROUTE_LARGE, 0.75, 6000, 2);
    ck_assert_msg(sc.cache_served > 0.3, "served from cache %g", sc.cache_served);
    /* Neighbours of other intents above the threshold are served wrongly. */
    ck_assert_msg(sc.quality < large.quality, "semcache %g large %g", sc.quality,
                  large.quality);
    ck_assert_msg(sc.win_rate < 0.5, "win rate %g", sc.win_rate);
}
END_TEST

START_TEST(missing_fields_are_errors)
{
    char err[SIM_ERRLEN];
    sim_modelpool *p = load(pair_cfg, err);
    struct sim_serve_config c;
    sim_serve_config_init(&c, p);
    sim_serve *s = sim_serve_create(&c, err, sizeof err);
    struct sim_req q = {.index = 0, .present = SIM_F_KEY};
    ck_assert_int_eq(sim_serve_arrive(s, &q, NULL, err, sizeof err), SIM_EMISSING);
    ck_assert_ptr_nonnull(strstr(err, "needs embeddings"));
    q.present = SIM_F_TOKENS;
    float e[4] = {1, 0, 0, 0};
    q.emb = e;
    q.dim = 4;
    ck_assert_int_eq(sim_serve_arrive(s, &q, "poetry", err, sizeof err), SIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "category 'poetry'"));
    sim_serve_free(s);
    sim_modelpool_free(p);
}
END_TEST

START_TEST(iccache_policy_hand_sequence)
{
    /* Four requests, byte budget for two entries (each 10 tokens * 4 bytes
     * + 4 floats = 56 bytes; budget 112):
     *   1. class 1, e1: cache empty -> miss; stored.
     *   2. class 1, e1: entry 1 is identical (cosine 1) -> hit, useful.
     *   3. class 2, e1: entries 1, 2 (class 1) -> hit, but a false hit;
     *      storing it evicts one entry (three would need 168 bytes).
     *   4. class 3, e2 orthogonal to e1: cosine 0 < min_sim 0.5 -> miss. */
    char err[SIM_ERRLEN];
    struct sim_cache_config cfg = {112, SIM_UNIT_BYTES, 1,
                                   SIM_F_EMB | SIM_F_CLASS | SIM_F_TOKENS | SIM_F_KEY, NULL};
    sim_cache *c = sim_cache_create("iccache", &cfg, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    float e1[4] = {1, 0, 0, 0}, e2[4] = {0, 1, 0, 0};
    const float *embs[] = {e1, e1, e1, e2};
    uint64_t cls[] = {1, 1, 2, 3};
    int hit[] = {0, 1, 1, 0}, false_hit[] = {0, 0, 1, 0}, ev[] = {0, 0, 1, 1};
    for (int i = 0; i < 4; i++) {
        struct sim_req q = {.index = (uint64_t)i, .cls = cls[i], .emb = embs[i], .dim = 4,
                            .tokens_in = 6, .tokens_out = 4,
                            .present = SIM_F_EMB | SIM_F_CLASS | SIM_F_TOKENS};
        struct sim_outcome o;
        sim_cache_access(c, &q, &o);
        ck_assert_int_eq(o.hit, hit[i]);
        ck_assert_int_eq(o.false_hit, false_hit[i]);
        ck_assert_int_eq(o.evictions, ev[i]);
        ck_assert_int_eq(sim_cache_check(c, err, sizeof err), 0);
    }
    double v[2];
    sim_cache_extra_values(c, v);
    ck_assert_double_eq(v[1], 0.25); /* one useful hit in four */
    sim_cache_free(c);
}
END_TEST

START_TEST(router_specs_are_checked)
{
    char err[SIM_ERRLEN];
    struct sim_serve_config c;
    sim_serve_config_init(&c, NULL);
    ck_assert_int_eq(sim_serve_config_parse(&c, "iccache:target=0.9,cache=2M,k=2", err,
                                            sizeof err), 0);
    ck_assert_double_eq(c.quality_target, 0.9);
    ck_assert_uint_eq(c.cache_bytes, 2u << 20);
    ck_assert_uint_eq(c.k, 2);
    static const char *const bad[][2] = {
        {"oracle", "unknown router 'oracle'"},
        {"iccache:speed=1", "unknown parameter 'speed'"},
        {"iccache:target=1.5", "outside"},
        {"semcache:cache=12Q", "'cache': '12Q' is not a size"},
        {"threshold:tau=x", "not a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_lt(sim_serve_config_parse(&c, bad[i][0], err, sizeof err), 0);
        ck_assert_msg(strstr(err, bad[i][1]) != NULL, "%s: %s", bad[i][0], err);
    }
    ck_assert_double_eq(c.quality_target, 0.9); /* unchanged by failures */
}
END_TEST

/* Byte budgets for the IVF tests (entries cost 1 byte, so nothing is
 * evicted): 2^40 gives 65536 lists, so every entry more than cosine 0.9
 * from the first ones founds a list and the centroids never move; 160000
 * gives 2 * sqrt(160000 / (2400 + 4 * dim)) = 16.0-16.1 lists rounded up (17 in 16
 * and in 24 dimensions), so the centroids move every 4 * 17 insertions and
 * k-means runs at 34, 68, 136, ... entries. */
static const uint64_t ivf_budgets[2] = {1ull << 40, 160000};

START_TEST(ivf_probing_everything_is_exact)
{
    /* 3000 random unit vectors in 16 dimensions; with nprobe >= clusters
     * the IVF search must return exactly the flat index's top 8, also after
     * a third of the entries are removed (slots then reused). */
    char err[SIM_ERRLEN];
    struct excache flat, ivf;
    ck_assert_int_eq(excache_init(&flat, 16, 1ull << 40, SIM_SERVE_FLAT, 1, err, sizeof err), 0);
    ck_assert_int_eq(excache_init(&ivf, 16, ivf_budgets[_i], SIM_SERVE_IVF, 1, err, sizeof err),
                     0);
    ivf.nprobe = ivf.nlist;
    struct sim_rng g;
    sim_rng_seed(&g, 4);
    float v[16];
    struct exentry proto = {.bytes = 1, .utility = 0.5f};
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 3000; i++) {
            for (int d = 0; d < 16; d++)
                v[d] = (float)(sim_rng_unit(&g) - 0.5);
            ck_assert_int_eq(excache_insert(&flat, &proto, v, err, sizeof err), 0);
            ck_assert_int_eq(excache_insert(&ivf, &proto, v, err, sizeof err), 0);
        }
        for (uint32_t id = 0; id < flat.n; id += 3)
            if (flat.e[id].live) {
                excache_remove(&flat, id);
                excache_remove(&ivf, id);
            }
        ck_assert_uint_eq(flat.nlive, ivf.nlive);
        for (int q = 0; q < 100; q++) {
            for (int d = 0; d < 16; d++)
                v[d] = (float)(sim_rng_unit(&g) - 0.5);
            uint64_t a[8], b[8];
            float sa[8], sb[8];
            int na = excache_search(&flat, v, 8, a, sa, err, sizeof err);
            int nb = excache_search(&ivf, v, 8, b, sb, err, sizeof err);
            ck_assert_int_eq(na, 8);
            ck_assert_int_eq(nb, 8);
            for (int i = 0; i < 8; i++)
                ck_assert_msg(a[i] == b[i], "query %d rank %d: flat %llu (%.9g) ivf %llu (%.9g)", q, i, (unsigned long long)a[i], sa[i],
                              (unsigned long long)b[i], sb[i]);
        }
    }
    ck_assert_uint_le(ivf.n, 6000); /* removed slots were reused */
    excache_free(&flat);
    excache_free(&ivf);
}
END_TEST

/* A random unit-ish vector of dim components (the index normalises). */
static void random_vec(struct sim_rng *g, float *v, unsigned dim)
{
    for (unsigned d = 0; d < dim; d++)
        v[d] = (float)(sim_rng_unit(g) - 0.5);
}

START_TEST(ivf_kernels_agree_with_integer_dots)
{
    /* Every kernel (AVX2 where the CPU has it, and the portable one) must
     * give the results defined on integer dot products computed here
     * naively.  The ranking: the want best of centroids [c0, n) by (float)D
     * * step * qs[c], D the dot product of the query's ranking code (in
     * [-63, 64]) and the centroid's code, ties to the lower number, for
     * n = 37 (a tail after blocks of 8 and after groups of 4 blocks), c0 =
     * 0 and 5 (a first block in part), want 1, 2 (the branch-free path)
     * and 3, and two centroids with equal similarity.  The filter: exactly
     * the rows whose a clears tau (cdim 96: neither 64 nor a power of
     * two). */
    enum { N = 37, CDIM = 96 };
    int8_t q[CDIM], rq[CDIM], codes[N * CDIM];
    float qs[N], qe[N], val[N];
    uint32_t pass[N];
    struct sim_rng g;
    sim_rng_seed(&g, 9);
    int32_t rsum = 0;
    for (int i = 0; i < CDIM; i++)
        q[i] = (int8_t)((int)sim_rng_below(&g, 255) - 127);
    for (int i = 0; i < CDIM; i++) {
        rq[i] = (int8_t)((int)sim_rng_below(&g, 128) - 63);
        rsum += rq[i];
    }
    for (int i = 0; i < N * CDIM; i++)
        codes[i] = (int8_t)((int)sim_rng_below(&g, 255) - 127);
    for (int r = 0; r < N; r++) {
        qs[r] = (float)(1e-3 * (1 + sim_rng_unit(&g)));
        qe[r] = (float)(1e-2 * sim_rng_unit(&g));
    }
    /* Centroid 20 a copy of centroid 11: equal similarity, 11 ranks first. */
    memcpy(codes + 20 * CDIM, codes + 11 * CDIM, CDIM);
    qs[20] = qs[11];
    char err[SIM_ERRLEN];
    struct excache x;
    ck_assert_int_eq(excache_init(&x, CDIM, 1 << 20, SIM_SERVE_IVF, 1, err, sizeof err), 0);
    /* The centroids as the ranking kernels read them. */
    for (int c = 0; c < N; c++) {
        memcpy(x.ccode + (size_t)c * CDIM, codes + c * CDIM, CDIM);
        x.cqs[c] = qs[c];
    }
    x.ncent = N;
    ivf_store_centroids(&x);
    struct ivf_rankq rkq = {rq, 128 * rsum, 3e-3f};
    float rs[N];
    for (int c = 0; c < N; c++) {
        int32_t d = 0;
        for (int i = 0; i < CDIM; i++)
            d += rq[i] * codes[c * CDIM + i];
        rs[c] = (float)d * rkq.step * qs[c];
    }
    ck_assert(rs[11] == rs[20]);
    static const uint32_t c0s[2] = {0, 5};
    for (int w = 1; w <= 3; w++)
        for (int z = 0; z < 2; z++) {
            /* The naive ranking: a selection by (similarity desc, number asc). */
            uint64_t want[3];
            float wsim[3];
            int nw = 0;
            for (uint32_t c = c0s[z]; c < N; c++) {
                int at = nw < w ? nw++ : w;
                if (at == w && !(rs[c] > wsim[w - 1]))
                    continue;
                if (at == w)
                    at = w - 1;
                for (; at > 0 && wsim[at - 1] < rs[c]; at--) {
                    want[at] = want[at - 1];
                    wsim[at] = wsim[at - 1];
                }
                want[at] = c;
                wsim[at] = rs[c];
            }
            for (int k = 0; k < 2; k++) {
                uint64_t got[3];
                float gsim[3];
                size_t ng = (k ? ivf_rank_c : x.rank)(&rkq, x.cblk, x.cqs, c0s[z], N, CDIM,
                                                       (size_t)w, got, gsim);
                ck_assert_uint_eq(ng, (size_t)nw);
                for (int i = 0; i < nw; i++) {
                    ck_assert_msg(got[i] == want[i], "want %d c0 %u kernel %d: rank %d", w,
                                  c0s[z], k, i);
                    ck_assert(gsim[i] == wsim[i]);
                }
            }
        }
    struct ivf_query iq = {q, 2e-3f, 1.01f, 0.02f};
    {
        float tau = 0;
        float a[N];
        for (int r = 0; r < N; r++) {
            int32_t d = 0;
            for (int i = 0; i < CDIM; i++)
                d += q[i] * codes[r * CDIM + i];
            a[r] = (float)d * iq.step * qs[r] + qe[r] * iq.c1 + iq.c0;
            tau += a[r] / N; /* about half the rows pass */
        }
        for (int k = 0; k < 2; k++) {
            ivf_filter_fn f = k ? ivf_filter_c : x.filter;
            uint32_t np = f(&iq, codes, qs, qe, N, CDIM, tau, pass, val);
            uint32_t want = 0;
            for (int r = 0; r < N; r++)
                if (a[r] >= tau) {
                    ck_assert_uint_lt(want, np);
                    ck_assert_uint_eq(pass[want], (uint32_t)r);
                    ck_assert(val[want] == a[r]);
                    want++;
                }
            ck_assert_uint_eq(np, want);
            ck_assert_uint_gt(want, 0);
            ck_assert_uint_lt(want, N);
        }
    }
    excache_free(&x);
}
END_TEST

/* The IVF search as specified, without the int8 pre-filter: the nprobe
 * nearest centroids by code similarity (ties to the lower number), then
 * the float top k of their lists at similarity >= minsim.  The query's
 * code: step = max |u_i| / 127, code_i = u_i / step rounded to nearest
 * (ties to even); its ranking code: code_i halved, rounding up; a
 * centroid's rank similarity is (float)(integer dot product of the
 * ranking code and the centroid's code) * 2 step * the centroid's
 * step. */
/* Keeps the top k (sim desc, id asc) in ids, sims (n so far): the
 * textbook insertion, for the naive searches below. */
static int naive_topk_add(uint64_t *ids, float *sims, int n, int k, uint64_t id, float s)
{
    int at = n < k ? n++ : k;
    if (at == k && !(s > sims[k - 1] || (s == sims[k - 1] && id < ids[k - 1])))
        return n;
    if (at == k)
        at = k - 1;
    for (; at > 0 && (sims[at - 1] < s || (sims[at - 1] == s && ids[at - 1] > id)); at--) {
        ids[at] = ids[at - 1];
        sims[at] = sims[at - 1];
    }
    ids[at] = id;
    sims[at] = s;
    return n;
}

static int naive_ivf(const struct excache *x, const float *q, int k, float minsim,
                     uint64_t *ids, float *sims, uint32_t *probed, unsigned *nprobed)
{
    float u[64], m = 0;
    memcpy(u, q, x->dim * sizeof *u);
    ck_assert_int_eq(sim_vec_normalise(u, x->dim), 0);
    for (uint32_t i = 0; i < x->dim; i++)
        m = fabsf(u[i]) > m ? fabsf(u[i]) : m;
    float step = m / 127.0f, inv = 1 / step;
    int code[64];
    /* The ranking code: the code halved, rounding up (into [-63, 64]). */
    for (uint32_t i = 0; i < x->dim; i++)
        code[i] = (int)floorf(((float)nearbyintf(u[i] * inv) + 1) / 2);
    step *= 2;
    uint32_t probe[64];
    float ps[64];
    unsigned np = 0, want = x->nprobe < x->ncent ? x->nprobe : x->ncent;
    for (uint32_t c = 0; c < x->ncent; c++) {
        int32_t dot = 0;
        for (uint32_t i = 0; i < x->dim; i++)
            dot += code[i] * x->ccode[(size_t)c * x->cdim + i];
        float s = (float)dot * step * x->cqs[c];
        unsigned at = np < want ? np++ : want;
        if (at == want && !(s > ps[want - 1]))
            continue;
        if (at == want)
            at = want - 1;
        for (; at > 0 && ps[at - 1] < s; at--) {
            probe[at] = probe[at - 1];
            ps[at] = ps[at - 1];
        }
        probe[at] = c;
        ps[at] = s;
    }
    int n = 0;
    memcpy(probed, probe, np * sizeof *probe);
    *nprobed = np;
    for (unsigned p = 0; p < np; p++) {
        const struct ivf_list *l = &x->lists[probe[p]];
        for (uint32_t i = 0; i < l->n; i++) {
            float s = sim_vec_dot(u, l->vec + (size_t)i * x->dim, x->dim);
            if (s >= minsim)
                n = naive_topk_add(ids, sims, n, k, l->ids[i], s);
        }
    }
    return n;
}

/* x's kernels: the portable ones, whatever the CPU. */
static void use_portable_kernels(struct excache *x)
{
    x->rank = ivf_rank_c;
    x->filter = ivf_filter_c;
    x->code_dot = ivf_code_dot_c;
    x->quant = ivf_quant_c;
    x->halve = ivf_halve_c;
}

START_TEST(ivf_prefilter_is_exact)
{
    /* 4000 vectors in 24 dimensions with a cluster structure (40 centres
     * plus noise, so that neighbours are near the pre-filter's bounds);
     * every search, with either kernel, with and without a floor, must
     * equal the naive IVF above, also after deletions; and inserting with
     * the search's hint must put each entry in the same cluster as a
     * plain insert. */
    enum { VD = 24, K = 8 };
    char err[SIM_ERRLEN];
    struct excache a, b, c;
    uint64_t budget = ivf_budgets[_i];
    ck_assert_int_eq(excache_init(&a, VD, budget, SIM_SERVE_IVF, 1, err, sizeof err), 0);
    ck_assert_int_eq(excache_init(&b, VD, budget, SIM_SERVE_IVF, 1, err, sizeof err), 0);
    ck_assert_int_eq(excache_init(&c, VD, budget, SIM_SERVE_IVF, 1, err, sizeof err), 0);
    use_portable_kernels(&b);
    struct sim_rng g;
    sim_rng_seed(&g, 5);
    float centre[40][VD], v[VD];
    for (int i = 0; i < 40; i++)
        random_vec(&g, centre[i], VD);
    struct exentry proto = {.bytes = 1, .utility = 0.5f};
    char prep[1024];
    ck_assert_uint_le(excache_prep_size(&a), sizeof prep);
    uint64_t ids[K], nids[K];
    float sims[K], nsims[K];
    for (int i = 0; i < 4000; i++) {
        const float *m = centre[sim_rng_below(&g, 40)];
        for (int d = 0; d < VD; d++)
            v[d] = m[d] + (float)(0.05 * (sim_rng_unit(&g) - 0.5));
        struct exhint h = {.prep = prep};
        excache_search_floor(&a, v, K, -INFINITY, &h, ids, sims, err, sizeof err);
        ck_assert_int_eq(excache_insert_hint(&a, &proto, v, &h, err, sizeof err), 0);
        ck_assert_int_eq(excache_insert(&b, &proto, v, err, sizeof err), 0);
        ck_assert_int_eq(excache_insert(&c, &proto, v, err, sizeof err), 0);
        ck_assert_uint_eq(a.cluster[i], c.cluster[i]);
    }
    for (uint32_t id = 0; id < a.n; id += 3) {
        excache_remove(&a, id);
        excache_remove(&b, id);
    }
    for (int q = 0; q < 300; q++) {
        const float *m = centre[sim_rng_below(&g, 40)];
        for (int d = 0; d < VD; d++)
            v[d] = m[d] + (float)(0.05 * (sim_rng_unit(&g) - 0.5));
        float floor_ = q % 2 ? 0.9f : -INFINITY;
        uint32_t probed[64];
        unsigned nprobed;
        int nn = naive_ivf(&a, v, K, floor_, nids, nsims, probed, &nprobed);
        for (int w = 0; w < 2; w++) {
            struct excache *x = w ? &b : &a;
            int n = excache_search_floor(x, v, K, floor_, NULL, ids, sims, err, sizeof err);
            for (unsigned p = 0; p < nprobed; p++)
                ck_assert_msg(x->w.probe[p] == probed[p], "query %d probe %u kernel %d", q, p, w);
            ck_assert_int_eq(n, nn);
            for (int i = 0; i < n; i++)
                ck_assert_msg(ids[i] == nids[i] && sims[i] == nsims[i],
                              "query %d rank %d kernel %d", q, i, w);
        }
    }
    excache_free(&a);
    excache_free(&b);
    excache_free(&c);
}
END_TEST

START_TEST(ivf_paraphrase_crowds_are_exact)
{
    /* A popular request's paraphrases crowd one list, their similarities
     * to a query closer together than the pre-filter's bounds (as in
     * bench_serve: 64 dimensions, an intent plus noise of 0.2 per
     * coordinate), so most of them pass it, in chunks, and the bar that
     * the lower bounds of the rows let through set decides which are
     * scored.  Every search,
     * with either kernel, must equal the naive IVF, for k = 16 and 3. */
    enum { VD = 64 };
    char err[SIM_ERRLEN];
    struct excache a, b;
    ck_assert_int_eq(excache_init(&a, VD, 1ull << 40, SIM_SERVE_IVF, 1, err, sizeof err), 0);
    ck_assert_int_eq(excache_init(&b, VD, 1ull << 40, SIM_SERVE_IVF, 1, err, sizeof err), 0);
    use_portable_kernels(&b);
    struct sim_rng g;
    sim_rng_seed(&g, 23);
    float hot[VD], v[VD];
    for (int d = 0; d < VD; d++)
        hot[d] = (float)(sim_rng_unit(&g) - 0.5);
    struct exentry proto = {.bytes = 1, .utility = 0.5f};
    for (int i = 0; i < 2000; i++) {
        if (i % 4 == 3)
            random_vec(&g, v, VD);
        else
            for (int d = 0; d < VD; d++)
                v[d] = hot[d] + 0.2f * (float)(sim_rng_unit(&g) - 0.5);
        ck_assert_int_eq(excache_insert(&a, &proto, v, err, sizeof err), 0);
        ck_assert_int_eq(excache_insert(&b, &proto, v, err, sizeof err), 0);
    }
    int crowded = 0;
    uint64_t total[2] = {0, 0};
    for (int q = 0; q < 200; q++) {
        for (int d = 0; d < VD; d++)
            v[d] = hot[d] + 0.2f * (float)(sim_rng_unit(&g) - 0.5);
        int k = q % 2 ? 3 : 16;
        uint64_t ids[16], nids[16];
        float sims[16], nsims[16];
        uint32_t probed[64];
        unsigned nprobed;
        int nn = naive_ivf(&a, v, k, 0.5f, nids, nsims, probed, &nprobed);
        crowded += nn == k;
        for (int w = 0; w < 2; w++) {
            struct excache *x = w ? &b : &a;
            uint64_t scored = x->w.scored; /* rows scored in float */
            int n = excache_search_floor(x, v, (size_t)k, 0.5f, NULL, ids, sims, err, sizeof err);
            ck_assert_int_eq(n, nn);
            for (int i = 0; i < n; i++)
                ck_assert_msg(ids[i] == nids[i] && sims[i] == nsims[i],
                              "query %d rank %d kernel %d", q, i, w);
            /* The bar spares most of the crowd its float vector. */
            total[w] += x->w.scored - scored;
        }
    }
    ck_assert_int_eq(crowded, 200);
    /* The bar spares many of the crowd their float vectors: 55,000 rows
     * scored in all with it, 76,000 without it (each kernel). */
    ck_assert_uint_lt(total[0], 60000);
    ck_assert_uint_lt(total[1], 60000);
    excache_free(&a);
    excache_free(&b);
}
END_TEST

START_TEST(ivf_codes_reconstruct_their_vectors)
{
    /* In 70 dimensions (codes of 96 bytes), every row of every list must
     * decode to its vector within the residual norm stored with it (which
     * is that error's norm, rounded up by 1e-5): code_i * qs, |code_i| <=
     * 127, zero past dim. */
    enum { VD = 70 };
    char err[SIM_ERRLEN];
    struct excache x;
    ck_assert_int_eq(excache_init(&x, VD, ivf_budgets[0], SIM_SERVE_IVF, 1, err, sizeof err), 0);
    ck_assert_uint_eq(x.cdim, 96);
    struct sim_rng g;
    sim_rng_seed(&g, 13);
    struct exentry proto = {.bytes = 1, .utility = 0.5f};
    float v[VD];
    for (int i = 0; i < 300; i++) {
        random_vec(&g, v, VD);
        ck_assert_int_eq(excache_insert(&x, &proto, v, err, sizeof err), 0);
    }
    uint32_t rows = 0;
    for (uint32_t c = 0; c < x.ncent; c++) {
        const struct ivf_list *l = &x.lists[c];
        for (uint32_t r = 0; r < l->n; r++, rows++) {
            const float *u = l->vec + (size_t)r * VD;
            const int8_t *code = l->code + (size_t)r * x.cdim;
            double e = 0;
            for (uint32_t i = 0; i < x.cdim; i++) {
                ck_assert_int_le(abs(code[i]), 127);
                if (i >= VD)
                    ck_assert_int_eq(code[i], 0);
                else
                    e += pow(u[i] - (double)code[i] * l->qs[r], 2);
            }
            ck_assert_double_le(sqrt(e), l->qe[r]);
            ck_assert_double_ge(sqrt(e), l->qe[r] / (1 + 2e-5));
        }
    }
    ck_assert_uint_eq(rows, 300);
    excache_free(&x);
}
END_TEST

START_TEST(ivf_centroids_follow_their_lists)
{
    /* 2000 vectors in 16 dimensions around 30 centres into a 17-list index
     * (ivf_budgets[1]), every fifth removed, then more until the centroids
     * have just moved: 1. every live entry is where cluster and slot say,
     * and the lists hold nothing else; 2. k-means ran (lloyd_at doubled
     * past the entries); 3. each centroid of a non-empty list points along
     * the mean of its list's vectors (computed here in double); 4. a second
     * index fed the same vectors has the same centroids, bit for bit. */
    enum { VD = 16 };
    char err[SIM_ERRLEN];
    struct excache a, b;
    ck_assert_int_eq(excache_init(&a, VD, ivf_budgets[1], SIM_SERVE_IVF, 1, err, sizeof err), 0);
    ck_assert_int_eq(excache_init(&b, VD, ivf_budgets[1], SIM_SERVE_IVF, 1, err, sizeof err), 0);
    ck_assert_uint_eq(a.nlist, 17);
    struct sim_rng g;
    sim_rng_seed(&g, 11);
    float centre[30][VD], v[VD];
    for (int i = 0; i < 30; i++)
        random_vec(&g, centre[i], VD);
    struct exentry proto = {.bytes = 1, .utility = 0.5f};
    for (int i = 0; i < 2600; i++) {
        if (i == 2000)
            for (uint32_t id = 0; id < a.n; id += 5) {
                excache_remove(&a, id);
                excache_remove(&b, id);
            }
        if (i > 2000 && a.since == 0)
            break;
        const float *m = centre[sim_rng_below(&g, 30)];
        for (int d = 0; d < VD; d++)
            v[d] = m[d] + (float)(0.3 * (sim_rng_unit(&g) - 0.5));
        ck_assert_int_eq(excache_insert(&a, &proto, v, err, sizeof err), 0);
        ck_assert_int_eq(excache_insert(&b, &proto, v, err, sizeof err), 0);
    }
    ck_assert_uint_eq(a.since, 0);
    uint32_t rows = 0;
    for (uint32_t c = 0; c < a.ncent; c++)
        rows += a.lists[c].n;
    ck_assert_uint_eq(rows, a.nlive);
    for (uint32_t id = 0; id < a.n; id++)
        if (a.e[id].live)
            ck_assert_uint_eq(a.lists[a.cluster[id]].ids[a.slot[id]], id);
    ck_assert_uint_gt(a.lloyd_at, a.nlive);
    ck_assert_uint_eq(a.ncent, a.nlist);
    for (uint32_t c = 0; c < a.ncent; c++) {
        const struct ivf_list *l = &a.lists[c];
        double mean[VD] = {0}, mm = 0, dot = 0;
        for (uint32_t i = 0; i < l->n; i++)
            for (int d = 0; d < VD; d++)
                mean[d] += l->vec[(size_t)i * VD + d];
        for (int d = 0; d < VD; d++) {
            mm += mean[d] * mean[d];
            dot += mean[d] * a.cent[(size_t)c * VD + d];
        }
        if (l->n)
            ck_assert_msg(dot / sqrt(mm) > 1 - 1e-5, "centroid %u: cosine %.9f", c,
                          dot / sqrt(mm));
    }
    ck_assert_uint_eq(a.ncent, b.ncent);
    ck_assert(memcmp(a.cent, b.cent, (size_t)a.ncent * VD * sizeof *a.cent) == 0);
    excache_free(&a);
    excache_free(&b);
}
END_TEST

/* The exact top k (sim desc, id asc) at floor minsim of query q (raw)
 * over the model's live entries whose list is one of probe[0, np): vec
 * (unit, dim d), list and live by id, n ids. */
static int naive_model(const float *q, unsigned d, const float *vec, const uint32_t *list,
                       const uint8_t *live, uint32_t n, const uint32_t *probe, unsigned np,
                       int k, float minsim, uint64_t *ids, float *sims)
{
    float u[64];
    memcpy(u, q, d * sizeof *u);
    ck_assert_int_eq(sim_vec_normalise(u, d), 0);
    int m = 0;
    for (uint32_t id = 0; id < n; id++) {
        int in = 0;
        for (unsigned p = 0; p < np; p++)
            in |= live[id] && list[id] == probe[p];
        float s = in ? sim_vec_dot(u, vec + (size_t)id * d, d) : -INFINITY;
        if (in && s >= minsim)
            m = naive_topk_add(ids, sims, m, k, id, s);
    }
    return m;
}

START_TEST(ivf_deferred_changes_are_exact)
{
    /* With changes deferred (serve_ivf.c), 40 rounds of random inserts
     * (evicting: the budget holds 1500), removals and searches, each round
     * ended by ivf_apply: every search, direct or made ahead (some in the
     * round before, as the serving simulation does, finished after the
     * apply and some changes), must return the exact top k over the live
     * entries in its lists, kept here: an entry's list is its nearest
     * centroid at its insertion (found by naive_ivf's ranking), and after
     * an apply, where the index put it (Lloyd may move rows). */
    enum { VD = 24, K = 8, KA = 24, CAP = 8192, AHEAD = 6 };
    char err[SIM_ERRLEN];
    struct excache x;
    ck_assert_int_eq(excache_init(&x, VD, 1500 * 40, SIM_SERVE_IVF, 1, err, sizeof err), 0);
    if (_i)
        use_portable_kernels(&x);
    struct ivf_scratch w;
    ck_assert_int_eq(ivf_scratch_init(&x, &w), 0);
    static float vec[CAP * VD], qv[2][AHEAD][VD];
    static uint32_t list[CAP];
    static uint8_t live[CAP];
    uint64_t aprobe[2][AHEAD][64];
    char aprep[2][AHEAD][512];
    ck_assert_uint_le(excache_prep_size(&x), sizeof aprep[0][0]);
    struct ivf_ahead ah[2][AHEAD];
    struct sim_rng g;
    sim_rng_seed(&g, 17);
    float centre[60][VD], v[VD];
    for (int i = 0; i < 60; i++)
        random_vec(&g, centre[i], VD);
    struct exentry proto = {.bytes = 40, .utility = 0.5f};
    uint64_t ids[KA], nids[KA];
    float sims[KA], nsims[KA];
    uint32_t probe[64];
    unsigned np;
    int checked = 0, rescans = 0, fulls = 0;
    for (int round = 0, cur = 0; round < 41; round++, cur = !cur) {
        if (round) {
            ck_assert_int_eq(excache_defer(&x), 1); /* 400 inserts found every centroid */
            if (round % 10 == 5)
                x.lloyd_at = 1; /* Lloyd's iterations in this apply and a few more */
            excache_apply(&x);
            for (uint32_t id = 0; id < x.n; id++)
                if (live[id])
                    list[id] = x.cluster[id];
            /* Searches ahead for the next round, against the lists as
             * applied. */
            for (int a = 0; a < AHEAD; a++) {
                const float *m = centre[(sim_rng_below(&g, 20) + 2 * (unsigned)round) % 60];
                for (int d = 0; d < VD; d++)
                    qv[cur][a][d] = m[d] + (float)(0.5 * (sim_rng_unit(&g) - 0.5));
                ah[cur][a].probe = aprobe[cur][a];
                ah[cur][a].prep = aprep[cur][a];
                ivf_search_ahead(&x, &w, qv[cur][a], KA, 0.2f, &ah[cur][a]);
            }
        }
        for (int i = 0, fin = 0; i < (round ? 150 : 400); i++) {
            unsigned op = (unsigned)sim_rng_below(&g, 12);
            const float *m = centre[(sim_rng_below(&g, 20) + 2 * (unsigned)round) % 60];
            for (int d = 0; d < VD; d++)
                v[d] = m[d] + (float)(0.5 * (sim_rng_unit(&g) - 0.5));
            if (op < 6 || !round) { /* insert: its list by naive ranking */
                uint32_t id = x.nfree ? x.free_ids[x.nfree - 1] : x.n;
                ck_assert_uint_lt(id, CAP);
                naive_ivf(&x, v, 1, INFINITY, nids, nsims, probe, &np);
                ck_assert_int_eq(excache_insert(&x, &proto, v, err, sizeof err), 0);
                memcpy(vec + (size_t)id * VD, v, sizeof v);
                ck_assert_int_eq(sim_vec_normalise(vec + (size_t)id * VD, VD), 0);
                list[id] = x.log.on ? probe[0] : x.cluster[id];
                for (uint32_t e = 0; e < x.n; e++) /* evictions */
                    live[e] = (uint8_t)x.e[e].live;
            } else if (op < 8 && x.nlive) {
                /* Remove one, at random or among the candidates of a
                 * search made ahead (so that some lose more than their
                 * spare ones). */
                const struct ivf_ahead *h = &ah[!cur][fin];
                for (int r = 0; r < (op == 7 ? 3 : 1) && x.nlive; r++) {
                    uint32_t id = x.live[sim_rng_below(&g, x.nlive)].id;
                    if (op == 7 && round >= 2 && fin < AHEAD && h->n > 0)
                        id = (uint32_t)h->ids[sim_rng_below(&g, (uint64_t)h->n)];
                    if (live[id])
                        excache_remove(&x, id);
                    live[id] = 0;
                }
            } else if (op < 10 && x.log.on) { /* search now */
                float fl = op == 8 ? -INFINITY : 0.5f;
                int n = excache_search_floor(&x, v, K, fl, NULL, ids, sims, err, sizeof err);
                naive_ivf(&x, v, 1, INFINITY, nids, nsims, probe, &np);
                int nn = naive_model(v, VD, vec, list, live, x.n, probe, np, K, fl, nids,
                                     nsims);
                ck_assert_int_eq(n, nn);
                for (int r = 0; r < n; r++)
                    ck_assert_msg(ids[r] == nids[r] && sims[r] == nsims[r],
                                  "round %d search %d rank %d", round, i, r);
                checked++;
            } else if (op >= 10 && round >= 2 && fin < AHEAD) {
                /* Finish one made ahead in the round before. */
                const struct ivf_ahead *h = &ah[!cur][fin++];
                uint32_t hp[64];
                for (unsigned p = 0; p < h->nprobe; p++)
                    hp[p] = (uint32_t)h->probe[p];
                int dead = 0;
                for (int c = 0; c < h->n; c++)
                    dead += !live[h->ids[c]];
                fulls += h->n == (int)h->k && h->n - dead < KA;
                rescans += h->snap < x.log.moved;
                int n = ivf_search_finish(&x, h, KA, 0.2f, ids, sims);
                int nn = naive_model(qv[!cur][fin - 1], VD, vec, list, live, x.n, hp,
                                     h->nprobe, KA, 0.2f, nids, nsims);
                ck_assert_int_eq(n, nn);
                for (int r = 0; r < n; r++)
                    ck_assert_msg(ids[r] == nids[r] && sims[r] == nsims[r],
                                  "round %d ahead %d rank %d", round, fin - 1, r);
                checked++;
            }
        }
    }
    ck_assert_int_gt(checked, 1000);
    /* Both reasons to scan again happened: a Lloyd (rows moved lists)
     * and a full top with fewer than k left. */
    ck_assert_int_gt(rescans, 0);
    ck_assert_int_gt(fulls, 0);
    ivf_scratch_free(&w);
    excache_free(&x);
}
END_TEST

static Suite *serve_suite(void)
{
    Suite *s = suite_create("serve");
    TCase *tc = tcase_create("Core");
    tcase_add_test(tc, pool_parses_fields);
    tcase_add_loop_test(tc, ivf_deferred_changes_are_exact, 0, 2);
    tcase_add_test(tc, mm1_mean_latency);
    tcase_add_test(tc, md1_mean_latency);
    tcase_add_test(tc, requests_are_conserved);
    tcase_add_test(tc, batching_shares_throughput);
    tcase_add_test(tc, target_one_is_always_large);
    tcase_add_loop_test(tc, threads_do_not_change_results, 0, 2);
    tcase_add_test(tc, iccache_offloads_and_keeps_quality);
    tcase_add_test(tc, semcache_serves_as_is);
    tcase_add_test(tc, threshold_router_extremes);
    tcase_add_test(tc, iccache_policy_hand_sequence);
    tcase_add_loop_test(tc, ivf_probing_everything_is_exact, 0, 2);
    tcase_add_test(tc, ivf_kernels_agree_with_integer_dots);
    tcase_add_loop_test(tc, ivf_prefilter_is_exact, 0, 2);
    tcase_add_test(tc, ivf_paraphrase_crowds_are_exact);
    tcase_add_test(tc, ivf_codes_reconstruct_their_vectors);
    tcase_add_test(tc, ivf_centroids_follow_their_lists);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    TCase *e = tcase_create("Errors");
    tcase_add_loop_test(e, pool_errors_name_line_and_field, 0,
                        (int)(sizeof bad_cfgs / sizeof bad_cfgs[0]));
    tcase_add_test(e, missing_fields_are_errors);
    tcase_add_test(e, router_specs_are_checked);
    suite_add_tcase(s, e);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(serve_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
