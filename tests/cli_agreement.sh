#!/bin/sh
# cli_agreement.sh - cachesim agrees with libCacheSim, request for request.
#
# The expected values are libCacheSim's, not ours: the miss counts and missed
# bytes that 1a1a11a/libCacheSim's test/test_evictionAlgo.c asserts for its
# sample trace cloudPhysicsIO.oracleGeneral.bin (113,872 requests) at cache
# sizes 128 MiB, 256 MiB, ..., 1 GiB.  Policies this build lacks are skipped;
# LRU and FIFO are always checked.  Needs traces/cloudPhysicsIO.oracleGeneral.bin
# (or $CLOUD_TRACE); without it the test says so and passes.
set -u
BUILD=${BUILD:-build}
CS=$BUILD/cachesim
trace=${CLOUD_TRACE:-traces/cloudPhysicsIO.oracleGeneral.bin}
if [ ! -r "$trace" ]; then
    echo "cli_agreement: note: $trace is missing; agreement not checked"
    exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/cli_agreement.XXXXXX")
trap 'rm -rf "$T"' EXIT

# spec (cachesim), then misses at the 8 sizes, then missed bytes.
cat >"$T/expected" <<'END'
lru 93374 89783 83572 81722 72494 72104 71972 71704 4214303232 4061242368 3778040320 3660569600 3100927488 3078128640 3075403776 3061662720
fifo 93403 89386 84387 84025 72498 72228 72182 72140 4213112832 4052646400 3829170176 3807412736 3093146112 3079525888 3079210496 3077547520
clock 93313 89775 83411 81328 74815 72283 71927 64456 4213887488 4064512000 3762650624 3644467200 3256760832 3091688448 3074241024 2697378816
lfu 91699 86720 78578 76707 69945 66221 64445 64376 4158632960 3917211648 3536227840 3455379968 3035580416 2801699328 2699456000 2696345600
arc 90252 85861 78168 74297 67381 65685 64439 64772 4068098560 3821026816 3525644800 3296890368 2868538880 2771180032 2699484672 2712971264
lirs:lcs=1 89819 79237 73143 70363 68405 64494 58640 53924 4060558336 3525952512 3199406080 3011810816 2848310272 2580918784 2361375744 2288325120
s3fifo 90117 80915 75060 72191 69815 65542 60799 56045 4058576896 3573827584 3244417024 3061737984 2898109952 2628363776 2425027072 2327934464
sieve 91699 86720 78578 76707 69945 66221 64445 64376 4158632960 3917211648 3536227840 3455379968 3035580416 2801699328 2699456000 2696345600
belady 79256 70724 65481 61594 59645 57599 50873 48974 3472532480 2995165696 2726689792 2537648128 2403427840 2269212672 2134992896 2029769728
gdsf 89070 84750 74850 70490 67923 64180 61027 58721 4210726912 4057058816 3719176192 3436855296 3271648256 3029728768 2828456448 2677800448
END

"$CS" --list-policies | awk '/^[a-z0-9_-]+ / { print $1 }' >"$T/have"
specs=""
while read -r spec rest; do
    if grep -qx "${spec%%:*}" "$T/have"; then
        specs="$specs${specs:+,}$spec"
    fi
done <"$T/expected"
if ! "$CS" --no-progress -j 2 -p "$specs" -s 128M,256M,384M,512M,640M,768M,896M,1G \
    "$trace" >"$T/out.csv"; then
    echo "cli_agreement: FAIL: cachesim failed"
    exit 1
fi
# One line per spec in the same layout as expected, columns found by name.
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { s = $c["policy"] ($c["params"] != "" ? ":" $c["params"] : "")
      if (!(s in m)) order[n++] = s
      m[s] = m[s] " " $c["misses"]; b[s] = b[s] " " $c["bytes_missed"]
      if ($c["requests"] != 113872) print "requests " $c["requests"] > "/dev/stderr" }
    END { for (i = 0; i < n; i++) print order[i] m[order[i]] b[order[i]] }' "$T/out.csv" >"$T/got"
fails=0
while read -r spec rest; do
    grep -qx "${spec%%:*}" "$T/have" || continue
    got=$(grep "^$spec " "$T/got")
    if [ "$got" != "$spec $rest" ]; then
        echo "cli_agreement: FAIL: $spec differs from libCacheSim"
        echo "  libCacheSim: $rest"
        echo "  cachesim:    ${got#* }"
        fails=$((fails + 1))
    fi
done <"$T/expected"
[ "$fails" -eq 0 ] || exit 1
echo "cli_agreement: ok ($specs)"
