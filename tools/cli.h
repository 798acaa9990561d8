/*
 * cli.h - what the four command-line tools share: exit codes, messages in
 * one shape, number and size parsing, and the progress line.  Tools are
 * thin: everything that simulates is in libsim.
 */
#ifndef CLI_H
#define CLI_H

#include <stdint.h>
#include <stdio.h>

#include "sim.h"

/* Exit statuses (documented in every man page). */
enum { EXIT_OK = 0, EXIT_DATA = 1, EXIT_USAGE = 2 };

/* The program name for messages ("cachesim"). */
extern const char *cli_prog;

/* "prog: message" on stderr, then exit(EXIT_USAGE) with a pointer to --help. */
_Noreturn void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: message" on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Strict parsers: 0 on success, -1 if `s` is not entirely a number in range. */
int cli_parse_u64(const char *s, uint64_t *v);
int cli_parse_double(const char *s, double *v);

/*
 * A cache size: "1000", "64K", "128M", "1.5G", "2T" (powers of 1024; "KB",
 * "KiB", "MB", "MiB"... mean the same), or a fraction of the working set in
 * (0, 1) such as "0.01" (*fraction set, *bytes 0).  Returns 0 or -1.
 */
int cli_parse_size(const char *s, uint64_t *bytes, double *fraction);

/*
 * Comma lists of specs (-p, --router): "k=v" items without ':' continue the
 * previous spec's parameters, so "s3fifo:small=0.1,ghost=0.9,lru" is two
 * specs.  Appends to v (n entries), returns the new array; exits on no memory.
 */
char **cli_split_specs(const char *list, char **v, size_t *n);

/* A -s item: bytes, or a fraction of the working set (bytes 0). */
struct cli_size {
    uint64_t bytes;
    double fraction;
};
/* Appends the sizes of a comma list to v (n entries); a bad or zero size
 * is a usage error naming it. */
struct cli_size *cli_add_sizes(const char *list, struct cli_size *v, size_t *n);

/*
 * The capacities of n sizes on the trace of r: bytes as given, fractions of
 * the working set (objects with ignore_size, else bytes; one pass over the
 * trace, only if a fraction is given).  Returns 0, or -1 after saying why
 * on stderr (unreadable or empty trace, a fraction that rounds to 0).
 */
int cli_capacities(sim_reader *r, const struct cli_size *s, size_t n, int ignore_size,
                   uint64_t *caps);

/* The unit a policy spec's capacity counts: bytes (objects with
 * ignore_size) for object caches, what the policy declares (entries,
 * tokens) for the other families. */
enum sim_unit cli_unit_of(const char *spec, int ignore_size);

/* Progress on stderr, when enabled: "\r<label> 42% 3.1M req/s ETA 0:12". */
struct cli_progress {
    int enabled;
    const char *label;
    double start;
    int shown;
};
void cli_progress_start(struct cli_progress *p, const char *label);
int cli_progress_cb(void *arg, double fraction, uint64_t requests);
void cli_progress_end(struct cli_progress *p);
double cli_now(void);

/* Ends an output file: commits it (a failure is warned about and becomes
 * EXIT_DATA) when status is EXIT_OK, else removes its temporary so that a
 * failed run leaves no file.  Returns the final status. */
int cli_finish_output(sim_outfile *of, int status);

/* Closes stdout and turns a failed write into EXIT_DATA (util-linux's
 * close_stdout). */
void cli_close_stdout(void);

#endif
