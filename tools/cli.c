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

void cli_close_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
        if (errno != EBADF) {
            cli_warn("write error on standard output: %s", strerror(errno));
            _exit(EXIT_DATA);
        }
    }
}
