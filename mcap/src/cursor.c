/*
 * cursor.c - bounds-checked field readers over untrusted record content.
 * Every reader checks the bytes left before touching them and names the
 * record, field and offset when they are short.
 */
#include "internal.h"

void mcap__cursor_init(struct mcap_cursor *c, const uint8_t *p, uint64_t len, const char *record,
                       uint64_t base_offset, mcap_error_info *err) {
  c->p = p;
  c->left = len;
  c->record = record;
  c->base_offset = base_offset;
  c->start_left = len;
  c->err = err;
}

static int short_field(struct mcap_cursor *c, const char *field, uint64_t need) {
  return mcap__err(c->err, MCAP_ERECORD, c->base_offset,
                   "%s record at offset %llu: field '%s' needs %llu bytes at content byte %llu, "
                   "only %llu left",
                   c->record, (unsigned long long)c->base_offset, field, (unsigned long long)need,
                   (unsigned long long)(c->start_left - c->left), (unsigned long long)c->left);
}

int mcap__cursor_u8(struct mcap_cursor *c, const char *field, uint8_t *v) {
  if (c->left < 1) return short_field(c, field, 1);
  *v = c->p[0];
  c->p += 1;
  c->left -= 1;
  return MCAP_OK;
}

int mcap__cursor_u16(struct mcap_cursor *c, const char *field, uint16_t *v) {
  if (c->left < 2) return short_field(c, field, 2);
  *v = mcap__le16dec(c->p);
  c->p += 2;
  c->left -= 2;
  return MCAP_OK;
}

int mcap__cursor_u32(struct mcap_cursor *c, const char *field, uint32_t *v) {
  if (c->left < 4) return short_field(c, field, 4);
  *v = mcap__le32dec(c->p);
  c->p += 4;
  c->left -= 4;
  return MCAP_OK;
}

int mcap__cursor_u64(struct mcap_cursor *c, const char *field, uint64_t *v) {
  if (c->left < 8) return short_field(c, field, 8);
  *v = mcap__le64dec(c->p);
  c->p += 8;
  c->left -= 8;
  return MCAP_OK;
}

/* A length-prefixed run of bytes; the prefix is prefix_size (4 or 8) bytes. */
static int prefixed(struct mcap_cursor *c, const char *field, int prefix_size,
                    const uint8_t **data, uint64_t *len) {
  uint64_t n = 0;
  if (c->left < (uint64_t)prefix_size) return short_field(c, field, (uint64_t)prefix_size);
  n = prefix_size == 4 ? mcap__le32dec(c->p) : mcap__le64dec(c->p);
  if (n > c->left - (uint64_t)prefix_size) {
    return mcap__err(c->err, MCAP_ERECORD, c->base_offset,
                     "%s record at offset %llu: field '%s' declares %llu bytes at content byte "
                     "%llu, only %llu left",
                     c->record, (unsigned long long)c->base_offset, field, (unsigned long long)n,
                     (unsigned long long)(c->start_left - c->left),
                     (unsigned long long)(c->left - (uint64_t)prefix_size));
  }
  c->p += prefix_size;
  c->left -= (uint64_t)prefix_size;
  *data = n ? c->p : NULL;
  *len = n;
  c->p += n;
  c->left -= n;
  return MCAP_OK;
}

int mcap__cursor_str(struct mcap_cursor *c, const char *field, mcap_str *v) {
  const uint8_t *d = NULL;
  uint64_t n = 0;
  int rc = prefixed(c, field, 4, &d, &n);
  if (rc) return rc;
  v->data = (const char *)d;
  v->len = (uint32_t)n;
  return MCAP_OK;
}

int mcap__cursor_bytes32(struct mcap_cursor *c, const char *field, mcap_bytes *v) {
  return prefixed(c, field, 4, &v->data, &v->len);
}

int mcap__cursor_bytes64(struct mcap_cursor *c, const char *field, mcap_bytes *v) {
  return prefixed(c, field, 8, &v->data, &v->len);
}

int mcap__cursor_map(struct mcap_cursor *c, const char *field, int str_map, mcap_map *v) {
  const uint8_t *d = NULL;
  uint64_t n = 0;
  uint64_t at = c->start_left - c->left;
  int rc = prefixed(c, field, 4, &d, &n);
  if (rc) return rc;
  v->data = d;
  v->len = (uint32_t)n;
  /* Validate the entry area now so that walking it later cannot fail. */
  if (str_map) {
    mcap_map_iter it = {0};
    mcap_str k, val;
    while ((rc = mcap_map_next_str(v, &it, &k, &val)) == MCAP_OK) {
    }
    if (rc != MCAP_ITEROVER) {
      return mcap__err(c->err, MCAP_ERECORD, c->base_offset,
                       "%s record at offset %llu: field '%s' at content byte %llu: map entry at "
                       "map byte %u overruns the map's %u bytes",
                       c->record, (unsigned long long)c->base_offset, field,
                       (unsigned long long)at, it.pos, v->len);
    }
  } else if (n % 10 != 0) {
    return mcap__err(c->err, MCAP_ERECORD, c->base_offset,
                     "%s record at offset %llu: field '%s' at content byte %llu: map length %u "
                     "is not a multiple of 10",
                     c->record, (unsigned long long)c->base_offset, field,
                     (unsigned long long)at, v->len);
  }
  return MCAP_OK;
}

int mcap__cursor_rest(struct mcap_cursor *c, mcap_bytes *v) {
  v->data = c->left ? c->p : NULL;
  v->len = c->left;
  c->p += c->left;
  c->left = 0;
  return MCAP_OK;
}
