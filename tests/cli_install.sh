#!/bin/sh
# cli_install.sh - `make install DESTDIR=... PREFIX=/usr` puts the tools,
# headers, libsim.a, libsim.so with its symlinks, libsim.pc and the man pages
# in place, and a small C program builds against the installed copy through
# pkg-config (shared and static) and runs.  Uses the same $BUILD as make check.
set -u
BUILD=${BUILD:-build}
T=$(mktemp -d "${TMPDIR:-/tmp}/cli_install.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "cli_install: FAIL: $*"; fails=$((fails + 1)); }

# A sanitizer build's library needs the sanitizer runtime in every program
# that links it: detect it from the archive rather than from the name.
san=""
if nm "$BUILD/libsim.a" 2>/dev/null | grep -q __asan; then
    san="-fsanitize=address,undefined -fno-omit-frame-pointer"
    mflags="SAN=1"
else
    mflags=""
fi

D=$T/root
# shellcheck disable=SC2086
if ! make -s install BUILD="$BUILD" $mflags DESTDIR="$D" PREFIX=/usr >"$T/make.log" 2>&1; then
    cat "$T/make.log"
    echo "cli_install: FAIL: make install"
    exit 1
fi

for f in bin/cachesim lib/libsim.a lib/pkgconfig/libsim.pc include/sim.h \
    include/sim_policy.h share/man/man1/cachesim.1 share/man/man3/libsim.3; do
    [ -f "$D/usr/$f" ] || fail "not installed: /usr/$f"
done
[ -x "$D/usr/bin/cachesim" ] || fail "cachesim is not executable"
for t in tools/*.c; do
    n=${t##*/}
    n=${n%.c}
    [ "$n" = cli ] && continue
    [ -x "$D/usr/bin/$n" ] || fail "tool $n not installed in /usr/bin"
done
for m in man/*.[1-9]; do
    [ -e "$m" ] || continue
    [ -f "$D/usr/share/man/man${m##*.}/${m##*/}" ] || fail "man page $m not installed"
done
for h in libsim/include/*.h; do
    [ -f "$D/usr/include/${h##*/}" ] || fail "header $h not installed"
done
real=$(cd "$D/usr/lib" && ls libsim.so.*.*.* 2>/dev/null | head -n 1)
[ -n "$real" ] && [ -f "$D/usr/lib/$real" ] || fail "no libsim.so.X.Y.Z"
for l in libsim.so libsim.so.0; do
    [ -L "$D/usr/lib/$l" ] || fail "$l is not a symlink"
    [ "$(readlink "$D/usr/lib/$l")" = "$real" ] || fail "$l -> $(readlink "$D/usr/lib/$l"), not $real"
done
grep -q '^prefix=/usr$' "$D/usr/lib/pkgconfig/libsim.pc" || fail "libsim.pc prefix is not /usr"
"$D/usr/bin/cachesim" --version >/dev/null || fail "installed cachesim --version"

# The program: keys a b a c b a through LRU holding 2 objects gives 1 hit
# and 5 misses (derivation in cli_cachesim.sh).
printf 'a\nb\na\nc\nb\na\n' >"$T/tiny.txt"
cat >"$T/prog.c" <<'EOF'
#include <stdio.h>
#include <sim.h>

int main(int argc, char **argv)
{
    char err[SIM_ERRLEN];
    struct sim_reader_opts ro = {SIM_FMT_PLAIN, 1, NULL};
    sim_reader *r = sim_reader_open(argc > 1 ? argv[1] : "-", &ro, err, sizeof err);
    if (!r) {
        fprintf(stderr, "prog: %s\n", err);
        return 1;
    }
    struct sim_cache_config cfg = {2, SIM_UNIT_OBJECTS, 1, sim_reader_fields(r), NULL};
    sim_cache *c = sim_cache_create("lru", &cfg, err, sizeof err);
    if (!c || sim_run(r, &c, 1, NULL, err, sizeof err)) {
        fprintf(stderr, "prog: %s\n", err);
        return 1;
    }
    struct sim_metrics m;
    sim_cache_metrics(c, &m);
    printf("%s %llu %llu\n", sim_version(), (unsigned long long)m.hits,
           (unsigned long long)m.misses);
    sim_cache_free(c);
    sim_reader_close(r);
    return 0;
}
EOF

# pkg-config sees the staged tree through its sysroot; keep -I/usr/include
# and -L/usr/lib, which it would otherwise drop as system directories.
pc() {
    PKG_CONFIG_PATH="$D/usr/lib/pkgconfig" PKG_CONFIG_LIBDIR="$D/usr/lib/pkgconfig:/usr/lib/pkgconfig:/usr/share/pkgconfig:/usr/lib/$(uname -m)-linux-gnu/pkgconfig" \
        PKG_CONFIG_SYSROOT_DIR="$D" PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 \
        pkg-config "$@" libsim
}
cflags=$(pc --cflags) || fail "pkg-config --cflags libsim"
libs=$(pc --libs) || fail "pkg-config --libs libsim"
slibs=$(pc --libs --static) || fail "pkg-config --libs --static libsim"
[ "$(pc --modversion)" = "$("$D/usr/bin/cachesim" --version | cut -d' ' -f2)" ] ||
    fail "libsim.pc version differs from cachesim --version"
want="$("$D/usr/bin/cachesim" --version | cut -d' ' -f2) 1 5"

# shellcheck disable=SC2086
if ${CC:-cc} -std=c11 -Wall -Wextra -Werror $san $cflags -o "$T/prog_shared" "$T/prog.c" $libs \
    >"$T/cc.log" 2>&1; then
    got=$(LD_LIBRARY_PATH="$D/usr/lib" "$T/prog_shared" "$T/tiny.txt") || fail "shared program failed"
    [ "$got" = "$want" ] || fail "shared program printed '$got', expected '$want'"
    LD_LIBRARY_PATH="$D/usr/lib" ldd "$T/prog_shared" | grep -q "$D/usr/lib/libsim.so.0" ||
        fail "shared program does not use the installed libsim.so.0"
else
    fail "shared build with pkg-config: $(cat "$T/cc.log")"
fi
# Static: name the archive itself, as `-static` would also make libc static.
# shellcheck disable=SC2086
if ${CC:-cc} -std=c11 -Wall -Wextra -Werror $san $cflags -o "$T/prog_static" "$T/prog.c" \
    "$D/usr/lib/libsim.a" $(echo $slibs | sed 's/-lsim//') >"$T/cc.log" 2>&1; then
    got=$("$T/prog_static" "$T/tiny.txt") || fail "static program failed"
    [ "$got" = "$want" ] || fail "static program printed '$got', expected '$want'"
else
    fail "static build with pkg-config --static: $(cat "$T/cc.log")"
fi

# Manual pages render without warnings.
if command -v groff >/dev/null 2>&1; then
    for m in "$D"/usr/share/man/man*/*; do
        [ -e "$m" ] || continue
        w=$(groff -mandoc -Tutf8 -ww -z "$m" 2>&1)
        [ -z "$w" ] || fail "groff warnings in ${m##*/}: $w"
    done
fi

if [ "$fails" -ne 0 ]; then
    echo "cli_install: $fails check(s) failed"
    exit 1
fi
echo "cli_install: ok"
