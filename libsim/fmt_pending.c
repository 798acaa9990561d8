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
PENDING(sim_fmt_csv, SIM_FMT_CSV);
PENDING(sim_fmt_twitter, SIM_FMT_TWITTER);
PENDING(sim_fmt_accesslog, SIM_FMT_ACCESSLOG);
PENDING(sim_fmt_arc, SIM_FMT_ARC);
PENDING(sim_fmt_lrb, SIM_FMT_LRB);
PENDING(sim_fmt_mooncake, SIM_FMT_MOONCAKE);

sim_writer *sim_writer_open(const char *path, enum sim_format fmt, uint32_t fields,
                            char *err, size_t errlen)
{
    (void)fmt, (void)fields;
    snprintf(err, errlen, "%s: trace writers are not available yet", path);
    return NULL;
}
int sim_writer_set_category_names(sim_writer *w, const char *const *names, unsigned n,
                                  char *err, size_t errlen)
{
    (void)w, (void)names, (void)n, (void)err, (void)errlen;
    return SIM_EUNSUPPORTED;
}
int sim_writer_put(sim_writer *w, const struct sim_req *req, char *err, size_t errlen)
{
    (void)w, (void)req, (void)err, (void)errlen;
    return SIM_EUNSUPPORTED;
}
int sim_writer_close(sim_writer *w, char *err, size_t errlen)
{
    (void)w, (void)err, (void)errlen;
    return SIM_EUNSUPPORTED;
}
void sim_writer_abort(sim_writer *w) { (void)w; }
