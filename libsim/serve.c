/*
 * serve.c - discrete-event simulation of LLM serving with IC-Cache routing.
 *
 * The quality and serving models are described in sim_serve.h.  This file
 * is the event loop, the routers, feedback, windows and replay.
 *
 * HOW IT WORKS
 * Requests arrive in time order (sim_serve_arrive).  Before routing one,
 * the simulation runs every event up to its arrival time: a replica's
 * next event is the earliest moment one of its running requests reaches a
 * milestone (end of prefill, end of decode).  Requests in a replica's
 * batch all advance at the same speed, so each replica keeps one virtual
 * clock V (batch-1 seconds of progress) that runs at speed(n) =
 * 1 / (1 + alpha (n - 1)); a request that started at V0 reaches its first
 * token at V0 + prefill and ends at V0 + prefill + decode.  Converting the
 * nearest milestone to real time gives the replica's next event; the
 * simulation takes the earliest over all replicas (serve_events.c).
 * A replica keeps its requests' milestones in its batch slots and a heap
 * of the slots by milestone, so that an event reads neither the jobs nor
 * every slot (batches of hundreds cost O(log batch) per event, not
 * O(batch)); due slots are handled in slot order, as a scan would, so that
 * simultaneous completions keep their order.  A completed request frees a
 * batch slot, which the model's FIFO queue fills at once; a new request
 * goes to the least busy replica with a free slot (serve_occ.c).
 *
 * Routing happens at arrival with the load seen then: each model's
 * utilisation (requests in system / (replicas * batch)) smoothed by an EMA
 * per arrival.  Feedback (utility updates) and the admission of the answer
 * into the example cache happen at completion, as they would in a real
 * deployment.
 *
 * Batches.  Most of the time goes into the example searches, one per
 * request, and they can run before their requests' turn: with the IVF
 * index, once its centroids are all founded, requests wait in batches of
 * BATCH, and while one batch is served (events, routing, admissions) the
 * next is searched ahead, in cfg.threads threads (team.c) or, with one,
 * by the caller after serving.  The index defers its changes meanwhile
 * and applies them between batches; a search made ahead is brought up to
 * date at its request's turn with the changes since (serve_ivf.c,
 * DEFERRED CHANGES), so the results are those of searching then, and the
 * same for any number of threads.  Only the centroids lag: a request
 * ranks them as they were when its batch was searched.  sim_serve_finish
 * serves the requests waiting first.
 *
 * Invariant: arrived == completed + in_flight at every instant.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "sim_policy.h"

#define MAX_K 16
/* Similarity below which an example carries no information, in the quality
 * model (the ground truth); the router's own cut-off is cfg.min_sim. */
#define TRUE_S0 0.5
#define CANDIDATES 16
/* Requests per batch (HOW IT WORKS): enough to keep threads busy between
 * two hand-overs, few enough that the changes a search catches up with
 * stay few. */
#define BATCH 256

struct job {
    double arrive, ttft_at;
    double prefill, work;     /* batch-1 seconds */
    double v0;                /* replica clock at start of service */
    double cost;
    uint64_t index, cls;
    uint32_t tokens_in, tokens_out, prompt_tokens;
    uint16_t cat;
    uint8_t model, nex, ttft_done, acceptable, large_ok, cacheable;
    uint8_t has_emb;          /* its embedding is in embs, for admission */
    uint32_t ex[MAX_K];
    struct exhint hint;       /* from the search, for the admission */
};

/* A running request, as its replica sees it: an event reads the replica's
 * slots, not the jobs (a cache miss each). */
struct slot {
    double ms;                /* the job's next milestone (milestone()) */
    double end;               /* its end of decode (v0 + work) */
    uint32_t id;              /* the job */
    uint32_t hp;              /* its place in the replica's heap */
    uint8_t pre;              /* 1 while in prefill (!ttft_done) */
};

struct replica {
    /* The running requests in batch slots 0..n-1, in the order an event
     * handles them (a completed one's slot takes the last slot's request,
     * handled next), and a binary min-heap of the slots by milestone, so
     * that an event finds the due ones and the next without a scan. */
    struct slot *slot;
    uint32_t *heap;           /* slot numbers; heap[0] has the least ms */
    uint32_t gid;             /* number over all models (model-major) */
    uint32_t idx;             /* number in its model */
    unsigned n;
    double v, t_last;         /* virtual clock, real time it was last updated */
    double next;              /* real time of its next event; INFINITY if idle */
};

struct model_rt {
    const struct sim_model *m;
    double alpha;
    double *speed;            /* by occupancy 0..batch: speed_of(alpha, n) */
    struct replica *rep;
    uint32_t *queue;          /* ring of job ids */
    size_t qhead, qlen, qcap;
    uint64_t in_system;
    double util;              /* smoothed utilisation */
    struct occ occ;           /* the replicas by occupancy */
};

struct hist { uint64_t n; uint64_t bins[HIST_BINS + 2]; };

/* What serving a request needs of it, once sim_serve_arrive checked it. */
struct arrival {
    uint64_t index, time, cls;
    uint32_t tokens_in, tokens_out;
    uint16_t cat;
    const float *emb;               /* NULL without an example cache */
    const struct ivf_ahead *ahead;  /* its search made ahead, or NULL */
};

/* Requests waiting to be served, with their searches made ahead (room for
 * BATCH; HOW IT WORKS). */
struct batch {
    struct arrival *a;
    struct ivf_ahead *ah;
    float *emb;               /* a[i].emb: BATCH rows of dim */
    uint64_t *probe;          /* ah[i].probe: BATCH rows of nprobe */
    unsigned char *prep;      /* ah[i].prep: BATCH preps */
    unsigned n;
};

struct acc {
    uint64_t arrived, completed, tokens, ok, ex_hits, ex_total, cache_served;
    uint64_t routed[SIM_SERVE_MAX_MODELS];
    double win, cost, sum_ttft, sum_e2e;
    double *ttft, *e2e;       /* windows: exact percentiles */
    size_t nlat, caplat;
};

struct sim_serve_s {
    struct sim_serve_config cfg;
    struct model_rt rt[SIM_SERVE_MAX_MODELS];
    unsigned nm, large, small;
    struct job *jobs;
    uint32_t njobs, capjobs, *free_jobs, nfree_jobs;
    float *embs;              /* capembs rows of rowlen floats: job i's embedding,
                               * then its prepared copy (struct exhint) */
    uint32_t capembs, rowlen;
    uint64_t arrived, completed;
    double now, t_first, t_last_done;
    int started;
    /* The replicas' next events, earliest first (ties: the lower gid). */
    struct replica **reps;    /* by gid */
    unsigned *rep_model;      /* by gid */
    struct evq events;        /* keys by gid */
    uint32_t nreps;
    uint32_t *due, *due_stack; /* rep_event's scratch: the largest batch */
    struct excache x;
    int have_cache;
    uint32_t dim;
    size_t search_k;          /* candidates a search asks for */
    float search_min;         /* and their least similarity */
    /* Batches (HOW IT WORKS): bt[ready] is served while bt[!ready] fills,
     * or is searched ahead by the team and the scratches ws. */
    int pipe;
    struct batch bt[2];
    unsigned ready;
    struct team *team;
    struct ivf_scratch *ws;
    unsigned nws;
    struct sim_rng arrivals;
    double next_poisson;
    /* metrics */
    struct acc win, all;
    struct hist h_ttft, h_e2e;
    struct hist_tab htab;
    double win_start, win_end;
    void (*on_window)(void *, const struct sim_serve_stats *);
    void *on_window_arg;
    double replay_cost, replay_gain, win_replay_cost, win_replay_gain;
    uint64_t replay_round;
};

/*=====   names   =====*/

static const char *const router_names[] = {"large", "small", "threshold", "semcache",
                                           "iccache"};

const char *sim_router_name(enum sim_router r)
{
    return (unsigned)r < 5 ? router_names[r] : "unknown";
}

int sim_router_parse(const char *name)
{
    for (int i = 0; i < 5; i++)
        if (!strcmp(name, router_names[i]))
            return i;
    return SIM_ENOTFOUND;
}


static const struct sim_param_def serve_params[] = {
    {"target", SIM_P_REAL, "0.75", 0, 1, NULL, "iccache: lowest acceptable predicted quality"},
    {"slack", SIM_P_REAL, "0.05", 0, 1, NULL, "iccache: target relaxed under load by this much"},
    {"load_threshold", SIM_P_REAL, "0.7", 0, 10, NULL, "utilisation where pressure starts"},
    {"load_width", SIM_P_REAL, "0.2", 1e-6, 10, NULL, "pressure = tanh((util - thr) / width)"},
    {"load_ema", SIM_P_REAL, "0.05", 1e-6, 1, NULL, "smoothing of utilisation per arrival"},
    {"tau", SIM_P_REAL, "0.1", -1, 1, NULL, "threshold: large if its predicted gain > tau"},
    {"threshold", SIM_P_REAL, "0.8", -1, 1, NULL, "semcache: cosine for serving as-is"},
    {"cache", SIM_P_STR, "64M", 0, 0, NULL, "example cache budget in bytes (K/M/G)"},
    {"k", SIM_P_INT, "4", 1, MAX_K, NULL, "examples per request, at most"},
    {"min_sim", SIM_P_REAL, "0.8", -1, 0.999, NULL, "cosine below which an entry is no example"},
    {"cross", SIM_P_REAL, "0.25", 0, 1, NULL, "value of a same-category example of another class"},
    {"min_gain", SIM_P_REAL, "0.05", 0, 1, NULL, "quality an example must add per 1000 tokens"},
    {"lr", SIM_P_REAL, "0.2", 0, 1, NULL, "learning rate of example utilities"},
    {"replay_budget", SIM_P_REAL, "0", 0, 1e12, NULL, "cost per window for offline replay"},
    {"index", SIM_P_ENUM, "ivf", 0, 0, "ivf|flat|hnsw", "example index"},
    {"nprobe", SIM_P_INT, "2", 1, 1024, NULL, "ivf: clusters scanned per search"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* "64M" -> bytes (powers of 1024); -1 if malformed. */
static int parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    double x = strtod(s, &end);
    static const char units[] = "KMGT";
    double mult = 1;
    if (end == s || x < 0)
        return -1;
    if (*end) {
        const char *u = strchr(units, *end & ~0x20);
        if (!u || !*u || (end[1] && strcmp(end + 1, "B") && strcmp(end + 1, "iB")))
            return -1;
        mult = pow(1024, (double)(u - units + 1));
    }
    if (x * mult >= 1.8e19)
        return -1;
    *out = (uint64_t)(x * mult);
    return 0;
}

int sim_serve_config_parse(struct sim_serve_config *c, const char *spec, char *err,
                           size_t errlen)
{
    char name[32];
    size_t len = strcspn(spec, ":");
    if (len >= sizeof name) {
        snprintf(err, errlen, "router '%s': name too long", spec);
        return SIM_EINVAL;
    }
    memcpy(name, spec, len);
    name[len] = 0;
    int r = sim_router_parse(name);
    if (r < 0) {
        snprintf(err, errlen, "unknown router '%s' (large, small, threshold, semcache, "
                 "iccache)", name);
        return SIM_ENOTFOUND;
    }
    sim_params *p = sim_params_parse(name, serve_params, spec[len] ? spec + len + 1 : "",
                                     err, errlen);
    if (!p)
        return SIM_EINVAL;
    uint64_t bytes;
    if (parse_bytes(sim_params_str(p, "cache"), &bytes) || bytes == 0) {
        snprintf(err, errlen, "%s: parameter 'cache': '%s' is not a size in bytes", name,
                 sim_params_str(p, "cache"));
        sim_params_free(p);
        return SIM_EINVAL;
    }
    c->router = (enum sim_router)r;
    c->quality_target = sim_params_real(p, "target");
    c->slack = sim_params_real(p, "slack");
    c->load_threshold = sim_params_real(p, "load_threshold");
    c->load_width = sim_params_real(p, "load_width");
    c->load_ema = sim_params_real(p, "load_ema");
    c->route_tau = sim_params_real(p, "tau");
    c->semcache_threshold = sim_params_real(p, "threshold");
    c->cache_bytes = bytes;
    c->k = (unsigned)sim_params_int(p, "k");
    c->min_sim = sim_params_real(p, "min_sim");
    c->cross = sim_params_real(p, "cross");
    c->min_gain_per_ktok = sim_params_real(p, "min_gain");
    c->utility_lr = sim_params_real(p, "lr");
    c->replay_budget = sim_params_real(p, "replay_budget");
    c->index = excache_index_named(sim_params_str(p, "index"));
    c->nprobe = (unsigned)sim_params_int(p, "nprobe");
    sim_params_free(p);
    return 0;
}

void sim_serve_config_init(struct sim_serve_config *c, const sim_modelpool *pool)
{
    char err[SIM_ERRLEN];
    memset(c, 0, sizeof *c);
    c->pool = pool;
    c->seed = 1;
    c->bytes_per_token = 4;
    c->threads = 1;
    /* The defaults live in serve_params alone; this parse cannot fail. */
    sim_serve_config_parse(c, "iccache", err, sizeof err);
}

/*=====   quality model   =====*/

/* Uniform in [0, 1) from a 64-bit value (splitmix64's finaliser). */
static double unit_of(uint64_t x)
{
    return (double)(sim_key_hash(x) >> 11) * 0x1.0p-53;
}

static double difficulty(uint64_t cls) { return unit_of(cls ^ 0x64696666ULL); }

static double clamp01(double x) { return x < 0 ? 0 : x > 1 ? 1 : x; }

static double rel(double sim, double s0) { return clamp01((sim - s0) / (1 - s0)); }

/* Quality of model m on (cat, d) with summed example value g. */
static double quality(const struct sim_model *m, unsigned cat, double d, double g)
{
    double q = m->quality[cat] - m->difficulty_slope * (d - 0.5);
    /* g == 0 is most calls: 1 - exp(-0) is 0, without the libm call. */
    q += m->example_gain * (g == 0 ? 0.0 : 1 - exp(-g / m->example_scale));
    return clamp01(q);
}

/*=====   latency histogram   =====*/

static void hist_add(struct hist *h, const struct hist_tab *t, double x)
{
    h->bins[hist_bin(t, x)]++;
    h->n++;
}

static double hist_quantile(const struct hist *h, double q)
{
    if (!h->n)
        return 0;
    uint64_t want = (uint64_t)ceil(q * (double)h->n), seen = 0;
    if (want == 0)
        want = 1;
    for (int b = 0; b < HIST_BINS + 2; b++) {
        seen += h->bins[b];
        if (seen >= want) {
            if (b == 0)
                return 0;
            /* geometric middle of the bin */
            return pow(10, HIST_MIN_EXP + ((double)(b - 1) + 0.5) / HIST_PER_DECADE);
        }
    }
    return INFINITY;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank quantile of sorted v. */
static double quantile(const double *v, size_t n, double q)
{
    if (!n)
        return 0;
    size_t r = (size_t)ceil(q * (double)n);
    return v[r ? r - 1 : 0];
}

/*=====   jobs and queues   =====*/

static uint32_t job_new(sim_serve *s)
{
    if (s->nfree_jobs)
        return s->free_jobs[--s->nfree_jobs];
    if (s->njobs == s->capjobs) {
        uint32_t n = s->capjobs ? s->capjobs * 2 : 1024;
        struct job *j = realloc(s->jobs, n * sizeof *j);
        uint32_t *f = realloc(s->free_jobs, n * sizeof *f);
        if (j)
            s->jobs = j;
        if (f)
            s->free_jobs = f;
        if (!j || !f)
            return UINT32_MAX;
        s->capjobs = n;
    }
    return s->njobs++;
}

static int queue_push(struct model_rt *rt, uint32_t id)
{
    if (rt->qlen == rt->qcap) {
        size_t n = rt->qcap ? rt->qcap * 2 : 256;
        uint32_t *q = malloc(n * sizeof *q);
        if (!q)
            return SIM_ENOMEM;
        for (size_t i = 0; i < rt->qlen; i++)
            q[i] = rt->queue[(rt->qhead + i) % rt->qcap];
        free(rt->queue);
        rt->queue = q;
        rt->qcap = n;
        rt->qhead = 0;
    }
    rt->queue[(rt->qhead + rt->qlen++) % rt->qcap] = id;
    return 0;
}

static uint32_t queue_pop(struct model_rt *rt)
{
    uint32_t id = rt->queue[rt->qhead];
    rt->qhead = (rt->qhead + 1) % rt->qcap;
    rt->qlen--;
    return id;
}

/*=====   replicas   =====*/

static double speed_of(double alpha, unsigned n)
{
    return n <= 1 ? 1 : 1 / (1 + alpha * (n - 1));
}

/* speed_of(alpha, n), from the model's table (a division per event less,
 * on the event's dependency chain). */
static double speed(const struct model_rt *rt, unsigned n) { return rt->speed[n]; }

/* Brings the replica's virtual clock to real time t. */
static void rep_sync(const struct model_rt *rt, struct replica *r, double t)
{
    if (r->n)
        r->v += (t - r->t_last) * speed(rt, r->n);
    r->t_last = t;
}

/* The next milestone of job j, in virtual time (end of prefill, then end
 * of decode); each replica keeps its jobs' in ms, by slot. */
static double milestone(const struct job *j)
{
    return j->ttft_done ? j->v0 + j->work : j->v0 + j->prefill;
}

/*=====   a replica's milestones   =====*/

static void mh_put(struct replica *r, uint32_t at, uint32_t slot)
{
    r->heap[at] = slot;
    r->slot[slot].hp = at;
}

static void mh_up(struct replica *r, uint32_t at)
{
    uint32_t x = r->heap[at];
    double k = r->slot[x].ms;
    while (at > 0 && k < r->slot[r->heap[(at - 1) / 2]].ms) {
        mh_put(r, at, r->heap[(at - 1) / 2]);
        at = (at - 1) / 2;
    }
    mh_put(r, at, x);
}

static void mh_down(struct replica *r, uint32_t at)
{
    uint32_t x = r->heap[at];
    double k = r->slot[x].ms;
    for (;;) {
        uint32_t c = 2 * at + 1;
        if (c >= r->n)
            break;
        if (c + 1 < r->n && r->slot[r->heap[c + 1]].ms < r->slot[r->heap[c]].ms)
            c++;
        if (!(r->slot[r->heap[c]].ms < k))
            break;
        mh_put(r, at, r->heap[c]);
        at = c;
    }
    mh_put(r, at, x);
}

/* Removes the request in slot i: the last slot's request moves into it. */
static void slot_remove(struct replica *r, uint32_t i)
{
    uint32_t at = r->slot[i].hp, last = --r->n;
    if (at < last) { /* the heap's last node fills the hole */
        mh_put(r, at, r->heap[last]);
        if (at > 0 && r->slot[r->heap[at]].ms < r->slot[r->heap[(at - 1) / 2]].ms)
            mh_up(r, at);
        else
            mh_down(r, at);
    }
    if (i != last) {
        r->slot[i] = r->slot[last];
        r->heap[r->slot[i].hp] = i;
    }
}

/* The slots due (ms <= due) into d, ascending; returns how many. */
static uint32_t slots_due(const struct replica *r, double due, uint32_t *d, uint32_t *stack)
{
    uint32_t m = 0, top = 0;
    if (r->n && r->slot[r->heap[0]].ms <= due)
        stack[top++] = 0;
    while (top) {
        uint32_t at = stack[--top];
        uint32_t x = r->heap[at], k = m++;
        for (; k > 0 && d[k - 1] > x; k--)
            d[k] = d[k - 1];
        d[k] = x;
        for (uint32_t c = 2 * at + 1; c <= 2 * at + 2 && c < r->n; c++)
            if (r->slot[r->heap[c]].ms <= due)
                stack[top++] = c;
    }
    return m;
}

/* Sets replica r's next event time from its least milestone. */
static void rep_next(const struct model_rt *rt, struct replica *r)
{
    if (!r->n) {
        r->next = INFINITY;
        return;
    }
    double dv = r->slot[r->heap[0]].ms - r->v;
    r->next = r->t_last + (dv > 0 ? dv / speed(rt, r->n) : 0);
}

/* Sets replica r's next event time (and its place in the event queue). */
static void rep_schedule(sim_serve *s, const struct model_rt *rt, struct replica *r)
{
    rep_next(rt, r);
    evq_set(&s->events, r->gid, r->next);
}

/* Puts job id in the next slot of replica r, whose clock is now. */
static void rep_add(sim_serve *s, struct replica *r, uint32_t id)
{
    struct job *j = &s->jobs[id];
    j->v0 = r->v;
    uint32_t i = r->n++;
    r->slot[i] = (struct slot){milestone(j), j->v0 + j->work, id, i, !j->ttft_done};
    r->heap[i] = i;
    mh_up(r, i);
}

static void rep_start(sim_serve *s, struct model_rt *rt, struct replica *r, uint32_t id,
                      double t)
{
    rep_sync(rt, r, t);
    rep_add(s, r, id);
    occ_move(&rt->occ, r->idx, r->n - 1, r->n);
    rep_schedule(s, rt, r);
}

/*=====   metrics   =====*/

static int acc_lat(struct acc *a, double ttft, double e2e)
{
    if (a->nlat == a->caplat) {
        size_t n = a->caplat ? a->caplat * 2 : 1024;
        double *t = realloc(a->ttft, n * sizeof *t);
        if (t)
            a->ttft = t;
        double *e = realloc(a->e2e, n * sizeof *e);
        if (e)
            a->e2e = e;
        if (!t || !e)
            return SIM_ENOMEM;
        a->caplat = n;
    }
    a->ttft[a->nlat] = ttft;
    a->e2e[a->nlat++] = e2e;
    return 0;
}

static void fill_stats(const sim_serve *s, const struct acc *a, double t0, double t1,
                       struct sim_serve_stats *st, int exact)
{
    memset(st, 0, sizeof *st);
    st->t_start = t0;
    st->t_end = t1;
    st->arrived = a->arrived;
    st->completed = a->completed;
    st->in_flight = s->arrived - s->completed;
    double span = t1 - t0;
    st->throughput_rps = span > 0 ? (double)a->completed / span : 0;
    st->tokens_per_s = span > 0 ? (double)a->tokens / span : 0;
    if (a->completed) {
        st->ttft_mean = a->sum_ttft / (double)a->completed;
        st->e2e_mean = a->sum_e2e / (double)a->completed;
        st->quality = (double)a->ok / (double)a->completed;
        st->win_rate = a->win / (double)a->completed;
    }
    if (exact && a->nlat) {
        qsort(a->ttft, a->nlat, sizeof *a->ttft, cmp_double);
        qsort(a->e2e, a->nlat, sizeof *a->e2e, cmp_double);
        st->ttft_p50 = quantile(a->ttft, a->nlat, 0.50);
        st->ttft_p95 = quantile(a->ttft, a->nlat, 0.95);
        st->ttft_p99 = quantile(a->ttft, a->nlat, 0.99);
        st->e2e_p50 = quantile(a->e2e, a->nlat, 0.50);
        st->e2e_p95 = quantile(a->e2e, a->nlat, 0.95);
        st->e2e_p99 = quantile(a->e2e, a->nlat, 0.99);
    } else if (!exact) {
        st->ttft_p50 = hist_quantile(&s->h_ttft, 0.50);
        st->ttft_p95 = hist_quantile(&s->h_ttft, 0.95);
        st->ttft_p99 = hist_quantile(&s->h_ttft, 0.99);
        st->e2e_p50 = hist_quantile(&s->h_e2e, 0.50);
        st->e2e_p95 = hist_quantile(&s->h_e2e, 0.95);
        st->e2e_p99 = hist_quantile(&s->h_e2e, 0.99);
    }
    for (unsigned m = 0; m < s->nm; m++)
        st->offload[m] = a->arrived ? (double)a->routed[m] / (double)a->arrived : 0;
    st->cache_served = a->arrived ? (double)a->cache_served / (double)a->arrived : 0;
    st->cost = a->cost;
    st->example_hit_rate = a->arrived ? (double)a->ex_hits / (double)a->arrived : 0;
    st->examples_per_request = a->arrived ? (double)a->ex_total / (double)a->arrived : 0;
    st->cache_entries = s->have_cache ? s->x.nlive : 0;
    st->cache_bytes = s->have_cache ? s->x.bytes : 0;
}

static void replay_examples(sim_serve *s);

/* Closes every window that ends at or before t. */
static void windows_until(sim_serve *s, double t)
{
    if (s->cfg.window_s <= 0 || !s->started)
        return;
    while (t >= s->win_end) {
        if (s->cfg.replay_budget > 0)
            replay_examples(s);
        if (s->on_window) {
            struct sim_serve_stats st;
            fill_stats(s, &s->win, s->win_start, s->win_end, &st, 1);
            st.replay_cost = s->win_replay_cost;
            st.replay_gain = s->win_replay_gain;
            s->on_window(s->on_window_arg, &st);
        }
        double *t1 = s->win.ttft, *e1 = s->win.e2e;
        size_t cap = s->win.caplat;
        memset(&s->win, 0, sizeof s->win);
        s->win.ttft = t1;
        s->win.e2e = e1;
        s->win.caplat = cap;
        s->win_replay_cost = s->win_replay_gain = 0;
        s->win_start = s->win_end;
        s->win_end += s->cfg.window_s;
    }
}

/*=====   completion   =====*/

static void admit(sim_serve *s, struct job *j)
{
    if (!s->have_cache || !j->has_emb)
        return;
    const struct sim_model *m = s->rt[j->model].m;
    struct exentry e;
    memset(&e, 0, sizeof e);
    e.cls = j->cls;
    e.cat = j->cat;
    e.model = j->model;
    e.acceptable = j->acceptable;
    /* Prior utility: how often this model's answers are acceptable. */
    e.utility = (float)quality(m, j->cat, 0.5, 0);
    e.tokens = j->tokens_in + j->tokens_out;
    e.bytes = e.tokens * s->cfg.bytes_per_token + s->dim * (uint32_t)sizeof(float);
    char err[SIM_ERRLEN];
    /* A failure just skips. */
    float *row = s->embs + (size_t)(j - s->jobs) * s->rowlen;
    j->hint.prep = row + s->dim; /* the rows may have moved since the search */
    excache_insert_hint(&s->x, &e, row, &j->hint, err, sizeof err);
}

static void feedback(sim_serve *s, const struct job *j)
{
    for (unsigned i = 0; i < j->nex; i++) {
        __builtin_prefetch(&s->x.e[j->ex[i]]); /* scattered: all at once */
        __builtin_prefetch(&s->x.pos[j->ex[i]]);
    }
    for (unsigned i = 0; i < j->nex; i++) {
        struct exentry *e = &s->x.e[j->ex[i]];
        if (!e->live)
            continue; /* evicted meanwhile */
        excache_set_utility(&s->x, j->ex[i], e->utility + (float)(s->cfg.utility_lr
                                                   * ((double)j->acceptable - e->utility)));
        e->uses++;
    }
}

static void complete(sim_serve *s, uint32_t id, double t)
{
    struct job *j = &s->jobs[id];
    double ttft = j->ttft_at - j->arrive, e2e = t - j->arrive;
    struct acc *as[2] = {&s->win, &s->all};
    for (int k = 0; k < 2; k++) {
        struct acc *a = as[k];
        a->completed++;
        a->tokens += j->tokens_out;
        a->ok += j->acceptable;
        a->win += j->acceptable == j->large_ok ? 0.5 : j->acceptable ? 1 : 0;
        a->sum_ttft += ttft;
        a->sum_e2e += e2e;
    }
    if (s->cfg.window_s > 0)
        acc_lat(&s->win, ttft, e2e); /* exact percentiles of windows only */
    hist_add(&s->h_ttft, &s->htab, ttft);
    hist_add(&s->h_e2e, &s->htab, e2e);
    if (s->have_cache) {
        feedback(s, j);
        if (j->cacheable)
            admit(s, j);
    }
    j->has_emb = 0;
    s->completed++;
    s->t_last_done = t;
    s->free_jobs[s->nfree_jobs++] = id;
}

/* Runs the event of replica r of model mi at its time. */
static void rep_event(sim_serve *s, unsigned mi, struct replica *r)
{
    struct model_rt *rt = &s->rt[mi];
    double t = r->next;
    windows_until(s, t);
    rep_sync(rt, r, t);
    unsigned n0 = r->n;
    const double eps = 1e-9, due = r->v + eps;
    /* Milestones reached: first tokens, then completions (a request whose
     * decode is also done completes at once), slot by slot upwards; a
     * completed request's slot takes the last slot's request, which is
     * handled there next if it is due too. */
    uint32_t *d = s->due, m = slots_due(r, due, d, s->due_stack);
    for (uint32_t k = 0; k < m;) {
        uint32_t i = d[k];
        struct slot *sl = &r->slot[i];
        if (sl->pre) {
            struct job *j = &s->jobs[sl->id];
            j->ttft_done = 1;
            j->ttft_at = t;
            sl->pre = 0;
            sl->ms = sl->end; /* milestone(j) now */
            mh_down(r, sl->hp);
            if (sl->ms > due) {
                k++;
                continue;
            }
        }
        uint32_t id = sl->id, last = r->n - 1;
        slot_remove(r, i);
        rt->in_system--;
        complete(s, id, t);
        if (i != last && d[m - 1] == last)
            m--; /* the last slot's request, due, is now in slot i */
        else
            k++;
    }
    while (r->n < rt->m->batch && rt->qlen)
        rep_add(s, r, queue_pop(rt));
    occ_move(&rt->occ, r->idx, n0, r->n);
    rep_schedule(s, rt, r);
}

/* Asks for what the next event will read: its replica's slots and the job
 * at its least milestone (the event is due then: its first token or its
 * end).  Between events an arrival's routing runs, time for the loads. */
static void prefetch_next(const sim_serve *s)
{
    const struct replica *r = s->reps[evq_min(&s->events)];
    if (!r->n)
        return;
    const char *j = (const char *)&s->jobs[r->slot[r->heap[0]].id];
    __builtin_prefetch(r->slot);
    __builtin_prefetch((const char *)r->slot + 64);
    for (size_t b = 0; b < sizeof(struct job); b += 64)
        __builtin_prefetch(j + b);
}

/* Runs every event strictly before time t (all of them if t is infinite),
 * earliest first (ties: the lower gid). */
static void advance(sim_serve *s, double t)
{
    for (;;) {
        uint32_t g = evq_min(&s->events);
        if (!(s->events.key[g] < t))
            break;
        rep_event(s, s->rep_model[g], s->reps[g]);
    }
    prefetch_next(s);
}

/*=====   routing   =====*/

struct cand {
    uint32_t id;
    float sim;
    double pred;  /* predicted value u * rel(sim) */
    double truth; /* true value: acceptable * match * rel(sim) */
    uint32_t tokens;
};

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->pred != y->pred)
        return x->pred < y->pred ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Sorts c by cmp_cand: an insertion sort, as there are at most CANDIDATES
 * (qsort's merge sort costs more per call than the sorting); the order is
 * total (ids differ), so the result is qsort's. */
static void sort_cands(struct cand *c, unsigned n)
{
    for (unsigned i = 1; i < n; i++) {
        struct cand x = c[i];
        unsigned k = i;
        for (; k > 0 && cmp_cand(&c[k - 1], &x) > 0; k--)
            c[k] = c[k - 1];
        c[k] = x;
    }
}

/* Greedy example choice for model m: add the best candidates while each
 * adds at least min_gain_per_ktok predicted quality per 1000 tokens.
 * *pred_q is the predicted quality with the examples chosen: quality(m,
 * cat, d, *pred_g), kept as the loop goes, so that each candidate costs
 * one quality() (one exp), not two. */
static unsigned choose_examples(const sim_serve *s, const struct sim_model *m, unsigned cat,
                                double d, const struct cand *c, unsigned nc, uint32_t *chosen,
                                double *pred_g, double *pred_q, double *true_g,
                                uint32_t *tokens)
{
    unsigned n = 0;
    *pred_g = *true_g = 0;
    *pred_q = quality(m, cat, d, 0);
    *tokens = 0;
    for (unsigned i = 0; i < nc && n < s->cfg.k; i++) {
        double before = *pred_q;
        double after = quality(m, cat, d, *pred_g + c[i].pred);
        double per_ktok = (after - before) * 1000.0 / (c[i].tokens ? c[i].tokens : 1);
        if (per_ktok < s->cfg.min_gain_per_ktok)
            break; /* candidates are sorted: later ones add less */
        chosen[n++] = c[i].id;
        *pred_g += c[i].pred;
        *pred_q = after;
        *true_g += c[i].truth;
        *tokens += c[i].tokens;
    }
    return n;
}

static double pressure(const sim_serve *s, unsigned m)
{
    double x = (s->rt[m].util - s->cfg.load_threshold) / s->cfg.load_width;
    return x > 0 ? tanh(x) : 0;
}

static double est_cost(const struct sim_model *m, uint32_t prompt, uint32_t out)
{
    return m->cost_in * prompt + m->cost_out * out;
}

/* The hint (for the admission) of a search made ahead. */
static void hint_of(const sim_serve *s, const struct ivf_ahead *a, struct exhint *h)
{
    h->ncent = a->ncent;
    h->best = a->best;
    h->sim = a->bsim;
    h->have_prep = a->n >= 0;
    if (h->prep && h->have_prep)
        memcpy(h->prep, a->prep, excache_prep_size(&s->x));
}

/* Fills the job's model, examples and quality; returns 1 if the request
 * was answered from the response cache (semcache). */
static int route(sim_serve *s, struct job *j, const struct arrival *q, double d, double u)
{
    unsigned L = s->large, S = s->small;
    struct cand c[CANDIDATES];
    unsigned nc = 0;
    if (s->have_cache && q->emb) {
        uint64_t ids[CANDIDATES];
        float sims[CANDIDATES];
        char err[SIM_ERRLEN];
        int n;
        if (q->ahead) {
            n = ivf_search_finish(&s->x, q->ahead, s->search_k, s->search_min, ids, sims);
            hint_of(s, q->ahead, &j->hint);
        } else
            n = excache_search_floor(&s->x, q->emb, s->search_k, s->search_min, &j->hint, ids,
                                     sims, err, sizeof err);
        /* The entries are scattered over a large array: ask for all of
         * them before the first is read. */
        for (int i = 0; i < n; i++)
            __builtin_prefetch(&s->x.e[ids[i]]);
        for (int i = 0; i < n; i++) {
            const struct exentry *e = &s->x.e[ids[i]];
            /* The truth is the model's (relevance from TRUE_S0); the router
             * predicts with its own threshold, a knob it may tune. */
            double match = e->cls == j->cls ? 1 : e->cat == j->cat ? s->cfg.cross : 0;
            c[nc].id = (uint32_t)ids[i];
            c[nc].sim = sims[i];
            c[nc].pred = e->utility * rel(sims[i], s->cfg.min_sim);
            c[nc].truth = e->acceptable * match * rel(sims[i], TRUE_S0);
            c[nc].tokens = e->tokens;
            if (s->cfg.router == SIM_ROUTE_SEMCACHE || sims[i] >= s->cfg.min_sim)
                nc++;
        }
    }
    double plarge = quality(s->rt[L].m, j->cat, d, 0);
    j->large_ok = u < plarge;
    unsigned pick = L;
    double true_g = 0;
    j->nex = 0;
    j->prompt_tokens = j->tokens_in;
    switch (s->cfg.router) {
    case SIM_ROUTE_LARGE: pick = L; break;
    case SIM_ROUTE_SMALL: pick = S; break;
    case SIM_ROUTE_THRESHOLD: {
        double ps = quality(s->rt[S].m, j->cat, d, 0);
        pick = plarge - ps > s->cfg.route_tau ? L : S;
        break;
    }
    case SIM_ROUTE_SEMCACHE:
        if (nc && c[0].sim >= s->cfg.semcache_threshold) {
            const struct exentry *e = &s->x.e[c[0].id];
            j->acceptable = e->cls == j->cls && e->acceptable;
            j->cacheable = 0;
            return 1;
        }
        pick = L;
        break;
    case SIM_ROUTE_ICCACHE: {
        sort_cands(c, nc);
        double target = s->cfg.quality_target;
        if (target < 1)
            target -= s->cfg.slack * pressure(s, L);
        /* The cheapest model predicted to meet the target; if none does,
         * the largest, without examples (so a target of 1 is always-large). */
        double best_cost = INFINITY;
        pick = L;
        for (unsigned m = 0; m < s->nm; m++) {
            uint32_t ex[MAX_K], tok;
            double pg, pq, tg;
            const struct sim_model *mm = s->rt[m].m;
            if (target >= 1)
                break; /* no model is predicted to meet it */
            unsigned n = choose_examples(s, mm, j->cat, d, c, nc, ex, &pg, &pq, &tg, &tok);
            double cost = est_cost(mm, j->tokens_in + tok, j->tokens_out);
            if (pq < target || cost >= best_cost)
                continue;
            best_cost = cost;
            pick = m;
            j->nex = (uint8_t)n;
            memcpy(j->ex, ex, n * sizeof *ex);
            true_g = tg;
            j->prompt_tokens = j->tokens_in + tok;
        }
        break;
    }
    }
    j->model = (uint8_t)pick;
    const struct sim_model *m = s->rt[pick].m;
    j->acceptable = u < quality(m, j->cat, d, true_g);
    j->cacheable = 1;
    return 0;
}

/*=====   arrivals   =====*/

static int start_job(sim_serve *s, uint32_t id, double t)
{
    struct job *j = &s->jobs[id];
    struct model_rt *rt = &s->rt[j->model];
    rt->in_system++;
    /* The least busy replica with a free batch slot, else the queue. */
    int best = occ_least(&rt->occ);
    if (best >= 0) {
        rep_start(s, rt, &rt->rep[best], id, t);
        return 0;
    }
    return queue_push(rt, id);
}

static void update_load(sim_serve *s)
{
    for (unsigned m = 0; m < s->nm; m++) {
        struct model_rt *rt = &s->rt[m];
        double u = (double)rt->in_system / ((double)rt->m->replicas * rt->m->batch);
        rt->util += s->cfg.load_ema * (u - rt->util);
    }
}

static int ensure_cache(sim_serve *s, const struct sim_req *q, char *err, size_t errlen);

/* A row of embs for every job slot (grown with the jobs, not per job). */
static int ensure_embs(sim_serve *s)
{
    if (s->capembs >= s->capjobs)
        return 0;
    float *e = realloc(s->embs, (size_t)s->capjobs * s->rowlen * sizeof *e);
    if (!e)
        return SIM_ENOMEM;
    s->embs = e;
    s->capembs = s->capjobs;
    return 0;
}

/* Serves one request, checked by sim_serve_arrive: the events up to its
 * arrival, then its routing and start.  0 or SIM_ENOMEM. */
static int process(sim_serve *s, const struct arrival *q, char *err, size_t errlen)
{
    double t;
    if (s->cfg.arrival_rate > 0) {
        t = s->next_poisson;
        s->next_poisson += -log(1 - sim_rng_unit(&s->arrivals)) / s->cfg.arrival_rate;
    } else
        t = (double)q->time / 1e6;
    if (!s->started) {
        s->started = 1;
        s->t_first = t;
        s->win_start = t;
        s->win_end = t + s->cfg.window_s;
    }
    if (t < s->now)
        t = s->now; /* out-of-order times are served as if simultaneous */
    advance(s, t);
    windows_until(s, t);
    s->now = t;
    update_load(s);

    uint32_t id = job_new(s);
    if (id == UINT32_MAX) {
        snprintf(err, errlen, "out of memory");
        return SIM_ENOMEM;
    }
    struct job *j = &s->jobs[id];
    memset(j, 0, sizeof *j);
    j->arrive = t;
    j->index = q->index;
    j->cls = q->cls;
    j->cat = q->cat;
    j->tokens_in = q->tokens_in;
    j->tokens_out = q->tokens_out;
    double d = difficulty(j->cls);
    double u = unit_of(s->cfg.seed * 0x9e3779b97f4a7c15ULL + q->index);
    int emb_ok = s->have_cache && ensure_embs(s) == 0;
    if (emb_ok)
        j->hint.prep = s->embs + (size_t)id * s->rowlen + s->dim;
    int from_cache = route(s, j, q, d, u);
    s->arrived++;
    struct acc *as[2] = {&s->win, &s->all};
    if (from_cache) {
        /* Served as-is: no model work, latency 0 (the lookup). */
        for (int k = 0; k < 2; k++) {
            as[k]->arrived++;
            as[k]->cache_served++;
        }
        j->ttft_at = t;
        complete(s, id, t);
        return 0;
    }
    const struct sim_model *m = s->rt[j->model].m;
    j->prefill = m->prefill_s * j->prompt_tokens;
    j->work = j->prefill + m->decode_s * j->tokens_out;
    j->cost = est_cost(m, j->prompt_tokens, j->tokens_out);
    for (int k = 0; k < 2; k++) {
        as[k]->arrived++;
        as[k]->routed[j->model]++;
        as[k]->cost += j->cost;
        as[k]->ex_hits += j->nex > 0;
        as[k]->ex_total += j->nex;
    }
    if (emb_ok) {
        /* The raw embedding is needed only if the search did not keep the
         * prepared one. */
        if (!j->hint.have_prep)
            memcpy(s->embs + (size_t)id * s->rowlen, q->emb, s->dim * sizeof *s->embs);
        j->has_emb = 1;
    }
    return start_job(s, id, t);
}

/*=====   batches   =====*/

/* team_fn: request i of the batch being filled, searched ahead. */
static void search_ahead(void *arg, unsigned member, size_t i)
{
    sim_serve *s = arg;
    struct batch *b = &s->bt[!s->ready];
    ivf_search_ahead(&s->x, &s->ws[member], b->a[i].emb, s->search_k, s->search_min, &b->ah[i]);
}

/* Serves the ready batch while the team searches ahead for the other,
 * whose turn it then is.  0, or the first error (the rest of the ready
 * batch is dropped). */
static int cycle(sim_serve *s, char *err, size_t errlen)
{
    struct batch *next = &s->bt[!s->ready], *now = &s->bt[s->ready];
    excache_apply(&s->x); /* no search runs: the lists may change */
    if (s->team)
        team_start(s->team, next->n);
    int rc = 0;
    for (unsigned i = 0; i < now->n && !rc; i++)
        rc = process(s, &now->a[i], err, errlen);
    if (s->team)
        team_join(s->team);
    else
        for (unsigned i = 0; i < next->n; i++)
            search_ahead(s, 0, i);
    for (unsigned m = 0; m < s->nws; m++) {
        s->x.w.codes += s->ws[m].codes;
        s->x.w.scored += s->ws[m].scored;
        s->ws[m].codes = s->ws[m].scored = 0;
    }
    now->n = 0;
    s->ready = !s->ready;
    return rc;
}

/* Serves every request waiting. */
static int flush(sim_serve *s, char *err, size_t errlen)
{
    int rc = 0;
    while (!rc && (s->bt[0].n || s->bt[1].n))
        rc = cycle(s, err, errlen);
    return rc;
}

static int enqueue(sim_serve *s, const struct arrival *a, char *err, size_t errlen)
{
    struct batch *b = &s->bt[!s->ready];
    unsigned i = b->n++;
    float *row = b->emb + (size_t)i * s->dim;
    memcpy(row, a->emb, s->dim * sizeof *row);
    b->a[i] = *a;
    b->a[i].emb = row;
    b->a[i].ahead = &b->ah[i];
    return b->n == BATCH ? cycle(s, err, errlen) : 0;
}

/* The batches and the team, for an IVF example cache: 0 or SIM_ENOMEM. */
static int batches_init(sim_serve *s)
{
    size_t np = ivf_probes(&s->x);
    size_t ps = excache_prep_size(&s->x);
    for (int k = 0; k < 2; k++) {
        struct batch *b = &s->bt[k];
        b->a = malloc(BATCH * sizeof *b->a);
        b->ah = malloc(BATCH * sizeof *b->ah);
        b->emb = malloc((size_t)BATCH * s->dim * sizeof *b->emb);
        b->probe = malloc(BATCH * np * sizeof *b->probe);
        b->prep = malloc(BATCH * ps);
        if (!b->a || !b->ah || !b->emb || !b->probe || !b->prep)
            return SIM_ENOMEM;
        for (size_t i = 0; i < BATCH; i++) {
            b->ah[i].probe = b->probe + i * np;
            b->ah[i].prep = b->prep + i * ps;
        }
    }
    unsigned n = s->cfg.threads > 1 ? s->cfg.threads : 1;
    s->ws = calloc(n, sizeof *s->ws);
    if (!s->ws)
        return SIM_ENOMEM;
    s->nws = n;
    for (unsigned m = 0; m < n; m++)
        if (ivf_scratch_init(&s->x, &s->ws[m]))
            return SIM_ENOMEM;
    /* Without threads the caller searches ahead itself: the same results. */
    if (n > 1)
        s->team = team_create(n, search_ahead, s);
    return 0;
}

static void batches_free(sim_serve *s)
{
    team_free(s->team);
    for (unsigned m = 0; m < s->nws; m++)
        ivf_scratch_free(&s->ws[m]);
    free(s->ws);
    for (int k = 0; k < 2; k++) {
        free(s->bt[k].a);
        free(s->bt[k].ah);
        free(s->bt[k].emb);
        free(s->bt[k].probe);
        free(s->bt[k].prep);
    }
}

int sim_serve_arrive(sim_serve *s, const struct sim_req *q, const char *category_name,
                     char *err, size_t errlen)
{
    int rc = ensure_cache(s, q, err, errlen);
    if (rc)
        return rc;
    if (!(q->present & SIM_F_TOKENS)) {
        snprintf(err, errlen, "request %llu: no tokens_in/tokens_out (needed to serve it)",
                 (unsigned long long)q->index);
        return SIM_EMISSING;
    }
    int cat = 0;
    if (category_name) {
        cat = sim_modelpool_category(s->cfg.pool, category_name);
        if (cat < 0) {
            snprintf(err, errlen, "request %llu: category '%s' is not in the model pool",
                     (unsigned long long)q->index, category_name);
            return SIM_EINVAL;
        }
    }
    int needs_emb = s->have_cache;
    if (needs_emb && (!q->emb || q->dim != s->dim)) {
        snprintf(err, errlen, "request %llu: router '%s' needs embeddings of dimension %u",
                 (unsigned long long)q->index, sim_router_name(s->cfg.router), s->dim);
        return SIM_EMISSING;
    }
    struct arrival a = {q->index, q->time, q->present & SIM_F_CLASS ? q->cls : q->key,
                        q->tokens_in, q->tokens_out, (uint16_t)cat,
                        needs_emb ? q->emb : NULL, NULL};
    if (s->pipe)
        return enqueue(s, &a, err, errlen);
    if ((rc = process(s, &a, err, errlen)))
        return rc;
    /* Once the index can defer its changes, requests go in batches. */
    if (s->bt[0].a && excache_defer(&s->x))
        s->pipe = 1;
    return 0;
}

/*=====   cost-aware replay   =====*/

struct rcand { uint32_t id; double value, cost; };

static int cmp_rcand(const void *a, const void *b)
{
    const struct rcand *x = a, *y = b;
    double rx = x->value / x->cost, ry = y->value / y->cost;
    if (rx != ry)
        return rx < ry ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Re-runs low-utility examples answered by smaller models on the largest
 * model, best expected gain per cost first, within the window's budget.
 * Expected gain = (p_large - utility) * (uses + 1): an example used often
 * is worth more when improved. */
static void replay_examples(sim_serve *s)
{
    if (!s->have_cache || !s->x.nlive)
        return;
    const struct sim_model *L = s->rt[s->large].m;
    struct rcand *c = malloc(s->x.nlive * sizeof *c);
    if (!c)
        return;
    size_t n = 0;
    for (uint32_t i = 0; i < s->x.nlive; i++) {
        uint32_t id = s->x.live[i].id;
        const struct exentry *e = &s->x.e[id];
        if (e->model == s->large)
            continue;
        double pl = quality(L, e->cat, difficulty(e->cls), 0);
        double value = (pl - e->utility) * (e->uses + 1);
        double cost = est_cost(L, e->tokens, 0);
        if (value > 0 && cost > 0)
            c[n++] = (struct rcand){id, value, cost};
    }
    qsort(c, n, sizeof *c, cmp_rcand);
    double spent = 0;
    s->replay_round++;
    for (size_t i = 0; i < n && spent + c[i].cost <= s->cfg.replay_budget; i++) {
        struct exentry *e = &s->x.e[c[i].id];
        double pl = quality(L, e->cat, difficulty(e->cls), 0);
        double u = unit_of(s->cfg.seed ^ (s->replay_round << 32) ^ c[i].id ^ 0x7265706cULL);
        double before = e->utility;
        e->model = (uint8_t)s->large;
        e->acceptable = u < pl;
        excache_set_utility(&s->x, c[i].id, (float)pl);
        spent += c[i].cost;
        s->win_replay_gain += e->utility - before;
        s->replay_gain += e->utility - before;
    }
    s->win_replay_cost += spent;
    s->replay_cost += spent;
    free(c);
}

/*=====   lifecycle   =====*/

/* Every replica in the event queue (all idle: next = INFINITY). */
static int events_init(sim_serve *s)
{
    uint32_t n = 0;
    for (unsigned m = 0; m < s->nm; m++)
        n += s->rt[m].m->replicas;
    s->reps = malloc(n * sizeof *s->reps);
    s->rep_model = malloc(n * sizeof *s->rep_model);
    if (!s->reps || !s->rep_model || evq_init(&s->events, n))
        return SIM_ENOMEM;
    for (unsigned m = 0; m < s->nm; m++)
        for (unsigned i = 0; i < s->rt[m].m->replicas; i++) {
            struct replica *r = &s->rt[m].rep[i];
            r->gid = s->nreps;
            s->reps[r->gid] = r;
            s->rep_model[r->gid] = m;
            s->nreps++;
        }
    return 0;
}

sim_serve *sim_serve_create(const struct sim_serve_config *cfg, char *err, size_t errlen)
{
    if (!cfg->pool) {
        snprintf(err, errlen, "serve: no model pool");
        return NULL;
    }
    if (cfg->k > MAX_K || cfg->load_width <= 0 || cfg->load_ema <= 0 || cfg->load_ema > 1
        || cfg->quality_target < 0 || cfg->quality_target > 1 || cfg->min_sim >= 1) {
        snprintf(err, errlen, "serve: parameter out of range (k <= %d, load_width > 0, "
                 "load_ema in (0, 1], quality_target in [0, 1], min_sim < 1)", MAX_K);
        return NULL;
    }
    sim_serve *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->nm = sim_modelpool_count(cfg->pool);
    s->large = sim_modelpool_largest(cfg->pool);
    s->small = 0;
    unsigned maxbatch = 1;
    for (unsigned m = 0; m < s->nm; m++) {
        struct model_rt *rt = &s->rt[m];
        rt->m = sim_modelpool_model(cfg->pool, m);
        rt->alpha = 1 / (rt->m->decode_s * rt->m->tokens_per_s);
        rt->speed = malloc(((size_t)rt->m->batch + 1) * sizeof *rt->speed);
        if (!rt->speed)
            goto nomem;
        for (unsigned n = 0; n <= rt->m->batch; n++)
            rt->speed[n] = speed_of(rt->alpha, n);
        rt->rep = calloc(rt->m->replicas, sizeof *rt->rep);
        if (!rt->rep)
            goto nomem;
        if (occ_init(&rt->occ, rt->m->replicas, rt->m->batch))
            goto nomem;
        for (unsigned i = 0; i < rt->m->replicas; i++) {
            rt->rep[i].idx = i;
            rt->rep[i].next = INFINITY;
            rt->rep[i].slot = malloc(rt->m->batch * sizeof *rt->rep[i].slot);
            rt->rep[i].heap = malloc(rt->m->batch * sizeof *rt->rep[i].heap);
            if (!rt->rep[i].slot || !rt->rep[i].heap)
                goto nomem;
        }
        if (rt->m->batch > maxbatch)
            maxbatch = rt->m->batch;
    }
    s->due = malloc(maxbatch * sizeof *s->due);
    s->due_stack = malloc(maxbatch * sizeof *s->due_stack);
    if (!s->due || !s->due_stack)
        goto nomem;
    if (events_init(s) || hist_tab_init(&s->htab))
        goto nomem;
    sim_rng_seed(&s->arrivals, cfg->seed ^ 0x617272ULL);
    return s;
nomem:
    sim_serve_free(s);
    snprintf(err, errlen, "out of memory");
    return NULL;
}

/* The example cache is created at the first request, which gives its
 * dimension. */
static int ensure_cache(sim_serve *s, const struct sim_req *q, char *err, size_t errlen)
{
    if (s->have_cache || (s->cfg.router != SIM_ROUTE_ICCACHE
                          && s->cfg.router != SIM_ROUTE_SEMCACHE))
        return 0;
    if (!q->emb || !q->dim) {
        snprintf(err, errlen, "request %llu: router '%s' needs embeddings (emb column or "
                 "--emb FILE)", (unsigned long long)q->index, sim_router_name(s->cfg.router));
        return SIM_EMISSING;
    }
    int rc = excache_init(&s->x, q->dim, s->cfg.cache_bytes, (int)s->cfg.index, s->cfg.seed,
                          err, errlen);
    s->x.nprobe = s->cfg.nprobe;
    if (rc)
        return rc;
    s->have_cache = 1;
    s->dim = q->dim;
    int sc = s->cfg.router == SIM_ROUTE_SEMCACHE;
    /* Candidates below the threshold used next are never used: the search
     * need not return them (and its pre-filter is cheaper). */
    s->search_k = sc ? 1 : CANDIDATES;
    s->search_min = (float)(sc ? s->cfg.semcache_threshold : s->cfg.min_sim);
    if (s->cfg.index == SIM_SERVE_IVF && batches_init(s)) {
        snprintf(err, errlen, "out of memory");
        return SIM_ENOMEM;
    }
    s->rowlen = s->dim + (uint32_t)((excache_prep_size(&s->x) + sizeof(float) - 1)
                                    / sizeof(float));
    return 0;
}

void sim_serve_on_window(sim_serve *s, void (*f)(void *, const struct sim_serve_stats *),
                         void *arg)
{
    s->on_window = f;
    s->on_window_arg = arg;
}

int sim_serve_finish(sim_serve *s, int drain, struct sim_serve_stats *overall)
{
    char err[SIM_ERRLEN];
    int rc = flush(s, err, sizeof err);
    if (drain)
        advance(s, INFINITY);
    if (s->started && s->cfg.window_s > 0 && s->win.arrived + s->win.completed)
        windows_until(s, s->win_end); /* the last, partial window */
    double end = drain ? s->t_last_done : s->now;
    if (end < s->t_first)
        end = s->t_first;
    fill_stats(s, &s->all, s->t_first, end, overall, 0);
    overall->in_flight = s->arrived - s->completed;
    overall->replay_cost = s->replay_cost;
    overall->replay_gain = s->replay_gain;
    return rc;
}

void sim_serve_free(sim_serve *s)
{
    if (!s)
        return;
    for (unsigned m = 0; m < s->nm; m++) {
        for (unsigned i = 0; s->rt[m].rep && i < s->rt[m].m->replicas; i++) {
            free(s->rt[m].rep[i].slot);
            free(s->rt[m].rep[i].heap);
        }
        free(s->rt[m].rep);
        free(s->rt[m].queue);
        occ_free(&s->rt[m].occ);
        free(s->rt[m].speed);
    }
    free(s->embs);
    free(s->jobs);
    free(s->free_jobs);
    free(s->reps);
    free(s->rep_model);
    evq_free(&s->events);
    free(s->due);
    free(s->due_stack);
    free(s->win.ttft);
    free(s->win.e2e);
    free(s->all.ttft);
    free(s->all.e2e);
    hist_tab_free(&s->htab);
    batches_free(s);
    if (s->have_cache)
        excache_free(&s->x);
    free(s);
}

int sim_serve_run(sim_serve *s, sim_reader *r, struct sim_serve_stats *overall, char *err,
                  size_t errlen)
{
    struct sim_req q;
    int rc;
    while ((rc = sim_reader_next(r, &q, err, errlen)) == 1) {
        const char *cat = q.present & SIM_F_CATEGORY
                              ? sim_reader_category_name(r, q.category) : NULL;
        if ((rc = sim_serve_arrive(s, &q, cat, err, errlen)))
            return rc;
    }
    if (rc < 0 || (rc = flush(s, err, errlen)))
        return rc;
    return sim_serve_finish(s, 1, overall);
}

/*=====   CSV   =====*/

int sim_serve_csv_header(FILE *f, const sim_modelpool *pool)
{
    fputs("router,window,t_start,t_end,arrived,completed,in_flight,throughput_rps,"
          "tokens_per_s,ttft_p50,ttft_p95,ttft_p99,ttft_mean,e2e_p50,e2e_p95,e2e_p99,"
          "e2e_mean,quality,win_rate", f);
    for (unsigned m = 0; m < sim_modelpool_count(pool); m++)
        fprintf(f, ",offload_%s", sim_modelpool_model(pool, m)->name);
    fputs(",cache_served,cost,example_hit_rate,examples_per_request,cache_entries,"
          "cache_bytes,replay_cost,replay_gain\n", f);
    return ferror(f) ? SIM_EIO : 0;
}

int sim_serve_csv_row(FILE *f, const char *router, const char *window,
                      const struct sim_serve_stats *st, const sim_modelpool *pool)
{
    /* %.10g: reals here are measurements, not exact ratios; ten digits
     * are more than any of them carries and keep rows short. */
    fprintf(f, "%s,%s,%.10g,%.10g,%llu,%llu,%llu,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,"
            "%.10g,%.10g,%.10g,%.10g,%.10g,%.10g", router, window, st->t_start, st->t_end,
            (unsigned long long)st->arrived, (unsigned long long)st->completed,
            (unsigned long long)st->in_flight, st->throughput_rps, st->tokens_per_s,
            st->ttft_p50, st->ttft_p95, st->ttft_p99, st->ttft_mean, st->e2e_p50, st->e2e_p95,
            st->e2e_p99, st->e2e_mean, st->quality, st->win_rate);
    for (unsigned m = 0; m < sim_modelpool_count(pool); m++)
        fprintf(f, ",%.10g", st->offload[m]);
    fprintf(f, ",%.10g,%.10g,%.10g,%.10g,%llu,%llu,%.10g,%.10g\n", st->cache_served, st->cost,
            st->example_hit_rate, st->examples_per_request,
            (unsigned long long)st->cache_entries, (unsigned long long)st->cache_bytes,
            st->replay_cost, st->replay_gain);
    return ferror(f) ? SIM_EIO : 0;
}
