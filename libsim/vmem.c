/*
 * vmem.c - large growable arrays straight from the kernel (internal.h).
 *
 * Why: an array that grows by realloc inside malloc's heap leaves its old
 * copies behind as free chunks, and those stay resident.  glibc maps large
 * blocks with mmap (grown in place by mremap, freed to the kernel), but its
 * threshold rises every time a mapped block is freed, so after a table
 * rebuild the next ring or heap array of the same order lands in the heap:
 * ARC's ghost rings left 660 KB of free chunks for 76k objects (8.6 bytes
 * per object), GDSF's heap arrays 370 KB.  Here a block of at least
 * SIM_VM_MIN bytes is always its own mapping: growing it moves page tables,
 * not bytes (no transient copy), and its pages count as resident only once
 * touched.  Smaller blocks use malloc, so the choice follows from the size
 * alone and the caller only passes the size back.
 *
 * Without mremap (not Linux) a mapped block grows by map, copy and unmap.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

static int vm_mapped(size_t n) { return n >= SIM_VM_MIN; }

static void *vm_map(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *sim__vm_resize(void *p, size_t old, size_t n)
{
    if (n == 0) {
        sim__vm_free(p, old);
        return NULL;
    }
    if (!p)
        return vm_mapped(n) ? vm_map(n) : calloc(1, n);
    if (vm_mapped(old) && vm_mapped(n)) {
#ifdef MREMAP_MAYMOVE
        void *q = mremap(p, old, n, MREMAP_MAYMOVE);
        return q == MAP_FAILED ? NULL : q;
#endif
    }
    if (!vm_mapped(old) && !vm_mapped(n)) {
        void *q = realloc(p, n);
        if (q && n > old)
            memset((char *)q + old, 0, n - old);
        return q;
    }
    void *q = vm_mapped(n) ? vm_map(n) : calloc(1, n);
    if (!q)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    sim__vm_free(p, old);
    return q;
}

void sim__vm_free(void *p, size_t n)
{
    if (!p)
        return;
    if (vm_mapped(n))
        munmap(p, n);
    else
        free(p);
}

int sim__units_fit(uint8_t **a, unsigned *width, size_t n, uint32_t v)
{
    if (!((v != 1 && *width == 0) || (v > UINT16_MAX && *width == 2)))
        return 0;
    unsigned w = v > UINT16_MAX ? 4 : 2;
    uint8_t *b = sim__vm_resize(NULL, 0, n * w);
    if (!b)
        return SIM_ENOMEM;
    for (size_t i = 0; i < n; i++)
        sim__units_set(b, w, i, sim__units_get(*a, *width, i));
    sim__vm_free(*a, n * *width);
    *a = b;
    *width = w;
    return 0;
}
