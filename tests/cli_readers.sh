#!/bin/sh
# cli_readers.sh - trace readers and writers through cachesim: --convert
# round trips (CSV -> oracle.zst -> CSV gives the same rows; next_access
# computed), a malformed line is exit 1 with "file:line:", and a failed
# conversion leaves no output file.
set -u
BUILD=${BUILD:-build}
CS=$BUILD/cachesim
T=$(mktemp -d "${TMPDIR:-/tmp}/cli_readers.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
fail=0
no() { echo "cli_readers: FAILED: $*"; fail=1; }

# Keys 5 6 5 7 6: key 5 (index 0) is next at index 2, key 6 (index 1) at
# index 4, the rest never: next_access is 2 4 -1 -1 -1.
printf 'time,key,size,op\n1,5,10,get\n2,6,20,set\n3,5,10,get\n4,7,1,delete\n5,6,20,get\n' >"$T/a.csv"
"$CS" --convert oracle -o "$T/a.bin.zst" "$T/a.csv" || no "convert to oracle"
"$CS" --convert csv -o "$T/b.csv" "$T/a.bin.zst" || no "convert back to csv"
printf 'time,key,size,next_access\n1,5,10,2\n2,6,20,4\n3,5,10,-1\n4,7,1,-1\n5,6,20,-1\n' >"$T/want.csv"
cmp -s "$T/b.csv" "$T/want.csv" || no "oracle round trip: $(cat "$T/b.csv")"
"$CS" --convert csv -o "$T/c.csv.gz" "$T/a.csv" || no "convert to csv.gz"
"$CS" --convert csv -o "$T/d.csv" "$T/c.csv.gz" || no "convert from csv.gz"
cmp -s "$T/a.csv" "$T/d.csv" || no "csv round trip through gzip: $(cat "$T/d.csv")"

# Category names survive a conversion (the writer takes the reader's names).
printf 'key,category\n1,code\n2,chat\n3,code\n' >"$T/cat.csv"
"$CS" --convert csv -o "$T/cat2.csv" "$T/cat.csv" || no "convert categories"
cmp -s "$T/cat.csv" "$T/cat2.csv" || no "category names lost: $(cat "$T/cat2.csv")"

# A binary file that is not whole 24-byte records is refused up front.
printf '\001\002\003\000\000' >"$T/odd.bin"
"$CS" -p lru -s 10 "$T/odd.bin" 2>"$T/err"
[ $? -eq 1 ] || no "odd binary: exit status"
grep -q "not a multiple of 24" "$T/err" || no "odd binary message: $(cat "$T/err")"

# Line 3 is malformed: exit 1, message "cachesim: FILE:3: ...", no output left.
printf 'time,key,size\n1,5,10\n2,x6\n' >"$T/bad.csv"
"$CS" --convert oracle -o "$T/bad.bin" "$T/bad.csv" 2>"$T/err"
[ $? -eq 1 ] || no "malformed line: exit status"
grep -q "^cachesim: $T/bad.csv:3: " "$T/err" || no "malformed line message: $(cat "$T/err")"
[ ! -e "$T/bad.bin" ] || no "failed conversion left $T/bad.bin"
[ "$(ls "$T" | grep -c tmp)" -eq 0 ] || no "temporary files left: $(ls "$T")"
exit $fail
