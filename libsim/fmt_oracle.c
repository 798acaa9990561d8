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
#define BATCH 8192

struct oracle {
    unsigned char buf[REC * BATCH];
    size_t n, pos; /* records in buf, next record */
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

static int refill(sim_reader *r, struct oracle *o, char *err, size_t errlen)
{
    ssize_t got = sim_in_read(r->in, o->buf, sizeof o->buf, err, errlen);
    if (got < 0)
        return (int)got;
    if (got % REC) {
        r->lineno += (uint64_t)got / REC + 1;
        return reader_error(r, SIM_EFORMAT, err, errlen,
                            "truncated record: %zd bytes left over, records are %d bytes",
                            got % REC, REC);
    }
    o->n = (size_t)got / REC;
    o->pos = 0;
    return 0;
}

static int oracle_next(sim_reader *r, struct sim_req *req, char *err, size_t errlen)
{
    struct oracle *o = r->state;
    for (;;) {
        if (o->pos == o->n) {
            int rc = refill(r, o, err, errlen);
            if (rc)
                return rc;
            if (o->n == 0)
                return 0;
        }
        const unsigned char *p = o->buf + o->pos++ * REC;
        r->lineno++;
        uint32_t size = le32(p + 12);
        if (size == 0)
            continue;
        int64_t next = (int64_t)le64(p + 16);
        req->time = (uint64_t)le32(p) * 1000000u;
        req->key = le64(p + 4);
        req->size = size;
        req->next_access = (next <= 0 || next == INT64_MAX) ? -1 : next - 1;
        req->present = SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_NEXT;
        return 1;
    }
}

static void oracle_rewind(sim_reader *r)
{
    struct oracle *o = r->state;
    o->n = o->pos = 0;
}

static void oracle_close(sim_reader *r) { free(r->state); }

const struct sim_fmt sim_fmt_oracle = {
    SIM_FMT_ORACLE, SIM_F_TIME | SIM_F_SIZE | SIM_F_NEXT,
    oracle_open, oracle_next, oracle_rewind, oracle_close,
};
