/*
 * endian.h - byte-wise little-endian load/store helpers. Compilers turn these
 * into single moves on little-endian machines; they are correct everywhere.
 */
#ifndef MCAP_ENDIAN_H
#define MCAP_ENDIAN_H

#include <stdint.h>

static inline uint16_t mcap__le16dec(const uint8_t *p) {
  return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t mcap__le32dec(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t mcap__le64dec(const uint8_t *p) {
  return (uint64_t)mcap__le32dec(p) | (uint64_t)mcap__le32dec(p + 4) << 32;
}

static inline void mcap__le16enc(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static inline void mcap__le32enc(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static inline void mcap__le64enc(uint8_t *p, uint64_t v) {
  mcap__le32enc(p, (uint32_t)v);
  mcap__le32enc(p + 4, (uint32_t)(v >> 32));
}

#endif
