/*
 * fmt_arc.c - the ARC traces of Megiddo and Modha (P1-P14, OLTP, DS1, S1-S3).
 *
 * Each line is four integers "start n ignored request_no"; it stands for n
 * unit-size block references start, start+1, ..., start+n-1 (as Caffeine's
 * and otter's readers expand it).  The third and fourth fields are not used,
 * but a line must have exactly four fields, as otter requires; anything else
 * is an error.  A line with n = 0 yields nothing.
 */
#include <stdlib.h>

#include "reader.h"

struct arc {
    uint64_t next, left; /* the block to return next, and how many remain */
};

static int arc_open(sim_reader *r, char *err, size_t errlen)
{
    r->state = calloc(1, sizeof(struct arc));
    if (!r->state)
        return reader_error(r, SIM_ENOMEM, err, errlen, "out of memory");
    return 0;
}

static int arc_line(sim_reader *r, struct arc *a, char *err, size_t errlen)
{
    char *line;
    size_t len;
    int rc = reader_line(r, &line, &len, err, errlen);
    if (rc <= 0)
        return rc;
    struct reader_span f[4];
    unsigned n = reader_split(line, len, ' ', f, 4);
    if (n != 4)
        return reader_error(r, SIM_EFORMAT, err, errlen,
                            "%u fields; an ARC trace line has 4 (start, count, ignored, "
                            "request number)", n);
    if (reader_u64(f[0].s, f[0].len, &a->next))
        return reader_bad(r, err, errlen, "field 1 (start block)", &f[0]);
    if (reader_u64(f[1].s, f[1].len, &a->left) || (a->left && a->next + (a->left - 1) < a->next))
        return reader_bad(r, err, errlen, "field 2 (block count)", &f[1]);
    return 1;
}

static int arc_next(sim_reader *r, struct sim_req *req, char *err, size_t errlen)
{
    struct arc *a = r->state;
    while (a->left == 0) {
        int rc = arc_line(r, a, err, errlen);
        if (rc <= 0)
            return rc;
    }
    req->key = a->next++;
    a->left--;
    req->size = 1;
    req->present = SIM_F_KEY | SIM_F_SIZE;
    return 1;
}

static void arc_rewind(sim_reader *r)
{
    struct arc *a = r->state;
    a->left = 0;
}

static void arc_close(sim_reader *r) { free(r->state); }

const struct sim_fmt sim_fmt_arc = {
    SIM_FMT_ARC, SIM_F_SIZE, arc_open, arc_next, arc_rewind, arc_close,
};
