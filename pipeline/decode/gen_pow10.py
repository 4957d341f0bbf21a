#!/usr/bin/env python3
"""gen_pow10.py - prints the table of cached powers of ten used by fmt_double.c.

Each entry is 10^k for k = -348, -340, ..., 340 as a 64-bit significand f with its
top bit set and a binary exponent e, f * 2^e being 10^k rounded to nearest.
Exact integer arithmetic; run it to check or regenerate the table:

    python3 pipeline/decode/gen_pow10.py
"""
from fractions import Fraction


def entry(k):
    v = Fraction(10) ** k
    e = v.numerator.bit_length() - v.denominator.bit_length() - 64
    # adjust e so that v / 2^e lies in [2^63, 2^64)
    while Fraction(v) / Fraction(2) ** e >= 2 ** 64:
        e += 1
    while Fraction(v) / Fraction(2) ** e < 2 ** 63:
        e -= 1
    q = Fraction(v) / Fraction(2) ** e
    f = q.numerator // q.denominator
    rem = q - f
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and f % 2 == 1):
        f += 1
    if f == 2 ** 64:
        f //= 2
        e += 1
    return f, e


def main():
    rows = []
    for k in range(-348, 341, 8):
        f, e = entry(k)
        rows.append("    {UINT64_C(0x%016x), %d, %d}," % (f, e, k))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
