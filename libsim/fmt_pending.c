/* Formats whose parsers are being written; each fails cleanly meanwhile. */
#include <stdio.h>
#include "reader.h"

static int pending_next(sim_reader *r, struct sim_req *req, char *err, size_t errlen)
{
    (void)req;
    return reader_error(r, SIM_EUNSUPPORTED, err, errlen, "format %s is not readable yet",
                        sim_format_name(r->fmt->id));
}

#define PENDING(v, id) const struct sim_fmt v = {id, 0, NULL, pending_next, NULL, NULL}
PENDING(sim_fmt_twitter, SIM_FMT_TWITTER);
PENDING(sim_fmt_accesslog, SIM_FMT_ACCESSLOG);
PENDING(sim_fmt_arc, SIM_FMT_ARC);
PENDING(sim_fmt_lrb, SIM_FMT_LRB);
PENDING(sim_fmt_mooncake, SIM_FMT_MOONCAKE);

