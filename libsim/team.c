/*
 * team.c - a fixed team of threads that works through the items of one
 * job at a time.
 *
 * The caller starts a job of n items (team_start), may do other work
 * meanwhile, and joins it (team_join): it then takes items itself until
 * none are left, and waits for the members still busy.  Items are handed
 * out one at a time from an atomic counter, so a slow item does not hold
 * up the others; which member does an item must not matter to the result
 * (the serving simulation's searches ahead write each item's own
 * output).  Between jobs the members wait on a condition variable, but
 * spin first (SPIN_NS): in a virtual machine, waking a thread whose CPU
 * went idle took about 100 us, a tenth of a job of bench_serve.
 *
 * The caller is member 0; threads are members 1 to members - 1.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

struct member {
    struct team *t;
    unsigned idx;
    pthread_t th;
};

struct team {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    team_fn fn;
    void *arg;
    unsigned members, running; /* running: threads started */
    atomic_uint_fast64_t job;  /* jobs started so far */
    atomic_uint busy;          /* threads still on the current job */
    atomic_int quit;
    size_t items;              /* set before job moves (release) */
    atomic_size_t next;
    struct member *m;
};

/* How long a member spins before it sleeps (and the caller of team_join
 * before it sleeps until the members are done). */
#define SPIN_NS 300000

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Spins until done(t, arg) or SPIN_NS have passed; returns done's value. */
static int spin(struct team *t, int (*done)(struct team *, uint64_t), uint64_t arg)
{
    double end = 0;
    for (unsigned n = 0;; n++) {
        if (done(t, arg))
            return 1;
        relax();
        if (n % 64 == 0) { /* the clock costs more than a pause */
            double ns = now_ns();
            if (end == 0)
                end = ns + SPIN_NS;
            else if (ns > end)
                return done(t, arg);
        }
    }
}

static int job_moved(struct team *t, uint64_t seen)
{
    return atomic_load_explicit(&t->job, memory_order_acquire) != seen
           || atomic_load_explicit(&t->quit, memory_order_relaxed);
}

static int all_done(struct team *t, uint64_t unused)
{
    (void)unused;
    return atomic_load_explicit(&t->busy, memory_order_acquire) == 0;
}

static void work(struct team *t, unsigned idx)
{
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&t->next, 1, memory_order_relaxed);
        if (i >= t->items)
            return;
        t->fn(t->arg, idx, i);
    }
}

static void *member_main(void *p)
{
    struct member *m = p;
    struct team *t = m->t;
    uint64_t seen = 0;
    for (;;) {
        if (!spin(t, job_moved, seen)) {
            pthread_mutex_lock(&t->mu);
            while (!job_moved(t, seen))
                pthread_cond_wait(&t->go, &t->mu);
            pthread_mutex_unlock(&t->mu);
        }
        if (atomic_load(&t->quit))
            return NULL;
        seen = atomic_load_explicit(&t->job, memory_order_acquire);
        work(t, m->idx);
        if (atomic_fetch_sub_explicit(&t->busy, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&t->mu); /* the caller may be asleep */
            pthread_cond_signal(&t->done);
            pthread_mutex_unlock(&t->mu);
        }
    }
}

struct team *team_create(unsigned members, team_fn fn, void *arg)
{
    if (members < 2)
        return NULL;
    struct team *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->m = calloc(members, sizeof *t->m);
    if (!t->m || pthread_mutex_init(&t->mu, NULL)) {
        free(t->m);
        free(t);
        return NULL;
    }
    pthread_cond_init(&t->go, NULL);
    pthread_cond_init(&t->done, NULL);
    t->fn = fn;
    t->arg = arg;
    t->members = members;
    atomic_init(&t->next, 0);
    atomic_init(&t->job, 0);
    atomic_init(&t->busy, 0);
    atomic_init(&t->quit, 0);
    for (unsigned i = 1; i < members; i++) {
        t->m[i] = (struct member){t, i, 0};
        if (pthread_create(&t->m[i].th, NULL, member_main, &t->m[i])) {
            team_free(t);
            return NULL;
        }
        t->running = i;
    }
    return t;
}

void team_start(struct team *t, size_t items)
{
    pthread_mutex_lock(&t->mu);
    t->items = items;
    atomic_store_explicit(&t->next, 0, memory_order_relaxed);
    atomic_store_explicit(&t->busy, t->running, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->job, 1, memory_order_release);
    pthread_cond_broadcast(&t->go);
    pthread_mutex_unlock(&t->mu);
}

void team_join(struct team *t)
{
    work(t, 0);
    if (spin(t, all_done, 0))
        return;
    pthread_mutex_lock(&t->mu);
    while (!all_done(t, 0))
        pthread_cond_wait(&t->done, &t->mu);
    pthread_mutex_unlock(&t->mu);
}

void team_free(struct team *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    atomic_store(&t->quit, 1);
    pthread_cond_broadcast(&t->go);
    pthread_mutex_unlock(&t->mu);
    for (unsigned i = 1; i <= t->running; i++)
        pthread_join(t->m[i].th, NULL);
    pthread_cond_destroy(&t->go);
    pthread_cond_destroy(&t->done);
    pthread_mutex_destroy(&t->mu);
    free(t->m);
    free(t);
}
