/*
 * registry.c - the one list of built-in policies.  The list itself is
 * registry.def: adding a policy means adding its file to policies/ and one
 * POLICY(name) line there.
 */
#include <stddef.h>
#include <strings.h>

#include "sim_policy.h"

#define POLICY(x) extern const struct sim_policy_ops sim_policy_##x;
#include "registry.def"
#undef POLICY

static const struct sim_policy_ops *const registry[] = {
#define POLICY(x) &sim_policy_##x,
#include "registry.def"
#undef POLICY
};

size_t sim_policy_count(void) { return sizeof registry / sizeof registry[0]; }

const struct sim_policy_ops *sim_policy_at(size_t i)
{
    return i < sim_policy_count() ? registry[i] : NULL;
}

const struct sim_policy_ops *sim_policy_find(const char *name)
{
    for (size_t i = 0; i < sim_policy_count(); i++)
        if (strcasecmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}
