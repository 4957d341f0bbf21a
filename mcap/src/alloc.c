/*
 * alloc.c - libmcap's allocation wrappers. Every library allocation goes
 * through here so tests can count allocations or make them fail (alloc.h).
 *
 * Size 0 is rounded up to 1 so that NULL always means failure (malloc(0) and
 * realloc(p, 0) may legally return NULL, and realloc(p, 0) may free p).
 */
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "alloc.h"
#include "internal.h"

/* Test hook state (see alloc.h); off unless a test arms it. */
static atomic_int hook_armed;
static atomic_long hook_calls;
static atomic_long hook_fail_after = LONG_MAX;

static int hook_says_fail(void) {
  if (!atomic_load_explicit(&hook_armed, memory_order_relaxed)) return 0;
  long k = atomic_fetch_add_explicit(&hook_calls, 1, memory_order_relaxed);
  return k >= atomic_load_explicit(&hook_fail_after, memory_order_relaxed);
}

void mcap__set_alloc_fail_after(long n) {
  atomic_store(&hook_armed, 0);
  atomic_store(&hook_calls, 0);
  atomic_store(&hook_fail_after, n < 0 ? LONG_MAX : n);
  if (n >= 0) atomic_store(&hook_armed, 1);
}

long mcap__alloc_calls(void) {
  return atomic_load(&hook_calls);
}

void *mcap__malloc(size_t n) {
  if (hook_says_fail()) return NULL;
  return malloc(n ? n : 1);
}

void *mcap__calloc(size_t n, size_t size) {
  if (hook_says_fail()) return NULL;
  if (n == 0 || size == 0) return calloc(1, 1);
  return calloc(n, size); /* calloc checks n * size for overflow */
}

void *mcap__realloc(void *p, size_t n) {
  if (hook_says_fail()) return NULL;
  return realloc(p, n ? n : 1);
}

void mcap__free(void *p) {
  free(p);
}
