/*
 * objcache.c - the object-cache framework shared by the classic policies.
 *
 * It owns what every object cache has in common, so that a policy file holds
 * only its eviction logic:
 *   - the key table (keymap.c) and the record array, ids recycled through a
 *     free stack;
 *   - sizes and capacity: an object keeps its first size; an object larger
 *     than the whole cache is never stored (libCacheSim does the same);
 *   - TTL: an object found at or after its expiry is removed and the request
 *     is a miss (lazy expiry, as in memcached and libCacheSim);
 *   - deletes.
 *
 * Invariants (checked by sim_objcache_check in tests):
 *   1. used == sum of sizes of live records, and used <= capacity after
 *      every access;
 *   2. the keymap holds exactly the live records.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sim_policy.h"

/* Prefetching is two-stage: a key's slot when it is announced, its record
 * and live byte OBJCACHE_PF_LAG announcements later, by when the slot has
 * arrived (a hit reads the slot, then the record to confirm the key, then
 * the live byte: three dependent misses without this). */
#define OBJCACHE_PF_LAG 4

struct sim_objcache_s {
    struct sim_objcache_hooks h;
    void *pol;
    uint8_t *base;          /* records */
    size_t stride;
    uint32_t limit;         /* ids [0, limit) were handed out */
    uint32_t cap_recs;      /* records allocated */
    uint32_t *free_ids;     /* stack of freed ids */
    uint32_t nfree, cap_free;
    uint8_t *live;          /* one byte per record: bit 0 set if cached, the
                               policy's tag in bits 1-7 */
    struct sim_keymap map;
    uint64_t used, capacity, count;
    uint32_t evicted_by_id; /* sim_objcache_evict_id calls during this access */
    uint64_t pf_keys[OBJCACHE_PF_LAG]; /* the last keys prefetched, a ring */
    unsigned pf_pos;
    uint32_t pf_victim;     /* sim_objcache_prefetch_evict's object */
    int pf_victim_slot;     /* its key's slot was prefetched too */
};

/* Records must keep the header's 8-byte alignment (a 4-byte rounding made
 * every other record's key misaligned: undefined behaviour, caught by UBSan). */
static size_t round_rec(size_t n)
{
    size_t a = _Alignof(struct sim_obj);
    return (n + a - 1) & ~(a - 1);
}

sim_objcache *sim_objcache_create(const struct sim_cache_config *cfg,
                                  const struct sim_objcache_hooks *hooks, void *pol,
                                  char *err, size_t errlen)
{
    sim_objcache *oc = calloc(1, sizeof *oc);
    if (!oc) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    oc->h = *hooks;
    oc->pol = pol;
    oc->stride = round_rec(sizeof(struct sim_obj) + hooks->meta_size);
    oc->capacity = cfg->capacity;
    /* In object units the final count is known: size the table for it, up
     * to a bound so that a huge nominal capacity does not allocate early. */
    uint64_t expect = cfg->unit == SIM_UNIT_OBJECTS ? cfg->capacity : 1024;
    if (expect > (1u << 20))
        expect = 1u << 20;
    /* Room for 8/7 of that, i.e. a full cache fills the table to 0.7, not
     * to the table's limit of 0.8: linear probing's runs grow fast near 0.8
     * (absent keys and deletions scan whole runs), and SIEVE ran 16% fewer
     * instructions for 1.4 bytes more per object. */
    expect += expect / 7;
    if (sim_keymap_init(&oc->map, expect, &oc->base, oc->stride)) {
        free(oc);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return oc;
}

void sim_objcache_free(sim_objcache *oc)
{
    if (!oc)
        return;
    sim_keymap_free(&oc->map);
    sim__vm_free(oc->base, (size_t)oc->cap_recs * oc->stride);
    sim__vm_free(oc->free_ids, (size_t)oc->cap_free * sizeof *oc->free_ids);
    sim__vm_free(oc->live, oc->cap_recs);
    free(oc);
}

struct sim_obj *sim_objcache_obj(const sim_objcache *oc, uint32_t id)
{
    return (struct sim_obj *)(oc->base + (size_t)id * oc->stride);
}

void *sim_objcache_meta(const sim_objcache *oc, uint32_t id)
{
    return oc->base + (size_t)id * oc->stride + sizeof(struct sim_obj);
}

uint32_t sim_objcache_find(const sim_objcache *oc, uint64_t key)
{
    return sim_keymap_get(&oc->map, key);
}

uint64_t sim_objcache_used(const sim_objcache *oc) { return oc->used; }
uint64_t sim_objcache_capacity(const sim_objcache *oc) { return oc->capacity; }
uint64_t sim_objcache_count(const sim_objcache *oc) { return oc->count; }
uint32_t sim_objcache_id_limit(const sim_objcache *oc) { return oc->limit; }
uint8_t *sim_objcache_base(const sim_objcache *oc) { return oc->base; }
uint8_t *const *sim_objcache_base_ref(const sim_objcache *oc) { return &oc->base; }
uint8_t *const *sim_objcache_live_ref(const sim_objcache *oc) { return &oc->live; }
size_t sim_objcache_stride(const sim_objcache *oc) { return oc->stride; }

int sim_objcache_is_live(const sim_objcache *oc, uint32_t id)
{
    return id < oc->limit && (oc->live[id] & 1);
}

unsigned sim_objcache_tag(const sim_objcache *oc, uint32_t id)
{
    return oc->live[id] >> 1;
}

void sim_objcache_set_tag(sim_objcache *oc, uint32_t id, unsigned tag)
{
    assert(tag < 128 && (oc->live[id] & 1));
    oc->live[id] = (uint8_t)(1u | tag << 1);
}

/* A fresh id, growing the record array by 1.5x when needed (in place, and
 * resident only as far as used: sim__vm_resize). */
static uint32_t alloc_id(sim_objcache *oc)
{
    if (oc->nfree)
        return oc->free_ids[--oc->nfree];
    if (oc->limit == oc->cap_recs) {
        uint64_t n = oc->cap_recs ? (uint64_t)oc->cap_recs + oc->cap_recs / 2 : 1024;
        if (n >= SIM_KEYMAP_NONE)
            return SIM_KEYMAP_NONE;
        uint8_t *b = sim__vm_resize(oc->base, (size_t)oc->cap_recs * oc->stride,
                                    (size_t)n * oc->stride);
        if (!b)
            return SIM_KEYMAP_NONE;
        oc->base = b;
        uint8_t *l = sim__vm_resize(oc->live, oc->cap_recs, (size_t)n);
        if (!l) {
            /* Both arrays must keep one size: take the records back. */
            b = sim__vm_resize(oc->base, (size_t)n * oc->stride,
                               (size_t)oc->cap_recs * oc->stride);
            if (b)
                oc->base = b;
            return SIM_KEYMAP_NONE;
        }
        oc->live = l;
        oc->cap_recs = (uint32_t)n;
    }
    oc->live[oc->limit] = 0;
    return oc->limit++;
}

static void free_id(sim_objcache *oc, uint32_t id)
{
    struct sim_obj *o = sim_objcache_obj(oc, id);
    sim_keymap_del(&oc->map, o->key);
    oc->used -= o->size;
    oc->count--;
    oc->live[id] = 0;
    if (oc->nfree == oc->cap_free) {
        uint32_t n = oc->cap_free ? oc->cap_free * 2 : 256;
        uint32_t *f = sim__vm_resize(oc->free_ids, (size_t)oc->cap_free * sizeof *f,
                                     (size_t)n * sizeof *f);
        if (!f)
            return; /* the id is leaked, never reused: harmless */
        oc->free_ids = f;
        oc->cap_free = n;
    }
    oc->free_ids[oc->nfree++] = id;
}

uint64_t sim_objcache_used_state(void *state)
{
    return (*(sim_objcache **)state)->used;
}

/* Prefetches the record and live byte of the first entry in key's probe
 * run whose fingerprint matches (the slot's line was prefetched before). */
static void prefetch_record(const sim_objcache *oc, uint64_t key)
{
    const struct sim_keymap *m = &oc->map;
    uint64_t h = sim_key_hash(key);
    uint64_t s = 0;
    for (uint64_t i = sim_keymap_home(m->mask, h), n = 0; n < 4; n++) {
        s = m->slots[i];
        if (s == 0 || (s >> 40) == ((h >> 40) | 1u))
            break;
        i = i == m->mask ? 0 : i + 1;
    }
    if (s == 0)
        return;
    uint32_t id = (uint32_t)s;
    __builtin_prefetch(oc->base + (size_t)id * oc->stride);
    __builtin_prefetch(oc->live + id);
}

void sim_objcache_prefetch_state(void *state, uint64_t key)
{
    sim_objcache *oc = *(sim_objcache **)state;
    __builtin_prefetch(&oc->map.slots[sim_keymap_home(oc->map.mask, sim_key_hash(key))]);
    unsigned pos = oc->pf_pos;
    uint64_t old = oc->pf_keys[pos];
    oc->pf_keys[pos] = key;
    oc->pf_pos = (pos + 1) % OBJCACHE_PF_LAG;
    if (oc->limit)
        prefetch_record(oc, old);
}

void sim_objcache_prefetch_evict(sim_objcache *oc, uint32_t id)
{
    if (id != oc->pf_victim) {
        oc->pf_victim = id;
        oc->pf_victim_slot = 0;
        __builtin_prefetch(oc->base + (size_t)id * oc->stride);
        __builtin_prefetch(oc->live + id);
        return;
    }
    if (oc->pf_victim_slot || !oc->live[id])
        return;
    oc->pf_victim_slot = 1;
    uint64_t key = sim_objcache_obj(oc, id)->key;
    __builtin_prefetch(&oc->map.slots[sim_keymap_home(oc->map.mask, sim_key_hash(key))]);
}

void sim_objcache_evict_id(sim_objcache *oc, uint32_t id)
{
    assert(sim_objcache_is_live(oc, id));
    free_id(oc, id);
    oc->evicted_by_id++;
}

static int expired(const struct sim_obj *o, const struct sim_req *req)
{
    return o->expire && req->time / 1000000 >= o->expire;
}

/* Puts every live record into the (empty) key table. */
static int refill_map(sim_objcache *oc)
{
    for (uint32_t id = 0; id < oc->limit; id++)
        if ((oc->live[id] & 1) && sim_keymap_put(&oc->map, sim_objcache_obj(oc, id)->key, id))
            return SIM_ENOMEM;
    return 0;
}

/* Rebuilds the key table for `expect` entries from the live records: the
 * old table is freed before the new one is allocated, where sim_keymap's
 * own growth holds both (that moment was the peak of LRU's memory in byte
 * units).  Out of memory, the table is rebuilt at its old size, whose
 * memory was just freed; 0 or SIM_ENOMEM. */
static int rebuild_map(sim_objcache *oc, uint64_t expect)
{
    uint64_t n = oc->map.mask + 1;
    sim_keymap_free(&oc->map);
    if (!sim_keymap_init(&oc->map, expect, &oc->base, oc->stride) && !refill_map(oc))
        return 0;
    sim_keymap_free(&oc->map);
    if (sim_keymap_init(&oc->map, (n - 1) * SIM_KEYMAP_LOAD_NUM / SIM_KEYMAP_LOAD_DEN,
                        &oc->base, oc->stride) == 0)
        refill_map(oc);
    return SIM_ENOMEM;
}

/* Grows the key table by 1.5x. */
static int grow_map(sim_objcache *oc)
{
    uint64_t n = oc->map.mask + 1;
    return rebuild_map(oc, (n + n / 2) * SIM_KEYMAP_LOAD_NUM / SIM_KEYMAP_LOAD_DEN);
}

static void store(sim_objcache *oc, const struct sim_req *req, uint32_t size,
                  struct sim_outcome *out)
{
    while (oc->used + size > oc->capacity) {
        assert(oc->count > 0);
        uint32_t v = oc->h.victim(oc->pol);
        free_id(oc, v);
        out->evictions++;
    }
    if (!sim_keymap_room(&oc->map) && grow_map(oc))
        return; /* out of memory */
    uint32_t id = alloc_id(oc);
    if (id == SIM_KEYMAP_NONE)
        return; /* out of memory: the object is simply not cached */
    struct sim_obj *o = sim_objcache_obj(oc, id);
    o->key = req->key;
    o->size = size;
    o->expire = req->ttl ? (uint32_t)(req->time / 1000000 + req->ttl) : 0;
    if (sim_keymap_put(&oc->map, req->key, id))
        return; /* out of memory: not cached; the id is never reused */
    oc->live[id] = 1;
    oc->used += size;
    oc->count++;
    oc->h.insert(oc->pol, id, req);
}

static void access_step(sim_objcache *oc, const struct sim_req *req,
                        struct sim_outcome *out)
{
    uint32_t id = sim_keymap_get(&oc->map, req->key);

    /* Step 1: lazy expiry. */
    if (id != SIM_KEYMAP_NONE && expired(sim_objcache_obj(oc, id), req)) {
        oc->h.remove(oc->pol, id);
        free_id(oc, id);
        out->expirations++;
        id = SIM_KEYMAP_NONE;
    }
    /* Step 2: deletes. */
    if (req->op == SIM_OP_DELETE) {
        if (id != SIM_KEYMAP_NONE) {
            oc->h.remove(oc->pol, id);
            free_id(oc, id);
        }
        out->uncounted = 1;
        return;
    }
    /* Step 3: hit. */
    if (id != SIM_KEYMAP_NONE) {
        out->hit = 1;
        oc->h.hit(oc->pol, id, req);
        return;
    }
    /* Step 4: miss. */
    out->hit = 0;
    uint64_t size = req->size;
    if (size > oc->capacity || size > UINT32_MAX)
        return;
    if (oc->h.admit && !oc->h.admit(oc->pol, req))
        return;
    store(oc, req, (uint32_t)size, out);
}

/* Evictions a policy makes by id from inside a hook (e.g. a segment that
 * shrinks on a hit) count in this request's outcome too. */
void sim_objcache_access(sim_objcache *oc, const struct sim_req *req,
                         struct sim_outcome *out)
{
    oc->evicted_by_id = 0;
    access_step(oc, req, out);
    out->evictions += oc->evicted_by_id;
}

/*=====   Lists   =====*/

void sim_list_init(struct sim_list *l)
{
    l->head = l->tail = SIM_KEYMAP_NONE;
    l->count = 0;
}

void sim_list_push_head(struct sim_list *l, uint8_t *base, size_t stride, size_t off,
                        uint32_t id)
{
    struct sim_link *n = sim_list_link(base, stride, off, id);
    n->prev = SIM_KEYMAP_NONE;
    n->next = l->head;
    if (l->head != SIM_KEYMAP_NONE)
        sim_list_link(base, stride, off, l->head)->prev = id;
    else
        l->tail = id;
    l->head = id;
    l->count++;
}

void sim_list_push_tail(struct sim_list *l, uint8_t *base, size_t stride, size_t off,
                        uint32_t id)
{
    struct sim_link *n = sim_list_link(base, stride, off, id);
    n->next = SIM_KEYMAP_NONE;
    n->prev = l->tail;
    if (l->tail != SIM_KEYMAP_NONE)
        sim_list_link(base, stride, off, l->tail)->next = id;
    else
        l->head = id;
    l->tail = id;
    l->count++;
}

void sim_list_unlink(struct sim_list *l, uint8_t *base, size_t stride, size_t off,
                     uint32_t id)
{
    struct sim_link *n = sim_list_link(base, stride, off, id);
    if (n->prev != SIM_KEYMAP_NONE)
        sim_list_link(base, stride, off, n->prev)->next = n->next;
    else
        l->head = n->next;
    if (n->next != SIM_KEYMAP_NONE)
        sim_list_link(base, stride, off, n->next)->prev = n->prev;
    else
        l->tail = n->prev;
    l->count--;
}
