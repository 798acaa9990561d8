# clilib.sh - what the CLI test scripts share; a script sets NAME (its own
# name, for messages) and sources this file:  . "$(dirname "$0")/clilib.sh"
# It gives $BUILD, a temporary directory $T removed on exit, fail and
# expect, oracleGeneral records in portable printf (le, rec), and finish.

BUILD=${BUILD:-build}
T=$(mktemp -d "${TMPDIR:-/tmp}/$NAME.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
fails=0

fail() { echo "$NAME: FAIL: $*"; fails=$((fails + 1)); }

# expect STATUS PATTERN DESCRIPTION -- CMD...: runs CMD, checks its exit
# status and that stderr contains PATTERN (a fixed string; "" for any).
expect() {
    want=$1 pat=$2 what=$3
    shift 4
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        fail "$what: exit $got, expected $want ($(head -c 300 "$T/err"))"
    elif [ -n "$pat" ] && ! grep -qF -- "$pat" "$T/err"; then
        fail "$what: stderr lacks '$pat': $(head -c 300 "$T/err")"
    fi
}

# expect_out PATTERN DESCRIPTION -- CMD...: runs CMD, checks that it exits 0
# and that stdout contains PATTERN (a fixed string).
expect_out() {
    pat=$1 what=$2
    shift 3
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" -ne 0 ]; then
        fail "$what: exit $got, expected 0 ($(head -c 300 "$T/err"))"
    elif ! grep -qF -- "$pat" "$T/out"; then
        fail "$what: stdout lacks '$pat': $(head -c 300 "$T/out")"
    fi
}

# le N BYTES: N as BYTES little-endian bytes.
le() {
    v=$1 n=$2
    while [ "$n" -gt 0 ]; do
        printf "\\$(printf %o $((v % 256)))"
        v=$((v / 256))
        n=$((n - 1))
    done
}
# rec TIME ID SIZE: one 24-byte oracleGeneral record with next_access -1.
rec() { le "$1" 4; le "$2" 8; le "$3" 4; printf '\377\377\377\377\377\377\377\377'; }

# finish: the exit status and last line of a script.
finish() {
    if [ "$fails" -ne 0 ]; then
        echo "$NAME: $fails check(s) failed"
        exit 1
    fi
    echo "$NAME: ok"
}
