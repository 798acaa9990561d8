/*
 * rl_model.c - learned-eviction models: features, loading either format,
 * scoring candidates, and the decision-latency histogram.
 *
 * A model is a qtable (rl_qtable.c parses it) indexed by a hash map from
 * the mixed-radix number of a state's bins to its row, or a network
 * (rl_mlp.c).  Scoring allocates nothing: a network's activations live on
 * the stack (layers are at most SIM_RL_MAXWIDTH wide).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rl_internal.h"
#include "u64map.h"

struct sim_rl_model_s {
    int is_mlp;
    struct sim_rl_qtable t;
    uint64_t radix[SIM_RL_NFEAT];
    struct u64map map;          /* state number -> row index */
    struct sim_rl_mlp m;
    float **wt;                 /* transposed dense weights, per layer */
};

static const char *const feat_names[SIM_RL_NFEAT] = {
    "age_s", "size_bytes", "hits", "idle_s", "ttl_left_s", "fetch_s",
};
static const char *const feat_units[SIM_RL_NFEAT] = {
    "s", "bytes", "count", "s", "s", "s",
};

const char *sim_rl_feature_name(unsigned f)
{
    return f < SIM_RL_NFEAT ? feat_names[f] : NULL;
}

const char *sim_rl_feature_unit(unsigned f)
{
    return f < SIM_RL_NFEAT ? feat_units[f] : NULL;
}

int sim_rl_feature_find(const char *name)
{
    for (unsigned f = 0; f < SIM_RL_NFEAT; f++)
        if (strcmp(name, feat_names[f]) == 0)
            return (int)f;
    return SIM_ENOTFOUND;
}

/* Seconds from `from` to `to`, 0 if the clock went backwards. */
static float secs(uint64_t from, uint64_t to)
{
    return to > from ? (float)((double)(to - from) / 1e6) : 0.0f;
}

void sim_rl_features(const struct sim_rl_facts *o, uint64_t now_us, float *x)
{
    x[SIM_RL_AGE] = secs(o->insert_us, now_us);
    x[SIM_RL_SIZE] = (float)o->size;
    x[SIM_RL_HITS] = (float)o->hits;
    x[SIM_RL_IDLE] = secs(o->last_us, now_us);
    if (o->expire_s)
        x[SIM_RL_TTL_LEFT] = secs(now_us, (uint64_t)o->expire_s * 1000000u);
    else
        x[SIM_RL_TTL_LEFT] = -1.0f;
    x[SIM_RL_FETCH] = secs(o->fetch_us, now_us);
}

/*=====   Construction   =====*/

/* Transposed copies of the dense weights, for sim__rl_mlp_forward. */
static int transpose_weights(sim_rl_model *m)
{
    m->wt = calloc(m->m.nlayers, sizeof *m->wt);
    if (!m->wt)
        return SIM_ENOMEM;
    for (unsigned l = 0; l < m->m.nlayers; l++) {
        const struct sim_rl_mlp_layer *L = &m->m.layers[l];
        if (L->type != SIM_RL_DENSE)
            continue;
        float *t = malloc((size_t)L->nin * L->nout * sizeof *t);
        if (!t)
            return SIM_ENOMEM;
        for (unsigned j = 0; j < L->nout; j++)
            for (unsigned i = 0; i < L->nin; i++)
                t[(size_t)i * L->nout + j] = L->w[(size_t)j * L->nin + i];
        m->wt[l] = t;
    }
    return 0;
}

static int index_table(sim_rl_model *m, const char *name, char *err, size_t errlen)
{
    uint64_t r = 1;
    for (unsigned i = m->t.nfeat; i-- > 0;) {
        m->radix[i] = r;
        r *= m->t.feat[i].nedges + 1;
    }
    if (u64map_init(&m->map, m->t.nrows * 2 + 16)) {
        snprintf(err, errlen, "%s: out of memory", name);
        return SIM_ENOMEM;
    }
    for (size_t j = 0; j < m->t.nrows; j++) {
        uint64_t key = 0;
        for (unsigned i = 0; i < m->t.nfeat; i++)
            key += m->t.rows[j].bins[i] * m->radix[i];
        int fresh;
        if (!u64map_upsert(&m->map, key, j, &fresh)) {
            snprintf(err, errlen, "%s: out of memory", name);
            return SIM_ENOMEM;
        }
        if (!fresh) {
            snprintf(err, errlen, "%s: state of row %zu appears twice", name, j + 1);
            return SIM_EFORMAT;
        }
    }
    return 0;
}

static int copy_table(struct sim_rl_qtable *d, const struct sim_rl_qtable *s)
{
    *d = *s;
    d->rows = NULL;
    for (unsigned i = 0; i < SIM_RL_NFEAT; i++)
        d->feat[i].edges = NULL;
    for (unsigned i = 0; i < s->nfeat; i++) {
        size_t n = s->feat[i].nedges;
        d->feat[i].edges = malloc((n ? n : 1) * sizeof(float));
        if (!d->feat[i].edges)
            return SIM_ENOMEM;
        if (n)
            memcpy(d->feat[i].edges, s->feat[i].edges, n * sizeof(float));
    }
    d->rows = malloc((s->nrows ? s->nrows : 1) * sizeof *d->rows);
    if (!d->rows)
        return SIM_ENOMEM;
    if (s->nrows)
        memcpy(d->rows, s->rows, s->nrows * sizeof *d->rows);
    return 0;
}

sim_rl_model *sim_rl_model_from_qtable(const struct sim_rl_qtable *t, const char *name,
                                       char *err, size_t errlen)
{
    if (sim__rl_qtable_check(t, name, err, errlen))
        return NULL;
    sim_rl_model *m = calloc(1, sizeof *m);
    if (!m || copy_table(&m->t, t)) {
        snprintf(err, errlen, "%s: out of memory", name);
        sim_rl_model_free(m);
        return NULL;
    }
    if (index_table(m, name, err, errlen)) {
        sim_rl_model_free(m);
        return NULL;
    }
    return m;
}

sim_rl_model *sim_rl_model_from_mlp(const struct sim_rl_mlp *src, const char *name,
                                    char *err, size_t errlen)
{
    if (sim__rl_mlp_check(src, name, err, errlen))
        return NULL;
    sim_rl_model *m = calloc(1, sizeof *m);
    if (m)
        m->is_mlp = 1;
    if (!m || sim__rl_mlp_copy(&m->m, src) || transpose_weights(m)) {
        snprintf(err, errlen, "%s: out of memory", name);
        sim_rl_model_free(m);
        return NULL;
    }
    return m;
}

sim_rl_model *sim_rl_model_load(const char *path, char *err, size_t errlen)
{
    sim_in *in = sim_in_open(path, err, errlen);
    if (!in)
        return NULL;
    size_t avail = 0;
    const unsigned char *p = sim_in_peek(in, 4, &avail, err, errlen);
    if (!p) {
        sim_in_close(in);
        return NULL;
    }
    sim_rl_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "%s: out of memory", path);
        sim_in_close(in);
        return NULL;
    }
    int rc;
    if (avail >= 4 && memcmp(p, "RLMP", 4) == 0) {
        m->is_mlp = 1;
        rc = sim__rl_mlp_parse(in, path, &m->m, err, errlen);
        if (!rc)
            rc = sim__rl_mlp_check(&m->m, path, err, errlen);
        if (!rc && transpose_weights(m)) {
            snprintf(err, errlen, "%s: out of memory", path);
            rc = SIM_ENOMEM;
        }
    } else {
        rc = sim__rl_qtable_parse(in, path, &m->t, err, errlen);
        if (!rc)
            rc = index_table(m, path, err, errlen);
    }
    sim_in_close(in);
    if (rc) {
        sim_rl_model_free(m);
        return NULL;
    }
    return m;
}

void sim_rl_qtable_free(struct sim_rl_qtable *t)
{
    if (!t)
        return;
    for (unsigned i = 0; i < SIM_RL_NFEAT; i++) {
        free(t->feat[i].edges);
        t->feat[i].edges = NULL;
    }
    free(t->rows);
    t->rows = NULL;
    t->nrows = 0;
}

void sim_rl_model_free(sim_rl_model *m)
{
    if (!m)
        return;
    sim_rl_qtable_free(&m->t);
    u64map_free(&m->map);
    for (unsigned l = 0; m->wt && l < m->m.nlayers; l++)
        free(m->wt[l]);
    free(m->wt);
    sim__rl_mlp_free(&m->m);
    free(m);
}

unsigned sim_rl_model_k(const sim_rl_model *m)
{
    if (!m->is_mlp)
        return m->t.k;
    return m->m.mode == SIM_RL_JOINT ? m->m.nin / SIM_RL_NFEAT : 0;
}

const struct sim_rl_qtable *sim_rl_model_qtable(const sim_rl_model *m)
{
    return m->is_mlp ? NULL : &m->t;
}

/*=====   Scoring   =====*/

static unsigned score_table(const sim_rl_model *m, const float *x, unsigned n,
                            float *score, uint8_t *seen)
{
    unsigned unseen = 0;
    for (unsigned c = 0; c < n; c++) {
        uint64_t key = 0;
        for (unsigned i = 0; i < m->t.nfeat; i++) {
            const struct sim_rl_qfeat *f = &m->t.feat[i];
            float v = x[c * SIM_RL_NFEAT + f->feature];
            key += sim_rl_qtable_bin(f->edges, f->nedges, v) * m->radix[i];
        }
        const uint64_t *row = u64map_get(&m->map, key);
        seen[c] = row != NULL;
        if (!row) {
            score[c] = 0;
            unseen++;
            continue;
        }
        const struct sim_rl_qrow *r = &m->t.rows[*row];
        score[c] = r->q_evict - r->q_keep;
    }
    return unseen;
}

static void score_mlp(const sim_rl_model *m, const float *x, unsigned n, float *score)
{
    float scratch[2 * SIM_RL_MAXWIDTH];
    float out[SIM_RL_MAXWIDTH];
    if (m->m.mode == SIM_RL_PER_CANDIDATE && sim_rl_mlp_width(&m->m) <= SIM_RL_BATCH_WIDTH) {
        sim__rl_mlp_batch(&m->m, x, n, score);
        return;
    }
    if (m->m.mode == SIM_RL_PER_CANDIDATE) {
        for (unsigned c = 0; c < n; c++) {
            sim__rl_mlp_forward(&m->m, m->wt, x + c * SIM_RL_NFEAT, out, scratch);
            score[c] = out[0];
        }
        return;
    }
    float in[SIM_RL_KMAX * SIM_RL_NFEAT];
    unsigned k = m->m.nin / SIM_RL_NFEAT;
    unsigned used = n < k ? n : k;
    memcpy(in, x, (size_t)used * SIM_RL_NFEAT * sizeof(float));
    memset(in + used * SIM_RL_NFEAT, 0, (size_t)(k - used) * SIM_RL_NFEAT * sizeof(float));
    sim__rl_mlp_forward(&m->m, m->wt, in, out, scratch);
    for (unsigned c = 0; c < n; c++)
        score[c] = c < k ? out[c] : 0.0f;
}

unsigned sim_rl_model_score(const sim_rl_model *m, const float *x, unsigned n,
                            float *score, uint8_t *seen)
{
    if (n > SIM_RL_KMAX)
        n = SIM_RL_KMAX;
    if (!m->is_mlp)
        return score_table(m, x, n, score, seen);
    score_mlp(m, x, n, score);
    memset(seen, 1, n);
    return 0;
}

/*=====   Latency histogram   =====*/

/* Bucket of ns: 4 per power of two, from the top 3 bits below the leading
 * one; values below 4 get their own buckets. */
static unsigned hist_bucket(uint64_t ns)
{
    if (ns < 4)
        return (unsigned)ns;
    unsigned lg = 63u - (unsigned)__builtin_clzll(ns);
    unsigned sub = (unsigned)((ns >> (lg - 2)) & 3u);
    unsigned b = lg * 4 + sub;
    return b < SIM_RL_HIST_BUCKETS ? b : SIM_RL_HIST_BUCKETS - 1;
}

/* Smallest value of the next bucket, i.e. this bucket's upper edge. */
static double hist_upper(unsigned b)
{
    if (b < 8)
        return b + 1;
    unsigned lg = b / 4, sub = b % 4;
    return ldexp(1.0 + (sub + 1) / 4.0, (int)lg);
}

void sim_rl_hist_add(struct sim_rl_hist *h, uint64_t ns)
{
    h->count[hist_bucket(ns)]++;
    h->n++;
}

double sim_rl_hist_quantile(const struct sim_rl_hist *h, double q)
{
    if (!h->n)
        return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->n);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < SIM_RL_HIST_BUCKETS; b++) {
        seen += h->count[b];
        if (seen >= rank)
            return hist_upper(b);
    }
    return hist_upper(SIM_RL_HIST_BUCKETS - 1);
}
