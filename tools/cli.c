/*
 * cli.c - shared command-line helpers (see cli.h).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "sim_policy.h"

const char *cli_prog = "cachesim";

void cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", cli_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", cli_prog);
    exit(EXIT_USAGE);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", cli_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_parse_u64(const char *s, uint64_t *v)
{
    char *end;
    if (!*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end || errno)
        return -1;
    *v = x;
    return 0;
}

int cli_parse_double(const char *s, double *v)
{
    char *end;
    if (!*s)
        return -1;
    errno = 0;
    *v = strtod(s, &end);
    return (*end || errno || !isfinite(*v)) ? -1 : 0;
}

int cli_parse_size(const char *s, uint64_t *bytes, double *fraction)
{
    char *end;
    *bytes = 0;
    *fraction = 0;
    if (!*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || !isfinite(x) || x <= 0 || end == s)
        return -1;
    if (!*end && x < 1) {
        *fraction = x;
        return 0;
    }
    static const char units[] = "KMGT";
    double mult = 1;
    if (*end) {
        const char *u = strchr(units, *end >= 'a' ? *end - 32 : *end);
        if (!u || !*u)
            return -1;
        mult = pow(1024, (double)(u - units + 1));
        end++;
        if (strcasecmp(end, "") && strcasecmp(end, "b") && strcasecmp(end, "ib"))
            return -1;
    }
    double b = x * mult;
    if (b != floor(b) || b >= 1.8e19)
        return -1;
    *bytes = (uint64_t)b;
    return 0;
}

char **cli_split_specs(const char *list, char **v, size_t *n)
{
    char *copy = strdup(list), *save;
    if (!copy)
        cli_usage_error("out of memory");
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (strchr(tok, '=') && !strchr(tok, ':') && *n) {
            size_t len = strlen(v[*n - 1]) + strlen(tok) + 2;
            char *joined = malloc(len);
            if (!joined)
                cli_usage_error("out of memory");
            snprintf(joined, len, "%s,%s", v[*n - 1], tok);
            free(v[*n - 1]);
            v[*n - 1] = joined;
            continue;
        }
        v = realloc(v, (*n + 1) * sizeof *v);
        if (!v || !(v[*n] = strdup(tok)))
            cli_usage_error("out of memory");
        (*n)++;
    }
    free(copy);
    return v;
}

struct cli_size *cli_add_sizes(const char *list, struct cli_size *v, size_t *n)
{
    char *copy = strdup(list), *save;
    if (!copy)
        cli_usage_error("out of memory");
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        struct cli_size s = {0, 0};
        if (cli_parse_size(tok, &s.bytes, &s.fraction) || (s.bytes == 0 && s.fraction == 0))
            cli_usage_error("invalid cache size '%s'", tok);
        v = realloc(v, (*n + 1) * sizeof *v);
        if (!v)
            cli_usage_error("out of memory");
        v[(*n)++] = s;
    }
    free(copy);
    return v;
}

int cli_capacities(sim_reader *r, const struct cli_size *s, size_t n, int ignore_size,
                   uint64_t *caps)
{
    char err[SIM_ERRLEN];
    struct sim_trace_stats st = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        if (s[i].bytes) {
            caps[i] = s[i].bytes;
            continue;
        }
        if (!st.requests) {
            if (sim_trace_stats(r, &st, err, sizeof err)) {
                cli_warn("%s", err);
                return -1;
            }
            if (!st.requests) {
                cli_warn("%s: empty trace", sim_reader_path(r));
                return -1;
            }
        }
        uint64_t ws = ignore_size ? st.objects : st.bytes;
        caps[i] = (uint64_t)((double)ws * s[i].fraction + 0.5);
        if (!caps[i]) {
            cli_warn("%s: size %g of a working set of %llu is 0", sim_reader_path(r),
                     s[i].fraction, (unsigned long long)ws);
            return -1;
        }
    }
    return 0;
}

enum sim_unit cli_unit_of(const char *spec, int ignore_size)
{
    char name[64];
    size_t len = strcspn(spec, ":");
    const struct sim_policy_ops *ops = NULL;
    if (len < sizeof name) {
        memcpy(name, spec, len);
        name[len] = 0;
        ops = sim_policy_find(name);
    }
    if (ops && (ops->unit == SIM_UNIT_ENTRIES || ops->unit == SIM_UNIT_TOKENS))
        return ops->unit;
    return ignore_size ? SIM_UNIT_OBJECTS : SIM_UNIT_BYTES;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_progress_start(struct cli_progress *p, const char *label)
{
    p->label = label;
    p->start = cli_now();
    p->shown = 0;
}

int cli_progress_cb(void *arg, double fraction, uint64_t requests)
{
    struct cli_progress *p = arg;
    if (!p->enabled)
        return 0;
    double t = cli_now() - p->start;
    double rate = t > 0 ? (double)requests / t : 0;
    fprintf(stderr, "\r%s: %.1fM requests, %.2fM req/s", p->label, (double)requests / 1e6,
            rate / 1e6);
    if (fraction > 0 && fraction <= 1) {
        double eta = t / fraction - t;
        fprintf(stderr, ", %.0f%%, ETA %d:%02d ", fraction * 100, (int)eta / 60,
                (int)eta % 60);
    }
    p->shown = 1;
    return 0;
}

void cli_progress_end(struct cli_progress *p)
{
    if (p->shown)
        fputs("\r\033[K", stderr);
    p->shown = 0;
}

int cli_finish_output(sim_outfile *of, int status)
{
    char err[SIM_ERRLEN];
    if (status != EXIT_OK) {
        sim_outfile_abort(of);
        return status;
    }
    if (sim_outfile_commit(of, err, sizeof err)) {
        cli_warn("%s", err);
        return EXIT_DATA;
    }
    return EXIT_OK;
}

void cli_close_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
        if (errno != EBADF) {
            cli_warn("write error on standard output: %s", strerror(errno));
            _exit(EXIT_DATA);
        }
    }
}
