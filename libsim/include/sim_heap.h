/*
 * sim_heap.h - an indexed binary min-heap over 32-bit record ids, for
 * policies that evict by priority (GDSF, Belady, ...).
 *
 * Each entry is (id, pri, tie): the heap's top is the entry with the
 * smallest pri, and among equal pri the smallest tie.  The heap remembers
 * where every id sits, so an id's key can be changed or the id removed in
 * O(log n).  An id may be in the heap at most once.  Since 0.1.
 */
#ifndef SIM_HEAP_H
#define SIM_HEAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sim_heap_ent {
    double pri;
    uint64_t tie;
    uint32_t id;
};

/* An entry as stored: pri, tie and id packed in 20 bytes (4-byte
 * aligned; struct sim_heap_ent is padded to 24), which saves 4 bytes per
 * entry.  Internal to heap.c: read entries through sim_heap_top/pop. */
struct sim_heap_slot {
    uint32_t w[5];
};

struct sim_heap {
    struct sim_heap_slot *e; /* e[0] is the top (packed; since 0.1.1) */
    uint32_t *pos;           /* pos[id] = index in e + 1, 0 if absent */
    size_t n, cap;           /* entries, allocated entries */
    size_t npos;             /* allocated pos slots */
    struct sim_heap_ent top; /* e[0] unpacked, for sim_heap_top */
    uint8_t *const *pbase;   /* sim_heap_init_at: positions in records */
    size_t pstride, poff;
};

/*! sim_heap_init() : an empty heap (cannot fail; allocates lazily). */
void sim_heap_init(struct sim_heap *h);
/*! sim_heap_init_at() : an empty heap that keeps id's position (a
 * uint32_t, 0 while id is absent) at byte `off` of record id in the
 * caller's array *base of `stride`-byte records, instead of an array of
 * its own; *base may move between calls.  A record must hold 0 there
 * before its id is pushed, and its id must be valid whenever the heap is
 * asked about it (sim_heap_contains included).  Since 0.1.1. */
void sim_heap_init_at(struct sim_heap *h, uint8_t *const *base, size_t stride, size_t off);
/*! sim_heap_free() : releases the memory; the heap is empty afterwards. */
void sim_heap_free(struct sim_heap *h);

/*! sim_heap_push() : adds id, which must be absent.
 * @return 0, or SIM_ENOMEM (then the heap is unchanged). */
int sim_heap_push(struct sim_heap *h, uint32_t id, double pri, uint64_t tie);

/*! sim_heap_update() : changes the key of id, which must be present. */
void sim_heap_update(struct sim_heap *h, uint32_t id, double pri, uint64_t tie);

/*! sim_heap_remove() : removes id, which must be present. */
void sim_heap_remove(struct sim_heap *h, uint32_t id);

/*! sim_heap_top() : the smallest entry, or NULL when empty; valid until
 * the heap next changes. */
const struct sim_heap_ent *sim_heap_top(const struct sim_heap *h);

/*! sim_heap_pop() : removes the top and returns its id; the heap must not
 * be empty.  *out (may be NULL) receives the entry. */
uint32_t sim_heap_pop(struct sim_heap *h, struct sim_heap_ent *out);

/*! sim_heap_id_at() : the id of the i-th stored entry (i < h->n, in no
 * particular order), to walk every id.  Since 0.1.1. */
uint32_t sim_heap_id_at(const struct sim_heap *h, size_t i);

/*! sim_heap_contains() : 1 if id is in the heap. */
int sim_heap_contains(const struct sim_heap *h, uint32_t id);

/*! sim_heap_check() : 1 if the heap order and the position index hold. */
int sim_heap_check(const struct sim_heap *h);

#ifdef __cplusplus
}
#endif
#endif /* SIM_HEAP_H */
