/* TEMPORARY (branch evalq): stands in for the .npy reader until branch
 * semantic's npy.c is merged; remove then. */
#include <stdio.h>
#include "sim_vec.h"
sim_npy *sim_npy_open(const char *path, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: .npy files are not readable yet", path);
    return NULL;
}
uint64_t sim_npy_rows(const sim_npy *n) { (void)n; return 0; }
uint32_t sim_npy_dim(const sim_npy *n) { (void)n; return 0; }
int sim_npy_next(sim_npy *n, const float **row, char *err, size_t errlen)
{
    (void)n, (void)row, (void)err, (void)errlen;
    return SIM_EUNSUPPORTED;
}
void sim_npy_close(sim_npy *n) { (void)n; }
