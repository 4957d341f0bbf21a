/*
 * inspect_internal.h - what the files of pl_inspect share (never installed): growable
 * arrays, NUL-terminated copies of string views, and setting a pl_error_info.
 */
#ifndef PIPELINE_INSPECT_INTERNAL_H
#define PIPELINE_INSPECT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/inspect.h"

/* A NUL-terminated malloc'd copy of a view; NULL when out of memory. */
char *pl__insp_dup(mcap_str s);

/* Grow *arr (elements of `size` bytes, capacity *cap) to hold n + 1. @return 0 or -1. */
int pl__insp_grow(void **arr, size_t *cap, size_t n, size_t size);

/* Fill err (nullable): code, mcap_code, offset and the formatted message. @return code. */
int pl__insp_fail(pl_error_info *err, int code, int mcap_code, uint64_t offset, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));

#endif /* PIPELINE_INSPECT_INTERNAL_H */
