/*
 * gen_internal.h - what the generators (gen.c, genllm*.c) share; not
 * installed.
 */
#ifndef SIM_GEN_INTERNAL_H
#define SIM_GEN_INTERNAL_H

#include "sim_gen.h"
#include "sim_policy.h"

/* A family of specs: each name with its parameter declarations. */
struct spec_kind {
    const char *name;
    int id;
    const struct sim_param_def *defs;
};

/* Parses "name[:k=v,...]" against `kinds` (terminated by a NULL name); `what`
 * names the family in messages.  Sets *id; NULL with err set on error. */
sim_params *gen_parse_spec(const char *what, const struct spec_kind *kinds, const char *spec,
                           int *id, char *err, size_t errlen);

/* Arrival times: Poisson or on/off, with an optional diurnal cycle. */
struct gen_clock {
    int onoff, started;
    double rate, on, off, diurnal, period;
    double active;      /* seconds of "on" time elapsed */
    double clock;       /* seconds */
};

/* Parses an arrivals spec ("poisson:rate=...", "onoff:...").  0 or SIM_EINVAL. */
int gen_clock_setup(struct gen_clock *c, const char *spec, char *err, size_t errlen);

/* The next arrival time in microseconds (0 for the first). */
uint64_t gen_clock_next(struct gen_clock *c, struct sim_rng *r);

#endif
