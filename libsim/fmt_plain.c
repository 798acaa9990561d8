/*
 * fmt_plain.c - one key per line (LIRS traces, cloudPhysicsIO.txt, any
 * list of ids).  A decimal key is its own id; any other text is hashed.
 * Blank lines and the "*" checkpoint markers of the LIRS traces are
 * skipped.  Every request has size 1.
 */
#include <string.h>

#include "reader.h"

static int plain_next(sim_reader *r, struct sim_req *req, char *err, size_t errlen)
{
    char *line;
    size_t len;
    for (;;) {
        int rc = sim_in_getline(r->in, &line, &len, err, errlen);
        if (rc <= 0)
            return rc;
        r->lineno++;
        while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        while (len && (*line == ' ' || *line == '\t')) {
            line++;
            len--;
        }
        if (len == 0 || (len == 1 && line[0] == '*'))
            continue;
        if (memchr(line, ' ', len) || memchr(line, '\t', len))
            return reader_error(r, SIM_EFORMAT, err, errlen,
                                "expected one key per line, found several fields");
        req->key = reader_key(line, len);
        req->size = 1;
        req->present = SIM_F_KEY | SIM_F_SIZE;
        return 1;
    }
}

const struct sim_fmt sim_fmt_plain = {
    SIM_FMT_PLAIN, SIM_F_SIZE, NULL, plain_next, NULL, NULL,
};
