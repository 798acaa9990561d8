/*
 * check_reader.c - trace readers and writers: every format's fields from
 * small hand-written inputs, format detection, compressed inputs, errors
 * with file:line, rewind, and writer round trips.
 *
 * Every input is written by the test into a temporary file (mkstemps) and
 * removed afterwards; expected values are worked out in the comments.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "sim.h"

/*=====   helpers   =====*/

#define US 1000000ULL

static char *tmp_write(const char *suffix, const void *data, size_t n)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    size_t len = strlen(dir) + strlen(suffix) + 32;
    char *path = malloc(len);
    ck_assert_ptr_nonnull(path);
    snprintf(path, len, "%s/check_reader_XXXXXX%s", dir, suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    ck_assert_msg(fd >= 0, "mkstemps %s", path);
    ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
    close(fd);
    return path;
}

static char *tmp_text(const char *suffix, const char *text)
{
    return tmp_write(suffix, text, strlen(text));
}

static void tmp_remove(char *path)
{
    unlink(path);
    free(path);
}

static void *gzip_bytes(const void *src, size_t n, size_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)n) + 64;
    unsigned char *dst = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)src;
    zs.avail_in = (uInt)n;
    zs.next_out = dst;
    zs.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out = cap - zs.avail_out;
    deflateEnd(&zs);
    return dst;
}

static void *zstd_bytes(const void *src, size_t n, size_t *out)
{
    size_t cap = ZSTD_compressBound(n);
    void *dst = malloc(cap);
    *out = ZSTD_compress(dst, cap, src, n, 3);
    ck_assert(!ZSTD_isError(*out));
    return dst;
}

static sim_reader *open_fmt(const char *path, enum sim_format fmt)
{
    char err[SIM_ERRLEN];
    struct sim_reader_opts o = {fmt, 0, NULL};
    sim_reader *r = sim_reader_open(path, &o, err, sizeof err);
    ck_assert_msg(r != NULL, "open %s: %s", path, err);
    return r;
}

static void next_ok(sim_reader *r, struct sim_req *q)
{
    char err[SIM_ERRLEN];
    int rc = sim_reader_next(r, q, err, sizeof err);
    ck_assert_msg(rc == 1, "next: rc %d: %s", rc, rc < 0 ? err : "end");
}

static void at_end(sim_reader *r)
{
    char err[SIM_ERRLEN];
    struct sim_req q;
    int rc = sim_reader_next(r, &q, err, sizeof err);
    ck_assert_msg(rc == 0, "expected the end, got %d (%s)", rc, rc < 0 ? err : "a request");
}

/* Whether msg starts "path:N: " for some N. */
static int has_some_line(const char *msg, const char *path)
{
    size_t n = strlen(path);
    if (strncmp(msg, path, n) || msg[n] != ':')
        return 0;
    const char *p = msg + n + 1, *d = p;
    while (*p >= '0' && *p <= '9')
        p++;
    return p > d && p[0] == ':' && p[1] == ' ';
}

/* The error of the first failing request; its message must start "path:line:"
 * (any line when `line` is 0). */
static void expect_error(const char *path, enum sim_format fmt, int code, unsigned line,
                         const char *needle)
{
    char err[SIM_ERRLEN], prefix[600];
    struct sim_reader_opts o = {fmt, 0, NULL};
    sim_reader *r = sim_reader_open(path, &o, err, sizeof err);
    int rc = -100;
    if (r) {
        struct sim_req q;
        while ((rc = sim_reader_next(r, &q, err, sizeof err)) == 1)
            ;
        sim_reader_close(r);
    }
    snprintf(prefix, sizeof prefix, "%s:%u: ", path, line);
    if (r)
        ck_assert_msg(rc == code, "%s: rc %d, expected %d (%s)", path, rc, code,
                      rc < 0 ? err : "");
    if (line)
        ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "message '%s' lacks '%s'",
                      err, prefix);
    else
        ck_assert_msg(has_some_line(err, path), "message '%s' lacks '%s:N: '", err, path);
    ck_assert_msg(!needle || strstr(err, needle), "message '%s' lacks '%s'", err, needle);
}

/* expect_error() on a temporary file holding text. */
static void expect_text_error(const char *text, enum sim_format fmt, unsigned line,
                              const char *needle)
{
    char *p = tmp_text("", text);
    expect_error(p, fmt, SIM_EFORMAT, line, needle);
    tmp_remove(p);
}

/* Every field of a and b agree, pointed-to contents included. */
static void same_req(const struct sim_req *a, const struct sim_req *b)
{
    ck_assert_uint_eq(a->index, b->index);
    ck_assert_uint_eq(a->present, b->present);
    ck_assert_uint_eq(a->time, b->time);
    ck_assert_uint_eq(a->key, b->key);
    ck_assert_uint_eq(a->size, b->size);
    ck_assert_int_eq(a->next_access, b->next_access);
    ck_assert_uint_eq(a->ttl, b->ttl);
    ck_assert_uint_eq(a->op, b->op);
    ck_assert_uint_eq(a->category, b->category);
    ck_assert_uint_eq(a->turn, b->turn);
    ck_assert_uint_eq(a->user, b->user);
    ck_assert_uint_eq(a->context, b->context);
    ck_assert_uint_eq(a->cls, b->cls);
    ck_assert_uint_eq(a->tokens_in, b->tokens_in);
    ck_assert_uint_eq(a->tokens_out, b->tokens_out);
    ck_assert(a->load == b->load);
    ck_assert_uint_eq(a->dim, b->dim);
    ck_assert(a->dim == 0 || memcmp(a->emb, b->emb, a->dim * sizeof *a->emb) == 0);
    ck_assert_uint_eq(a->nblocks, b->nblocks);
    ck_assert(a->nblocks == 0
              || memcmp(a->blocks, b->blocks, a->nblocks * sizeof *a->blocks) == 0);
    ck_assert_uint_eq(a->text_len, b->text_len);
    ck_assert(a->text_len == 0 || memcmp(a->text, b->text, a->text_len) == 0);
}

/* Reads both traces in lockstep; they must hold the same requests. */
static uint64_t same_traces(sim_reader *a, sim_reader *b)
{
    char err[SIM_ERRLEN];
    struct sim_req qa, qb;
    uint64_t n = 0;
    for (;;) {
        int ra = sim_reader_next(a, &qa, err, sizeof err);
        ck_assert_msg(ra >= 0, "%s", err);
        int rb = sim_reader_next(b, &qb, err, sizeof err);
        ck_assert_msg(rb >= 0, "%s", err);
        ck_assert_int_eq(ra, rb);
        if (ra == 0)
            return n;
        same_req(&qa, &qb);
        n++;
    }
}

/*=====   native CSV   =====*/

/*
 * Every column.  Row 1: time 1.5 s = 1500000 us; key "abc" is text, so it is
 * sim_hash_bytes("abc"); op get; category "web" is the first name (id 0);
 * text unescapes "" to ".  Row 2: numeric key 42 stays 42; "DEL" deletes;
 * category "img" is id 1; "web" again is id 0 in row 3.
 */
static const char all_csv[] =
    "time,key,size,ttl,op,next_access,category,user,context,turn,class,tokens_in,"
    "tokens_out,load,emb,text,blocks,note\n"
    "1.5,abc,100,60,get,2,web,7,8,1,9,10,11,0.5,1 2.5 -3,\"say \"\"hi\"\", ok\",1 2 3,x\n"
    "2,42,7,0,DEL,-1,img,u1,c1,2,k1,0,0,0.25,0 0 0,\"\",,\"y, z\"\n"
    "\n"
    "3.000001,abc,100,0,replace,-1,web,7,8,3,9,1,2,1e-3,4 5 6,plain,7,\n";

START_TEST(csv_every_column)
{
    char *p = tmp_text(".csv", all_csv);
    sim_reader *r = open_fmt(p, SIM_FMT_AUTO);
    ck_assert_int_eq(sim_reader_format(r), SIM_FMT_CSV);
    uint32_t all = SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_TTL | SIM_F_OP | SIM_F_NEXT
                   | SIM_F_CATEGORY | SIM_F_USER | SIM_F_CONTEXT | SIM_F_CLASS
                   | SIM_F_TOKENS | SIM_F_LOAD | SIM_F_EMB | SIM_F_TEXT | SIM_F_BLOCKS;
    ck_assert_uint_eq(sim_reader_fields(r), all);
    struct sim_req q;
    next_ok(r, &q);
    ck_assert_uint_eq(q.present, all);
    ck_assert_uint_eq(q.index, 0);
    ck_assert_uint_eq(q.time, 1500000);
    ck_assert_uint_eq(q.key, sim_hash_bytes("abc", 3));
    ck_assert_uint_eq(q.size, 100);
    ck_assert_uint_eq(q.ttl, 60);
    ck_assert_uint_eq(q.op, SIM_OP_GET);
    ck_assert_int_eq(q.next_access, 2);
    ck_assert_uint_eq(q.category, 0);
    ck_assert_uint_eq(q.user, 7);
    ck_assert_uint_eq(q.context, 8);
    ck_assert_uint_eq(q.turn, 1);
    ck_assert_uint_eq(q.cls, 9);
    ck_assert_uint_eq(q.tokens_in, 10);
    ck_assert_uint_eq(q.tokens_out, 11);
    ck_assert(q.load == 0.5f);
    ck_assert_uint_eq(q.dim, 3);
    ck_assert(q.emb[0] == 1.0f && q.emb[1] == 2.5f && q.emb[2] == -3.0f);
    ck_assert_uint_eq(q.text_len, strlen("say \"hi\", ok"));
    ck_assert(memcmp(q.text, "say \"hi\", ok", q.text_len) == 0);
    ck_assert_uint_eq(q.nblocks, 3);
    ck_assert(q.blocks[0] == 1 && q.blocks[1] == 2 && q.blocks[2] == 3);

    next_ok(r, &q);
    ck_assert_uint_eq(q.index, 1);
    ck_assert_uint_eq(q.time, 2 * US);
    ck_assert_uint_eq(q.key, 42);
    ck_assert_uint_eq(q.op, SIM_OP_DELETE);
    ck_assert_int_eq(q.next_access, -1);
    ck_assert_uint_eq(q.category, 1);
    ck_assert_uint_eq(q.user, sim_hash_bytes("u1", 2));
    ck_assert_uint_eq(q.context, sim_hash_bytes("c1", 2));
    ck_assert_uint_eq(q.cls, sim_hash_bytes("k1", 2));
    ck_assert_uint_eq(q.text_len, 0);
    ck_assert_uint_eq(q.nblocks, 0);
    ck_assert_uint_eq(q.dim, 3);

    next_ok(r, &q); /* the blank line is skipped */
    ck_assert_uint_eq(q.index, 2);
    ck_assert_uint_eq(q.time, 3 * US + 1);
    ck_assert_uint_eq(q.op, SIM_OP_SET);
    ck_assert_uint_eq(q.category, 0);
    ck_assert(q.load == 1e-3f);
    ck_assert_uint_eq(q.text_len, 5);
    ck_assert(memcmp(q.text, "plain", 5) == 0);
    ck_assert_uint_eq(q.nblocks, 1);
    ck_assert_uint_eq(q.blocks[0], 7);
    at_end(r);
    ck_assert_str_eq(sim_reader_category_name(r, 0), "web");
    ck_assert_str_eq(sim_reader_category_name(r, 1), "img");
    ck_assert_ptr_null(sim_reader_category_name(r, 2));
    sim_reader_close(r);
    tmp_remove(p);
}
END_TEST

/*
 * Aliases and time units: time_ms 1500.5 ms = 1500500 us; obj_id, obj_size;
 * next_access_vtime is libCacheSim's 1-based position: 3 -> index 2, and
 * -1 (none) -> -1; an unknown column is ignored.  Header names are
 * case-insensitive and may be padded.
 */
START_TEST(csv_aliases_and_units)
{
    char *p = tmp_text(".csv", "Time_MS, obj_id ,OBJ_SIZE,next_access_vtime,zzz\n"
                               "1500.5,5,10,3,q\n"
                               "7,6,11,-1,q\n");
    sim_reader *r = open_fmt(p, SIM_FMT_AUTO);
    ck_assert_uint_eq(sim_reader_fields(r), SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_NEXT);
    struct sim_req q;
    next_ok(r, &q);
    ck_assert_uint_eq(q.time, 1500500);
    ck_assert_uint_eq(q.key, 5);
    ck_assert_uint_eq(q.size, 10);
    ck_assert_int_eq(q.next_access, 2);
    next_ok(r, &q);
    ck_assert_uint_eq(q.time, 7000);
    ck_assert_int_eq(q.next_access, -1);
    at_end(r);
    sim_reader_close(r);
    tmp_remove(p);

    /* time_us is taken as is; lbn is a key; bytes is a size; timestamp is seconds */
    p = tmp_text(".csv", "time_us,lbn,bytes\n123,9,4\n");
    r = open_fmt(p, SIM_FMT_AUTO);
    next_ok(r, &q);
    ck_assert_uint_eq(q.time, 123);
    ck_assert_uint_eq(q.key, 9);
    ck_assert_uint_eq(q.size, 4);
    sim_reader_close(r);
    tmp_remove(p);
    p = tmp_text(".csv", "\xef\xbb\xbftimestamp,id\n12,1\n"); /* with a byte order mark */
    r = open_fmt(p, SIM_FMT_AUTO);
    next_ok(r, &q);
    ck_assert_uint_eq(q.time, 12 * US);
    sim_reader_close(r);
    tmp_remove(p);
}
END_TEST

START_TEST(csv_op_names)
{
    /* The mapping of the vocabulary, one row per verb. */
    static const struct { const char *verb; int op; } t[] = {
        {"get", SIM_OP_GET}, {"gets", SIM_OP_GET}, {"READ", SIM_OP_GET},
        {"set", SIM_OP_SET}, {"add", SIM_OP_SET}, {"replace", SIM_OP_SET},
        {"cas", SIM_OP_SET}, {"append", SIM_OP_SET}, {"prepend", SIM_OP_SET},
        {"incr", SIM_OP_SET}, {"decr", SIM_OP_SET}, {"Write", SIM_OP_SET},
        {"delete", SIM_OP_DELETE}, {"del", SIM_OP_DELETE}, {"2a", SIM_OP_OTHER},
        {"touch", SIM_OP_OTHER},
    };
    char text[1024] = "key,op\n";
    size_t n = sizeof t / sizeof t[0];
    for (size_t i = 0; i < n; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%zu,%s\n", i, t[i].verb);
    char *p = tmp_text(".csv", text);
    sim_reader *r = open_fmt(p, SIM_FMT_CSV);
    for (size_t i = 0; i < n; i++) {
        struct sim_req q;
        next_ok(r, &q);
        ck_assert_msg(q.op == t[i].op, "%s gave %u", t[i].verb, q.op);
    }
    at_end(r);
    sim_reader_close(r);
    tmp_remove(p);
}
END_TEST

START_TEST(csv_key_from_text_or_emb)
{
    /* No key column: the key is the hash of the text. */
    char *p = tmp_text(".csv", "text\n\"a b\"\nab\n");
    sim_reader *r = open_fmt(p, SIM_FMT_CSV);
    struct sim_req q;
    next_ok(r, &q);
    ck_assert_uint_eq(q.key, sim_hash_bytes("a b", 3));
    next_ok(r, &q);
    ck_assert_uint_eq(q.key, sim_hash_bytes("ab", 2));
    sim_reader_close(r);
    tmp_remove(p);
    /* emb only: equal vectors, equal keys, whatever their spelling. */
    p = tmp_text(".csv", "emb\n1 2\n1.0 2.00\n1 3\n");
    r = open_fmt(p, SIM_FMT_CSV);
    next_ok(r, &q);
    uint64_t k = q.key;
    next_ok(r, &q);
    ck_assert_uint_eq(q.key, k);
    next_ok(r, &q);
    ck_assert_uint_ne(q.key, k);
    sim_reader_close(r);
    tmp_remove(p);
}
END_TEST

START_TEST(csv_rewind_restarts)
{
    char *p = tmp_text(".csv", "key,size\n1,10\n2,20\n");
    sim_reader *r = open_fmt(p, SIM_FMT_AUTO);
    struct sim_req q;
    char err[SIM_ERRLEN];
    next_ok(r, &q);
    next_ok(r, &q);
    at_end(r);
    ck_assert_int_eq(sim_reader_rewind(r, err, sizeof err), 0);
    next_ok(r, &q);
    ck_assert_uint_eq(q.index, 0);
    ck_assert_uint_eq(q.key, 1);
    ck_assert_uint_eq(q.size, 10);
    next_ok(r, &q);
    ck_assert_uint_eq(q.key, 2);
    at_end(r);
    sim_reader_close(r);
    tmp_remove(p);
}
END_TEST

/* A malformed row: line 3 (header, good row, bad row), naming the column. */
static const struct { const char *row; const char *needle; } bad_rows[] = {
    {"x,1,get,1 2\n", "column time"},
    {"1,,get,1 2\n", "column key: empty"},
    {"1,2,get\n", "3 fields, but the header has 4"},
    {"1,2,get,1 2,9\n", "more fields"},
    {"1,2,get,1 x\n", "column emb"},
    {"1,2,get,1 2 3\n", "column emb: 3 numbers"},
    {"1,2,\"get,1 2\n", "unterminated quoted"},
    {"1,2,\"get\"x,1 2\n", "after a closing quote"},
    {"1,2,g\"et,1 2\n", "quote inside"},
    {"-1,2,get,1 2\n", "column time"},
    {"1.2.3,2,get,1 2\n", "column time"},
};

START_TEST(csv_malformed_row)
{
    char text[256];
    snprintf(text, sizeof text, "time,key,op,emb\n1,1,get,0 0\n%s", bad_rows[_i].row);
    char *p = tmp_text(".csv", text);
    expect_error(p, SIM_FMT_CSV, SIM_EFORMAT, 3, bad_rows[_i].needle);
    tmp_remove(p);
}
END_TEST

/* Bad values (line 2, naming the column) and bad headers (line 1). */
static const struct { const char *text; unsigned line; const char *needle; } bad_csv[] = {
    {"key,size\n1,-5\n", 2, "column size"},
    {"key,ttl\n1,4294967296\n", 2, "column ttl"},
    {"key,next_access\n1,-2\n", 2, "column next_access"},
    {"key,load\n1,abc\n", 2, "column load"},
    {"key,blocks\n1,1 -2\n", 2, "column blocks"},
    {"key,tokens_in\n1,1.5\n", 2, "column tokens_in"},
    {"time,size\n1,2\n", 1, "no key column"},
    {"key,obj_id\n1,2\n", 1, "twice"},
    {"time,time_ms,key\n1,2,3\n", 1, "more than one time"},
    {"key,\"si\"ze\n1,2\n", 1, "header"},
};

START_TEST(csv_bad_value_or_header)
{
    char *p = tmp_text(".csv", bad_csv[_i].text);
    expect_error(p, SIM_FMT_CSV, SIM_EFORMAT, bad_csv[_i].line, bad_csv[_i].needle);
    tmp_remove(p);
}
END_TEST

START_TEST(csv_number_limits)
{
    /* Times: digits past the microsecond are truncated (0.0000019 s -> 1 us);
     * "5." and ".5" are numbers.  Keys: 2^64-1 is numeric, 2^64 is text. */
    char *p = tmp_text(".csv", "time,key,size,ttl\n"
                               "0.0000019,18446744073709551615,18446744073709551615,4294967295\n"
                               "5.,18446744073709551616,0,0\n"
                               ".5,007,1,0\n");
    sim_reader *r = open_fmt(p, SIM_FMT_AUTO);
    struct sim_req q;
    next_ok(r, &q);
    ck_assert_uint_eq(q.time, 1);
    ck_assert_uint_eq(q.key, UINT64_MAX);
    ck_assert_uint_eq(q.size, UINT64_MAX);
    ck_assert_uint_eq(q.ttl, UINT32_MAX);
    next_ok(r, &q);
    ck_assert_uint_eq(q.time, 5 * US);
    ck_assert_uint_eq(q.key, sim_hash_bytes("18446744073709551616", 20));
    next_ok(r, &q);
    ck_assert_uint_eq(q.time, US / 2);
    ck_assert_uint_eq(q.key, 7);
    at_end(r);
    sim_reader_close(r);
    tmp_remove(p);
    /* 2^64 microseconds do not fit; neither does "." alone */
    expect_text_error("time,key\n18446744073709.551616,1\n", SIM_FMT_CSV, 2, "column time");
    expect_text_error("time,key\n.,1\n", SIM_FMT_CSV, 2, "column time");
}
END_TEST

/*=====   empty input   =====*/

START_TEST(empty_file_is_an_error)
{
    char *p = tmp_text(".csv", "");
    expect_error(p, SIM_FMT_AUTO, -100, 1, "empty");
    expect_error(p, SIM_FMT_CSV, -100, 1, "header");
    tmp_remove(p);
    /* A header and no rows is an empty but valid trace. */
    p = tmp_text(".csv", "key\n");
    sim_reader *r = open_fmt(p, SIM_FMT_AUTO);
    at_end(r);
    sim_reader_close(r);
    tmp_remove(p);
}
END_TEST

/*=====   compression and binary records   =====*/

/* Three oracleGeneral records: (t, key, size, next) = (1, 10, 100, 3),
 * (2, 20, 200, -1), (3, 10, 100, -1): key 10 comes back at position 3. */
static void oracle_records(unsigned char *b)
{
    static const uint64_t v[3][4] = {{1, 10, 100, 3}, {2, 20, 200, (uint64_t)-1},
                                     {3, 10, 100, (uint64_t)-1}};
    for (int i = 0; i < 3; i++) {
        unsigned char *p = b + 24 * i;
        for (int k = 0; k < 4; k++)
            p[k] = (unsigned char)(v[i][0] >> (8 * k));
        for (int k = 0; k < 8; k++)
            p[4 + k] = (unsigned char)(v[i][1] >> (8 * k));
        for (int k = 0; k < 4; k++)
            p[12 + k] = (unsigned char)(v[i][2] >> (8 * k));
        for (int k = 0; k < 8; k++)
            p[16 + k] = (unsigned char)(v[i][3] >> (8 * k));
    }
}

START_TEST(oracle_fields)
{
    unsigned char b[72];
    oracle_records(b);
    char *p = tmp_write(".dat", b, sizeof b);
    sim_reader *r = open_fmt(p, SIM_FMT_AUTO); /* binary content: oracle */
    ck_assert_int_eq(sim_reader_format(r), SIM_FMT_ORACLE);
    struct sim_req q;
    next_ok(r, &q);
    ck_assert_uint_eq(q.time, 1 * US);
    ck_assert_uint_eq(q.key, 10);
    ck_assert_uint_eq(q.size, 100);
    ck_assert_int_eq(q.next_access, 2); /* 1-based 3 -> index 2 */
    next_ok(r, &q);
    ck_assert_uint_eq(q.key, 20);
    ck_assert_int_eq(q.next_access, -1);
    next_ok(r, &q);
    ck_assert_uint_eq(q.index, 2);
    at_end(r);
    sim_reader_close(r);
    tmp_remove(p);
}
END_TEST

START_TEST(compressed_inputs_read_the_same)
{
    /* A CSV and an oracleGeneral trace, each plain, gzip and zstd: the
     * compressed files must give the same requests whatever their names. */
    unsigned char rec[72];
    oracle_records(rec);
    const void *src[2] = {all_csv, rec};
    size_t len[2] = {strlen(all_csv), sizeof rec};
    for (int i = 0; i < 2; i++) {
        size_t gn, zn;
        void *gz = gzip_bytes(src[i], len[i], &gn), *zs = zstd_bytes(src[i], len[i], &zn);
        char *pp = tmp_write(i ? ".bin" : ".csv", src[i], len[i]);
        char *pg = tmp_write(".data", gz, gn), *pz = tmp_write("", zs, zn);
        sim_reader *a = open_fmt(pp, SIM_FMT_AUTO);
        sim_reader *g = open_fmt(pg, SIM_FMT_AUTO), *z = open_fmt(pz, SIM_FMT_AUTO);
        ck_assert_uint_eq(same_traces(a, g), 3);
        ck_assert_int_eq(sim_reader_rewind(a, NULL, 0), 0);
        ck_assert_uint_eq(same_traces(a, z), 3);
        /* and again after a rewind of the compressed streams */
        ck_assert_int_eq(sim_reader_rewind(a, NULL, 0), 0);
        ck_assert_int_eq(sim_reader_rewind(z, NULL, 0), 0);
        ck_assert_uint_eq(same_traces(a, z), 3);
        sim_reader_close(a);
        sim_reader_close(g);
        sim_reader_close(z);
        tmp_remove(pp);
        tmp_remove(pg);
        tmp_remove(pz);
        free(gz);
        free(zs);
    }
}
END_TEST

START_TEST(truncated_oracle_record)
{
    /* 2 records and 10 bytes: the third record (line 3) is truncated. */
    unsigned char b[72];
    oracle_records(b);
    char *p = tmp_write(".bin", b, 58);
    expect_error(p, SIM_FMT_ORACLE, SIM_EFORMAT, 3, "truncated");
    tmp_remove(p);
}
END_TEST

START_TEST(corrupt_and_truncated_compression)
{
    char text[4096] = "key\n";
    for (int i = 0; i < 500; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%d\n", i * 7919 % 1000);
    size_t zn, gn;
    unsigned char *zs = zstd_bytes(text, strlen(text), &zn);
    unsigned char *gz = gzip_bytes(text, strlen(text), &gn);
    /* zstd with its payload overwritten: "corrupt zstd" */
    unsigned char *bad = malloc(zn);
    memcpy(bad, zs, zn);
    for (size_t i = 12; i < zn - 4; i++)
        bad[i] ^= 0x5a;
    char *p = tmp_write(".csv", bad, zn);
    char err[SIM_ERRLEN];
    struct sim_reader_opts o = {SIM_FMT_CSV, 0, NULL};
    sim_reader *r = sim_reader_open(p, &o, err, sizeof err);
    int rc = 1;
    if (r) {
        struct sim_req q;
        while ((rc = sim_reader_next(r, &q, err, sizeof err)) == 1)
            ;
        sim_reader_close(r);
    }
    ck_assert_msg(rc == SIM_EFORMAT || !r, "rc %d", rc);
    ck_assert_msg(strstr(err, "zstd") && has_some_line(err, p), "%s", err);
    tmp_remove(p);
    /* zstd and gzip cut short: every request before the cut, then an error */
    p = tmp_write(".csv", zs, zn - 5);
    expect_error(p, SIM_FMT_CSV, SIM_EFORMAT, 0, "truncated zstd");
    tmp_remove(p);
    p = tmp_write(".csv", gz, gn - 12);
    expect_error(p, SIM_FMT_CSV, SIM_EFORMAT, 0, "truncated gzip");
    tmp_remove(p);
    free(bad);
    free(zs);
    free(gz);
}
END_TEST

/*=====   the other text formats   =====*/

START_TEST(twitter_fields)
{
    /* size = key size + value size; the key text is hashed; client -> user */
    char *p = tmp_text("", "1,nz:u:abc,10,100,7,get,0\n"
                           "2,nz:u:abc,10,50,c9,set,3600\n"
                           "3,123,3,4,7,delete,0\n");
    sim_reader *r = open_fmt(p, SIM_FMT_AUTO);
    ck_assert_int_eq(sim_reader_format(r), SIM_FMT_TWITTER);
    uint32_t f = SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_USER | SIM_F_OP | SIM_F_TTL;
    ck_assert_uint_eq(sim_reader_fields(r), f);
    struct sim_req q;
    next_ok(r, &q);
    ck_assert_uint_eq(q.present, f);
    ck_assert_uint_eq(q.time, 1 * US);
    ck_assert_uint_eq(q.key, sim_hash_bytes("nz:u:abc", 8));
    ck_assert_uint_eq(q.size, 110);
    ck_assert_uint_eq(q.user, 7);
    ck_assert_uint_eq(q.op, SIM_OP_GET);
    ck_assert_uint_eq(q.ttl, 0);
    next_ok(r, &q);
    ck_assert_uint_eq(q.key, sim_hash_bytes("nz:u:abc", 8));
    ck_assert_uint_eq(q.size, 60);
    ck_assert_uint_eq(q.user, sim_hash_bytes("c9", 2));
    ck_assert_uint_eq(q.op, SIM_OP_SET);
    ck_assert_uint_eq(q.ttl, 3600);
    next_ok(r, &q);
    ck_assert_uint_eq(q.time, 3 * US);
    ck_assert_uint_eq(q.key, sim_hash_bytes("123", 3)); /* Twitter keys are always text */
    ck_assert_uint_eq(q.size, 7);
    ck_assert_uint_eq(q.op, SIM_OP_DELETE);
    at_end(r);
    sim_reader_close(r);
    tmp_remove(p);
}
END_TEST

/*
 * Times by hand (days_from_civil, checked with `date -u -d`):
 *   2015-05-17 = day 16572; 16572*86400 + 10:05:03 (36303 s) = 1431857103.
 *   2016-03-01 = day 16861 (2016-01-01 is 16801, + 31 + 29); midnight at
 *   -01:30 is 01:30 UTC: 16861*86400 + 5400 = 1456795800.
 *   2016-02-29 23:59:59 at +01:00 is 22:59:59 UTC: 16860*86400 + 82799 =
 *   1456786799.
 */
START_TEST(accesslog_fields)
{
    char *p = tmp_text("", "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a.png HTTP/1.1\" "
                           "200 203023 \"-\" \"Mozilla/5.0 (X11)\"\n"
                           "::1 - bob [01/Mar/2016:00:00:00 -0130] \"POST /a.png?x=1 HTTP/1.0\" "
                           "304 -\n"
                           "h - - [29/Feb/2016:23:59:59 +0100] \"DELETE /q\\\"x HTTP/1.1\" 204 0 "
                           "\"-\" \"ua \\\"quoted\\\"\"\n");
    sim_reader *r = open_fmt(p, SIM_FMT_AUTO);
    ck_assert_int_eq(sim_reader_format(r), SIM_FMT_ACCESSLOG);
    ck_assert_uint_eq(sim_reader_fields(r), SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_OP);
    struct sim_req q;
    next_ok(r, &q);
    ck_assert_uint_eq(q.time, 1431857103 * US);
    ck_assert_uint_eq(q.key, sim_hash_bytes("GET /a.png", 10));
    ck_assert_uint_eq(q.size, 203023);
    ck_assert_uint_eq(q.op, SIM_OP_GET);
    next_ok(r, &q);
    ck_assert_uint_eq(q.time, 1456795800 * US);
    ck_assert_uint_eq(q.key, sim_hash_bytes("POST /a.png?x=1", 15));
    ck_assert_uint_eq(q.size, 0);
    ck_assert_uint_eq(q.op, SIM_OP_SET);
    next_ok(r, &q);
    ck_assert_uint_eq(q.time, 1456786799 * US);
    ck_assert_uint_eq(q.key, sim_hash_bytes("DELETE /q\\\"x", 12));
    ck_assert_uint_eq(q.op, SIM_OP_DELETE);
    at_end(r);
    sim_reader_close(r);
    tmp_remove(p);
}
END_TEST

START_TEST(accesslog_cold_rl_ttl)
{
    /* cache_combined: status, key, response time (a list here), TTL */
    char *p = tmp_text(".log", "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 200 "
                               "10 \"-\" \"ua\" \"HIT\" \"k1\" \"0.092, 0.001\" \"3600\"\n"
                               "1.2.3.4 - - [17/May/2015:10:05:04 +0000] \"GET /b HTTP/1.1\" 200 "
                               "11 \"-\" \"ua\" \"MISS\" \"k2\" \"-\" \"-\"\n");
    sim_reader *r = open_fmt(p, SIM_FMT_AUTO);
    ck_assert_uint_eq(sim_reader_fields(r) & SIM_F_TTL, SIM_F_TTL);
    struct sim_req q;
    next_ok(r, &q);
    ck_assert_uint_eq(q.ttl, 3600);
    ck_assert_uint_eq(q.present & SIM_F_TTL, SIM_F_TTL);
    next_ok(r, &q);
    ck_assert_uint_eq(q.ttl, 0);
    ck_assert_uint_eq(q.size, 11);
    at_end(r);
    sim_reader_close(r);
    tmp_remove(p);
}
END_TEST

static const struct { const char *line; const char *needle; } bad_logs[] = {
    {"h - - [17/May/2015:10:05:03 +0000] \"GET /x HTTP/1.1\" 200 5 \"-\" \"Mozil", "unterminated"},
    {"h - - [17/May/2015:10:05:03 +0000] \"GET /x HTT", "unterminated request"},
    {"h - - [31/Feb/2015:10:05:03 +0000] \"GET /x HTTP/1.1\" 200 5", "bad time"},
    {"h - - [17/Mai/2015:10:05:03 +0000] \"GET /x HTTP/1.1\" 200 5", "bad time"},
    {"h - - [17/May/2015:10:05:03] \"GET /x HTTP/1.1\" 200 5", "bad time"},
    {"h - - [17/May/2015:10:05:03 +0000] \"GET /x HTTP/1.1\" 200", "no byte count"},
    {"h - - [17/May/2015:10:05:03 +0000] \"GET /x HTTP/1.1\" 200 5x", "bad byte count"},
    {"h - - [17/May/2015:10:05:03 +0000] \"GET /x HTTP/1.1\" 200 5 junk", "unexpected text"},
    {"h - - 17/May/2015:10:05:03 +0000 \"GET /x HTTP/1.1\" 200 5", "no [time]"},
};

START_TEST(accesslog_malformed_line)
{
    /* line 2 is bad; the first line is good */
    char text[512];
    snprintf(text, sizeof text, "h - - [17/May/2015:10:05:03 +0000] \"GET / HTTP/1.1\" 200 5\n%s\n",
             bad_logs[_i].line);
    char *p = tmp_text(".log", text);
    expect_error(p, SIM_FMT_ACCESSLOG, SIM_EFORMAT, 2, bad_logs[_i].needle);
    tmp_remove(p);
}
END_TEST

START_TEST(arc_expands_ranges)
{
    /* "10 3 0 0" is blocks 10, 11, 12; "5 1 0 1" is block 5; n = 0 adds none */
    char *p = tmp_text("", "10 3 0 0\n7 0 0 1\n5 1 0 2\n");
    sim_reader *r = open_fmt(p, SIM_FMT_AUTO);
    ck_assert_int_eq(sim_reader_format(r), SIM_FMT_ARC);
    static const uint64_t want[] = {10, 11, 12, 5};
    char err[SIM_ERRLEN];
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 4; i++) {
            struct sim_req q;
            next_ok(r, &q);
            ck_assert_uint_eq(q.key, want[i]);
            ck_assert_uint_eq(q.size, 1);
            ck_assert_uint_eq(q.index, (uint64_t)i);
        }
        at_end(r);
        ck_assert_int_eq(sim_reader_rewind(r, err, sizeof err), 0);
    }
    sim_reader_close(r);
    tmp_remove(p);
    expect_text_error("10 3 0 0\n1 2 3\n", SIM_FMT_ARC, 2, "3 fields");
    expect_text_error("10 3 0 0 9\n", SIM_FMT_ARC, 1, "5 fields");
    expect_text_error("10 x 0 0\n", SIM_FMT_ARC, 1, "block count");
}
END_TEST

START_TEST(lrb_fields)
{
    char *p = tmp_text("", "1 100 5\n2 abc 6 7 8\n");
    sim_reader *r = open_fmt(p, SIM_FMT_AUTO);
    ck_assert_int_eq(sim_reader_format(r), SIM_FMT_LRB);
    struct sim_req q;
    next_ok(r, &q);
    ck_assert_uint_eq(q.time, 1 * US);
    ck_assert_uint_eq(q.key, 100);
    ck_assert_uint_eq(q.size, 5);
    next_ok(r, &q); /* extra features ignored */
    ck_assert_uint_eq(q.key, sim_hash_bytes("abc", 3));
    ck_assert_uint_eq(q.size, 6);
    at_end(r);
    sim_reader_close(r);
    tmp_remove(p);
    expect_text_error("1 100 5\n1 100\n", SIM_FMT_LRB, 2, "2 fields");
    expect_text_error("1 100 -5\n", SIM_FMT_LRB, 1, "size");
}
END_TEST

START_TEST(mooncake_fields)
{
    /* Members in any order; an unknown one skipped; timestamp 1500 ms. */
    char *p = tmp_text("", "{\"timestamp\": 1500, \"input_length\": 600, \"output_length\": 20, "
                           "\"hash_ids\": [7, 8, 9]}\n"
                           "  {\"hash_ids\":[7,8],\"x\":{\"a\":[1,\"]\"]},\"output_length\":0,"
                           "\"input_length\":512,\"timestamp\":2000.5}  \n"
                           "{\"timestamp\": 3, \"input_length\": 1, \"output_length\": 1, "
                           "\"hash_ids\": []}\n");
    sim_reader *r = open_fmt(p, SIM_FMT_AUTO);
    ck_assert_int_eq(sim_reader_format(r), SIM_FMT_MOONCAKE);
    uint32_t f = SIM_F_TIME | SIM_F_KEY | SIM_F_SIZE | SIM_F_TOKENS | SIM_F_BLOCKS;
    ck_assert_uint_eq(sim_reader_fields(r), f);
    struct sim_req q;
    uint64_t b3[3] = {7, 8, 9}, b2[2] = {7, 8};
    next_ok(r, &q);
    ck_assert_uint_eq(q.present, f);
    ck_assert_uint_eq(q.time, 1500000);
    ck_assert_uint_eq(q.tokens_in, 600);
    ck_assert_uint_eq(q.tokens_out, 20);
    ck_assert_uint_eq(q.size, 600);
    ck_assert_uint_eq(q.nblocks, 3);
    ck_assert(memcmp(q.blocks, b3, sizeof b3) == 0);
    /* the key is the hash of the block list's little-endian bytes */
    unsigned char le[24];
    for (int i = 0; i < 24; i++)
        le[i] = (unsigned char)(b3[i / 8] >> (8 * (i % 8)));
    ck_assert_uint_eq(q.key, sim_hash_bytes(le, 24));
    uint64_t k3 = q.key;
    next_ok(r, &q);
    ck_assert_uint_eq(q.time, 2000500);
    ck_assert_uint_eq(q.nblocks, 2);
    ck_assert(memcmp(q.blocks, b2, sizeof b2) == 0);
    ck_assert_uint_ne(q.key, k3);
    ck_assert_uint_eq(q.size, 512);
    next_ok(r, &q);
    ck_assert_uint_eq(q.nblocks, 0);
    at_end(r);
    sim_reader_close(r);
    tmp_remove(p);
}
END_TEST

static const struct { const char *line; const char *needle; } bad_json[] = {
    {"{\"timestamp\": 1, \"input_length\": 2, \"hash_ids\": [1]}", "missing member output_length"},
    {"{\"timestamp\": 1, \"timestamp\": 1}", "twice"},
    {"{\"timestamp\": -1, \"input_length\": 2, \"output_length\": 1, \"hash_ids\": []}", "timestamp"},
    {"{\"timestamp\": 1, \"input_length\": 2, \"output_length\": 1, \"hash_ids\": [1,]}", "hash_ids"},
    {"{\"timestamp\": 1, \"input_length\": 2, \"output_length\": 1, \"hash_ids\": [1, 2", "hash_ids"},
    {"{\"timestamp\": 1, \"input_length\": 2, \"output_length\": 1, \"hash_ids\": []} x", "after the object"},
    {"[1, 2]", "JSON object"},
    {"{\"timestamp\": 1 \"input_length\": 2}", "expected ','"},
};

START_TEST(mooncake_malformed_line)
{
    char text[512];
    snprintf(text, sizeof text, "{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, "
                                "\"hash_ids\": [1]}\n%s\n", bad_json[_i].line);
    char *p = tmp_text(".jsonl", text);
    expect_error(p, SIM_FMT_MOONCAKE, SIM_EFORMAT, 2, bad_json[_i].needle);
    tmp_remove(p);
}
END_TEST

START_TEST(plain_keys)
{
    /* decimal keys are themselves, text is hashed, "*" markers skipped */
    char *p = tmp_text("", "5\n*\n  abc \n\n5\n");
    sim_reader *r = open_fmt(p, SIM_FMT_AUTO);
    ck_assert_int_eq(sim_reader_format(r), SIM_FMT_PLAIN);
    struct sim_req q;
    next_ok(r, &q);
    ck_assert_uint_eq(q.key, 5);
    next_ok(r, &q);
    ck_assert_uint_eq(q.key, sim_hash_bytes("abc", 3));
    next_ok(r, &q);
    ck_assert_uint_eq(q.key, 5);
    ck_assert_uint_eq(q.index, 2);
    at_end(r);
    sim_reader_close(r);
    tmp_remove(p);
}
END_TEST

/*=====   detection   =====*/

static const struct { const char *name, *text; int fmt; } detect_cases[] = {
    /* content decides, whatever the name says */
    {".log", "time,key\n1,2\n", SIM_FMT_CSV},
    {"", "key\n1\n", SIM_FMT_CSV},
    {"", "1,k,1,2,3,gets,0\n", SIM_FMT_TWITTER},
    {".csv", "{\"timestamp\": 0}\n", SIM_FMT_MOONCAKE},
    {"", "h - - [17/May/2015:10:05:03 +0000] \"GET / HTTP/1.1\" 200 5\n", SIM_FMT_ACCESSLOG},
    {"", "12\n", SIM_FMT_PLAIN},
    {"", "1 2 3\n", SIM_FMT_LRB},
    {"", "1 2 3 4\n", SIM_FMT_ARC},
    /* ambiguous content: the name decides */
    {".tr", "1 2 3 4\n", SIM_FMT_LRB},
    {".lrb.gz", "1 2 3 4\n", SIM_FMT_LRB},
    {".twitter", "1,2,3\n", -1},
};

START_TEST(detect_format)
{
    char *p = tmp_text(detect_cases[_i].name, detect_cases[_i].text);
    char err[SIM_ERRLEN];
    sim_reader *r = sim_reader_open(p, NULL, err, sizeof err);
    if (detect_cases[_i].fmt < 0) {
        ck_assert_ptr_null(r);
        ck_assert_msg(strstr(err, "--format") != NULL, "%s", err);
    } else {
        ck_assert_msg(r != NULL, "%s", err);
        ck_assert_int_eq(sim_reader_format(r), detect_cases[_i].fmt);
    }
    sim_reader_close(r);
    tmp_remove(p);
}
END_TEST

/*=====   writers   =====*/

/* A fresh directory, so that leftovers (temporaries) can be counted. */
static char *tmp_dir(void)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *path = malloc(strlen(dir) + 32);
    sprintf(path, "%s/check_reader_XXXXXX", dir);
    ck_assert_ptr_nonnull(mkdtemp(path));
    return path;
}

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Copies trace `in` into `out` through a writer; returns the writer's rc. */
static int copy_trace(const char *in, const char *out, enum sim_format fmt, int names)
{
    char err[SIM_ERRLEN];
    sim_reader *r = open_fmt(in, SIM_FMT_AUTO);
    sim_writer *w = sim_writer_open(out, fmt, sim_reader_fields(r), err, sizeof err);
    ck_assert_msg(w != NULL, "%s", err);
    struct sim_req q;
    int rc;
    while ((rc = sim_reader_next(r, &q, err, sizeof err)) == 1) {
        if (names) { /* the names known so far, as a converter would pass them */
            const char *nm[8];
            unsigned n = 0;
            while (n < 8 && (nm[n] = sim_reader_category_name(r, n)))
                n++;
            ck_assert_int_eq(sim_writer_set_category_names(w, nm, n, err, sizeof err), 0);
        }
        ck_assert_int_eq(sim_writer_put(w, &q, err, sizeof err), 0);
    }
    ck_assert_msg(rc == 0, "%s", err);
    sim_reader_close(r);
    return sim_writer_close(w, err, sizeof err);
}

START_TEST(writer_csv_round_trip)
{
    /* all_csv -> writer -> reader: the same requests, field by field (the
     * emb values 2.5 and -3 and load 1e-3 need "%.9g" to survive). */
    char *src = tmp_text(".csv", all_csv);
    char *dir = tmp_dir();
    static const char *const names[] = {"out.csv", "out.csv.gz", "out.csv.zst"};
    for (int i = 0; i < 3; i++) {
        char out[512];
        snprintf(out, sizeof out, "%s/%s", dir, names[i]);
        ck_assert_int_eq(copy_trace(src, out, SIM_FMT_CSV, 1), 0);
        sim_reader *a = open_fmt(src, SIM_FMT_AUTO), *b = open_fmt(out, SIM_FMT_AUTO);
        ck_assert_uint_eq(sim_reader_fields(a), sim_reader_fields(b));
        ck_assert_uint_eq(same_traces(a, b), 3);
        ck_assert_str_eq(sim_reader_category_name(b, 1), "img");
        sim_reader_close(a);
        sim_reader_close(b);
        unlink(out);
    }
    ck_assert_int_eq(dir_entries(dir), 0); /* no temporaries left behind */
    rmdir(dir);
    free(dir);
    tmp_remove(src);
}
END_TEST

/* The CSV writer's own number formatting (no printf), against text
 * written out by hand: one- and two-digit edges, 2^64 - 1, negative next
 * accesses, fractions of a second with their trailing zeros dropped. */
START_TEST(writer_csv_integers)
{
    static const struct { uint64_t time, key, size; int64_t next; } in[] = {
        {0, 0, 1, -1}, {1500000, 9, 10, 0}, {12000001, 99, 100, 1000},
        {7250000, 18446744073709551615ULL, 4294967295ULL, 9223372036854775807LL},
        {999999, 1000000, 101, -1}};
    const char *want = "time,key,size,next_access\n"
                       "0,0,1,-1\n"
                       "1.5,9,10,0\n"
                       "12.000001,99,100,1000\n"
                       "7.25,18446744073709551615,4294967295,9223372036854775807\n"
                       "0.999999,1000000,101,-1\n";
    char *dir = tmp_dir();
    char out[512], err[SIM_ERRLEN], got[512] = "";
    snprintf(out, sizeof out, "%s/n.csv", dir);
    sim_writer *w = sim_writer_open(out, SIM_FMT_CSV, SIM_F_TIME | SIM_F_SIZE | SIM_F_NEXT,
                                    err, sizeof err);
    ck_assert_ptr_nonnull(w);
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        struct sim_req q;
        memset(&q, 0, sizeof q);
        q.time = in[i].time;
        q.key = in[i].key;
        q.size = in[i].size;
        q.next_access = in[i].next;
        ck_assert_int_eq(sim_writer_put(w, &q, err, sizeof err), 0);
    }
    ck_assert_int_eq(sim_writer_close(w, err, sizeof err), 0);
    FILE *f = fopen(out, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(got, 1, sizeof got - 1, f);
    got[n] = 0;
    fclose(f);
    ck_assert_str_eq(got, want);
    unlink(out);
    rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(writer_csv_floats_round_trip)
{
    /* Awkward float32 values: each must read back bit-identical. */
    static const float v[] = {0.1f, 1.0f / 3.0f, 16777217.0f, 1e-38f, 1.17549435e-38f,
                              3.4028235e38f, -0.0f, 1e-45f};
    enum { DIM = sizeof v / sizeof v[0] };
    char *dir = tmp_dir();
    char out[512], err[SIM_ERRLEN];
    snprintf(out, sizeof out, "%s/f.csv", dir);
    sim_writer *w = sim_writer_open(out, SIM_FMT_CSV, SIM_F_EMB | SIM_F_LOAD, err, sizeof err);
    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < DIM; i++) {
        struct sim_req q;
        memset(&q, 0, sizeof q);
        q.key = (uint64_t)i;
        q.emb = v;
        q.dim = DIM;
        q.load = v[i];
        ck_assert_int_eq(sim_writer_put(w, &q, err, sizeof err), 0);
    }
    ck_assert_int_eq(sim_writer_close(w, err, sizeof err), 0);
    sim_reader *r = open_fmt(out, SIM_FMT_AUTO);
    for (int i = 0; i < DIM; i++) {
        struct sim_req q;
        next_ok(r, &q);
        ck_assert_uint_eq(q.key, (uint64_t)i);
        ck_assert(memcmp(&q.load, &v[i], sizeof(float)) == 0);
        ck_assert(memcmp(q.emb, v, sizeof v) == 0);
    }
    sim_reader_close(r);
    unlink(out);
    rmdir(dir);
    free(dir);
}
END_TEST

/* libCacheSim's next_access_vtime, computed the slow obvious way: the
 * 1-based position of the first later request for the same key, or -1. */
static int64_t naive_next(const uint64_t *keys, size_t n, size_t i)
{
    for (size_t j = i + 1; j < n; j++)
        if (keys[j] == keys[i])
            return (int64_t)j + 1;
    return -1;
}

static uint64_t le_at(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Four layouts: keys scattered over 6*10^7 (the writer's hash table),
 * keys dense in 60 values (its flat array), 50000 dense ones (1.2 MB: the
 * file is re-read and patched in more than one piece), and 300000 to a
 * .zst file (held in memory, in more than one block).  Mismatches are
 * counted, not asserted one by one (Check logs every assertion). */
START_TEST(writer_oracle_next_access)
{
    static const size_t sizes[] = {500, 500, 50000, 300000};
    const size_t N = sizes[_i];
    static uint64_t keys[300000];
    struct sim_rng g;
    sim_rng_seed(&g, 42);
    char *dir = tmp_dir();
    char out[512], err[SIM_ERRLEN];
    snprintf(out, sizeof out, "%s/t.oracleGeneral.bin%s", dir, _i == 3 ? ".zst" : "");
    sim_writer *w = sim_writer_open(out, SIM_FMT_ORACLE, SIM_F_TIME | SIM_F_SIZE, err,
                                    sizeof err);
    ck_assert_ptr_nonnull(w);
    int rc = 0;
    for (size_t i = 0; i < N; i++) {
        struct sim_req q;
        memset(&q, 0, sizeof q);
        keys[i] = sim_rng_below(&g, 60) * (_i ? 1 : 1000003ULL) + (1ULL << 40);
        q.key = keys[i];
        q.size = 1 + i % 7;
        q.time = i * 1500000ULL + 999999; /* 1.5 s apart, truncated to whole seconds */
        rc |= sim_writer_put(w, &q, err, sizeof err);
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(sim_writer_close(w, err, sizeof err), 0);
    size_t bad = 0;
    if (_i < 3) { /* the raw records */
        FILE *f = fopen(out, "rb");
        unsigned char rec[24];
        for (size_t i = 0; i < N; i++) {
            bad += fread(rec, 1, 24, f) != 24;
            bad += le_at(rec, 4) != (i * 1500000ULL + 999999) / US;
            bad += le_at(rec + 4, 8) != keys[i];
            bad += le_at(rec + 12, 4) != 1 + i % 7;
            bad += (int64_t)le_at(rec + 16, 8) != naive_next(keys, N, i);
        }
        ck_assert_int_eq(fread(rec, 1, 1, f), 0);
        fclose(f);
    }
    /* Through the reader: next_access is the 0-based index. */
    sim_reader *r = open_fmt(out, SIM_FMT_AUTO);
    ck_assert_int_eq(sim_reader_format(r), SIM_FMT_ORACLE);
    for (size_t i = 0; i < N; i++) {
        struct sim_req q;
        if (sim_reader_next(r, &q, err, sizeof err) != 1) {
            bad++;
            break;
        }
        int64_t nx = naive_next(keys, N, i);
        bad += q.key != keys[i] || q.next_access != (nx < 0 ? -1 : nx - 1);
    }
    ck_assert_uint_eq(bad, 0);
    at_end(r);
    sim_reader_close(r);
    unlink(out);
    rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(writer_oracle_compressed_same_bytes)
{
    char *src = tmp_text(".csv", "time,key,size\n1,5,10\n2,6,20\n3,5,10\n");
    char *dir = tmp_dir();
    char a[512], b[512], c[512];
    snprintf(a, sizeof a, "%s/t.bin", dir);
    snprintf(b, sizeof b, "%s/t.bin.zst", dir);
    snprintf(c, sizeof c, "%s/t.bin.gz", dir);
    ck_assert_int_eq(copy_trace(src, a, SIM_FMT_ORACLE, 0), 0);
    ck_assert_int_eq(copy_trace(src, b, SIM_FMT_ORACLE, 0), 0);
    ck_assert_int_eq(copy_trace(src, c, SIM_FMT_ORACLE, 0), 0);
    /* 3 records of 24 bytes; the compressed ones must start with their magic */
    FILE *f = fopen(a, "rb");
    fseek(f, 0, SEEK_END);
    ck_assert_int_eq(ftell(f), 72);
    fclose(f);
    unsigned char m[4];
    f = fopen(b, "rb");
    ck_assert_int_eq(fread(m, 1, 4, f), 4);
    ck_assert(m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd);
    fclose(f);
    f = fopen(c, "rb");
    ck_assert_int_eq(fread(m, 1, 2, f), 2);
    ck_assert(m[0] == 0x1f && m[1] == 0x8b);
    fclose(f);
    sim_reader *ra = open_fmt(a, SIM_FMT_AUTO), *rb = open_fmt(b, SIM_FMT_AUTO),
               *rc = open_fmt(c, SIM_FMT_AUTO);
    ck_assert_uint_eq(same_traces(ra, rb), 3);
    ck_assert_int_eq(sim_reader_rewind(ra, NULL, 0), 0);
    ck_assert_uint_eq(same_traces(ra, rc), 3);
    sim_reader_close(ra);
    sim_reader_close(rb);
    sim_reader_close(rc);
    unlink(a);
    unlink(b);
    unlink(c);
    ck_assert_int_eq(dir_entries(dir), 0);
    rmdir(dir);
    free(dir);
    tmp_remove(src);
}
END_TEST

START_TEST(writer_abort_leaves_nothing)
{
    char *dir = tmp_dir();
    char out[512], err[SIM_ERRLEN];
    snprintf(out, sizeof out, "%s/t.csv.zst", dir);
    sim_writer *w = sim_writer_open(out, SIM_FMT_CSV, SIM_F_SIZE, err, sizeof err);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(dir_entries(dir), 1); /* the temporary */
    struct sim_req q;
    memset(&q, 0, sizeof q);
    ck_assert_int_eq(sim_writer_put(w, &q, err, sizeof err), 0);
    sim_writer_abort(w);
    ck_assert_int_eq(dir_entries(dir), 0);
    sim_writer_abort(NULL);
    ck_assert_int_eq(sim_writer_close(NULL, err, sizeof err), 0);
    rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(writer_rejects_what_it_cannot_write)
{
    char *dir = tmp_dir();
    char out[512], err[SIM_ERRLEN];
    snprintf(out, sizeof out, "%s/t.csv", dir);
    /* an unwritable format */
    ck_assert_ptr_null(sim_writer_open(out, SIM_FMT_ARC, 0, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "arc"));
    /* text with a line break */
    sim_writer *w = sim_writer_open(out, SIM_FMT_CSV, SIM_F_TEXT, err, sizeof err);
    struct sim_req q;
    memset(&q, 0, sizeof q);
    q.text = "a\nb";
    q.text_len = 3;
    ck_assert_int_eq(sim_writer_put(w, &q, err, sizeof err), SIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "line break"));
    sim_writer_abort(w);
    /* emb lengths that change */
    w = sim_writer_open(out, SIM_FMT_CSV, SIM_F_EMB, err, sizeof err);
    float e[2] = {1, 2};
    q.text_len = 0;
    q.emb = e;
    q.dim = 2;
    ck_assert_int_eq(sim_writer_put(w, &q, err, sizeof err), 0);
    q.dim = 1;
    ck_assert_int_eq(sim_writer_put(w, &q, err, sizeof err), SIM_EINVAL);
    sim_writer_abort(w);
    /* oracleGeneral's 32-bit time and size */
    snprintf(out, sizeof out, "%s/t.bin", dir);
    w = sim_writer_open(out, SIM_FMT_ORACLE, SIM_F_TIME | SIM_F_SIZE, err, sizeof err);
    memset(&q, 0, sizeof q);
    q.size = 1ULL << 32;
    ck_assert_int_eq(sim_writer_put(w, &q, err, sizeof err), SIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "size"));
    q.size = 1;
    q.time = (1ULL << 32) * US;
    ck_assert_int_eq(sim_writer_put(w, &q, err, sizeof err), SIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "time"));
    sim_writer_abort(w);
    ck_assert_int_eq(dir_entries(dir), 0);
    rmdir(dir);
    free(dir);
}
END_TEST

/*=====   suite   =====*/

static Suite *reader_suite(void)
{
    Suite *s = suite_create("reader");
    TCase *tc = tcase_create("Core");
    tcase_add_test(tc, csv_every_column);
    tcase_add_test(tc, csv_aliases_and_units);
    tcase_add_test(tc, csv_op_names);
    tcase_add_test(tc, csv_key_from_text_or_emb);
    tcase_add_test(tc, csv_rewind_restarts);
    tcase_add_test(tc, oracle_fields);
    tcase_add_test(tc, compressed_inputs_read_the_same);
    tcase_add_test(tc, twitter_fields);
    tcase_add_test(tc, accesslog_fields);
    tcase_add_test(tc, accesslog_cold_rl_ttl);
    tcase_add_test(tc, arc_expands_ranges);
    tcase_add_test(tc, lrb_fields);
    tcase_add_test(tc, mooncake_fields);
    tcase_add_test(tc, plain_keys);
    tcase_add_loop_test(tc, detect_format, 0, sizeof detect_cases / sizeof detect_cases[0]);
    tcase_add_test(tc, writer_csv_round_trip);
    tcase_add_test(tc, writer_csv_integers);
    tcase_add_loop_test(tc, writer_oracle_next_access, 0, 4);
    tcase_add_test(tc, writer_oracle_compressed_same_bytes);
    suite_add_tcase(s, tc);
    TCase *lim = tcase_create("Limits");
    tcase_add_test(lim, writer_csv_floats_round_trip);
    tcase_add_test(lim, empty_file_is_an_error);
    tcase_add_test(lim, csv_number_limits);
    suite_add_tcase(s, lim);
    TCase *e = tcase_create("Errors");
    tcase_add_loop_test(e, csv_malformed_row, 0, sizeof bad_rows / sizeof bad_rows[0]);
    tcase_add_loop_test(e, csv_bad_value_or_header, 0, sizeof bad_csv / sizeof bad_csv[0]);
    tcase_add_test(e, truncated_oracle_record);
    tcase_add_loop_test(e, accesslog_malformed_line, 0, sizeof bad_logs / sizeof bad_logs[0]);
    tcase_add_loop_test(e, mooncake_malformed_line, 0, sizeof bad_json / sizeof bad_json[0]);
    tcase_add_test(e, corrupt_and_truncated_compression);
    tcase_add_test(e, writer_abort_leaves_nothing);
    tcase_add_test(e, writer_rejects_what_it_cannot_write);
    suite_add_tcase(s, e);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(reader_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
