/*
 * npy.c - streaming reader and writer for numpy .npy files of float32
 * embeddings (one row per request), the form np.save produces.
 *
 * Format (numpy.lib.format, NEP 1): "\x93NUMPY", major and minor version
 * bytes, the header length (uint16 little-endian in version 1.x, uint32 in
 * 2.x and 3.x), then an ASCII (3.x: UTF-8) Python dict literal with the
 * keys 'descr', 'fortran_order' and 'shape', padded with spaces and ended
 * by '\n'; then the data.  We accept descr '<f4' only, fortran_order False
 * only and a 2-D shape, and read the data one row at a time through the
 * library's input streams (so a .npy.zst or .npy.gz works too).  The
 * writer emits version 1.0 with the header padded so that the data starts
 * at a multiple of 64 bytes, as numpy does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sim_vec.h"

#define NPY_MAX_HEADER (1u << 20)
#define NPY_MAX_DIM 65536

struct sim_npy_s {
    sim_in *in;
    uint64_t rows, row;      /* shape[0]; rows read so far */
    uint32_t dim;            /* shape[1] */
    uint64_t data_off;       /* bytes before the data */
    float *buf;              /* one row */
};

/*=====   Header parsing   =====*/

static const char *npy_skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* The value after the key `name` in the dict text, or NULL. */
static const char *npy_value(const char *h, const char *name)
{
    char k1[32], k2[32];
    snprintf(k1, sizeof k1, "'%s'", name);
    snprintf(k2, sizeof k2, "\"%s\"", name);
    const char *p = strstr(h, k1);
    if (!p)
        p = strstr(h, k2);
    if (!p)
        return NULL;
    p = npy_skip_space(p + strlen(k1));
    if (*p != ':')
        return NULL;
    return npy_skip_space(p + 1);
}

/* Parses "(a, b)" into rows and dim; returns the number of dimensions, or
 * -1 if it is not a tuple of non-negative integers. */
static int npy_shape(const char *p, uint64_t *d, int max)
{
    if (*p++ != '(')
        return -1;
    int n = 0;
    for (;;) {
        p = npy_skip_space(p);
        if (*p == ')')
            return n;
        if (*p < '0' || *p > '9')
            return -1;
        char *end;
        unsigned long long x = strtoull(p, &end, 10);
        if (n < max)
            d[n] = x;
        n++;
        p = npy_skip_space(end);
        if (*p == ',')
            p++;
        else if (*p != ')')
            return -1;
    }
}

static int npy_parse_dict(sim_npy *n, const char *path, const char *h, char *err,
                          size_t errlen)
{
    const char *descr = npy_value(h, "descr");
    const char *fo = npy_value(h, "fortran_order");
    const char *shape = npy_value(h, "shape");
    if (!descr || !fo || !shape) {
        snprintf(err, errlen, "%s: .npy header lacks %s", path,
                 !descr ? "'descr'" : !fo ? "'fortran_order'" : "'shape'");
        return SIM_EFORMAT;
    }
    if (strncmp(descr, "'<f4'", 5) && strncmp(descr, "\"<f4\"", 5)) {
        size_t len = strcspn(descr, ",}");
        snprintf(err, errlen, "%s: dtype %.*s is not float32 little-endian ('<f4'); "
                 "convert with arr.astype('<f4')", path, (int)(len < 40 ? len : 40), descr);
        return SIM_EFORMAT;
    }
    if (strncmp(fo, "False", 5)) {
        snprintf(err, errlen, "%s: fortran_order is not False; save a C-order array "
                 "(np.ascontiguousarray)", path);
        return SIM_EFORMAT;
    }
    uint64_t d[2];
    int nd = npy_shape(shape, d, 2);
    if (nd != 2) {
        if (nd < 0)
            snprintf(err, errlen, "%s: .npy shape is not a tuple of integers", path);
        else
            snprintf(err, errlen, "%s: shape has %d dimensions, expected 2 (rows, dim)",
                     path, nd);
        return SIM_EFORMAT;
    }
    if (d[1] < 1 || d[1] > NPY_MAX_DIM) {
        snprintf(err, errlen, "%s: embedding dimension %llu not in [1, %d]", path,
                 (unsigned long long)d[1], NPY_MAX_DIM);
        return SIM_EFORMAT;
    }
    n->rows = d[0];
    n->dim = (uint32_t)d[1];
    return 0;
}

/* Reads exactly len bytes; SIM_EFORMAT (truncated) if the input ends. */
static int npy_read(sim_in *in, void *buf, size_t len, char *err, size_t errlen)
{
    size_t got = 0;
    while (got < len) {
        ssize_t k = sim_in_read(in, (char *)buf + got, len - got, err, errlen);
        if (k < 0)
            return (int)k;
        if (k == 0)
            return SIM_EFORMAT;
        got += (size_t)k;
    }
    return 0;
}

static int npy_header(sim_npy *n, const char *path, char *err, size_t errlen)
{
    unsigned char pre[12];
    int rc = npy_read(n->in, pre, 10, err, errlen);
    if (rc == SIM_EFORMAT || (rc == 0 && memcmp(pre, "\x93NUMPY", 6))) {
        snprintf(err, errlen, "%s: not a .npy file (no \\x93NUMPY magic)", path);
        return SIM_EFORMAT;
    }
    if (rc)
        return rc;
    unsigned major = pre[6];
    uint32_t hlen = pre[8] | (uint32_t)pre[9] << 8;
    n->data_off = 10;
    if (major == 2 || major == 3) {
        if ((rc = npy_read(n->in, pre + 10, 2, err, errlen)))
            goto truncated;
        hlen |= (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
        n->data_off = 12;
    } else if (major != 1) {
        snprintf(err, errlen, "%s: .npy version %u.%u not supported (1.0, 2.0, 3.0 are)",
                 path, major, pre[7]);
        return SIM_EFORMAT;
    }
    if (hlen > NPY_MAX_HEADER) {
        snprintf(err, errlen, "%s: .npy header of %u bytes is too long", path, hlen);
        return SIM_EFORMAT;
    }
    char *h = malloc(hlen + 1);
    if (!h) {
        snprintf(err, errlen, "%s: out of memory", path);
        return SIM_ENOMEM;
    }
    rc = npy_read(n->in, h, hlen, err, errlen);
    h[hlen] = 0;
    if (rc == 0)
        rc = npy_parse_dict(n, path, h, err, errlen);
    free(h);
    n->data_off += hlen;
    if (rc != SIM_EFORMAT || strstr(err, path) == err)
        return rc;
truncated:
    snprintf(err, errlen, "%s: truncated .npy header", path);
    return SIM_EFORMAT;
}

/*=====   Reader   =====*/

sim_npy *sim_npy_open(const char *path, char *err, size_t errlen)
{
    sim_npy *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    err[0] = 0;
    n->in = sim_in_open(path, err, errlen);
    if (!n->in || npy_header(n, path, err, errlen)) {
        sim_npy_close(n);
        return NULL;
    }
    n->buf = malloc((size_t)n->dim * sizeof *n->buf);
    if (!n->buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        sim_npy_close(n);
        return NULL;
    }
    return n;
}

uint64_t sim_npy_rows(const sim_npy *n) { return n->rows; }
uint32_t sim_npy_dim(const sim_npy *n) { return n->dim; }
const char *sim_npy_path(const sim_npy *n) { return sim_in_path(n->in); }

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void swap_floats(float *x, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        unsigned char b[4], t;
        memcpy(b, x + i, 4);
        t = b[0], b[0] = b[3], b[3] = t;
        t = b[1], b[1] = b[2], b[2] = t;
        memcpy(x + i, b, 4);
    }
}

int sim_npy_next(sim_npy *n, const float **row, char *err, size_t errlen)
{
    if (n->row == n->rows) {
        char extra;
        ssize_t k = sim_in_read(n->in, &extra, 1, err, errlen);
        if (k > 0) {
            snprintf(err, errlen, "%s: data continues after the %llu rows of the shape",
                     sim_npy_path(n), (unsigned long long)n->rows);
            return SIM_EFORMAT;
        }
        return k < 0 ? (int)k : 0;
    }
    int rc = npy_read(n->in, n->buf, (size_t)n->dim * sizeof(float), err, errlen);
    if (rc) {
        if (rc == SIM_EFORMAT)
            snprintf(err, errlen, "%s: row %llu: truncated data (shape says %llu rows)",
                     sim_npy_path(n), (unsigned long long)n->row,
                     (unsigned long long)n->rows);
        return rc;
    }
    if (!host_is_little_endian())
        swap_floats(n->buf, n->dim);
    n->row++;
    *row = n->buf;
    return 1;
}

int sim_npy_rewind(sim_npy *n, char *err, size_t errlen)
{
    int rc = sim_in_rewind(n->in, err, errlen);
    if (rc)
        return rc;
    char skip[256];
    for (uint64_t left = n->data_off; left > 0;) {
        size_t k = left < sizeof skip ? (size_t)left : sizeof skip;
        if ((rc = npy_read(n->in, skip, k, err, errlen)))
            return rc;
        left -= k;
    }
    n->row = 0;
    return 0;
}

void sim_npy_close(sim_npy *n)
{
    if (!n)
        return;
    sim_in_close(n->in);
    free(n->buf);
    free(n);
}

/*=====   Writer   =====*/

int sim_npy_write(const char *path, const float *data, uint64_t rows, uint32_t dim,
                  char *err, size_t errlen)
{
    char dict[128];
    int len = snprintf(dict, sizeof dict,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (%llu, %u), }",
                       (unsigned long long)rows, dim);
    size_t hlen = ((10 + (size_t)len + 1 + 63) / 64) * 64 - 10;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    char head[256];
    memset(head, ' ', hlen);
    memcpy(head, dict, (size_t)len);
    head[hlen - 1] = '\n';
    sim_out *o = sim_out_open(path, -1, err, errlen);
    if (!o)
        return SIM_EIO;
    int rc = sim_out_write(o, pre, sizeof pre, err, errlen);
    if (!rc)
        rc = sim_out_write(o, head, hlen, err, errlen);
    float *tmp = host_is_little_endian() ? NULL : malloc((size_t)dim * sizeof *tmp);
    if (!rc && !host_is_little_endian() && !tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = SIM_ENOMEM;
    }
    for (uint64_t r = 0; r < rows && !rc; r++) {
        const float *x = data + r * dim;
        if (tmp) {
            memcpy(tmp, x, (size_t)dim * sizeof *tmp);
            swap_floats(tmp, dim);
            x = tmp;
        }
        rc = sim_out_write(o, x, (size_t)dim * sizeof *x, err, errlen);
    }
    free(tmp);
    if (rc) {
        sim_out_abort(o);
        return rc;
    }
    return sim_out_commit(o, err, errlen);
}
