/*
 * csv.c - the result table.  One header, one row per (trace, policy,
 * parameters, cache size).  Numbers never depend on the locale: counts are
 * integers, and reals are printed with the fewest digits that read back to
 * the same double (at most 17), so that rows are exact and diffable.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const core_columns =
    "trace,policy,params,cache_size,unit,requests,hits,misses,miss_ratio,bytes,"
    "bytes_missed,byte_miss_ratio,evictions,expirations,seconds,requests_per_s";

/* Shortest round-trip form of x; "nan" never occurs (ratios of 0/0 are 0).
 * Shared with mrc.c, whose rows must look the same. */
void sim__csv_real(char *buf, size_t n, double x)
{
    if (x == floor(x) && fabs(x) < 1e15) {
        snprintf(buf, n, "%.0f", x);
        return;
    }
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

int sim_csv_quote(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r"))
        return fputs(s, f) < 0 ? SIM_EIO : 0;
    if (fputc('"', f) == EOF)
        return SIM_EIO;
    for (; *s; s++)
        if ((*s == '"' && fputc('"', f) == EOF) || fputc(*s, f) == EOF)
            return SIM_EIO;
    return fputc('"', f) == EOF ? SIM_EIO : 0;
}

int sim_csv_header(FILE *f, const char *const *extra)
{
    fputs(core_columns, f);
    for (size_t i = 0; extra && extra[i]; i++)
        fprintf(f, ",%s", extra[i]);
    return fputc('\n', f) == EOF ? SIM_EIO : 0;
}

static double ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0; }

int sim_csv_row(FILE *f, const char *trace, const sim_cache *c, const char *const *extra)
{
    struct sim_metrics m;
    char r1[40], r2[40], r3[40], r4[40];
    sim_cache_metrics(c, &m);
    sim_csv_quote(f, trace);
    fprintf(f, ",%s,", sim_cache_policy(c)->name);
    sim_csv_quote(f, sim_cache_params(c));
    sim__csv_real(r1, sizeof r1, ratio(m.misses, m.requests));
    sim__csv_real(r2, sizeof r2, ratio(m.bytes_missed, m.bytes));
    sim__csv_real(r3, sizeof r3, m.seconds);
    sim__csv_real(r4, sizeof r4, m.seconds > 0 ? round((double)m.requests / m.seconds) : 0);
    fprintf(f, ",%llu,%s,%llu,%llu,%llu,%s,%llu,%llu,%s,%llu,%llu,%s,%s",
            (unsigned long long)sim_cache_capacity(c), sim_unit_name(sim_cache_unit(c)),
            (unsigned long long)m.requests, (unsigned long long)m.hits,
            (unsigned long long)m.misses, r1, (unsigned long long)m.bytes,
            (unsigned long long)m.bytes_missed, r2, (unsigned long long)m.evictions,
            (unsigned long long)m.expirations, r3, r4);
    size_t n = sim_cache_extra_count(c);
    double *vals = n ? calloc(n, sizeof *vals) : NULL;
    if (n && !vals)
        return SIM_ENOMEM;
    if (n)
        sim_cache_extra_values(c, vals);
    const char *const *names = sim_cache_extra_names(c);
    for (size_t i = 0; extra && extra[i]; i++) {
        fputc(',', f);
        for (size_t j = 0; j < n; j++)
            if (strcmp(names[j], extra[i]) == 0) {
                char v[40];
                sim__csv_real(v, sizeof v, vals[j]);
                fputs(v, f);
                break;
            }
    }
    free(vals);
    return fputc('\n', f) == EOF ? SIM_EIO : 0;
}
