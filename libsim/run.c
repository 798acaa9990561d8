/*
 * run.c - streaming one trace through many caches.
 *
 * The trace is parsed once.  Requests go into batches of BATCH; each batch
 * is then presented to every cache.  With threads, workers own disjoint sets
 * of caches (cache i goes to worker i % threads) and the main thread parses
 * the next batch while they work (double buffering), meeting them at a
 * barrier between batches.  A cache is only ever touched by one thread.
 *
 * Pointer fields of a request (emb, blocks, text) are only valid until the
 * reader's next call, so they are copied into the batch's arena.
 *
 * Policies that need the future (Belady) need next_access.  If the trace
 * does not carry it, a first pass records every key, a backward scan finds
 * each request's next use, and the reader is rewound: the one case where a
 * whole trace is held in memory (16 bytes a request).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "u64map.h"

#define BATCH 4096
#define PROGRESS_EVERY (1u << 20)

struct batch {
    struct sim_req req[BATCH];
    size_t n;
    unsigned char *arena;
    size_t arena_len, arena_cap;
};

struct run {
    sim_reader *r;
    sim_cache *const *caches;
    size_t ncaches;
    const struct sim_run_opts *opts;
    int64_t *next;          /* computed next_access, or NULL */
    uint64_t nnext;
    uint64_t total;         /* requests parsed */
    struct batch buf[2];
    struct batch *cur;
    int done;
    unsigned threads;
    pthread_barrier_t start, end;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Copies len bytes into the arena and sets *off to their offset. */
static int arena_copy(struct batch *b, const void *p, size_t len, size_t *off)
{
    size_t at = (b->arena_len + 7) & ~(size_t)7;
    if (at + len > b->arena_cap) {
        size_t cap = b->arena_cap ? b->arena_cap : 1 << 16;
        while (cap < at + len)
            cap *= 2;
        unsigned char *a = realloc(b->arena, cap);
        if (!a)
            return SIM_ENOMEM;
        b->arena = a;
        b->arena_cap = cap;
    }
    memcpy(b->arena + at, p, len);
    b->arena_len = at + len;
    *off = at;
    return 0;
}

/* While a batch fills, the arena may move, so pointer fields hold
 * offset + 1 (0 stays NULL); fix_pointers() turns them into pointers. */
static int stash(struct batch *b, const void **field, size_t len)
{
    size_t off;
    if (!*field)
        return 0;
    if (arena_copy(b, *field, len, &off))
        return SIM_ENOMEM;
    *field = (const void *)(uintptr_t)(off + 1);
    return 0;
}

static void fix_pointers(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct sim_req *q = &b->req[i];
        if (q->emb)
            q->emb = (const float *)(b->arena + ((uintptr_t)q->emb - 1));
        if (q->blocks)
            q->blocks = (const uint64_t *)(b->arena + ((uintptr_t)q->blocks - 1));
        if (q->text)
            q->text = (const char *)(b->arena + ((uintptr_t)q->text - 1));
    }
}

/* Fills b with up to BATCH requests; returns the count or <0.  Requests
 * come from the reader in runs (sim__reader_batch), and the arena is only
 * touched for requests that carry pointers: the three stash calls a
 * request cost 9% of an LRU run on a trace that has none. */
static int fill(struct run *run, struct batch *b, char *err, size_t errlen)
{
    b->n = 0;
    b->arena_len = 0;
    while (b->n < BATCH) {
        struct sim_req *q = &b->req[b->n];
        int k = sim__reader_batch(run->r, q, BATCH - b->n, err, errlen);
        if (k < 0)
            return k;
        if (k == 0)
            break;
        for (int i = 0; i < k; i++, q++) {
            if (run->next && q->index < run->nnext) {
                q->next_access = run->next[q->index];
                q->present |= SIM_F_NEXT;
            }
            if ((q->emb || q->blocks || q->text)
                && (stash(b, (const void **)&q->emb, (size_t)q->dim * sizeof(float))
                    || stash(b, (const void **)&q->blocks,
                             (size_t)q->nblocks * sizeof(uint64_t))
                    || stash(b, (const void **)&q->text, q->text_len))) {
                snprintf(err, errlen, "out of memory");
                return SIM_ENOMEM;
            }
        }
        b->n += (size_t)k;
        run->total += (uint64_t)k;
    }
    if (b->arena_len)
        fix_pointers(b);
    return (int)b->n;
}

/* How far ahead the policy is asked to prefetch: enough requests to cover
 * a memory access, few enough that the lines are still cached when used. */
#define PREFETCH_AHEAD 8

static void run_cache(struct run *run, sim_cache *c, const struct batch *b)
{
    uint64_t warmup = run->opts ? run->opts->warmup : 0;
    void (*prefetch)(void *, uint64_t) = sim_cache_policy(c)->prefetch;
    void *state = sim__cache_state(c);
    double t0 = now();
    for (size_t i = 0; i < b->n; i++) {
        if (prefetch && i + PREFETCH_AHEAD < b->n)
            prefetch(state, b->req[i + PREFETCH_AHEAD].key);
        if (warmup && b->req[i].index == warmup)
            sim_cache_reset_metrics(c);
        sim_cache_access(c, &b->req[i], NULL);
    }
    sim__cache_add_seconds(c, now() - t0);
}

struct worker {
    struct run *run;
    unsigned id;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct run *run = w->run;
    for (;;) {
        pthread_barrier_wait(&run->start);
        if (run->done)
            return NULL;
        for (size_t i = w->id; i < run->ncaches; i += run->threads)
            run_cache(run, run->caches[i], run->cur);
        pthread_barrier_wait(&run->end);
    }
}

static int report(struct run *run, uint64_t *since, uint64_t total, char *err, size_t errlen)
{
    const struct sim_run_opts *o = run->opts;
    if (!o || !o->progress || total - *since < PROGRESS_EVERY)
        return 0;
    *since = total;
    if (o->progress(o->progress_arg, sim_reader_progress(run->r), total)) {
        snprintf(err, errlen, "stopped");
        return SIM_EINVAL;
    }
    return 0;
}

static int run_serial(struct run *run, char *err, size_t errlen)
{
    uint64_t total = 0, since = 0;
    for (;;) {
        int n = fill(run, &run->buf[0], err, errlen);
        if (n <= 0)
            return n;
        for (size_t i = 0; i < run->ncaches; i++)
            run_cache(run, run->caches[i], &run->buf[0]);
        total += (uint64_t)n;
        int rc = report(run, &since, total, err, errlen);
        if (rc)
            return rc;
    }
}

static int run_threaded(struct run *run, char *err, size_t errlen)
{
    unsigned t = run->threads;
    pthread_t *tid = calloc(t, sizeof *tid);
    struct worker *w = calloc(t, sizeof *w);
    if (!tid || !w) {
        free(tid);
        free(w);
        snprintf(err, errlen, "out of memory");
        return SIM_ENOMEM;
    }
    pthread_barrier_init(&run->start, NULL, t + 1);
    pthread_barrier_init(&run->end, NULL, t + 1);
    unsigned started = 0;
    for (; started < t; started++) {
        w[started].run = run;
        w[started].id = started;
        if (pthread_create(&tid[started], NULL, worker_main, &w[started]))
            break;
    }
    int rc = 0;
    if (started < t) {
        /* Cannot happen with sane limits; stop the ones that started. */
        snprintf(err, errlen, "cannot start %u threads", t);
        rc = SIM_ENOMEM;
        t = started;
    }
    uint64_t total = 0, since = 0;
    int k = 0;
    int n = rc ? 0 : fill(run, &run->buf[0], err, errlen);
    while (!rc && n > 0 && started == run->threads) {
        run->cur = &run->buf[k];
        pthread_barrier_wait(&run->start);
        total += (uint64_t)n;
        k ^= 1;
        n = fill(run, &run->buf[k], err, errlen); /* overlaps the workers */
        pthread_barrier_wait(&run->end);
        if (n < 0)
            rc = n;
        else if (!rc)
            rc = report(run, &since, total, err, errlen);
    }
    if (started == run->threads) {
        run->done = 1;
        pthread_barrier_wait(&run->start);
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&run->start);
    pthread_barrier_destroy(&run->end);
    free(tid);
    free(w);
    return rc;
}

/* First pass for policies that need the future. */
static int compute_next(struct run *run, char *err, size_t errlen)
{
    uint64_t cap = 1 << 20, n = 0;
    uint64_t *keys = malloc(cap * sizeof *keys);
    struct sim_req q;
    int rc = keys ? 0 : SIM_ENOMEM;
    while (!rc && (rc = sim_reader_next(run->r, &q, err, errlen)) == 1) {
        if (n == cap) {
            uint64_t *k = realloc(keys, 2 * cap * sizeof *keys);
            if (!k) {
                rc = SIM_ENOMEM;
                break;
            }
            keys = k;
            cap *= 2;
        }
        keys[n++] = q.key;
        rc = 0;
    }
    struct u64map last = {0};
    if (!rc && !(run->next = malloc((n ? n : 1) * sizeof *run->next)))
        rc = SIM_ENOMEM;
    if (!rc && u64map_init(&last, 1024))
        rc = SIM_ENOMEM;
    for (uint64_t i = n; !rc && i-- > 0;) {
        int fresh;
        uint64_t *v = u64map_upsert(&last, keys[i], i, &fresh);
        if (!v) {
            rc = SIM_ENOMEM;
            break;
        }
        run->next[i] = fresh ? -1 : (int64_t)*v;
        *v = i;
    }
    u64map_free(&last);
    free(keys);
    run->nnext = n;
    if (rc == SIM_ENOMEM)
        snprintf(err, errlen, "out of memory computing next accesses");
    if (!rc)
        rc = sim_reader_rewind(run->r, err, errlen);
    return rc;
}

int sim_run(sim_reader *r, sim_cache *const *caches, size_t n,
            const struct sim_run_opts *opts, char *err, size_t errlen)
{
    struct run *run = calloc(1, sizeof *run);
    if (!run) {
        snprintf(err, errlen, "out of memory");
        return SIM_ENOMEM;
    }
    run->r = r;
    run->caches = caches;
    run->ncaches = n;
    run->opts = opts;
    run->threads = opts && opts->threads > 1 ? opts->threads : 1;
    if (run->threads > n)
        run->threads = (unsigned)(n ? n : 1);

    int need_next = 0;
    for (size_t i = 0; i < n; i++)
        need_next |= (sim_cache_policy(caches[i])->needs & SIM_F_NEXT) != 0;
    int rc = 0;
    if (need_next && !(sim_reader_fields(r) & SIM_F_NEXT))
        rc = compute_next(run, err, errlen);
    if (!rc)
        rc = run->threads > 1 ? run_threaded(run, err, errlen) : run_serial(run, err, errlen);
    /* A policy that met a request it could not serve for a reason of
     * configuration (e.g. a category its config lacks) records the error
     * and reports it through its check hook; the run fails with it. */
    for (size_t i = 0; !rc && i < n; i++)
        rc = sim_cache_check(caches[i], err, errlen);
    /* A trace no longer than the warm-up leaves nothing measured. */
    if (!rc && opts && opts->warmup && run->total <= opts->warmup)
        for (size_t i = 0; i < n; i++)
            sim_cache_reset_metrics(caches[i]);
    free(run->next);
    for (int i = 0; i < 2; i++)
        free(run->buf[i].arena);
    free(run);
    return rc;
}

/*=====   Working set: distinct keys   =====*/

/* A set of keys, for counting distinct objects in one pass: open
 * addressing over 8-byte slots holding the key itself (0 marks an empty
 * slot; key 0 is remembered apart), load at most 1/2, and the home slot of
 * a key a few requests ahead prefetched.  Against the u64map (a used byte,
 * a key and a value per slot, so two cache misses per request, none
 * hidden) the pre-pass that sizes fractional caches takes a third of the
 * time (10M requests, 763k objects: 1.75 s to 0.6 s). */
struct keyset {
    uint64_t *slots;
    uint64_t mask, count;
    int has_zero;
};

#define KEYSET_AHEAD 16

static uint64_t keyset_home(const struct keyset *s, uint64_t key)
{
    return sim_key_hash(key) & s->mask;
}

static int keyset_init(struct keyset *s, uint64_t nslots)
{
    s->slots = sim__vm_resize(NULL, 0, nslots * sizeof *s->slots);
    s->mask = nslots - 1;
    s->count = 0;
    s->has_zero = 0;
    return s->slots ? 0 : SIM_ENOMEM;
}

static void keyset_free(struct keyset *s)
{
    sim__vm_free(s->slots, (s->mask + 1) * sizeof *s->slots);
}

/* Adds a nonzero key known to be absent. */
static void keyset_put(struct keyset *s, uint64_t key)
{
    uint64_t i = keyset_home(s, key);
    while (s->slots[i])
        i = (i + 1) & s->mask;
    s->slots[i] = key;
    s->count++;
}

/* Twice the slots, the keys rehashed.  0 or SIM_ENOMEM (s unchanged). */
static int keyset_grow(struct keyset *s)
{
    struct keyset n;
    if (keyset_init(&n, (s->mask + 1) * 2))
        return SIM_ENOMEM;
    for (uint64_t i = 0; i <= s->mask; i++)
        if (s->slots[i])
            keyset_put(&n, s->slots[i]);
    n.has_zero = s->has_zero;
    keyset_free(s);
    *s = n;
    return 0;
}

/* 1 if key is new (now added), 0 if it was there, or SIM_ENOMEM. */
static int keyset_add(struct keyset *s, uint64_t key)
{
    if (key == 0) {
        int fresh = !s->has_zero;
        s->has_zero = 1;
        return fresh;
    }
    uint64_t i = keyset_home(s, key);
    for (uint64_t v; (v = s->slots[i]) != 0; i = (i + 1) & s->mask)
        if (v == key)
            return 0;
    if ((s->count + 1) * 2 > s->mask + 1) {
        if (keyset_grow(s))
            return SIM_ENOMEM;
        keyset_put(s, key);
        return 1;
    }
    s->slots[i] = key;
    s->count++;
    return 1;
}

static void keyset_prefetch(const struct keyset *s, uint64_t key)
{
    __builtin_prefetch(&s->slots[keyset_home(s, key)]);
}

int sim_trace_stats(sim_reader *r, struct sim_trace_stats *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    int rc = sim_reader_rewind(r, err, errlen);
    if (rc && rc != SIM_EUNSUPPORTED)
        return rc;
    if (rc == SIM_EUNSUPPORTED) {
        snprintf(err, errlen, "%s: sizes given as fractions need the trace twice, and "
                 "standard input can be read only once", sim_reader_path(r));
        return rc;
    }
    struct keyset seen;
    struct sim_req *q = malloc(BATCH * sizeof *q);
    if (!q || keyset_init(&seen, 1 << 16)) {
        free(q);
        snprintf(err, errlen, "out of memory");
        return SIM_ENOMEM;
    }
    while ((rc = sim__reader_batch(r, q, BATCH, err, errlen)) > 0) {
        size_t n = (size_t)rc;
        for (size_t i = 0; i < n && i < KEYSET_AHEAD; i++)
            keyset_prefetch(&seen, q[i].key);
        for (size_t i = 0; i < n; i++) {
            if (i + KEYSET_AHEAD < n)
                keyset_prefetch(&seen, q[i + KEYSET_AHEAD].key);
            int fresh = keyset_add(&seen, q[i].key);
            if (fresh < 0) {
                snprintf(err, errlen, "out of memory");
                rc = fresh;
                break;
            }
            st->requests++;
            if (fresh) {
                st->objects++;
                st->bytes += q[i].size;
            }
        }
        if (rc < 0)
            break;
    }
    keyset_free(&seen);
    free(q);
    if (rc < 0)
        return rc;
    return sim_reader_rewind(r, err, errlen);
}
