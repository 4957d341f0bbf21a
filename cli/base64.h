/*
 * base64.h - standard base64 (RFC 4648 section 4, with '=' padding) for
 * putting binary message and schema data into JSON output.
 */
#ifndef CLI_BASE64_H
#define CLI_BASE64_H

#include <stddef.h>
#include <stdint.h>

/** Characters the encoding of `n` bytes takes (no terminator); SIZE_MAX if that overflows. */
size_t cli_base64_len(size_t n);

/**
 * Encode `n` bytes of `src` into `dst`, which must have room for
 * cli_base64_len(n) characters. No NUL is written.
 * @return the number of characters written.
 */
size_t cli_base64_encode(char *dst, const uint8_t *src, size_t n);

#endif /* CLI_BASE64_H */
