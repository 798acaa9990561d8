/*
 * rl_engine.c - the candidate engine behind the rltable policy and the
 * training-data export: an object cache in LRU order that decides each
 * eviction from K candidates with a learned model.
 *
 * HOW IT WORKS.  The object-cache framework asks for one victim at a time
 * (hooks.victim) until the new object fits.  The first call of an insert
 * makes the decision and stores a plan:
 *   Step 1: take K candidates: the K least recently used objects, or K
 *           distinct random cached objects (LRB-style sampling);
 *   Step 2: compute their six features (sim_rl_features);
 *   Step 3: score them with the model; fall back to LRU (empty plan) when
 *           there is no model, when a table has no row for a candidate's
 *           state and says "unseen lru", or when the decision took longer
 *           than budget_ns;
 *   Step 4: the plan is the candidates worth evicting (score > 0, or unseen
 *           with "unseen evict"), highest score first, ties in LRU order.
 * Later calls of the same insert take the next plan entry; once the plan is
 * used up, the LRU tail.  Any other hook (insert, hit, remove) ends the
 * decision: the plan is dropped and the decision is reported (export) with
 * which candidates were evicted.  No allocation happens per decision.
 *
 * Invariants: 1. the LRU list holds exactly the cached objects;
 *             2. plan entries not yet used are cached and not the new object.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ghost.h"
#include "rl_internal.h"

/* An object's facts in 24 bytes (a 40-byte record; 64 with every field in
 * full): insert_us whole, last_us as a 32-bit offset from it, the hit
 * count; fetch_us is insert_us unless the framework tag says RLC_FETCHED
 * (a SET hit at another time).  Values that do not fit (an offset of 71
 * minutes or more, or negative; such a fetch_us) and a nonzero aux (set by
 * exports only) are kept exactly in a side table of records keyed by
 * id * 4 + field.  Entries leave with their object.  Out of memory, a
 * side value reads as 0. */
enum { RLC_LAST = 1, RLC_FETCH, RLC_AUX };
#define RLC_FAR UINT32_MAX
#define RLC_FETCHED 1u

struct rlc_meta {
    struct sim_link link;
    uint64_t insert_us;
    uint32_t last_d;            /* last_us - insert_us, or RLC_FAR */
    uint32_t hits;
};

struct sim_rlc_s {
    sim_objcache *oc;
    struct sim_ghosts side;     /* far values: 16-byte records {key, value} */
    uint8_t *const *live;       /* the framework's live bytes: RLC_FETCHED */
    int aux_used;               /* some nonzero aux was stored (exports) */
    struct sim_list q;
    struct sim_rlc_opts o;
    struct sim_rng rng;
    uint64_t now_us, aux_pending;
    /* the current decision */
    int open;
    unsigned ncand, nplan, iplan;
    uint32_t cand[SIM_RL_KMAX], plan[SIM_RL_KMAX];
    float x[SIM_RL_KMAX * SIM_RL_NFEAT];
    struct sim_rl_facts facts[SIM_RL_KMAX];
    uint64_t aux[SIM_RL_KMAX];
    uint8_t evicted[SIM_RL_KMAX];
    uint8_t spared[SIM_RL_KMAX];   /* judged not worth evicting by the model */
    /* counters */
    uint64_t model_dec, fallback_dec;
    struct sim_rl_hist hist;
};

#define OFF SIM_LINK_OFF(struct rlc_meta, link)
#define BASE(e) sim_objcache_base((e)->oc), sim_objcache_stride((e)->oc), OFF

static struct rlc_meta *meta(const sim_rlc *e, uint32_t id)
{
    return sim_objcache_meta(e->oc, id);
}

/*=====   Compact facts   =====*/

static uint64_t side_key(uint32_t id, int field) { return (uint64_t)id << 2 | (unsigned)field; }

static uint64_t side_get(const sim_rlc *e, uint32_t id, int field)
{
    uint64_t v = 0;
    uint32_t g = e->side.idx.count ? sim_ghosts_find(&e->side, side_key(id, field))
                                   : SIM_KEYMAP_NONE;
    if (g != SIM_KEYMAP_NONE)
        memcpy(&v, (uint8_t *)sim_ghosts_rec(&e->side, g) + 8, sizeof v);
    return v;
}

static void side_set(sim_rlc *e, uint32_t id, int field, uint64_t v)
{
    uint64_t k = side_key(id, field);
    uint32_t g = sim_ghosts_find(&e->side, k);
    if (g == SIM_KEYMAP_NONE && (g = sim_ghosts_add(&e->side, k, 0)) == SIM_KEYMAP_NONE)
        return; /* out of memory: reads as 0 */
    memcpy((uint8_t *)sim_ghosts_rec(&e->side, g) + 8, &v, sizeof v);
}

static void side_del(sim_rlc *e, uint32_t id, int field)
{
    uint32_t g = e->side.idx.count ? sim_ghosts_find(&e->side, side_key(id, field))
                                   : SIM_KEYMAP_NONE;
    if (g != SIM_KEYMAP_NONE)
        sim_ghosts_del(&e->side, g);
}

/* The tag, read and written in place (sim_objcache_live_ref): a call on
 * every hit and candidate cost rltable 10% more instructions. */
static unsigned fetch_tag(const sim_rlc *e, uint32_t id) { return (*e->live)[id] >> 1; }

static void set_fetch_tag(sim_rlc *e, uint32_t id, unsigned t)
{
    (*e->live)[id] = (uint8_t)(1u | t << 1);
}

static uint64_t get_fetch(const sim_rlc *e, uint32_t id, const struct rlc_meta *m)
{
    return fetch_tag(e, id) == RLC_FETCHED ? side_get(e, id, RLC_FETCH) : m->insert_us;
}

static void set_fetch(sim_rlc *e, uint32_t id, const struct rlc_meta *m, uint64_t t)
{
    if (t == m->insert_us) {
        if (fetch_tag(e, id) == RLC_FETCHED)
            side_del(e, id, RLC_FETCH);
        set_fetch_tag(e, id, 0);
        return;
    }
    set_fetch_tag(e, id, RLC_FETCHED);
    side_set(e, id, RLC_FETCH, t);
}

static uint64_t get_time(const sim_rlc *e, uint32_t id, const struct rlc_meta *m, uint32_t d,
                         int field)
{
    return d != RLC_FAR ? m->insert_us + d : side_get(e, id, field);
}

/* Stores time t as the offset *d (of field) from the object's insert_us. */
static void set_time(sim_rlc *e, uint32_t id, uint32_t *d, int field, uint64_t t)
{
    uint64_t base = meta(e, id)->insert_us;
    if (t >= base && t - base < RLC_FAR) {
        if (*d == RLC_FAR)
            side_del(e, id, field);
        *d = (uint32_t)(t - base);
        return;
    }
    *d = RLC_FAR;
    side_set(e, id, field, t);
}

static void set_aux(sim_rlc *e, uint32_t id, uint64_t aux)
{
    if (aux) {
        e->aux_used = 1;
        side_set(e, id, RLC_AUX, aux);
    } else if (e->aux_used) {
        side_del(e, id, RLC_AUX);
    }
}

static uint64_t get_aux(const sim_rlc *e, uint32_t id)
{
    return e->aux_used ? side_get(e, id, RLC_AUX) : 0;
}

/* Drops the side entries of an object that leaves the cache. */
static void forget(sim_rlc *e, uint32_t id)
{
    if (!e->side.idx.count)
        return;
    const struct rlc_meta *m = meta(e, id);
    if (fetch_tag(e, id) == RLC_FETCHED)
        side_del(e, id, RLC_FETCH);
    if (m->last_d == RLC_FAR)
        side_del(e, id, RLC_LAST);
    if (e->aux_used)
        side_del(e, id, RLC_AUX);
}

static uint64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Ends the open decision: reports it and drops the plan. */
static void close_decision(sim_rlc *e)
{
    if (!e->open)
        return;
    e->open = 0;
    for (unsigned i = 0; e->o.promote && i < e->ncand; i++)
        if (e->spared[i] && !e->evicted[i]) {
            sim_list_unlink(&e->q, BASE(e), e->cand[i]);
            sim_list_push_head(&e->q, BASE(e), e->cand[i]);
        }
    if (e->o.on_decision)
        e->o.on_decision(e->o.arg, e->now_us, e->ncand, e->x, e->facts, e->aux,
                         e->evicted);
}

/*=====   Step 1: candidates   =====*/

static unsigned take_lru(sim_rlc *e, unsigned k)
{
    unsigned n = 0;
    for (uint32_t id = e->q.tail; id != SIM_KEYMAP_NONE && n < k;
         id = sim_list_link(BASE(e), id)->prev)
        e->cand[n++] = id;
    return n;
}

static unsigned take_random(sim_rlc *e, unsigned k)
{
    uint64_t count = sim_objcache_count(e->oc);
    uint32_t limit = sim_objcache_id_limit(e->oc);
    unsigned n = 0, want = count < k ? (unsigned)count : k;
    /* Ids are recycled, so live ones are dense: rejection sampling ends
     * fast; the attempt bound only guards pathological id spaces. */
    for (unsigned tries = 0; n < want && tries < 64u * k; tries++) {
        uint32_t id = (uint32_t)sim_rng_below(&e->rng, limit);
        if (!sim_objcache_is_live(e->oc, id))
            continue;
        unsigned j = 0;
        while (j < n && e->cand[j] != id)
            j++;
        if (j == n)
            e->cand[n++] = id;
    }
    return n;
}

/*=====   Steps 2-4   =====*/

/* Records are read through the array's base (one call per decision, not
 * two per candidate: that paid for the compact record's decoding). */
static void features(sim_rlc *e)
{
    const uint8_t *base = sim_objcache_base(e->oc);
    size_t stride = sim_objcache_stride(e->oc);
    for (unsigned i = 0; i < e->ncand; i++) {
        uint32_t id = e->cand[i];
        const uint8_t *rec = base + (size_t)id * stride;
        const struct sim_obj *o = (const struct sim_obj *)(const void *)rec;
        const struct rlc_meta *m =
            (const struct rlc_meta *)(const void *)(rec + sizeof(struct sim_obj));
        struct sim_rl_facts *f = &e->facts[i];
        f->insert_us = m->insert_us;
        f->last_us = get_time(e, id, m, m->last_d, RLC_LAST);
        f->fetch_us = get_fetch(e, id, m);
        f->size = o->size;
        f->hits = m->hits;
        f->expire_s = o->expire;
        e->aux[i] = get_aux(e, id);
        e->evicted[i] = 0;
        sim_rl_features(f, e->now_us, e->x + i * SIM_RL_NFEAT);
    }
}

/* Plan: worth-evicting candidates by score, highest first (with
 * fill_score: then the others, by score too); insertion sort keeps
 * candidate (LRU) order among equal scores. */
static void make_plan(sim_rlc *e, const float *score, const uint8_t *worthy)
{
    e->nplan = 0;
    for (unsigned i = 0; i < e->ncand; i++) {
        if (!worthy[i] && !e->o.fill_score)
            continue;
        unsigned j = e->nplan++;
        while (j > 0 && (worthy[e->plan[j - 1]] < worthy[i]
                         || (worthy[e->plan[j - 1]] == worthy[i]
                             && score[e->plan[j - 1]] < score[i]))) {
            e->plan[j] = e->plan[j - 1];
            j--;
        }
        e->plan[j] = i;
    }
    for (unsigned j = 0; j < e->nplan; j++)
        e->plan[j] = e->cand[e->plan[j]];
}

/* Fills e->nplan and the plan; returns 1 for a model decision, 0 for LRU. */
static int score_and_plan(sim_rlc *e, uint64_t t0)
{
    float score[SIM_RL_KMAX];
    uint8_t seen[SIM_RL_KMAX], worthy[SIM_RL_KMAX];
    e->nplan = 0;
    memset(e->spared, 0, sizeof e->spared);
    if (!e->o.model)
        return 0;
    unsigned unseen = sim_rl_model_score(e->o.model, e->x, e->ncand, score, seen);
    const struct sim_rl_qtable *t = sim_rl_model_qtable(e->o.model);
    if (unseen && t->unseen == SIM_RL_UNSEEN_LRU)
        return 0;
    if (e->o.budget_ns && clock_ns() - t0 >= e->o.budget_ns)
        return 0;
    for (unsigned i = 0; i < e->ncand; i++) {
        worthy[i] = seen[i] ? score[i] > 0 : t->unseen == SIM_RL_UNSEEN_EVICT;
        e->spared[i] = !worthy[i];
    }
    make_plan(e, score, worthy);
    return 1;
}

static void decide(sim_rlc *e)
{
    uint64_t t0 = clock_ns();
    e->ncand = e->o.candidates == SIM_RL_CAND_RANDOM ? take_random(e, e->o.k)
                                                      : take_lru(e, e->o.k);
    features(e);
    if (score_and_plan(e, t0))
        e->model_dec++;
    else
        e->fallback_dec++;
    sim_rl_hist_add(&e->hist, clock_ns() - t0);
    e->iplan = 0;
    e->open = 1;
}

static void mark_evicted(sim_rlc *e, uint32_t id)
{
    for (unsigned i = 0; i < e->ncand; i++)
        if (e->cand[i] == id)
            e->evicted[i] = 1;
}

/*=====   Hooks   =====*/

static uint32_t rlc_victim(void *pol)
{
    sim_rlc *e = pol;
    if (!e->open)
        decide(e);
    uint32_t v = e->iplan < e->nplan ? e->plan[e->iplan++] : e->q.tail;
    sim_list_unlink(&e->q, BASE(e), v);
    mark_evicted(e, v);
    forget(e, v);
    return v;
}

static void rlc_hit(void *pol, uint32_t id, const struct sim_req *req)
{
    sim_rlc *e = pol;
    close_decision(e);
    struct rlc_meta *m = meta(e, id);
    set_time(e, id, &m->last_d, RLC_LAST, req->time);
    m->hits++;
    set_aux(e, id, e->aux_pending);
    if (req->op == SIM_OP_SET)
        set_fetch(e, id, m, req->time);
    if (e->q.head != id) {
        sim_list_unlink(&e->q, BASE(e), id);
        sim_list_push_head(&e->q, BASE(e), id);
    }
}

static void rlc_insert(void *pol, uint32_t id, const struct sim_req *req)
{
    sim_rlc *e = pol;
    close_decision(e);
    struct rlc_meta *m = meta(e, id);
    m->insert_us = req->time;
    m->last_d = 0;
    m->hits = 0; /* and the tag is 0: fetch_us = insert_us */
    set_aux(e, id, e->aux_pending);
    sim_list_push_head(&e->q, BASE(e), id);
}

static void rlc_remove(void *pol, uint32_t id)
{
    sim_rlc *e = pol;
    close_decision(e);
    sim_list_unlink(&e->q, BASE(e), id);
    forget(e, id);
}

static const struct sim_objcache_hooks rlc_hooks = {
    sizeof(struct rlc_meta), rlc_hit, NULL, rlc_victim, rlc_insert, rlc_remove,
};

/*=====   API   =====*/

sim_rlc *sim__rlc_create(const struct sim_cache_config *cfg, const struct sim_rlc_opts *o,
                         char *err, size_t errlen)
{
    sim_rlc *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->o = *o;
    if (e->o.k < 1 || e->o.k > SIM_RL_KMAX)
        e->o.k = 16;
    sim_rng_seed(&e->rng, cfg->seed);
    sim_list_init(&e->q);
    if (sim_ghosts_init(&e->side, 16, 0)) {
        snprintf(err, errlen, "out of memory");
        free(e);
        return NULL;
    }
    e->oc = sim_objcache_create(cfg, &rlc_hooks, e, err, errlen);
    if (!e->oc) {
        sim_ghosts_free(&e->side);
        free(e);
        return NULL;
    }
    e->live = sim_objcache_live_ref(e->oc);
    return e;
}

void sim__rlc_free(sim_rlc *e)
{
    if (!e)
        return;
    sim_objcache_free(e->oc);
    sim_ghosts_free(&e->side);
    sim_rl_model_free(e->o.model);
    free(e);
}

void sim__rlc_access(sim_rlc *e, const struct sim_req *req, struct sim_outcome *out)
{
    e->now_us = req->time;
    sim_objcache_access(e->oc, req, out);
    close_decision(e); /* an insert that ran out of memory leaves it open */
}

void sim__rlc_set_aux(sim_rlc *e, uint64_t aux) { e->aux_pending = aux; }

void sim__rlc_values(const sim_rlc *e, double *v)
{
    v[0] = (double)e->model_dec;
    v[1] = (double)e->fallback_dec;
    v[2] = sim_rl_hist_quantile(&e->hist, 0.50);
    v[3] = sim_rl_hist_quantile(&e->hist, 0.95);
    v[4] = sim_rl_hist_quantile(&e->hist, 0.99);
}

void sim__rlc_reset(sim_rlc *e)
{
    e->model_dec = e->fallback_dec = 0;
    memset(&e->hist, 0, sizeof e->hist);
}

uint64_t sim__rlc_used(const sim_rlc *e) { return sim_objcache_used(e->oc); }

int sim__rlc_check(const sim_rlc *e, char *err, size_t errlen)
{
    if (e->q.count != sim_objcache_count(e->oc)) {
        snprintf(err, errlen, "rltable: LRU list has %llu objects, cache %llu",
                 (unsigned long long)e->q.count,
                 (unsigned long long)sim_objcache_count(e->oc));
        return SIM_EINVAL;
    }
    if (sim_objcache_used(e->oc) > sim_objcache_capacity(e->oc)) {
        snprintf(err, errlen, "rltable: over capacity");
        return SIM_EINVAL;
    }
    return 0;
}
