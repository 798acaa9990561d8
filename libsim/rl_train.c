/*
 * rl_train.c - an offline trainer from exported rows to a qtable v1.
 *
 * One-step fitted Q-iteration (discount 0) over the candidates' states:
 *   q_keep(s)  = mean reward of the rows in state s, i.e. the estimated
 *                probability that an object in s is requested again while
 *                valid: keeping it then earns a hit.  With the objective
 *                "hits" (default) this is divided by the mean size of the
 *                rows in s and multiplied by the mean size of all rows:
 *                hits earned per byte of room, so that one large object
 *                weighs as much as the many small ones it displaces (for
 *                equal sizes nothing changes); objective "bytes" keeps the
 *                plain probability (byte hit ratio);
 *   q_evict(s) = mean reward over all rows: what the freed room earns when
 *                it holds a typical object instead.
 * With discount 0 the iteration converges in one step, and the targets do
 * not depend on the behaviour policy's action, because the label is about
 * the request stream, not about what the cache did.  A candidate is thus
 * evicted when it is less likely than average to be reused, and the lower
 * its reuse probability the earlier.
 *
 * Bins: given edges per feature, or log-spaced ones: bins-1 edges from the
 * smallest positive value of the feature to its largest, geometric, so a
 * value <= 0 (no hits; no TTL = -1) falls in bin 0.  Rows are held in memory
 * (28 bytes each) because the default edges need the value ranges first.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rl_internal.h"
#include "u64map.h"

struct trow {
    float x[SIM_RL_NFEAT];
    uint8_t reward;
};

struct rows {
    struct trow *v;
    size_t n, cap;
};

/* Column index of each feature and of the reward in the header. */
static int find_columns(char *line, int *col, int *rcol, const char *path, uint64_t ln,
                        char *err, size_t errlen)
{
    for (unsigned f = 0; f < SIM_RL_NFEAT; f++)
        col[f] = -1;
    *rcol = -1;
    char *save;
    int i = 0;
    for (char *c = strtok_r(line, ",", &save); c; c = strtok_r(NULL, ",", &save), i++) {
        int f = sim_rl_feature_find(c);
        if (f >= 0)
            col[f] = i;
        else if (strcmp(c, "reward") == 0)
            *rcol = i;
    }
    for (unsigned f = 0; f < SIM_RL_NFEAT; f++)
        if (col[f] < 0) {
            snprintf(err, errlen, "%s:%llu: no column '%s' in the header", path,
                     (unsigned long long)ln, sim_rl_feature_name(f));
            return SIM_EFORMAT;
        }
    if (*rcol < 0) {
        snprintf(err, errlen, "%s:%llu: no column 'reward' in the header", path,
                 (unsigned long long)ln);
        return SIM_EFORMAT;
    }
    return 0;
}

static int parse_row(char *line, const int *col, int rcol, struct trow *r)
{
    char *save;
    int i = 0, got = 0;
    for (char *c = strtok_r(line, ",", &save); c; c = strtok_r(NULL, ",", &save), i++) {
        char *end;
        errno = 0;
        if (i == rcol) {
            if (strcmp(c, "0") && strcmp(c, "1"))
                return -1;
            r->reward = c[0] == '1';
            got++;
            continue;
        }
        for (unsigned f = 0; f < SIM_RL_NFEAT; f++)
            if (col[f] == i) {
                r->x[f] = strtof(c, &end);
                if (end == c || *end || !isfinite(r->x[f]))
                    return -1;
                got++;
            }
    }
    return got == SIM_RL_NFEAT + 1 ? 0 : -1;
}

static int read_rows(FILE *in, const char *path, struct rows *rs, char *err, size_t errlen)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t ln = 0;
    int col[SIM_RL_NFEAT], rcol = -1, have_header = 0, rc = 0;
    while (!rc && (len = getline(&line, &cap, in)) >= 0) {
        ln++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (line[0] == '#' || len == 0)
            continue;
        if (!have_header) {
            rc = find_columns(line, col, &rcol, path, ln, err, errlen);
            have_header = 1;
            continue;
        }
        if (rs->n == rs->cap) {
            size_t n = rs->cap ? rs->cap * 2 : 4096;
            struct trow *v = realloc(rs->v, n * sizeof *v);
            if (!v) {
                snprintf(err, errlen, "%s: out of memory", path);
                rc = SIM_ENOMEM;
                break;
            }
            rs->v = v;
            rs->cap = n;
        }
        if (parse_row(line, col, rcol, &rs->v[rs->n])) {
            snprintf(err, errlen, "%s:%llu: bad row (features must be numbers, reward 0 "
                     "or 1)", path, (unsigned long long)ln);
            rc = SIM_EFORMAT;
        }
        rs->n++;
    }
    free(line);
    if (!rc && ferror(in)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = SIM_EIO;
    }
    if (!rc && !rs->n) {
        snprintf(err, errlen, "%s: no rows to train on", path);
        rc = SIM_EFORMAT;
    }
    return rc;
}

/* Log-spaced edges for feature f: bins-1 of them, deduplicated. */
static unsigned log_edges(const struct rows *rs, unsigned f, unsigned bins, float *e)
{
    float lo = INFINITY, hi = 0;
    for (size_t i = 0; i < rs->n; i++) {
        float v = rs->v[i].x[f];
        if (v > 0 && v < lo)
            lo = v;
        if (v > hi)
            hi = v;
    }
    if (!(lo <= hi) || bins < 2)
        return 0;
    unsigned n = 0, want = bins - 1;
    for (unsigned j = 0; j < want; j++) {
        double t = want > 1 ? (double)j / (double)(want - 1) : 0;
        float v = (float)((double)lo * pow((double)hi / (double)lo, t));
        if (!n || v > e[n - 1])
            e[n++] = v;
    }
    return n;
}

static int set_features(const struct sim_rl_train_opts *o, const struct rows *rs,
                        struct sim_rl_qtable *t, char *err, size_t errlen)
{
    for (unsigned f = 0; f < SIM_RL_NFEAT; f++) {
        if (o->feature_mask && !(o->feature_mask & (1u << f)))
            continue;
        struct sim_rl_qfeat *q = &t->feat[t->nfeat++];
        q->feature = f;
        q->edges = malloc(255 * sizeof(float));
        if (!q->edges) {
            snprintf(err, errlen, "out of memory");
            return SIM_ENOMEM;
        }
        if (o->edges[f]) {
            if (o->nedges[f] > 254) {
                snprintf(err, errlen, "%s: at most 254 edges", sim_rl_feature_name(f));
                return SIM_EINVAL;
            }
            memcpy(q->edges, o->edges[f], o->nedges[f] * sizeof(float));
            q->nedges = o->nedges[f];
        } else
            q->nedges = log_edges(rs, f, o->bins, q->edges);
    }
    return sim__rl_qtable_check(t, "trainer", err, errlen);
}

/* Groups rows by state and fills t->rows. */
static int fit(const struct sim_rl_train_opts *o, const struct rows *rs,
               struct sim_rl_qtable *t, char *err, size_t errlen)
{
    struct u64map idx = {0};
    uint64_t *hits = NULL;
    double *bytes = NULL, all_bytes = 0;
    size_t cap = 0;
    uint64_t total = 0;
    if (u64map_init(&idx, 1024))
        goto oom;
    for (size_t i = 0; i < rs->n; i++) {
        struct sim_rl_qrow r;
        memset(&r, 0, sizeof r);
        uint64_t key = 0;
        for (unsigned j = 0; j < t->nfeat; j++) {
            const struct sim_rl_qfeat *q = &t->feat[j];
            r.bins[j] = (uint8_t)sim_rl_qtable_bin(q->edges, q->nedges, rs->v[i].x[q->feature]);
            key = key * 256 + r.bins[j];
        }
        int fresh;
        uint64_t *slot = u64map_upsert(&idx, key, t->nrows, &fresh);
        if (!slot)
            goto oom;
        if (fresh) {
            if (t->nrows == cap) {
                cap = cap ? cap * 2 : 1024;
                struct sim_rl_qrow *nr = realloc(t->rows, cap * sizeof *nr);
                uint64_t *nh = nr ? realloc(hits, cap * sizeof *nh) : NULL;
                double *nb = nh ? realloc(bytes, cap * sizeof *nb) : NULL;
                if (nr)
                    t->rows = nr;
                if (nh)
                    hits = nh;
                if (!nb)
                    goto oom;
                bytes = nb;
            }
            t->rows[t->nrows] = r;
            bytes[t->nrows] = 0;
            hits[t->nrows++] = 0;
        }
        t->rows[*slot].visits++;
        hits[*slot] += rs->v[i].reward;
        bytes[*slot] += rs->v[i].x[SIM_RL_SIZE];
        all_bytes += rs->v[i].x[SIM_RL_SIZE];
        total += rs->v[i].reward;
    }
    float mean = (float)((double)total / (double)rs->n);
    double mean_size = all_bytes / (double)rs->n;
    size_t kept = 0;
    for (size_t s = 0; s < t->nrows; s++) {
        if (t->rows[s].visits < o->min_visits)
            continue;
        t->rows[kept] = t->rows[s];
        double p = (double)hits[s] / (double)t->rows[s].visits;
        /* Objective "hits": reuse per byte, in units of the mean size. */
        if (o->objective == SIM_RL_OBJ_HITS && bytes[s] > 0 && mean_size > 0)
            p *= mean_size / (bytes[s] / (double)t->rows[s].visits);
        t->rows[kept].q_keep = (float)p;
        t->rows[kept].q_evict = mean;
        kept++;
    }
    t->nrows = kept;
    u64map_free(&idx);
    free(hits);
    free(bytes);
    return 0;
oom:
    u64map_free(&idx);
    free(hits);
    free(bytes);
    snprintf(err, errlen, "out of memory");
    return SIM_ENOMEM;
}

int sim_rl_train(FILE *in, const char *path, const struct sim_rl_train_opts *o,
                 struct sim_rl_qtable *t, char *err, size_t errlen)
{
    struct rows rs = {NULL, 0, 0};
    memset(t, 0, sizeof *t);
    t->k = o->k ? o->k : 16;
    t->candidates = o->candidates;
    t->unseen = o->unseen;
    int rc = read_rows(in, path, &rs, err, errlen);
    if (!rc)
        rc = set_features(o, &rs, t, err, errlen);
    if (!rc)
        rc = fit(o, &rs, t, err, errlen);
    free(rs.v);
    if (rc)
        sim_rl_qtable_free(t);
    return rc;
}
