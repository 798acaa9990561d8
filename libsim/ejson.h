/*
 * ejson.h - a small JSON parser for evalq's inputs (labelled pairs as a
 * JSON array or JSON lines); not installed.
 *
 * The whole text is parsed into a flat array of nodes (a tree linked by
 * first-child / next-sibling indices) with every string decoded (escapes,
 * \uXXXX with surrogate pairs, to UTF-8) into one buffer.  RFC 8259 syntax,
 * strictly: no comments, no trailing commas, no NaN.  Nesting is limited to
 * 64 levels so that hostile input cannot exhaust the stack.
 */
#ifndef SIM_EJSON_H
#define SIM_EJSON_H

#include <stddef.h>
#include <stdint.h>

enum ej_type { EJ_NULL = 0, EJ_FALSE, EJ_TRUE, EJ_NUM, EJ_STR, EJ_ARR, EJ_OBJ };

#define EJ_NONE UINT32_MAX

struct ej_node {
    enum ej_type type;
    uint32_t child, next;   /* first child, next sibling (EJ_NONE at the end) */
    uint32_t count;         /* children of an array or object */
    size_t key, keylen;     /* member name (offset into strs), objects' children */
    size_t str, len;        /* EJ_STR: offset into strs */
    double num;
    uint32_t line;          /* 1-based line where the value starts */
};

struct ej_doc {
    struct ej_node *nodes;  /* nodes[0] is the root */
    uint32_t n, cap;
    char *strs;             /* decoded strings, each NUL-terminated */
    size_t slen, scap;
};

/*! ej_parse() :
 * Parses exactly one JSON value in text[0..len) (surrounding whitespace
 * allowed).  `line0` is the line number of text[0], for messages.
 * @return 0, or -1 with "line N: message" in err (doc is then freed). */
int ej_parse(const char *text, size_t len, uint32_t line0, struct ej_doc *doc, char *err,
             size_t errlen);

/*! ej_free() : frees the nodes and strings; accepts a zeroed doc. */
void ej_free(struct ej_doc *doc);

/*! ej_get() : the member `name` of object node `obj`, or EJ_NONE. */
uint32_t ej_get(const struct ej_doc *doc, uint32_t obj, const char *name);

/*! ej_str() : the decoded string of an EJ_STR node (NUL-terminated). */
static inline const char *ej_str(const struct ej_doc *doc, uint32_t node)
{
    return doc->strs + doc->nodes[node].str;
}

#endif
