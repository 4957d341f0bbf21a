/*
 * utf8.h - UTF-8 checks and repair (utf8.c), private to the pipeline.
 */
#ifndef PL_UTF8_H
#define PL_UTF8_H

#include <stddef.h>

/** Length of the well-formed UTF-8 sequence at p[0..n) (1-4), or 0 when it is
 * ill-formed; then *bad (if non-NULL) gets the length of its maximal subpart (>= 1),
 * which is what one U+FFFD replaces. */
size_t pl__utf8_seq(const unsigned char *p, size_t n, size_t *bad);
/** 1 when s[0..n) is well-formed UTF-8. */
int pl__utf8_valid(const char *s, size_t n);
/** A copy of s[0..n) with each ill-formed sequence replaced by U+FFFD (malloc'd,
 * NUL-terminated; its length in *out_len if non-NULL). NULL when out of memory. */
char *pl__utf8_fix(const char *s, size_t n, size_t *out_len);

#endif
