/*
 * alloc.h - test-only hooks into libmcap's allocator (alloc.c). Library code
 * never calls these; allocation-failure tests use them to make the Nth and
 * later allocations fail and check that every path fails cleanly.
 *
 * The hook is process-wide (the one exception to "no global state", kept for
 * tests): it affects every handle in every thread. It is implemented with
 * atomics, so it is safe to call, but tests that arm it must not run other
 * libmcap work concurrently if they want exact counts.
 */
#ifndef MCAP_ALLOC_H
#define MCAP_ALLOC_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * n >= 0: the next n allocations (malloc, calloc, realloc) succeed and every
 * later one returns NULL. n < 0: switch the hook off. Either way the count
 * returned by mcap__alloc_calls() restarts at 0.
 */
void mcap__set_alloc_fail_after(long n);

/* Allocation calls seen since the hook was last armed (0 while it is off).
 * Arm it with LONG_MAX to count a scenario's allocations without failing any. */
long mcap__alloc_calls(void);

#ifdef __cplusplus
}
#endif

#endif
