/*
 * eval.c - threshold sweeps over scored pairs (see sim_eval.h for the
 * definitions of the counts and rates).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_eval.h"

void sim_eval_count(const float *sims, const uint8_t *labels, const uint16_t *cats, size_t n,
                    int cat, double threshold, struct sim_eval_counts *c)
{
    /* Compared in float, so that a similarity stored as 0.9f is a hit at 0.9. */
    float t = (float)threshold;
    c->tp = c->fp = c->tn = c->fn = 0;
    for (size_t i = 0; i < n; i++) {
        if (cat != SIM_EVAL_ALL && cats[i] != (unsigned)cat)
            continue;
        int hit = sims[i] >= t;
        if (labels[i])
            hit ? c->tp++ : c->fn++;
        else
            hit ? c->fp++ : c->tn++;
    }
}

static double ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

void sim_eval_rates(const struct sim_eval_counts *c, struct sim_eval_rates *r)
{
    uint64_t n = c->tp + c->fp + c->tn + c->fn;
    r->precision = ratio(c->tp, c->tp + c->fp);
    r->recall = ratio(c->tp, c->tp + c->fn);
    double s = r->precision + r->recall;
    r->f1 = s > 0 ? 2 * r->precision * r->recall / s : 0.0;
    r->accuracy = ratio(c->tp + c->tn, n);
    r->hit_rate = ratio(c->tp + c->fp, n);
    r->false_hit_rate = ratio(c->fp, n);
}

int sim_eval_thresholds(double from, double to, double step, double **out, char *err,
                        size_t errlen)
{
    if (!(from >= -1 && from <= 1) || !(to >= -1 && to <= 1)) {
        snprintf(err, errlen, "threshold range %g..%g is not within [-1, 1]", from, to);
        return SIM_EINVAL;
    }
    if (from > to || !(step > 0)) {
        snprintf(err, errlen, "empty sweep: from %g to %g by step %g", from, to, step);
        return SIM_EINVAL;
    }
    double count = floor((to - from) / step + 1e-9) + 1;
    if (count > 1e6) {
        snprintf(err, errlen, "sweep of %.0f thresholds is too long (at most 10^6)", count);
        return SIM_EINVAL;
    }
    size_t n = (size_t)count;
    double *t = malloc(n * sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return SIM_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        t[i] = round((from + (double)i * step) * 1e9) / 1e9;
    *out = t;
    return (int)n;
}

void sim_eval_choose(const float *sims, const uint8_t *labels, const uint16_t *cats,
                     size_t n, int cat, const double *thr, size_t nthr,
                     double max_false_hit, struct sim_eval_choice *ch)
{
    double best = -1;
    ch->bound_found = 0;
    ch->best_f1_threshold = nthr ? thr[0] : 0;
    for (size_t i = 0; i < nthr; i++) {
        struct sim_eval_counts c;
        struct sim_eval_rates r;
        sim_eval_count(sims, labels, cats, n, cat, thr[i], &c);
        sim_eval_rates(&c, &r);
        if (r.f1 > best) {
            best = r.f1;
            ch->best_f1_threshold = thr[i];
            ch->best_f1 = c;
        }
        if (max_false_hit >= 0 && !ch->bound_found && r.false_hit_rate <= max_false_hit) {
            ch->bound_found = 1;
            ch->bound_threshold = thr[i];
            ch->bound = c;
        }
    }
}

int sim_eval_write_config(const char *path, const char *const *names,
                          const double *thresholds, unsigned n, double def, char *err,
                          size_t errlen)
{
    sim_outfile *of = sim_outfile_open(path, err, errlen);
    if (!of)
        return SIM_EIO;
    FILE *f = sim_outfile_stream(of);
    fprintf(f, "category,threshold\ndefault,%.9g\n", def);
    for (unsigned i = 0; i < n; i++) {
        if (!strcmp(names[i], "default"))
            continue; /* the default row is written above */
        if (sim_csv_quote(f, names[i]))
            break;
        fprintf(f, ",%.9g\n", thresholds[i]);
    }
    return sim_outfile_commit(of, err, errlen);
}
