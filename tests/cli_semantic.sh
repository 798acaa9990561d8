#!/bin/sh
# cli_semantic.sh - cachesim --emb: a companion .npy (written here byte by
# byte) is read in step with the trace; row-count mismatches and bad files
# are data errors (exit 1) naming the file; the semantic policies are listed
# with their parameters and refuse a trace without the fields they need.
set -u
NAME=cli_semantic
. "$(dirname "$0")/clilib.sh"
CS=$BUILD/cachesim

# npy FILE DESCR ROWS: a version 1.0 .npy of shape (ROWS, 2) whose every
# float is 1.0 (bytes 00 00 80 3f).  The header text for one-digit ROWS is
# 59 characters; with the 10-byte preamble and '\n' it is padded to 128.
npy() {
    {
        printf '\223NUMPY\001\000\166\000'
        printf "{'descr': '%s', 'fortran_order': False, 'shape': (%d, 2), }" "$2" "$3"
        printf '%58s\n' ''
        i=0
        while [ "$i" -lt $(($3 * 2)) ]; do
            printf '\000\000\200\077'
            i=$((i + 1))
        done
    } >"$1"
}

printf 'a\nb\nc\n' >"$T/t3.txt"
printf 'a\nb\nc\nd\n' >"$T/t4.txt"
npy "$T/e.npy" '<f4' 3
npy "$T/f8.npy" '<f8' 3
[ "$(wc -c <"$T/e.npy")" -eq $((128 + 24)) ] || fail "test .npy is not 152 bytes"

expect_out "lru" "matching rows" -- \
    "$CS" --no-progress -p lru -s 2 --ignore-size --emb "$T/e.npy" "$T/t3.txt"
expect 1 "has only 3 rows" "fewer rows than requests" -- \
    "$CS" --no-progress -p lru -s 2 --ignore-size --emb "$T/e.npy" "$T/t4.txt"
expect 1 "f8.npy: dtype '<f8'" "wrong dtype" -- \
    "$CS" --no-progress -p lru -s 2 --ignore-size --emb "$T/f8.npy" "$T/t3.txt"
expect 1 "missing.npy" "missing file" -- \
    "$CS" --no-progress -p lru -s 2 --ignore-size --emb "$T/missing.npy" "$T/t3.txt"
expect 1 "no 'class' field" "semantic needs class" -- \
    "$CS" --no-progress -p semantic -s 2 --ignore-size --emb "$T/e.npy" "$T/t3.txt"
expect_out "threshold" "semantic parameters" -- "$CS" --policy-help semantic
expect_out "context_threshold" "meancache parameters" -- "$CS" --policy-help meancache
expect_out "--emb FILE" "help names --emb" -- "$CS" --help

finish
