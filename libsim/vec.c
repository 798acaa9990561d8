/*
 * vec.c - sim_vec, the vector index interface: argument checks, the
 * normalisation of vectors and queries, id <-> slot bookkeeping and the
 * dispatch to the two kinds (vec_flat.c: exact scan; vec_hnsw.c: HNSW).
 *
 * Invariants: 1. map holds exactly the stored ids, each to its slot, and
 *                ids[slot] is that id;
 *             2. flat: slots 0..size-1 are the stored vectors (nslots ==
 *                size); hnsw: nslots - size slots are free for reuse;
 *             3. every stored row has unit length (up to rounding).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vec_impl.h"

#define VEC_MAX_DIM 65536

float sim_vec_dot(const float *a, const float *b, uint32_t dim)
{
    return vec_dot(a, b, dim);
}

int sim_vec_normalise(float *x, uint32_t dim)
{
    /* A NaN or infinite x[i] makes ss NaN or infinite (finite floats
     * squared cannot overflow a double), so one test after the loop does:
     * the loop is then a plain sum (in this order: the result depends on
     * it), and the scaling below has no branch to keep it scalar. */
    double ss = 0;
    for (uint32_t i = 0; i < dim; i++)
        ss += (double)x[i] * x[i];
    if (!(ss > 0) || !isfinite(ss))
        return SIM_EINVAL;
    double inv = 1.0 / sqrt(ss);
    for (uint32_t i = 0; i < dim; i++)
        x[i] = (float)(x[i] * inv);
    return 0;
}

static const char *const kind_names[] = {"flat", "hnsw"};

const char *sim_vec_kind_name(enum sim_vec_kind kind)
{
    return (unsigned)kind < 2 ? kind_names[kind] : "unknown";
}

int sim_vec_kind_parse(const char *name)
{
    for (int i = 0; i < 2; i++)
        if (!strcasecmp(name, kind_names[i]))
            return i;
    return SIM_ENOTFOUND;
}

void sim_vec_config_init(struct sim_vec_config *cfg, enum sim_vec_kind kind, uint32_t dim)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->dim = dim;
    cfg->M = SIM_VEC_DEFAULT_M;
    cfg->ef_construction = SIM_VEC_DEFAULT_EF_CONSTRUCTION;
    cfg->ef_search = SIM_VEC_DEFAULT_EF_SEARCH;
}

/*=====   Creation   =====*/

static int check_config(struct sim_vec_config *c, char *err, size_t errlen)
{
    if (c->kind != SIM_VEC_FLAT && c->kind != SIM_VEC_HNSW) {
        snprintf(err, errlen, "vector index: unknown kind %d", (int)c->kind);
        return SIM_EINVAL;
    }
    if (c->dim < 1 || c->dim > VEC_MAX_DIM) {
        snprintf(err, errlen, "vector index: dim %u not in [1, %d]", c->dim, VEC_MAX_DIM);
        return SIM_EINVAL;
    }
    if (c->M == 0)
        c->M = SIM_VEC_DEFAULT_M;
    if (c->ef_construction == 0)
        c->ef_construction = SIM_VEC_DEFAULT_EF_CONSTRUCTION;
    if (c->ef_search == 0)
        c->ef_search = SIM_VEC_DEFAULT_EF_SEARCH;
    if (c->M < 2 || c->M > 256) {
        snprintf(err, errlen, "vector index: M %u not in [2, 256]", c->M);
        return SIM_EINVAL;
    }
    if (c->capacity > UINT32_MAX - 2) {
        snprintf(err, errlen, "vector index: capacity %llu too large",
                 (unsigned long long)c->capacity);
        return SIM_EINVAL;
    }
    return 0;
}

sim_vec *sim_vec_create(const struct sim_vec_config *cfg, char *err, size_t errlen)
{
    sim_vec *v = calloc(1, sizeof *v);
    if (!v)
        goto nomem;
    v->cfg = *cfg;
    if (check_config(&v->cfg, err, errlen)) {
        free(v);
        return NULL;
    }
    v->dim = v->cfg.dim;
    v->q = malloc(v->dim * sizeof *v->q);
    if (!v->q || sim_keymap_init(&v->map, v->cfg.capacity, &v->idbase, sizeof(uint64_t)))
        goto nomem;
    if (v->cfg.kind == SIM_VEC_HNSW && vec_hnsw_create(v, err, errlen)) {
        sim_vec_free(v);
        return NULL;
    }
    if (vec_reserve(v, v->cfg.capacity ? v->cfg.capacity : 16))
        goto nomem;
    return v;
nomem:
    sim_vec_free(v);
    snprintf(err, errlen, "vector index: out of memory");
    return NULL;
}

void sim_vec_free(sim_vec *v)
{
    if (!v)
        return;
    vec_hnsw_free(v->g);
    sim_keymap_free(&v->map);
    free(v->data);
    free(v->ids);
    free(v->q);
    free(v);
}

int vec_reserve(sim_vec *v, size_t want)
{
    if (want <= v->capslots)
        return 0;
    if (want > UINT32_MAX - 2)
        return SIM_ENOMEM;
    size_t cap = v->capslots ? v->capslots : 16;
    while (cap < want)
        cap *= 2;
    float *d = realloc(v->data, cap * v->dim * sizeof *d);
    if (!d)
        return SIM_ENOMEM;
    v->data = d;
    uint64_t *ids = realloc(v->ids, cap * sizeof *ids);
    if (!ids)
        return SIM_ENOMEM;
    v->ids = ids;
    v->idbase = (uint8_t *)ids;
    if (v->g && vec_hnsw_reserve(v, cap))
        return SIM_ENOMEM;
    v->capslots = cap;
    return 0;
}

/*=====   Operations   =====*/

/* Copies x into the query scratch, normalised; checks dim and values. */
static int load_vector(sim_vec *v, const float *x, uint32_t dim, const char *what,
                       char *err, size_t errlen)
{
    if (dim != v->dim) {
        snprintf(err, errlen, "%s: dimension mismatch: got %u, index has %u", what, dim,
                 v->dim);
        return SIM_EINVAL;
    }
    memcpy(v->q, x, dim * sizeof *x);
    if (sim_vec_normalise(v->q, dim)) {
        snprintf(err, errlen, "%s: embedding is zero or has a NaN or infinite component",
                 what);
        return SIM_EINVAL;
    }
    return 0;
}

static int flat_insert(sim_vec *v, uint64_t id)
{
    if (vec_reserve(v, v->nslots + 1))
        return SIM_ENOMEM;
    uint32_t slot = (uint32_t)v->nslots;
    v->ids[slot] = id;
    if (sim_keymap_put(&v->map, id, slot))
        return SIM_ENOMEM;
    memcpy(vec_row(v, slot), v->q, v->dim * sizeof(float));
    v->nslots++;
    return 0;
}

static int hnsw_insert(sim_vec *v, uint64_t id)
{
    uint32_t slot = vec_hnsw_take_free(v);
    int reused = slot != SIM_KEYMAP_NONE;
    if (!reused) {
        if (vec_reserve(v, v->nslots + 1))
            return SIM_ENOMEM;
        slot = (uint32_t)v->nslots;
    }
    uint64_t old = v->ids[slot];
    v->ids[slot] = id;
    if (sim_keymap_put(&v->map, id, slot)) {
        v->ids[slot] = old;
        return SIM_ENOMEM;
    }
    if (!reused)
        v->nslots++;
    memcpy(vec_row(v, slot), v->q, v->dim * sizeof(float));
    if (vec_hnsw_link(v, slot, reused)) { /* only a new slot can fail */
        sim_keymap_del(&v->map, id);
        v->nslots--;
        return SIM_ENOMEM;
    }
    return 0;
}

int sim_vec_insert(sim_vec *v, uint64_t id, const float *x, uint32_t dim,
                   char *err, size_t errlen)
{
    int rc = load_vector(v, x, dim, "vector index insert", err, errlen);
    if (rc)
        return rc;
    if (sim_keymap_get(&v->map, id) != SIM_KEYMAP_NONE) {
        snprintf(err, errlen, "vector index insert: id %llu is already stored",
                 (unsigned long long)id);
        return SIM_EINVAL;
    }
    rc = v->g ? hnsw_insert(v, id) : flat_insert(v, id);
    if (rc) {
        snprintf(err, errlen, "vector index insert: out of memory");
        return rc;
    }
    v->size++;
    return 0;
}

int sim_vec_delete(sim_vec *v, uint64_t id)
{
    uint32_t slot = sim_keymap_get(&v->map, id);
    if (slot == SIM_KEYMAP_NONE)
        return SIM_ENOTFOUND;
    sim_keymap_del(&v->map, id);
    v->size--;
    if (v->g) {
        vec_hnsw_unlink(v, slot);
        return 0;
    }
    /* Flat: keep the rows dense by moving the last one into the hole.  The
     * map shrank by one before the put, so the put cannot need memory. */
    uint32_t last = (uint32_t)--v->nslots;
    if (slot != last) {
        uint64_t moved = v->ids[last];
        sim_keymap_del(&v->map, moved);
        memcpy(vec_row(v, slot), vec_row(v, last), v->dim * sizeof(float));
        v->ids[slot] = moved;
        int rc = sim_keymap_put(&v->map, moved, slot);
        (void)rc;
    }
    return 0;
}

int sim_vec_search(sim_vec *v, const float *q, uint32_t dim, size_t k, uint64_t *ids,
                   float *sims, char *err, size_t errlen)
{
    int rc = load_vector(v, q, dim, "vector index search", err, errlen);
    if (rc)
        return rc;
    if (k == 0 || v->size == 0)
        return 0;
    if (k > v->size)
        k = v->size;
    uint32_t slots_small[16];
    float sims_small[16];
    uint32_t *slots = k <= 16 ? slots_small : malloc(k * sizeof *slots);
    float *s = k <= 16 ? sims_small : malloc(k * sizeof *s);
    int n = SIM_ENOMEM;
    if (slots && s)
        n = v->g ? vec_hnsw_search(v, v->q, k, slots, s) : vec_flat_search(v, v->q, k, slots, s);
    for (int i = 0; i < n; i++) {
        ids[i] = v->ids[slots[i]];
        if (sims)
            sims[i] = s[i];
    }
    if (slots != slots_small)
        free(slots);
    if (s != sims_small)
        free(s);
    if (n < 0)
        snprintf(err, errlen, "vector index search: out of memory");
    return n;
}

const float *sim_vec_get(const sim_vec *v, uint64_t id)
{
    uint32_t slot = sim_keymap_get(&v->map, id);
    return slot == SIM_KEYMAP_NONE ? NULL : vec_row(v, slot);
}

int sim_vec_set_ef_search(sim_vec *v, uint32_t ef)
{
    if (ef < 1)
        return SIM_EINVAL;
    v->cfg.ef_search = ef;
    return v->g ? vec_hnsw_set_ef(v, ef) : 0;
}

size_t sim_vec_size(const sim_vec *v) { return v->size; }
size_t sim_vec_slots(const sim_vec *v) { return v->nslots; }
uint32_t sim_vec_dim(const sim_vec *v) { return v->dim; }
enum sim_vec_kind sim_vec_kind(const sim_vec *v) { return v->cfg.kind; }

size_t sim_vec_memory(const sim_vec *v)
{
    size_t m = sizeof *v + v->capslots * (v->dim * sizeof(float) + sizeof(uint64_t))
               + (v->map.mask + 1) * sizeof(uint64_t) + v->dim * sizeof(float);
    return m + (v->g ? vec_hnsw_memory(v) : 0);
}

int sim_vec_check(const sim_vec *v, char *err, size_t errlen)
{
    if (v->map.count != v->size || v->size > v->nslots || v->nslots > v->capslots
        || (!v->g && v->nslots != v->size)) {
        snprintf(err, errlen, "vector index: %zu stored, %llu mapped, %zu slots of %zu",
                 v->size, (unsigned long long)v->map.count, v->nslots, v->capslots);
        return SIM_EINVAL;
    }
    /* A freed HNSW slot keeps its old id, which may be stored again
     * elsewhere: only slots whose id maps back to them are live. */
    size_t live = 0;
    for (size_t s = 0; s < v->nslots; s++) {
        if (sim_keymap_get(&v->map, v->ids[s]) != s)
            continue;
        live++;
        float n = vec_dot(vec_row(v, s), vec_row(v, s), v->dim);
        if (fabsf(n - 1.0f) > 1e-3f) {
            snprintf(err, errlen, "vector index: slot %zu has squared norm %g", s, (double)n);
            return SIM_EINVAL;
        }
    }
    if (live != v->size) {
        snprintf(err, errlen, "vector index: %zu live slots for %zu vectors", live, v->size);
        return SIM_EINVAL;
    }
    return v->g ? vec_hnsw_check(v, err, errlen) : 0;
}
