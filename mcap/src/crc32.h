/*
 * crc32.h - libmcap's CRC-32 implementations (private). mcap_crc32() in mcap.h
 * is the one to use; these names exist so tests and benchmarks can compare the
 * implementations with each other.
 *
 * All functions compute CRC-32/ISO-HDLC exactly like zlib's crc32(): start with
 * crc = 0, and f(f(0, a, n), b, m) == f(0, a||b, n + m).
 */
#ifndef MCAP_CRC32_H
#define MCAP_CRC32_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The portable slicing-by-16 table version (any CPU, any length). */
uint32_t mcap__crc32_table(uint32_t crc, const void *data, size_t len);

/*
 * The fastest version this CPU supports: carry-less multiplication folding on
 * x86-64, with AVX-512 or else AVX2 VPCLMULQDQ for inputs of 512 bytes or more
 * and PCLMULQDQ + SSE4.1 from 64 bytes, the table version otherwise. The CPU check
 * runs once per process. Thread-safe.
 */
uint32_t mcap__crc32_fast(uint32_t crc, const void *data, size_t len);

/* The 128-bit PCLMULQDQ folding alone (table version without it), so tests and
 * the benchmark can compare it with the 512-bit one. */
uint32_t mcap__crc32_pclmul(uint32_t crc, const void *data, size_t len);

/* The 256-bit VPCLMULQDQ (AVX2) folding alone where the CPU has it (else as
 * mcap__crc32_pclmul), so tests check it on AVX-512 machines too. */
uint32_t mcap__crc32_vpclmul256(uint32_t crc, const void *data, size_t len);

/* The CRC of A || B from crc_a = CRC(A), crc_b = CRC(B) and the length of B
 * (zlib's crc32_combine): lets pieces of one buffer be checked on different
 * threads. About 1 us; any len_b. */
uint32_t mcap__crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

/* Name of the implementation mcap__crc32_fast uses for long inputs:
 * "vpclmul-avx512", "vpclmul-avx2", "pclmul" or "slicing-by-16". Static storage. */
const char *mcap__crc32_impl(void);

#ifdef __cplusplus
}
#endif

#endif
