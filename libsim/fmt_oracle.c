/*
 * fmt_oracle.c - libCacheSim's oracleGeneral binary trace.
 *
 * 24-byte little-endian records, no header:
 *     u32 time_s @0, u64 obj_id @4, u32 size @12, i64 next_access_vtime @16
 * next_access_vtime is the 1-based position of the object's next request, or
 * -1 (some writers use INT64_MAX) when there is none; it becomes the 0-based
 * sim_req.next_access.  Records of size 0 are skipped, as libCacheSim's
 * cachesim does by default, so that results agree with it.
 */

#include <stdlib.h>
#include <string.h>

#include "reader.h"

#define REC 24

/* Records are parsed in place from the stream's buffer (sim_in_window):
 * an own buffer filled by sim_in_read cost one more copy of every byte.
 * The window is kept between calls and consumed (sim_in_skip) only when
 * used up, so that one record at a time (sim_reader_next) stays cheap. */
struct oracle {
    const unsigned char *p; /* next record in the window */
    size_t left, used;      /* bytes left in the window, bytes consumed */
};

static int oracle_open(sim_reader *r, char *err, size_t errlen)
{
    r->state = calloc(1, sizeof(struct oracle));
    if (!r->state) {
        snprintf(err, errlen, "%s: out of memory", sim_reader_path(r));
        return SIM_ENOMEM;
    }
    return 0;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* Up to n requests from the records in the stream's buffer (refilled when
 * fewer than one record is left); 0 at the end.  `whole`: also do what
 * sim_reader_next adds (index, --ignore-size), here rather than in a second
 * pass over the batch (4% of an LRU run's instructions). */
static inline int oracle_parse(sim_reader *r, struct sim_req *req, size_t n, int whole,
                               char *err, size_t errlen)
{
    struct oracle *o = r->state;
    size_t k = 0;
    while (k == 0) {
        if (o->left < REC) {
            sim_in_skip(r->in, o->used);
            o->used = 0;
            int rc = sim_in_window(r->in, REC, &o->p, &o->left, err, errlen);
            if (rc)
                return rc;
        }
        size_t avail = o->left;
        const unsigned char *p = o->p;
        if (avail < REC) {
            if (avail == 0)
                return 0;
            r->lineno++;
            return reader_error(r, SIM_EFORMAT, err, errlen,
                                "truncated record: %zu bytes left over, records are %d bytes",
                                avail, REC);
        }
        size_t recs = avail / REC, i = 0;
        /* One memset for the records to come: clearing each request by
         * assignment compiled to a `rep stos` per request, a tenth of
         * SIEVE's time.  Slots a skipped record leaves cleared stay so. */
        if (whole)
            memset(req + k, 0, (recs < n - k ? recs : n - k) * sizeof *req);
        for (; i < recs && k < n; i++, p += REC) {
            r->lineno++;
            uint32_t size = le32(p + 12);
            if (size == 0)
                continue;
            int64_t next = (int64_t)le64(p + 16);
            struct sim_req *q = &req[k++];
            q->time = (uint64_t)le32(p) * 1000000u;
            q->key = le64(p + 4);
            q->size = size;
            q->next_access = (next <= 0 || next == INT64_MAX) ? -1 : next - 1;
            q->present = SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_NEXT;
            if (whole) {
                q->index = r->index++;
                if (r->opts.ignore_size)
                    q->size = 1;
            }
        }
        o->p = p;
        o->left -= i * REC;
        o->used += i * REC;
    }
    return (int)k;
}

int sim_fmt_oracle_batch(sim_reader *r, struct sim_req *req, size_t n, char *err,
                         size_t errlen)
{
    return oracle_parse(r, req, n, 1, err, errlen);
}

static int oracle_next(sim_reader *r, struct sim_req *req, char *err, size_t errlen)
{
    return oracle_parse(r, req, 1, 0, err, errlen);
}

static void oracle_rewind(sim_reader *r)
{
    struct oracle *o = r->state;
    o->p = NULL;
    o->left = o->used = 0;
}

static void oracle_close(sim_reader *r) { free(r->state); }

const struct sim_fmt sim_fmt_oracle = {
    SIM_FMT_ORACLE, SIM_F_TIME | SIM_F_SIZE | SIM_F_NEXT,
    oracle_open, oracle_next, oracle_rewind, oracle_close,
};
