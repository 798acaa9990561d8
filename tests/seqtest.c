/*
 * seqtest.c - see seqtest.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqtest.h"

#define SEQ_MAX 256

struct seq_req {
    uint64_t key, size;
    int del;
};

/* Parses the trace text; returns the count or -1. */
static int seq_parse(const char *trace, struct seq_req *r)
{
    int n = 0;
    const char *s = trace;
    while (*s) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        if (n == SEQ_MAX)
            return -1;
        r[n].del = *s == '-';
        s += r[n].del;
        r[n].key = (unsigned char)*s++;
        r[n].size = 1;
        if (*s == ':')
            r[n].size = strtoull(s + 1, (char **)&s, 10);
        n++;
    }
    return n;
}

int seq_run(const char *spec, enum sim_unit unit, uint64_t capacity, const char *trace,
            char *out, size_t outlen, uint64_t *evictions)
{
    struct seq_req r[SEQ_MAX];
    int n = seq_parse(trace, r);
    char err[SIM_ERRLEN];
    struct sim_cache_config cfg = {capacity, unit, 1,
                                   SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_OP | SIM_F_NEXT,
                                   NULL};
    sim_cache *c = n < 0 ? NULL : sim_cache_create(spec, &cfg, err, sizeof err);
    if (!c) {
        snprintf(out, outlen, "%s", n < 0 ? "trace too long" : err);
        return -1;
    }
    size_t k = 0;
    uint64_t ev = 0;
    for (int i = 0; i < n; i++) {
        struct sim_req q;
        memset(&q, 0, sizeof q);
        q.index = (uint64_t)i;
        q.time = (uint64_t)i * 1000000;
        q.key = r[i].key;
        q.size = r[i].size;
        q.op = r[i].del ? SIM_OP_DELETE : SIM_OP_GET;
        q.present = cfg.fields;
        q.next_access = -1;
        for (int j = i + 1; j < n && q.next_access < 0; j++)
            if (r[j].key == r[i].key)
                q.next_access = j;
        struct sim_outcome o;
        sim_cache_access(c, &q, &o);
        ev += o.evictions;
        if (!o.uncounted && k + 1 < outlen)
            out[k++] = o.hit ? 'H' : 'M';
        if (sim_cache_check(c, err, sizeof err)) {
            snprintf(out, outlen, "request %d: %s", i, err);
            sim_cache_free(c);
            return -1;
        }
    }
    out[k] = 0;
    if (evictions)
        *evictions = ev;
    sim_cache_free(c);
    return 0;
}

int seq_create_error(const char *spec, const char *word, char *out, size_t outlen)
{
    struct sim_cache_config cfg = {10, SIM_UNIT_OBJECTS, 1, SIM_F_KEY | SIM_F_SIZE, NULL};
    sim_cache *c = sim_cache_create(spec, &cfg, out, outlen);
    if (c) {
        sim_cache_free(c);
        snprintf(out, outlen, "created");
        return 0;
    }
    return strstr(out, word) != NULL;
}
