#!/usr/bin/env python3
# gen-ziggurat.py - writes libsim/gen_zig_tab.h, the tables of the exponential
# ziggurat in gen_math.c (Marsaglia and Tsang, "The ziggurat method for
# generating random variables", J. Stat. Software 5(8), 2000), computed with
# mpmath at 60 digits and rounded to the nearest double.
#   Layers i = 0..255 have equal area v; x_1 = r, x_{i+1} = -log(e^-x_i + v/x_i),
#   x_256 = 0, and the base layer's width is x_0 = v / e^-r (rectangle + tail).
#   r solves x_256 = 0 (bisection).  Usage: scripts/gen-ziggurat.py > libsim/gen_zig_tab.h
from mpmath import mp, mpf, exp, log, ceil

mp.dps = 60
N = 256


def miss(r):
    """e^-x_255 + v/x_255 - 1: positive while r is too small."""
    v = (r + 1) * exp(-r)
    x = r
    for i in range(1, N - 1):
        y = exp(-x) + v / x
        if y >= 1:
            return mpf(N - i)
        x = -log(y)
    return exp(-x) + v / x - 1


lo, hi = mpf(7), mpf(8)
for _ in range(220):
    mid = (lo + hi) / 2
    lo, hi = (mid, hi) if miss(mid) > 0 else (lo, mid)
r = (lo + hi) / 2
v = (r + 1) * exp(-r)
xs = [v / exp(-r), r]
for i in range(1, N - 1):
    xs.append(-log(exp(-xs[-1]) + v / xs[-1]))
xs.append(mpf(0))
two53 = mpf(2) ** 53


def table(ctype, name, vals, per):
    rows = [", ".join(vals[i:i + per]) for i in range(0, len(vals), per)]
    return "static const %s %s[%d] = {\n    %s};" % (ctype, name, len(vals), ",\n    ".join(rows))


print("/* gen_zig_tab.h - tables of the exponential ziggurat (gen_math.c), written by")
print(" * scripts/gen-ziggurat.py: 256 layers of area v = %s, r = %s." % (mp.nstr(v, 17), mp.nstr(r, 17)))
print(" *   zig_w[i] = x_i / 2^53; zig_k[i] = ceil(2^53 x_{i+1} / x_i); zig_f[i] = e^-x_i. */")
print("static const double zig_r = %s;" % float(r).hex())
print(table("double", "zig_w", [float(xs[i] / two53).hex() for i in range(N)], 3))
print(table("uint64_t", "zig_k", ["UINT64_C(%d)" % int(ceil(two53 * xs[i + 1] / xs[i])) for i in range(N)], 3))
print(table("double", "zig_f", [float(exp(-xs[i])).hex() for i in range(N + 1)], 3))
