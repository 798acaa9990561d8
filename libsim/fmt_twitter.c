/*
 * fmt_twitter.c - the Twitter cache-trace CSV (twitter/cache-trace), no
 * header, seven columns:
 *     timestamp (s), anonymized key, key size, value size, client id,
 *     operation, TTL (s)
 * The object's size is key size + value size (as Caffeine's reader has it);
 * the key text is hashed (keys keep their namespace prefix, so they are
 * text); the client id becomes `user`; the memcached verb maps to an op as
 * in the native CSV (get/gets -> GET, set/add/... -> SET, delete -> DELETE).
 * A line with another number of columns, or a value that does not parse,
 * is an error naming the column.
 */
#include <stdio.h>

#include "reader.h"

static const char *const twitter_cols[] = {"timestamp", "key", "key size", "value size",
                                           "client", "operation", "ttl"};

static int twitter_bad(sim_reader *r, int col, const struct reader_span *f, char *err,
                       size_t errlen)
{
    char what[48];
    snprintf(what, sizeof what, "column %d (%s)", col + 1, twitter_cols[col]);
    return reader_bad(r, err, errlen, what, &f[col]);
}

static int twitter_next(sim_reader *r, struct sim_req *req, char *err, size_t errlen)
{
    char *line;
    size_t len;
    int rc = reader_line(r, &line, &len, err, errlen);
    if (rc <= 0)
        return rc;
    struct reader_span f[7];
    unsigned n = reader_split(line, len, ',', f, 7);
    if (n != 7)
        return reader_error(r, SIM_EFORMAT, err, errlen,
                            "%u columns; a Twitter trace line has 7 (timestamp,key,key size,"
                            "value size,client,operation,ttl)", n);
    uint64_t ks, vs, ttl;
    if (reader_decimal(f[0].s, f[0].len, 6, &req->time))
        return twitter_bad(r, 0, f, err, errlen);
    if (f[1].len == 0)
        return twitter_bad(r, 1, f, err, errlen);
    if (reader_u64(f[2].s, f[2].len, &ks))
        return twitter_bad(r, 2, f, err, errlen);
    if (reader_u64(f[3].s, f[3].len, &vs) || vs > UINT64_MAX - ks)
        return twitter_bad(r, 3, f, err, errlen);
    if (f[5].len == 0)
        return twitter_bad(r, 5, f, err, errlen);
    if (reader_u64(f[6].s, f[6].len, &ttl) || ttl > UINT32_MAX)
        return twitter_bad(r, 6, f, err, errlen);
    req->key = sim_hash_bytes(f[1].s, f[1].len);
    req->size = ks + vs;
    req->user = reader_key(f[4].s, f[4].len);
    req->op = reader_op(f[5].s, f[5].len);
    req->ttl = (uint32_t)ttl;
    req->present = SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_USER | SIM_F_OP | SIM_F_TTL;
    return 1;
}

const struct sim_fmt sim_fmt_twitter = {
    SIM_FMT_TWITTER, SIM_F_TIME | SIM_F_SIZE | SIM_F_USER | SIM_F_OP | SIM_F_TTL,
    NULL, twitter_next, NULL, NULL,
};
