/*
 * rl_mlp.c - the rlmlp v1 format (rltable(5)): a small feed-forward network
 * in little-endian binary, its parser, checks, writer and evaluation.
 *
 * Layout (u32 and float32, little-endian, no padding):
 *   "RLMP" | u32 version (1) | u32 nin | u32 nlayers | u32 mode
 *   float32 mean[nin] | float32 std[nin] | float32 clip
 *   nlayers times:  u32 type, then
 *     1 DENSE:      u32 nout | float32 w[nout][nin_of_layer] | float32 b[nout]
 *     2 RELU:       nothing
 *     3 LAYERNORM:  float32 eps | float32 gamma[n] | float32 beta[n]
 * mode 0 (per candidate): nin = 6, the network ends with 1 output.
 * mode 1 (joint, Cold-RL): nin = 6*K (K candidates' features in candidate
 * order), the network ends with K outputs.
 *
 * Evaluation is float32 with a fixed order of operations (sim_rl.h); the
 * library is compiled as ISO C11, where GCC and Clang do not contract a*b+c
 * into a fused multiply-add, so numpy reproduces the bits with the loops
 * given in rltable(5).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rl_internal.h"

struct bin_in {
    sim_in *in;
    const char *path;
    uint64_t off;
    char *err;
    size_t errlen;
};

static int read_exact(struct bin_in *b, void *buf, size_t n, const char *what)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = sim_in_read(b->in, (char *)buf + got, n - got, b->err, b->errlen);
        if (r < 0)
            return (int)r;
        if (r == 0) {
            snprintf(b->err, b->errlen, "%s: offset %llu: truncated file: %s needs %zu more "
                     "bytes", b->path, (unsigned long long)(b->off + got), what, n - got);
            return SIM_EFORMAT;
        }
        got += (size_t)r;
    }
    b->off += n;
    return 0;
}

static int read_u32(struct bin_in *b, uint32_t *v, const char *what)
{
    unsigned char p[4];
    int rc = read_exact(b, p, 4, what);
    if (!rc)
        *v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
             (uint32_t)p[3] << 24;
    return rc;
}

static int read_floats(struct bin_in *b, float **dst, size_t n, const char *what)
{
    *dst = malloc((n ? n : 1) * sizeof(float));
    if (!*dst) {
        snprintf(b->err, b->errlen, "%s: out of memory", b->path);
        return SIM_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        int rc = read_u32(b, &u, what);
        if (rc)
            return rc;
        memcpy(&(*dst)[i], &u, 4);
    }
    return 0;
}

static int berr(struct bin_in *b, uint64_t off, const char *msg, unsigned v)
{
    snprintf(b->err, b->errlen, "%s: offset %llu: %s %u", b->path, (unsigned long long)off,
             msg, v);
    return SIM_EFORMAT;
}

static int parse_layer(struct bin_in *b, struct sim_rl_mlp_layer *L, unsigned width)
{
    uint32_t type, nout;
    uint64_t at = b->off;
    int rc = read_u32(b, &type, "layer type");
    if (rc)
        return rc;
    L->type = (enum sim_rl_layer)type;
    L->nin = L->nout = width;
    switch (type) {
    case SIM_RL_DENSE:
        at = b->off;
        if ((rc = read_u32(b, &nout, "dense output count")))
            return rc;
        if (nout < 1 || nout > SIM_RL_MAXWIDTH)
            return berr(b, at, "dense output count out of range 1..1024:", nout);
        L->nout = nout;
        if ((rc = read_floats(b, &L->w, (size_t)nout * width, "dense weights")))
            return rc;
        return read_floats(b, &L->b, nout, "dense bias");
    case SIM_RL_RELU:
        return 0;
    case SIM_RL_LAYERNORM: {
        uint32_t u;
        if ((rc = read_u32(b, &u, "layernorm eps")))
            return rc;
        memcpy(&L->eps, &u, 4);
        if ((rc = read_floats(b, &L->w, width, "layernorm gamma")))
            return rc;
        return read_floats(b, &L->b, width, "layernorm beta");
    }
    default:
        return berr(b, at, "unknown layer type", type);
    }
}

int sim__rl_mlp_parse(sim_in *in, const char *path, struct sim_rl_mlp *m, char *err,
                      size_t errlen)
{
    struct bin_in b = {in, path, 0, err, errlen};
    memset(m, 0, sizeof *m);
    char magic[4];
    uint32_t version, nin, nlayers, mode;
    int rc = read_exact(&b, magic, 4, "magic");
    if (!rc && memcmp(magic, "RLMP", 4) != 0)
        rc = berr(&b, 0, "not an rlmlp file (bad magic)", 0);
    if (!rc && !(rc = read_u32(&b, &version, "version")) && version != 1)
        rc = berr(&b, 4, "unsupported rlmlp version (this library reads 1):", version);
    if (!rc && !(rc = read_u32(&b, &nin, "input count")) && (nin < 1 || nin > SIM_RL_MAXWIDTH))
        rc = berr(&b, 8, "input count out of range:", nin);
    if (!rc && !(rc = read_u32(&b, &nlayers, "layer count")) && (nlayers < 1 || nlayers > 64))
        rc = berr(&b, 12, "layer count out of range 1..64:", nlayers);
    if (!rc && !(rc = read_u32(&b, &mode, "mode")) && mode > SIM_RL_JOINT)
        rc = berr(&b, 16, "unknown mode", mode);
    if (rc)
        return rc;
    m->nin = nin;
    m->mode = (enum sim_rl_mode)mode;
    if ((rc = read_floats(&b, &m->mean, nin, "input means"))
        || (rc = read_floats(&b, &m->std, nin, "input standard deviations")))
        goto fail;
    uint32_t u;
    if ((rc = read_u32(&b, &u, "clip")))
        goto fail;
    memcpy(&m->clip, &u, 4);
    if (!(m->layers = calloc(nlayers, sizeof *m->layers))) {
        rc = SIM_ENOMEM;
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    unsigned width = nin;
    for (m->nlayers = 0; m->nlayers < nlayers; m->nlayers++) {
        if ((rc = parse_layer(&b, &m->layers[m->nlayers], width))) {
            m->nlayers++;
            goto fail;
        }
        width = m->layers[m->nlayers].nout;
    }
    char extra;
    ssize_t more = sim_in_read(in, &extra, 1, err, errlen);
    if (more != 0) {
        rc = more < 0 ? (int)more : berr(&b, b.off, "trailing bytes after layer", nlayers);
        goto fail;
    }
    return 0;
fail:
    sim__rl_mlp_free(m);
    return rc;
}

int sim__rl_mlp_check(const struct sim_rl_mlp *m, const char *name, char *err, size_t errlen)
{
    unsigned k = m->nin / SIM_RL_NFEAT;
    if (m->mode == SIM_RL_PER_CANDIDATE ? m->nin != SIM_RL_NFEAT
        : (m->nin % SIM_RL_NFEAT || k < 1 || k > SIM_RL_KMAX)) {
        snprintf(err, errlen, "%s: input count %u does not fit the mode (per-candidate: 6; "
                 "joint: 6*K, K <= 32)", name, m->nin);
        return SIM_EFORMAT;
    }
    for (unsigned i = 0; i < m->nin; i++)
        if (!(m->std[i] > 0) || !isfinite(m->std[i]) || !isfinite(m->mean[i])) {
            snprintf(err, errlen, "%s: input %u: standard deviation must be finite and > 0",
                     name, i);
            return SIM_EFORMAT;
        }
    if (!(m->clip >= 0)) {
        snprintf(err, errlen, "%s: clip must be >= 0", name);
        return SIM_EFORMAT;
    }
    unsigned width = m->nin;
    for (unsigned l = 0; l < m->nlayers; l++) {
        const struct sim_rl_mlp_layer *L = &m->layers[l];
        if (L->nin != width || (L->type != SIM_RL_DENSE && L->nout != width)
            || L->nout < 1 || L->nout > SIM_RL_MAXWIDTH) {
            snprintf(err, errlen, "%s: layer %u: shape %ux%u does not follow width %u", name,
                     l + 1, L->nout, L->nin, width);
            return SIM_EFORMAT;
        }
        width = L->nout;
    }
    unsigned want = m->mode == SIM_RL_PER_CANDIDATE ? 1 : k;
    if (width != want) {
        snprintf(err, errlen, "%s: the network ends with %u outputs, its mode needs %u",
                 name, width, want);
        return SIM_EFORMAT;
    }
    return 0;
}

static float *dup_floats(const float *s, size_t n)
{
    float *d = malloc((n ? n : 1) * sizeof *d);
    if (d && n)
        memcpy(d, s, n * sizeof *d);
    return d;
}

int sim__rl_mlp_copy(struct sim_rl_mlp *d, const struct sim_rl_mlp *s)
{
    *d = *s;
    d->mean = dup_floats(s->mean, s->nin);
    d->std = dup_floats(s->std, s->nin);
    d->layers = calloc(s->nlayers, sizeof *d->layers);
    if (!d->mean || !d->std || !d->layers) {
        d->nlayers = 0;
        return SIM_ENOMEM;
    }
    for (unsigned l = 0; l < s->nlayers; l++) {
        const struct sim_rl_mlp_layer *L = &s->layers[l];
        d->layers[l] = *L;
        d->layers[l].w = d->layers[l].b = NULL;
        if (L->type == SIM_RL_RELU)
            continue;
        size_t nw = L->type == SIM_RL_DENSE ? (size_t)L->nout * L->nin : L->nout;
        d->layers[l].w = dup_floats(L->w, nw);
        d->layers[l].b = dup_floats(L->b, L->nout);
        if (!d->layers[l].w || !d->layers[l].b)
            return SIM_ENOMEM;
    }
    return 0;
}

void sim__rl_mlp_free(struct sim_rl_mlp *m)
{
    free(m->mean);
    free(m->std);
    for (unsigned l = 0; m->layers && l < m->nlayers; l++) {
        free(m->layers[l].w);
        free(m->layers[l].b);
    }
    free(m->layers);
    memset(m, 0, sizeof *m);
}

unsigned sim_rl_mlp_width(const struct sim_rl_mlp *m)
{
    unsigned w = m->nin;
    for (unsigned l = 0; l < m->nlayers; l++)
        if (m->layers[l].nout > w)
            w = m->layers[l].nout;
    return w;
}

/*=====   Evaluation   =====*/

static void dense(const struct sim_rl_mlp_layer *L, const float *x, float *y)
{
    for (unsigned j = 0; j < L->nout; j++) {
        const float *w = L->w + (size_t)j * L->nin;
        float acc = L->b[j];
        for (unsigned i = 0; i < L->nin; i++) {
            float prod = w[i] * x[i];
            acc = acc + prod;
        }
        y[j] = acc;
    }
}

static void layernorm(const struct sim_rl_mlp_layer *L, const float *x, float *y)
{
    float n = (float)L->nin, sum = 0, var = 0;
    for (unsigned i = 0; i < L->nin; i++)
        sum = sum + x[i];
    float mu = sum / n;
    for (unsigned i = 0; i < L->nin; i++) {
        float d = x[i] - mu;
        float d2 = d * d;
        var = var + d2;
    }
    var = var / n;
    float sd = sqrtf(var + L->eps);
    for (unsigned i = 0; i < L->nin; i++) {
        float z = (x[i] - mu) / sd;
        float g = z * L->w[i];
        y[i] = g + L->b[i];
    }
}

/* Dense with transposed weights wt[i][j]: the same sums in the same order
 * per output, but blocks of 8 outputs advance together, which vectorises;
 * a last partial block goes one output at a time. */
static void dense_t(const struct sim_rl_mlp_layer *L, const float *wt, const float *x,
                    float *y)
{
    unsigned full = L->nout / 8 * 8;
    for (unsigned j0 = 0; j0 < full; j0 += 8) {
        float acc[8];
        memcpy(acc, L->b + j0, sizeof acc);
        for (unsigned i = 0; i < L->nin; i++) {
            const float *w = wt + (size_t)i * L->nout + j0;
            float xi = x[i];
            for (unsigned c = 0; c < 8; c++) {
                float prod = w[c] * xi;
                acc[c] = acc[c] + prod;
            }
        }
        memcpy(y + j0, acc, sizeof acc);
    }
    for (unsigned j = full; j < L->nout; j++) {
        float acc = L->b[j];
        for (unsigned i = 0; i < L->nin; i++) {
            float prod = wt[(size_t)i * L->nout + j] * x[i];
            acc = acc + prod;
        }
        y[j] = acc;
    }
}

static void normalise(const struct sim_rl_mlp *m, const float *in, float *a)
{
    for (unsigned i = 0; i < m->nin; i++) {
        float z = (in[i] - m->mean[i]) / m->std[i];
        if (m->clip > 0)
            z = z > m->clip ? m->clip : z < -m->clip ? -m->clip : z;
        a[i] = z;
    }
}

void sim__rl_mlp_forward(const struct sim_rl_mlp *m, float *const *wt, const float *in,
                         float *out, float *scratch)
{
    unsigned w = sim_rl_mlp_width(m);
    float *a = scratch, *b = scratch + w;
    normalise(m, in, a);
    unsigned width = m->nin;
    for (unsigned l = 0; l < m->nlayers; l++) {
        const struct sim_rl_mlp_layer *L = &m->layers[l];
        if (L->type == SIM_RL_DENSE && wt && wt[l])
            dense_t(L, wt[l], a, b);
        else if (L->type == SIM_RL_DENSE)
            dense(L, a, b);
        else if (L->type == SIM_RL_LAYERNORM)
            layernorm(L, a, b);
        else
            for (unsigned i = 0; i < width; i++)
                b[i] = a[i] > 0 ? a[i] : 0.0f;
        width = L->nout;
        float *t = a;
        a = b;
        b = t;
    }
    memcpy(out, a, width * sizeof *out);
}

void sim_rl_mlp_eval(const struct sim_rl_mlp *m, const float *in, float *out,
                     float *scratch)
{
    sim__rl_mlp_forward(m, NULL, in, out, scratch);
}

/*=====   Batched evaluation of candidates   =====*/

/* n candidates at once, activations stored [unit][candidate] (stride
 * SIM_RL_KMAX), candidates padded to blocks of LANES: every candidate's
 * arithmetic is the scalar path's, in the same order; only the loop over a
 * block of candidates is innermost and of constant length, so compilers
 * vectorise it even at -O2. */
#define LANES 8
#define AT(p, i, c) ((p)[(size_t)(i) * SIM_RL_KMAX + (c)])

static void batch_dense(const struct sim_rl_mlp_layer *L, const float *a, float *b,
                        unsigned nb)
{
    for (unsigned j = 0; j < L->nout; j++) {
        const float *w = L->w + (size_t)j * L->nin;
        for (unsigned c0 = 0; c0 < nb; c0 += LANES) {
            float y[LANES];
            for (unsigned c = 0; c < LANES; c++)
                y[c] = L->b[j];
            for (unsigned i = 0; i < L->nin; i++) {
                const float *x = &AT(a, i, c0);
                float wi = w[i];
                for (unsigned c = 0; c < LANES; c++) {
                    float prod = wi * x[c];
                    y[c] = y[c] + prod;
                }
            }
            memcpy(&AT(b, j, c0), y, sizeof y);
        }
    }
}

static void batch_layernorm(const struct sim_rl_mlp_layer *L, const float *a, float *b,
                            unsigned nb)
{
    float fn = (float)L->nin;
    for (unsigned c0 = 0; c0 < nb; c0 += LANES) {
        float mu[LANES] = {0}, var[LANES] = {0}, sd[LANES];
        for (unsigned i = 0; i < L->nin; i++)
            for (unsigned c = 0; c < LANES; c++)
                mu[c] = mu[c] + AT(a, i, c0 + c);
        for (unsigned c = 0; c < LANES; c++)
            mu[c] = mu[c] / fn;
        for (unsigned i = 0; i < L->nin; i++)
            for (unsigned c = 0; c < LANES; c++) {
                float d = AT(a, i, c0 + c) - mu[c];
                float d2 = d * d;
                var[c] = var[c] + d2;
            }
        for (unsigned c = 0; c < LANES; c++)
            sd[c] = sqrtf(var[c] / fn + L->eps);
        for (unsigned i = 0; i < L->nin; i++)
            for (unsigned c = 0; c < LANES; c++) {
                float z = (AT(a, i, c0 + c) - mu[c]) / sd[c];
                float g = z * L->w[i];
                AT(b, i, c0 + c) = g + L->b[i];
            }
    }
}

void sim__rl_mlp_batch(const struct sim_rl_mlp *m, const float *x, unsigned n, float *out)
{
    float buf[2 * SIM_RL_BATCH_WIDTH * SIM_RL_KMAX];
    float *a = buf, *b = buf + SIM_RL_BATCH_WIDTH * SIM_RL_KMAX;
    unsigned nb = (n + LANES - 1) / LANES * LANES;
    for (unsigned c = 0; c < nb; c++) {
        float z[SIM_RL_NFEAT] = {0};
        if (c < n)
            normalise(m, x + (size_t)c * SIM_RL_NFEAT, z);
        for (unsigned i = 0; i < SIM_RL_NFEAT; i++)
            AT(a, i, c) = z[i];
    }
    unsigned width = m->nin;
    for (unsigned l = 0; l < m->nlayers; l++) {
        const struct sim_rl_mlp_layer *L = &m->layers[l];
        if (L->type == SIM_RL_DENSE)
            batch_dense(L, a, b, nb);
        else if (L->type == SIM_RL_LAYERNORM)
            batch_layernorm(L, a, b, nb);
        else
            for (unsigned i = 0; i < width; i++)
                for (unsigned c = 0; c < nb; c++) {
                    float v = AT(a, i, c);
                    AT(b, i, c) = v > 0 ? v : 0.0f;
                }
        width = L->nout;
        float *t = a;
        a = b;
        b = t;
    }
    memcpy(out, a, n * sizeof *out);
}

/*=====   Writer   =====*/

static void put_u32(FILE *f, uint32_t v)
{
    unsigned char p[4] = {(unsigned char)v, (unsigned char)(v >> 8),
                          (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    fwrite(p, 1, 4, f);
}

static void put_floats(FILE *f, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        put_u32(f, u);
    }
}

int sim_rl_mlp_write(const struct sim_rl_mlp *m, const char *path, char *err, size_t errlen)
{
    int rc = sim__rl_mlp_check(m, path, err, errlen);
    if (rc)
        return rc;
    sim_outfile *o = sim_outfile_open(path, err, errlen);
    if (!o)
        return SIM_EIO;
    FILE *f = sim_outfile_stream(o);
    fwrite("RLMP", 1, 4, f);
    put_u32(f, 1);
    put_u32(f, m->nin);
    put_u32(f, m->nlayers);
    put_u32(f, (uint32_t)m->mode);
    put_floats(f, m->mean, m->nin);
    put_floats(f, m->std, m->nin);
    put_floats(f, &m->clip, 1);
    for (unsigned l = 0; l < m->nlayers; l++) {
        const struct sim_rl_mlp_layer *L = &m->layers[l];
        put_u32(f, (uint32_t)L->type);
        if (L->type == SIM_RL_DENSE) {
            put_u32(f, L->nout);
            put_floats(f, L->w, (size_t)L->nout * L->nin);
            put_floats(f, L->b, L->nout);
        } else if (L->type == SIM_RL_LAYERNORM) {
            put_floats(f, &L->eps, 1);
            put_floats(f, L->w, L->nout);
            put_floats(f, L->b, L->nout);
        }
    }
    return sim_outfile_commit(o, err, errlen);
}
