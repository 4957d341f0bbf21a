#!/usr/bin/env python3
"""gen_pow10.py - prints the tables of powers of ten used by fmt_double.c.

    python3 pipeline/decode/gen_pow10.py

Exact integer arithmetic (fractions). For each e = -292 .. 324, 10^e as a
126-bit integer g with 10^e * 2^(125 - floor(log2(10^e))) < g, g = that value
rounded down, plus one (so g is in [2^125, 2^126]), printed as its high and low
64-bit halves: the table of the Schubfach-style conversion (float64 and
float32 both use it).
"""
from fractions import Fraction


def flog2pow10(e):
    return (e * 913124641741) >> 38


def table(lo, hi, bits):
    rows = []
    for e in range(lo, hi + 1):
        v = Fraction(10) ** e
        scaled = v * Fraction(2) ** (bits - 1 - flog2pow10(e))
        g = scaled.numerator // scaled.denominator + 1
        assert 2 ** (bits - 1) < g <= 2 ** bits
        rows.append((e, g))
    return rows


def main():
    for e, g in table(-292, 324, 126):
        print("    {UINT64_C(0x%016x), UINT64_C(0x%016x)}, /* %d */" % (g >> 64, g & (2**64 - 1), e))


if __name__ == "__main__":
    main()
