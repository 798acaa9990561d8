/*
 * stream.c - byte streams under the trace readers and writers.
 *
 * Input: a file or stdin, decompressed on the fly when its first bytes are a
 * zstd frame (28 b5 2f fd) or a gzip member (1f 8b), whatever the file is
 * called.  Data flows through one buffer of decompressed bytes, so readers
 * can peek (format detection), read records or read lines from the same
 * stream.  Memory is constant: the buffer grows only for a line longer than
 * it.  Concatenated zstd frames and gzip members are read in sequence.
 *
 * Output: written to "path.tmp.XXXXXX" beside the target and renamed over it
 * on commit, so an interrupted or failed run never leaves a half-written
 * file under the real name.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "internal.h"

#define BUF_SIZE (1u << 20)

enum comp { COMP_NONE, COMP_GZIP, COMP_ZSTD };

struct sim_in_s {
    char *path;
    FILE *f;
    int is_stdin;
    long long file_size;       /* -1 if unknown */
    long long consumed;        /* compressed bytes read from the file */
    enum comp comp;
    /* compressed input */
    unsigned char *cbuf;
    size_t clen, cpos;
    int ceof;
    z_stream zs;
    int zs_live;
    ZSTD_DStream *zd;
    /* decompressed data */
    unsigned char *buf;
    size_t cap, pos, len;
    int eof;
};

static int fill_raw(sim_in *in, char *err, size_t errlen)
{
    if (in->cpos < in->clen || in->ceof)
        return 0;
    size_t n = fread(in->cbuf, 1, BUF_SIZE, in->f);
    if (n == 0 && ferror(in->f)) {
        snprintf(err, errlen, "%s: read error: %s", in->path, strerror(errno));
        return SIM_EIO;
    }
    if (n == 0)
        in->ceof = 1;
    in->clen = n;
    in->cpos = 0;
    in->consumed += (long long)n;
    return 0;
}

/* Decompresses into buf[len..cap); returns bytes produced, 0 at end, <0 error. */
static ssize_t produce(sim_in *in, char *err, size_t errlen)
{
    unsigned char *dst = in->buf + in->len;
    size_t room = in->cap - in->len;
    for (;;) {
        /* Uncompressed input, once the chunk that detect() read is used up,
         * is read straight into buf: going through cbuf copied every byte
         * twice (about 5% of an LRU run's instructions). */
        if (in->comp == COMP_NONE && in->cpos == in->clen && !in->ceof) {
            size_t n = fread(dst, 1, room, in->f);
            if (n == 0 && ferror(in->f)) {
                snprintf(err, errlen, "%s: read error: %s", in->path, strerror(errno));
                return SIM_EIO;
            }
            in->ceof = n == 0;
            in->consumed += (long long)n;
            return (ssize_t)n;
        }
        int rc = fill_raw(in, err, errlen);
        if (rc)
            return rc;
        if (in->comp == COMP_NONE) {
            if (in->ceof)
                return 0;
            size_t n = in->clen - in->cpos < room ? in->clen - in->cpos : room;
            memcpy(dst, in->cbuf + in->cpos, n);
            in->cpos += n;
            return (ssize_t)n;
        }
        if (in->comp == COMP_ZSTD) {
            if (in->ceof) {
                if (in->zs_live) {
                    snprintf(err, errlen, "%s: truncated zstd stream", in->path);
                    return SIM_EFORMAT;
                }
                return 0;
            }
            ZSTD_inBuffer ib = {in->cbuf, in->clen, in->cpos};
            ZSTD_outBuffer ob = {dst, room, 0};
            size_t r = ZSTD_decompressStream(in->zd, &ob, &ib);
            in->cpos = ib.pos;
            if (ZSTD_isError(r)) {
                snprintf(err, errlen, "%s: corrupt zstd data: %s", in->path,
                         ZSTD_getErrorName(r));
                return SIM_EFORMAT;
            }
            in->zs_live = r != 0; /* 0: a frame just ended */
            if (ob.pos)
                return (ssize_t)ob.pos;
            continue;
        }
        /* gzip */
        if (in->ceof) {
            if (in->zs_live) {
                snprintf(err, errlen, "%s: truncated gzip stream", in->path);
                return SIM_EFORMAT;
            }
            return 0;
        }
        if (!in->zs_live) { /* a new member starts */
            if (inflateReset(&in->zs) != Z_OK) {
                snprintf(err, errlen, "%s: gzip reset failed", in->path);
                return SIM_EFORMAT;
            }
            in->zs_live = 1;
        }
        in->zs.next_in = in->cbuf + in->cpos;
        in->zs.avail_in = (uInt)(in->clen - in->cpos);
        in->zs.next_out = dst;
        in->zs.avail_out = (uInt)room;
        int zr = inflate(&in->zs, Z_NO_FLUSH);
        in->cpos = in->clen - in->zs.avail_in;
        if (zr == Z_STREAM_END)
            in->zs_live = 0;
        else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            snprintf(err, errlen, "%s: corrupt gzip data: %s", in->path,
                     in->zs.msg ? in->zs.msg : "inflate failed");
            return SIM_EFORMAT;
        }
        size_t n = room - in->zs.avail_out;
        if (n)
            return (ssize_t)n;
    }
}

/* Makes buf hold at least `need` unread bytes, unless the input ends. */
static int ensure(sim_in *in, size_t need, char *err, size_t errlen)
{
    while (in->len - in->pos < need && !in->eof) {
        if (in->pos > 0) { /* slide unread bytes to the front */
            memmove(in->buf, in->buf + in->pos, in->len - in->pos);
            in->len -= in->pos;
            in->pos = 0;
        }
        if (in->len == in->cap) {
            size_t ncap = in->cap * 2;
            unsigned char *b = realloc(in->buf, ncap);
            if (!b) {
                snprintf(err, errlen, "%s: out of memory", in->path);
                return SIM_ENOMEM;
            }
            in->buf = b;
            in->cap = ncap;
        }
        ssize_t n = produce(in, err, errlen);
        if (n < 0)
            return (int)n;
        if (n == 0)
            in->eof = 1;
        in->len += (size_t)n;
    }
    return 0;
}

static int detect(sim_in *in, char *err, size_t errlen)
{
    int rc = fill_raw(in, err, errlen);
    if (rc)
        return rc;
    const unsigned char *c = in->cbuf;
    if (in->clen >= 4 && c[0] == 0x28 && c[1] == 0xb5 && c[2] == 0x2f && c[3] == 0xfd) {
        in->comp = COMP_ZSTD;
        in->zd = ZSTD_createDStream();
        if (!in->zd || ZSTD_isError(ZSTD_initDStream(in->zd)))
            goto nomem;
        in->zs_live = 1;
    } else if (in->clen >= 2 && c[0] == 0x1f && c[1] == 0x8b) {
        in->comp = COMP_GZIP;
        if (inflateInit2(&in->zs, 15 + 16) != Z_OK)
            goto nomem;
        in->zs_live = 1;
    }
    return 0;
nomem:
    snprintf(err, errlen, "%s: cannot start the decompressor", in->path);
    return SIM_ENOMEM;
}

sim_in *sim_in_open(const char *path, char *err, size_t errlen)
{
    sim_in *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    in->path = strdup(path);
    in->cbuf = malloc(BUF_SIZE);
    in->buf = malloc(BUF_SIZE);
    in->cap = BUF_SIZE;
    in->file_size = -1;
    if (!in->path || !in->cbuf || !in->buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        sim_in_close(in);
        return NULL;
    }
    if (strcmp(path, "-") == 0) {
        in->f = stdin;
        in->is_stdin = 1;
    } else {
        in->f = fopen(path, "rb");
        if (!in->f) {
            snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
            sim_in_close(in);
            return NULL;
        }
        struct stat st;
        if (fstat(fileno(in->f), &st) == 0 && S_ISREG(st.st_mode))
            in->file_size = st.st_size;
        else if (S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "%s: is a directory", path);
            sim_in_close(in);
            return NULL;
        }
    }
    if (detect(in, err, errlen)) {
        sim_in_close(in);
        return NULL;
    }
    return in;
}

void sim_in_close(sim_in *in)
{
    if (!in)
        return;
    if (in->f && !in->is_stdin)
        fclose(in->f);
    if (in->comp == COMP_GZIP)
        inflateEnd(&in->zs);
    ZSTD_freeDStream(in->zd);
    free(in->cbuf);
    free(in->buf);
    free(in->path);
    free(in);
}

ssize_t sim_in_read(sim_in *in, void *buf, size_t n, char *err, size_t errlen)
{
    size_t got = 0;
    while (got < n) {
        if (in->pos == in->len) {
            int rc = ensure(in, 1, err, errlen);
            if (rc)
                return rc;
            if (in->pos == in->len)
                break;
        }
        size_t k = in->len - in->pos < n - got ? in->len - in->pos : n - got;
        memcpy((unsigned char *)buf + got, in->buf + in->pos, k);
        in->pos += k;
        got += k;
    }
    return (ssize_t)got;
}

int sim_in_window(sim_in *in, size_t n, const unsigned char **p, size_t *avail, char *err,
                  size_t errlen)
{
    int rc = ensure(in, n, err, errlen);
    *p = in->buf + in->pos;
    *avail = rc ? 0 : in->len - in->pos;
    return rc;
}

void sim_in_skip(sim_in *in, size_t n)
{
    in->pos += n;
}

const unsigned char *sim_in_peek(sim_in *in, size_t n, size_t *avail, char *err,
                                 size_t errlen)
{
    if (ensure(in, n, err, errlen))
        return NULL;
    *avail = in->len - in->pos;
    return in->buf + in->pos;
}

int sim_in_getline(sim_in *in, char **line, size_t *len, char *err, size_t errlen)
{
    size_t scanned = 0;
    for (;;) {
        unsigned char *start = in->buf + in->pos;
        size_t have = in->len - in->pos;
        unsigned char *nl = memchr(start + scanned, '\n', have - scanned);
        if (nl || (in->eof && have > 0)) {
            size_t n = nl ? (size_t)(nl - start) : have;
            if (!nl) { /* last line without '\n': make room for the NUL */
                int rc = ensure(in, have + 1, err, errlen);
                if (rc)
                    return rc;
                if (in->len == in->cap) {
                    unsigned char *b = realloc(in->buf, in->cap + 1);
                    if (!b)
                        return SIM_ENOMEM;
                    in->buf = b;
                    in->cap++;
                }
                start = in->buf + in->pos;
            }
            in->pos += n + (nl ? 1 : 0);
            if (n > 0 && start[n - 1] == '\r')
                n--;
            start[n] = 0;
            *line = (char *)start;
            *len = n;
            return 1;
        }
        if (in->eof)
            return 0;
        scanned = have;
        int rc = ensure(in, have + 1, err, errlen);
        if (rc)
            return rc;
    }
}

int sim_in_rewind(sim_in *in, char *err, size_t errlen)
{
    if (in->is_stdin) {
        snprintf(err, errlen, "%s: standard input cannot be read twice", in->path);
        return SIM_EUNSUPPORTED;
    }
    if (fseek(in->f, 0, SEEK_SET) != 0) {
        snprintf(err, errlen, "%s: cannot seek: %s", in->path, strerror(errno));
        return SIM_EIO;
    }
    in->clen = in->cpos = 0;
    in->ceof = 0;
    in->consumed = 0;
    in->pos = in->len = 0;
    in->eof = 0;
    if (in->comp == COMP_GZIP) {
        inflateReset(&in->zs);
        in->zs_live = 1;
    } else if (in->comp == COMP_ZSTD) {
        ZSTD_DCtx_reset(in->zd, ZSTD_reset_session_only);
        in->zs_live = 1;
    }
    return 0;
}

double sim_in_progress(const sim_in *in)
{
    if (in->file_size <= 0)
        return -1;
    double f = (double)in->consumed / (double)in->file_size;
    return f > 1 ? 1 : f;
}

const char *sim_in_path(const sim_in *in) { return in->path; }

long long sim_in_raw_size(const sim_in *in)
{
    return in->comp == COMP_NONE ? in->file_size : -1;
}

const char *sim_in_compression(const sim_in *in)
{
    return in->comp == COMP_ZSTD ? "zstd" : in->comp == COMP_GZIP ? "gzip" : "none";
}

/*=====   Output   =====*/

struct sim_out_s {
    char *path, *tmp;
    FILE *f;
    int is_stdout;
    enum comp comp;
    z_stream zs;
    ZSTD_CStream *zc;
    unsigned char *zbuf;
};

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

sim_out *sim_out_open(const char *path, int compress, char *err, size_t errlen)
{
    sim_out *o = calloc(1, sizeof *o);
    if (!o || !(o->path = strdup(path))) {
        free(o);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    if (compress < 0)
        compress = ends_with(path, ".zst") ? 2 : ends_with(path, ".gz") ? 1 : 0;
    o->comp = compress == 2 ? COMP_ZSTD : compress == 1 ? COMP_GZIP : COMP_NONE;
    if (strcmp(path, "-") == 0) {
        o->f = stdout;
        o->is_stdout = 1;
    } else {
        size_t n = strlen(path) + 16;
        o->tmp = malloc(n);
        if (!o->tmp) {
            snprintf(err, errlen, "%s: out of memory", path);
            sim_out_abort(o);
            return NULL;
        }
        snprintf(o->tmp, n, "%s.tmp.XXXXXX", path);
        int fd = mkstemp(o->tmp);
        if (fd < 0 || !(o->f = fdopen(fd, "wb"))) {
            snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
            if (fd >= 0)
                close(fd);
            free(o->tmp);
            o->tmp = NULL; /* nothing to remove, or fd closed above */
            sim_out_abort(o);
            return NULL;
        }
        /* mkstemp makes the file 0600; give it the usual umask-based mode. */
        mode_t um = umask(0);
        umask(um);
        fchmod(fd, 0666 & ~um);
    }
    if (o->comp != COMP_NONE) {
        o->zbuf = malloc(BUF_SIZE);
        int ok = o->zbuf != NULL;
        if (ok && o->comp == COMP_ZSTD) {
            o->zc = ZSTD_createCStream();
            ok = o->zc && !ZSTD_isError(ZSTD_initCStream(o->zc, 3));
        } else if (ok) {
            ok = deflateInit2(&o->zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
            if (!ok)
                o->comp = COMP_NONE;
        }
        if (!ok) {
            snprintf(err, errlen, "%s: cannot start the compressor", path);
            sim_out_abort(o);
            return NULL;
        }
    }
    return o;
}

static int put_raw(sim_out *o, const void *p, size_t n, char *err, size_t errlen)
{
    if (n && fwrite(p, 1, n, o->f) != n) {
        snprintf(err, errlen, "%s: write error: %s", o->path, strerror(errno));
        return SIM_EIO;
    }
    return 0;
}

/* Feeds n bytes (or, with finish, the end) to the compressor. */
static int compress_chunk(sim_out *o, const void *p, size_t n, int finish, char *err,
                          size_t errlen)
{
    if (o->comp == COMP_ZSTD) {
        ZSTD_inBuffer ib = {p, n, 0};
        for (;;) {
            ZSTD_outBuffer ob = {o->zbuf, BUF_SIZE, 0};
            size_t r = finish ? ZSTD_endStream(o->zc, &ob)
                              : ZSTD_compressStream(o->zc, &ob, &ib);
            if (ZSTD_isError(r)) {
                snprintf(err, errlen, "%s: zstd: %s", o->path, ZSTD_getErrorName(r));
                return SIM_EIO;
            }
            int rc = put_raw(o, o->zbuf, ob.pos, err, errlen);
            if (rc)
                return rc;
            if (finish ? r == 0 : ib.pos == ib.size)
                return 0;
        }
    }
    o->zs.next_in = (Bytef *)(uintptr_t)p;
    o->zs.avail_in = (uInt)n;
    for (;;) {
        o->zs.next_out = o->zbuf;
        o->zs.avail_out = BUF_SIZE;
        int zr = deflate(&o->zs, finish ? Z_FINISH : Z_NO_FLUSH);
        if (zr == Z_STREAM_ERROR) {
            snprintf(err, errlen, "%s: gzip: deflate failed", o->path);
            return SIM_EIO;
        }
        int rc = put_raw(o, o->zbuf, BUF_SIZE - o->zs.avail_out, err, errlen);
        if (rc)
            return rc;
        if (finish ? zr == Z_STREAM_END : (o->zs.avail_in == 0 && o->zs.avail_out != 0))
            return 0;
    }
}

int sim_out_write(sim_out *o, const void *buf, size_t n, char *err, size_t errlen)
{
    if (o->comp == COMP_NONE)
        return put_raw(o, buf, n, err, errlen);
    return compress_chunk(o, buf, n, 0, err, errlen);
}

int sim_out_file_fd(sim_out *o)
{
    if (o->is_stdout || o->comp != COMP_NONE || fflush(o->f) != 0)
        return -1;
    return fileno(o->f);
}

int sim_out_printf(sim_out *o, char *err, size_t errlen, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        snprintf(err, errlen, "%s: format error", o->path);
        return SIM_EINVAL;
    }
    if ((size_t)n < sizeof small)
        return sim_out_write(o, small, (size_t)n, err, errlen);
    char *big = malloc((size_t)n + 1);
    if (!big) {
        snprintf(err, errlen, "%s: out of memory", o->path);
        return SIM_ENOMEM;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = sim_out_write(o, big, (size_t)n, err, errlen);
    free(big);
    return rc;
}

static void out_free(sim_out *o)
{
    if (o->comp == COMP_GZIP)
        deflateEnd(&o->zs);
    ZSTD_freeCStream(o->zc);
    free(o->zbuf);
    free(o->tmp);
    free(o->path);
    free(o);
}

int sim_out_commit(sim_out *o, char *err, size_t errlen)
{
    int rc = 0;
    if (o->comp != COMP_NONE)
        rc = compress_chunk(o, NULL, 0, 1, err, errlen);
    if (!rc && fflush(o->f) != 0) {
        snprintf(err, errlen, "%s: write error: %s", o->path, strerror(errno));
        rc = SIM_EIO;
    }
    if (!o->is_stdout) {
        if (fclose(o->f) != 0 && !rc) {
            snprintf(err, errlen, "%s: write error: %s", o->path, strerror(errno));
            rc = SIM_EIO;
        }
        o->f = NULL;
        if (!rc && rename(o->tmp, o->path) != 0) {
            snprintf(err, errlen, "%s: cannot rename into place: %s", o->path,
                     strerror(errno));
            rc = SIM_EIO;
        }
        if (rc)
            remove(o->tmp);
    }
    out_free(o);
    return rc;
}

void sim_out_abort(sim_out *o)
{
    if (!o)
        return;
    if (o->f && !o->is_stdout)
        fclose(o->f);
    if (o->tmp)
        remove(o->tmp);
    out_free(o);
}

/*=====   Public: result files   =====*/

struct sim_outfile_s {
    sim_out *o;
};

sim_outfile *sim_outfile_open(const char *path, char *err, size_t errlen)
{
    sim_outfile *f = malloc(sizeof *f);
    if (!f) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    f->o = sim_out_open(path, 0, err, errlen);
    if (!f->o) {
        free(f);
        return NULL;
    }
    return f;
}

FILE *sim_outfile_stream(sim_outfile *f) { return f->o->f; }

int sim_outfile_commit(sim_outfile *f, char *err, size_t errlen)
{
    int rc = ferror(f->o->f) ? SIM_EIO : 0;
    if (rc) {
        snprintf(err, errlen, "%s: write error", f->o->path);
        sim_out_abort(f->o);
    } else
        rc = sim_out_commit(f->o, err, errlen);
    free(f);
    return rc;
}

void sim_outfile_abort(sim_outfile *f)
{
    if (!f)
        return;
    sim_out_abort(f->o);
    free(f);
}
