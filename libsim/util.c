/*
 * util.c - small things every part of libsim uses: version, error strings,
 * field and unit names, the string hash and the deterministic PRNG.
 */
#include <string.h>

#include "sim.h"
#include "internal.h"

const char *sim_version(void) { return SIM_VERSION_STRING; }

const char *sim_strerror(int code)
{
    switch (code) {
    case SIM_OK: return "success";
    case SIM_ENOMEM: return "out of memory";
    case SIM_EINVAL: return "invalid argument";
    case SIM_EIO: return "input/output error";
    case SIM_EFORMAT: return "malformed input";
    case SIM_ENOTFOUND: return "not found";
    case SIM_EUNSUPPORTED: return "not supported";
    case SIM_EMISSING: return "missing request field";
    default: return "unknown error";
    }
}

static const char *const field_names[] = {
    "time", "key", "size", "ttl", "op", "next_access", "category", "user",
    "context", "class", "emb", "tokens", "blocks", "text", "load",
};

const char *sim_field_name(uint32_t field)
{
    for (size_t i = 0; i < sizeof field_names / sizeof field_names[0]; i++)
        if (field == (1u << i))
            return field_names[i];
    return NULL;
}

const char *sim_unit_name(enum sim_unit unit)
{
    switch (unit) {
    case SIM_UNIT_BYTES: return "bytes";
    case SIM_UNIT_OBJECTS: return "objects";
    case SIM_UNIT_ENTRIES: return "entries";
    case SIM_UNIT_TOKENS: return "tokens";
    }
    return "unknown";
}

/* FNV-1a over the bytes, then a splitmix64 finaliser: FNV alone leaves the
 * high bits weak for short keys, and the key table takes its fingerprint
 * from them. */
uint64_t sim_hash_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

/*=====   xoshiro256** (Blackman & Vigna, 2018), public domain algorithm   =====*/

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *g, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        g->s[i] = splitmix64(&seed);
}

uint64_t sim_rng_next(struct sim_rng *g) { return sim_rng_step(g); }

uint64_t sim_rng_below(struct sim_rng *g, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = sim_rng_next(g);
    while (x >= limit);
    return x % n;
}

double sim_rng_unit(struct sim_rng *g)
{
    return (double)(sim_rng_next(g) >> 11) * 0x1.0p-53;
}
