/*
 * fmt_lrb.c - the LRB / webcachesim / AdaptSize request format, used by the
 * Wikipedia 2018-2019 CDN traces: space-separated "time id size [extra...]"
 * with time in seconds, a numeric id and the size in bytes.  Extra columns
 * (LRB's uint16 features) are ignored.  A non-numeric id is hashed.  Fewer
 * than three fields, or a time or size that does not parse, is an error.
 */
#include "reader.h"

static int lrb_next(sim_reader *r, struct sim_req *req, char *err, size_t errlen)
{
    char *line;
    size_t len;
    int rc = reader_line(r, &line, &len, err, errlen);
    if (rc <= 0)
        return rc;
    struct reader_span f[3];
    unsigned n = reader_split(line, len, ' ', f, 3);
    if (n < 3)
        return reader_error(r, SIM_EFORMAT, err, errlen,
                            "%u fields; expected \"time id size [extra...]\"", n);
    if (reader_decimal(f[0].s, f[0].len, 6, &req->time))
        return reader_bad(r, err, errlen, "field 1 (time)", &f[0]);
    if (reader_u64(f[2].s, f[2].len, &req->size))
        return reader_bad(r, err, errlen, "field 3 (size)", &f[2]);
    req->key = reader_key(f[1].s, f[1].len);
    req->present = SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE;
    return 1;
}

const struct sim_fmt sim_fmt_lrb = {
    SIM_FMT_LRB, SIM_F_TIME | SIM_F_SIZE, NULL, lrb_next, NULL, NULL,
};
