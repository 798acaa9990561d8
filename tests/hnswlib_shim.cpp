// hnswlib_shim.cpp - the C shim over hnswlib for bench_vec (hnswlib_shim.h).
#include <hnswlib/hnswlib.h>

#include <cstdint>

#include "hnswlib_shim.h"

namespace {
struct shim {
    hnswlib::InnerProductSpace space;
    hnswlib::HierarchicalNSW<float> index;
    shim(unsigned dim, size_t max, unsigned M, unsigned efc, uint64_t seed)
        : space(dim), index(&space, max, M, efc, (size_t)seed) {}
};
} // namespace

extern "C" void *hnswlib_shim_create(unsigned dim, size_t max_elements, unsigned M,
                                     unsigned ef_construction, uint64_t seed)
{
    return new shim(dim, max_elements, M, ef_construction, seed);
}

extern "C" void hnswlib_shim_add(void *h, const float *x, uint64_t label)
{
    static_cast<shim *>(h)->index.addPoint(x, (hnswlib::labeltype)label);
}

extern "C" void hnswlib_shim_set_ef(void *h, unsigned ef)
{
    static_cast<shim *>(h)->index.setEf(ef);
}

extern "C" uint64_t hnswlib_shim_search1(void *h, const float *q)
{
    auto r = static_cast<shim *>(h)->index.searchKnn(q, 1);
    return r.empty() ? UINT64_MAX : (uint64_t)r.top().second;
}

extern "C" void hnswlib_shim_free(void *h) { delete static_cast<shim *>(h); }
