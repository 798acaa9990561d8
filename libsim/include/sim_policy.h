/*
 * sim_policy.h - the plug-in interface of libsim: how a policy is written.
 *
 * A policy is one file in policies/ that defines one `const struct
 * sim_policy_ops` and is listed once in policies/registry.c.  libsim owns
 * everything around the policy (parameter parsing, metrics, warm-up, CSV,
 * threads); the policy owns its state and decides hits and evictions.
 *
 * Object caches (FIFO, LRU, ARC, ...) need not write `access` themselves: the
 * object-cache framework below (sim_objcache) handles the key table, object
 * records, sizes, capacity, TTL expiry and deletes, and calls a few hooks.
 * A policy built on it is typically 100-300 lines.
 *
 * Since 0.1.  The ABI is versioned by SIM_POLICY_ABI: a policy built for
 * another version is refused by the registry tests.
 */
#ifndef SIM_POLICY_H
#define SIM_POLICY_H

#include "sim.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIM_POLICY_ABI 1

/*=====   Parsed parameters   =====*/

typedef struct sim_params_s sim_params;

/*! sim_params_parse() :
 * Parses "k=v,k=v" against `defs` (terminated by an entry with name NULL).
 * Every declared parameter gets its default unless given.  Unknown keys,
 * repeated keys, values that are not numbers (checked with end pointers),
 * values out of [min, max] and enum words not in `choices` are errors that
 * name the key and the policy `owner`.
 * @return the parsed set, or NULL with a message in err. */
sim_params *sim_params_parse(const char *owner, const struct sim_param_def *defs,
                             const char *spec, char *err, size_t errlen);

/*! Typed getters.  `name` must be declared with that type (a programming
 * error otherwise: asserted; returns 0/""/NULL in release builds). */
int64_t sim_params_int(const sim_params *p, const char *name);
double sim_params_real(const sim_params *p, const char *name);
int sim_params_bool(const sim_params *p, const char *name);
const char *sim_params_str(const sim_params *p, const char *name); /* STR and ENUM */

/*! sim_params_canonical() :
 * The parameters the user set, in declaration order, as "k=v,...", or "". */
const char *sim_params_canonical(const sim_params *p);

void sim_params_free(sim_params *p);

/*=====   The policy method table   =====*/

struct sim_policy_ops {
    unsigned abi_version;        /* SIM_POLICY_ABI */
    const char *name;            /* lower case, [a-z0-9_-] */
    const char *summary;         /* one line, for --list-policies */
    const char *reference;       /* paper: authors, venue, year */
    uint32_t needs;              /* SIM_F_* fields the policy cannot run without */
    enum sim_unit unit;          /* what its capacity counts by default */
    const struct sim_param_def *params; /* terminated by {NULL}; may be NULL */
    const char *const *columns;  /* extra CSV columns, NULL-terminated; may be NULL */

    /* xCreate: allocate the state for a cache of cfg->capacity units.
     * cfg->unit may be BYTES or OBJECTS for object caches (sizes are then
     * already 1).  Returns NULL with a message in err on failure. */
    void *(*create)(const struct sim_cache_config *cfg, const sim_params *p,
                    char *err, size_t errlen);
    /* xDestroy: free the state; accepts NULL. */
    void (*destroy)(void *state);
    /* xAccess: one request; fill out->hit and the other outcome fields. */
    void (*access)(void *state, const struct sim_req *req, struct sim_outcome *out);
    /* xValues: current values of `columns`, in order.  May be NULL. */
    void (*values)(void *state, double *values);
    /* xReset: warm-up ended; zero the policy's own counters.  May be NULL. */
    void (*reset)(void *state);
    /* xCheck: verify the invariants; 0 or SIM_EINVAL with a message.  May be NULL. */
    int (*check)(void *state, char *err, size_t errlen);
    /* xPrefetch: a request for `key` comes soon; start loading what its
     * lookup will touch (the run loop calls it a few requests ahead, which
     * hides memory latency on large caches).  May be NULL. */
    void (*prefetch)(void *state, uint64_t key);
    /* xUsed: units currently occupied (for occupancy time series; since
     * 0.1, appended last so older initialisers stay valid).  May be NULL:
     * occupancy is then reported as unknown. */
    uint64_t (*used)(void *state);
};

/*=====   Key table   =====*/

/*
 * sim_keymap: an open-addressing hash table (linear probing, backward-shift
 * deletion) from 64-bit keys to 32-bit record ids.  A slot is 8 bytes: a
 * 24-bit fingerprint of the key's hash, the slot's 8-bit distance from the
 * key's home slot, and the id.  The key itself is read
 * from the record (the first 8 bytes of record `id` in an array the caller
 * owns), so the table stores no key copies: about 10-20 bytes per entry at
 * its load factors (0.4-0.8).  The table grows by itself.
 */
struct sim_keymap {
    uint64_t *slots;        /* fingerprint:24 distance:8 id:32; 0 = empty */
    uint64_t mask;          /* slot count - 1 (any count up to 2^32) */
    uint64_t count;
    uint8_t *const *base;   /* *base: the records; key at offset 0 */
    size_t stride;          /* bytes per record */
};

#define SIM_KEYMAP_NONE UINT32_MAX

/*! sim_keymap_home() : the home slot of a key whose sim_key_hash is h, in
 * a table whose `mask` is given (for prefetching it). */
static inline uint64_t sim_keymap_home(uint64_t mask, uint64_t h)
{
    return (h & 0xffffffffu) * (mask + 1) >> 32;
}

/* The table grows (to 1.5x) when a put would fill it beyond this load. */
#define SIM_KEYMAP_LOAD_NUM 4
#define SIM_KEYMAP_LOAD_DEN 5

/*! sim_keymap_room() : 1 if one more put fits without the table growing
 * (growing keeps the old and the new table at once; a caller that can list
 * its entries may instead free the table, init a larger one and put them
 * again, as objcache.c does). */
static inline int sim_keymap_room(const struct sim_keymap *m)
{
    return (m->count + 1) * SIM_KEYMAP_LOAD_DEN <= (m->mask + 1) * SIM_KEYMAP_LOAD_NUM;
}

/*! sim_keymap_init() : an empty table sized for `expect` entries (may be 0).
 * @return 0 or SIM_ENOMEM. */
int sim_keymap_init(struct sim_keymap *m, uint64_t expect, uint8_t *const *base,
                    size_t stride);
void sim_keymap_free(struct sim_keymap *m);

/*! sim_keymap_get() : the id stored for key, or SIM_KEYMAP_NONE. */
uint32_t sim_keymap_get(const struct sim_keymap *m, uint64_t key);

/*! sim_keymap_put() : adds key -> id; key must be absent and already stored
 * in record id.  @return 0 or SIM_ENOMEM (then the table is unchanged). */
int sim_keymap_put(struct sim_keymap *m, uint64_t key, uint32_t id);

/*! sim_keymap_del() : removes key, which must be present. */
void sim_keymap_del(struct sim_keymap *m, uint64_t key);

/*! sim_key_hash() : the 64-bit mixer used by the table (splitmix64's). */
static inline uint64_t sim_key_hash(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/*=====   Object-cache framework   =====*/

/*
 * Every cached object has a record: this header followed by the policy's
 * own metadata (hooks.meta_size bytes; records are 8-byte aligned).
 * Records live in one array and are named by 32-bit ids, which stay valid
 * while the object is cached; pointers into the array are invalidated by an
 * insert.
 */
struct sim_obj {
    uint64_t key;
    uint32_t size;    /* bytes at first request (objects keep their first size) */
    uint32_t expire;  /* absolute trace second at which it expires; 0 = never */
};

typedef struct sim_objcache_s sim_objcache;

struct sim_objcache_hooks {
    size_t meta_size;
    /* The object `id` was hit. */
    void (*hit)(void *pol, uint32_t id, const struct sim_req *req);
    /* Optional: return 0 to not admit this missed request (it stays a miss).
     * Called before any eviction. */
    int (*admit)(void *pol, const struct sim_req *req);
    /* Choose and unlink one object to evict; the framework then frees it.
     * Only called while at least one object is cached. */
    uint32_t (*victim)(void *pol);
    /* The new object `id` was stored (header filled). */
    void (*insert)(void *pol, uint32_t id, const struct sim_req *req);
    /* Unlink `id` (expired or deleted); the framework then frees it. */
    void (*remove)(void *pol, uint32_t id);
};

/*! sim_objcache_create() :
 * A framework instance for a policy whose state is `pol`.
 * @return the instance or NULL with a message in err. */
sim_objcache *sim_objcache_create(const struct sim_cache_config *cfg,
                                  const struct sim_objcache_hooks *hooks, void *pol,
                                  char *err, size_t errlen);
void sim_objcache_free(sim_objcache *oc);

/*! sim_objcache_access() : the whole lookup-evict-insert step for one request:
 *   1. find the key; if found but expired (req time >= expire): remove, count
 *      an expiration, treat as absent;
 *   2. a delete removes the object and is not counted;
 *   3. found: hooks.hit, a hit;
 *   4. absent: a miss; if the object is larger than the cache or admit says
 *      no, it is not stored; else victims are evicted until it fits, then it
 *      is inserted. */
void sim_objcache_access(sim_objcache *oc, const struct sim_req *req,
                         struct sim_outcome *out);

/*! Accessors for hooks: the record header and metadata of `id`. */
struct sim_obj *sim_objcache_obj(const sim_objcache *oc, uint32_t id);
void *sim_objcache_meta(const sim_objcache *oc, uint32_t id);
uint32_t sim_objcache_find(const sim_objcache *oc, uint64_t key); /* or SIM_KEYMAP_NONE */
uint64_t sim_objcache_used(const sim_objcache *oc);     /* units in use */
uint64_t sim_objcache_capacity(const sim_objcache *oc);
uint64_t sim_objcache_count(const sim_objcache *oc);    /* objects cached */
/* Highest id ever allocated + 1 (ids below it may be free: see is_live). */
uint32_t sim_objcache_id_limit(const sim_objcache *oc);
int sim_objcache_is_live(const sim_objcache *oc, uint32_t id);

/*! sim_objcache_tag(), sim_objcache_set_tag() :
 * Seven bits of the policy's own for cached object `id` (tag < 128; 0 when
 * the object is stored), kept beside the framework's live flag at no extra
 * memory.  A list or queue number kept here rather than in the policy's
 * record lets a record of key, size, expiry and one link fit 24 bytes
 * instead of being rounded up to 32 (ARC, 2Q, S3-FIFO: 8 bytes less per
 * cached object). */
unsigned sim_objcache_tag(const sim_objcache *oc, uint32_t id);
void sim_objcache_set_tag(sim_objcache *oc, uint32_t id, unsigned tag);
/* Where the array of live bytes is kept, for policies that read and write
 * tags on every request without a call (LIRS: 10% more instructions with
 * calls): byte id is 1 | tag << 1 while id is cached, and a policy may
 * change only its tag bits.  The array moves as ids are handed out. */
uint8_t *const *sim_objcache_live_ref(const sim_objcache *oc);

/*! sim_objcache_prefetch_state() :
 * A ready-made xPrefetch for policies whose state struct begins with their
 * `sim_objcache *` (as policies/lru.c does): prefetches the key's slot. */
void sim_objcache_prefetch_state(void *state, uint64_t key);

/*! sim_objcache_prefetch_evict() :
 * For an xPrefetch whose policy knows its next victim (SIEVE's hand): starts
 * loading what evicting cached object `id` touches, its record on the first
 * call for that id, its key's slot in the table on the next (by then the
 * record, which holds the key, has arrived). */
void sim_objcache_prefetch_evict(sim_objcache *oc, uint32_t id);

/*! sim_objcache_used_state() :
 * A ready-made xUsed for the same policies: sim_objcache_used() of the
 * state's first member. */
uint64_t sim_objcache_used_state(void *state);

/*! sim_objcache_evict_id() :
 * Evicts a specific cached object outside the normal victim path (used by
 * policies that shrink a segment); calls no hook, counts an eviction. */
void sim_objcache_evict_id(sim_objcache *oc, uint32_t id);

/*=====   Intrusive doubly linked lists over record ids   =====*/

/*
 * Many policies keep their objects in one or more queues.  These lists link
 * records by id through a `struct sim_link` that the policy puts in its
 * metadata.  A list works over any record array: (base, stride) names the
 * array and `off` the link member's byte offset in a record.  For objcache
 * records use sim_objcache_base()/_stride() and SIM_LINK_OFF().  O(1)
 * everything, 8 bytes per object per list.
 */
struct sim_link { uint32_t prev, next; };
struct sim_list {
    uint32_t head, tail;  /* head = most recent end; SIM_KEYMAP_NONE if empty */
    uint64_t count;
};

void sim_list_init(struct sim_list *l);
void sim_list_push_head(struct sim_list *l, uint8_t *base, size_t stride, size_t off,
                        uint32_t id);
void sim_list_push_tail(struct sim_list *l, uint8_t *base, size_t stride, size_t off,
                        uint32_t id);
void sim_list_unlink(struct sim_list *l, uint8_t *base, size_t stride, size_t off,
                     uint32_t id);
static inline struct sim_link *sim_list_link(uint8_t *base, size_t stride, size_t off,
                                             uint32_t id)
{
    return (struct sim_link *)(base + (size_t)id * stride + off);
}
/* Offset of the link member `member` of a policy's metadata struct `type`,
 * in an objcache record. */
#define SIM_LINK_OFF(type, member) (sizeof(struct sim_obj) + offsetof(type, member))

/*! The objcache record array, for lists (valid until the next insert). */
uint8_t *sim_objcache_base(const sim_objcache *oc);
/* Where the record array's address is kept, for structures that must follow
 * it as it moves (sim_heap_init_at, like sim_keymap's base). */
uint8_t *const *sim_objcache_base_ref(const sim_objcache *oc);
size_t sim_objcache_stride(const sim_objcache *oc);

#ifdef __cplusplus
}
#endif
#endif /* SIM_POLICY_H */
