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
 * output).  The members sleep on a condition variable between jobs.
 *
 * The caller is member 0; threads are members 1 to members - 1.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

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
    uint64_t job;              /* jobs started so far */
    unsigned busy;             /* threads still on the current job */
    int quit;
    size_t items;
    atomic_size_t next;
    struct member *m;
};

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
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (t->job == seen && !t->quit)
            pthread_cond_wait(&t->go, &t->mu);
        if (t->quit)
            break;
        seen = t->job;
        pthread_mutex_unlock(&t->mu);
        work(t, m->idx);
        pthread_mutex_lock(&t->mu);
        if (--t->busy == 0)
            pthread_cond_signal(&t->done);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
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
    t->busy = t->running;
    t->job++;
    pthread_cond_broadcast(&t->go);
    pthread_mutex_unlock(&t->mu);
}

void team_join(struct team *t)
{
    work(t, 0);
    pthread_mutex_lock(&t->mu);
    while (t->busy)
        pthread_cond_wait(&t->done, &t->mu);
    pthread_mutex_unlock(&t->mu);
}

void team_free(struct team *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->quit = 1;
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
