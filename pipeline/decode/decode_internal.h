/*
 * decode_internal.h - private declarations of pl_decode (pipeline/decode/):
 * the arena, the text buffer helpers, the type graph every schema parser
 * builds, the decode context that carries errors, and the entry points of the
 * per-format files. Only this library's files include it.
 *
 * Invariants:
 * - A pl__type graph lives in its schema's arena and is immutable after
 *   pl__schema_finish(): decoders only read it (one decoder per thread).
 * - Every recursive walk over types or values carries a depth and stops at
 *   max_depth, so hostile schemas cannot overflow the stack.
 * - Every allocation made while decoding a message comes from the decoder's
 *   tree arena, which has a hard byte limit; reaching it is PL_DECODE_ELIMIT.
 */
#ifndef PL_DECODE_INTERNAL_H
#define PL_DECODE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pipeline/core.h" /* pl_utf8_next */
#include "pipeline/decode.h"

/* ------------------------------------------------------------------- arena */

struct pl__arena_chunk {
  struct pl__arena_chunk *next;
  size_t cap, used;
  /* data follows, 16-byte aligned */
};

/* A bump allocator with a hard limit on the bytes it holds (0 = none). */
struct pl__arena {
  struct pl__arena_chunk *head;
  uint64_t total; /* bytes of all chunks */
  uint64_t limit;
  int over; /* the last failure was the limit, not malloc */
};

void *pl__arena_alloc_slow(struct pl__arena *a, size_t n);

/* n bytes, 8-byte aligned, uninitialised; NULL when out of memory or over the limit. */
static inline void *pl__arena_alloc(struct pl__arena *a, size_t n) {
  struct pl__arena_chunk *h = a->head;
  n = (n + 7) & ~(size_t)7;
  if (h && h->cap - h->used >= n) {
    void *p = (char *)(h + 1) + h->used;
    h->used += n;
    return p;
  }
  return pl__arena_alloc_slow(a, n);
}

/* Forget everything allocated; keep one chunk for reuse. */
void pl__arena_reset(struct pl__arena *a);
void pl__arena_dispose(struct pl__arena *a);
/* A NUL-terminated copy of s[0..n). */
char *pl__arena_strdup(struct pl__arena *a, const char *s, size_t n);

/* ---------------------------------------------------------- text buffer */

int pl__text_grow(pl_text *t, size_t n);

/* Room for n more bytes: 0 or -1 (out of memory). Afterwards t->data is never NULL, so
 * t->data + t->len is always a valid pointer (even for n = 0). */
static inline int pl__text_reserve(pl_text *t, size_t n) {
  return t->cap - t->len >= n && t->data ? 0 : pl__text_grow(t, n);
}

static inline int pl__text_put(pl_text *t, const void *s, size_t n) {
  if (pl__text_reserve(t, n) != 0) return -1;
  memcpy(t->data + t->len, s, n);
  t->len += n;
  return 0;
}

static inline int pl__text_ch(pl_text *t, char c) {
  if (pl__text_reserve(t, 1) != 0) return -1;
  t->data[t->len++] = c;
  return 0;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define PL__HOST_BE 1
#else
#define PL__HOST_BE 0
#endif

/* The n-byte (1, 2, 4 or 8) unsigned integer at p, big-endian when be; the caller checked
 * that the bytes are there. */
static inline uint64_t pl__load_uint(const uint8_t *p, size_t n, int be) {
  int swap = be != PL__HOST_BE;
  switch (n) {
    case 1:
      return p[0];
    case 2: {
      uint16_t v;
      memcpy(&v, p, 2);
      return swap ? __builtin_bswap16(v) : v;
    }
    case 4: {
      uint32_t v;
      memcpy(&v, p, 4);
      return swap ? __builtin_bswap32(v) : v;
    }
    default: {
      uint64_t v;
      memcpy(&v, p, 8);
      return swap ? __builtin_bswap64(v) : v;
    }
  }
}

/* Decimal text of v at p (room for 20 bytes); returns the length. */
size_t pl__fmt_u64(char *p, uint64_t v);
size_t pl__fmt_i64(char *p, int64_t v);

/* Append code point cp as UTF-8 (invalid ones as U+FFFD) at p (4 bytes room); length. */
size_t pl__utf8_put(char *p, uint32_t cp);

/* Unescape the body of a JSON string (already validated) into t. 0 or -1. */
int pl__json_unescape(pl_text *t, const char *s, size_t n);

/* ------------------------------------------------------------ type graph */

enum pl__tk {
  PL__T_BOOL,
  PL__T_I8,
  PL__T_U8,
  PL__T_I16,
  PL__T_U16,
  PL__T_I32,
  PL__T_U32,
  PL__T_I64,
  PL__T_U64,
  PL__T_F32,
  PL__T_F64,
  PL__T_STRING,
  PL__T_WSTRING,
  PL__T_STRUCT,   /* fields */
  PL__T_ARRAY,    /* n elements of elem */
  PL__T_SEQ,      /* a length, then elements of elem; n = bound (0 = unbounded) */
  PL__T_ENUM,     /* CDR: uint32; protobuf: int32 varint; n names */
  PL__T_TIME,     /* ros1: uint32 sec, uint32 nsec */
  PL__T_DURATION, /* ros1: int32 sec, int32 nsec */
  PL__T_MAP,      /* protobuf map<key, elem> */
  PL__T_BYTES,    /* protobuf bytes */
  PL__T_JSON,     /* any JSON value (JSON schema without a usable type) */
  PL__T_NUMBER,   /* JSON number */
  PL__T_REF,      /* unresolved name, only while a schema is being parsed */
  PL__T_ALIAS     /* IDL typedef: elem is the type; only while parsing */
};

/* Protobuf scalar wire forms, for PL__T_* kinds that have several. */
enum pl__pb_form {
  PL__PB_VARINT = 0, /* int32, int64, uint32, uint64, bool, enum */
  PL__PB_ZIGZAG,     /* sint32, sint64 */
  PL__PB_FIXED       /* fixed32/64, sfixed32/64, float, double */
};

/* protobuf message types with canonical JSON forms */
enum pl__pb_wkt { PL__WKT_NONE = 0, PL__WKT_TIMESTAMP, PL__WKT_DURATION };

struct pl__type;

struct pl__field {
  pl_name name;
  struct pl__type *type;
  uint32_t number;  /* protobuf field number */
  int32_t oneof;    /* protobuf oneof index, -1 for none */
  uint8_t presence; /* protobuf: absent is null, not the default */
  uint8_t pb_form;  /* enum pl__pb_form */
  uint8_t repeated; /* protobuf: type is a PL__T_SEQ of the element */
  uint8_t packable; /* protobuf: a scalar that may come packed */
};

struct pl__type {
  uint8_t kind;          /* enum pl__tk */
  uint8_t mark;          /* walk state (finish: 0 new, 1 on the path, 2 done) */
  uint8_t ros2_empty;    /* CDR: a struct without fields is one uint8 on the wire */
  uint8_t wkt;           /* enum pl__pb_wkt */
  uint8_t base64;        /* JSON schema: a string with contentEncoding base64 */
  uint8_t map_entry;     /* protobuf: a synthesized map entry message */
  uint8_t plain;         /* STRUCT: names need no JSON escaping (PL_VALUE_F_PLAIN_NAMES) */
  uint32_t n;            /* ARRAY length, SEQ bound, STRUCT fields, ENUM values */
  struct pl__type *elem; /* ARRAY/SEQ elements, MAP values */
  struct pl__type *key;  /* MAP keys */
  struct pl__field *fields;
  pl_name *names;    /* STRUCT: field names; ENUM: value names */
  int32_t *numbers;  /* ENUM: value numbers */
  pl_name name;      /* STRUCT/ENUM/REF: full name (REF: as written) */
  pl_name scope;     /* REF: the package/scope it was written in */
  uint64_t min_size; /* CDR/ROS1: wire bytes at least (saturated) */
  /* protobuf: field index by number */
  uint32_t *by_number; /* dense: by_number[number] = field index + 1 (0 = none) */
  uint32_t by_number_n;
  uint32_t *sorted;   /* sparse: field indexes sorted by number */
  uint32_t max_oneof; /* protobuf: number of oneofs */
};

/* Everything parsed from one schema. */
struct pl__schema {
  struct pl__arena arena;
  struct pl__type *root;
  /* name -> struct/enum type */
  struct pl__type **tab;
  uint32_t tab_cap, tab_n;
  /* type slots that hold PL__T_REF nodes, patched by pl__schema_resolve */
  struct pl__type ***slots;
  size_t n_slots, cap_slots;
  uint32_t max_depth;
  uint32_t max_fixed_array;
  char err[400];
};

/* Primitive type nodes shared by every schema (immutable). */
struct pl__type *pl__prim(int kind);
/* A new node of `kind` in the schema's arena (zeroed). NULL when out of memory. */
struct pl__type *pl__type_new(struct pl__schema *s, int kind);
/* Register/lookup a named type. -1 when out of memory. */
int pl__schema_add(struct pl__schema *s, struct pl__type *t);
struct pl__type *pl__schema_find(const struct pl__schema *s, const char *name, size_t len);
/* Remember a slot holding a PL__T_REF to patch later. -1 when out of memory. */
int pl__schema_slot(struct pl__schema *s, struct pl__type **slot);
/* Fill struct names[] from fields[]. -1 when out of memory. */
int pl__struct_names(struct pl__schema *s, struct pl__type *t);
/*
 * Resolve references with `resolve` (returns the target or NULL), then check
 * the graph: depth, direct recursion (when `sized`), min sizes.
 * @return PL_DECODE_OK or an error with s->err set.
 */
typedef struct pl__type *(*pl__resolver)(struct pl__schema *s, const struct pl__type *ref);
int pl__schema_finish(struct pl__schema *s, pl__resolver resolve, int sized);
void pl__schema_dispose(struct pl__schema *s);
int pl__schema_error(struct pl__schema *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The value of a primitive numeric kind (PL__T_BOOL..PL__T_F64) from its raw bits: integers
 * narrowed and sign-extended as the kind says, floats reinterpreted, bool is x != 0. The one
 * conversion behind fixed-size fields (wire.c), packed array elements (util.c) and protobuf
 * scalars (proto.c). */
void pl__scalar_from_bits(int kind, uint64_t x, pl_value *out);

static inline int pl__is_prim_numeric(int k) {
  return k <= PL__T_F64;
}

/* Size in bytes of a primitive numeric kind (bool 1). */
static inline size_t pl__prim_size(int kind) {
  switch (kind) {
    case PL__T_BOOL:
    case PL__T_I8:
    case PL__T_U8:
      return 1;
    case PL__T_I16:
    case PL__T_U16:
      return 2;
    case PL__T_I32:
    case PL__T_U32:
    case PL__T_F32:
      return 4;
    default:
      return 8;
  }
}
/* pl_packed_kind of a primitive numeric kind. */
static inline uint8_t pl__packed_kind(int kind) {
  return (uint8_t)kind; /* the enums are in the same order */
}

/* ----------------------------------------------------------- decode context */

/* A growable stack of values and names for JSON objects and arrays under
 * construction (their sizes are known only at the closing bracket). Owned by
 * the decoder, reused from message to message, capped like the arena. */
struct pl__scratch {
  pl_value *vals;
  pl_name *names;
  size_t n, cap;
};

struct pl__dctx {
  struct pl__arena *arena;
  struct pl__scratch *scratch;
  const uint8_t *msg; /* the whole message, for offsets */
  size_t msg_len;
  uint32_t max_depth;
  unsigned wchar_size;
  int code;
  size_t offset; /* byte of the message where it failed */
  char why[256];
  char path[256]; /* field path, built backwards from the end */
  size_t path_start;
};

void pl__dctx_init(struct pl__dctx *c, struct pl__arena *arena, const uint8_t *msg, size_t len,
                   uint32_t max_depth);
int pl__fail(struct pl__dctx *c, int code, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Allocation failure in the tree arena: ELIMIT or ENOMEM, with the offset. */
int pl__fail_alloc(struct pl__dctx *c, size_t offset);
void pl__path_field(struct pl__dctx *c, const pl_name *name);
void pl__path_index(struct pl__dctx *c, size_t i);

static inline pl_value *pl__values(struct pl__dctx *c, size_t n) {
  return (pl_value *)pl__arena_alloc(c->arena, n * sizeof(pl_value));
}

/* ------------------------------------------------------------ per format */

/* ros1msg / ros2msg text; `ros2` selects the ROS 2 type names. */
int pl__rosmsg_parse(struct pl__schema *s, const char *text, size_t len, const char *name,
                     size_t name_len, int ros2);
/* ros2idl text (concatenated IDL files). */
int pl__idl_parse(struct pl__schema *s, const char *text, size_t len, const char *name,
                  size_t name_len);
/* A FileDescriptorSet; `name` is the fully-qualified message name. */
int pl__proto_parse(struct pl__schema *s, const uint8_t *data, size_t len, const char *name,
                    size_t name_len);
/* JSON schema text (for the CSV layout); an empty text gives a PL__T_JSON root. */
int pl__jsonschema_parse(struct pl__schema *s, const char *text, size_t len);

int pl__cdr_decode(struct pl__dctx *c, const struct pl__type *root, pl_value *out);
int pl__ros1_decode(struct pl__dctx *c, const struct pl__type *root, pl_value *out);
int pl__json_decode(struct pl__dctx *c, pl_value *out);
int pl__proto_decode(struct pl__dctx *c, const struct pl__type *root, pl_value *out);

/* Does the JSON string body `raw` (escapes included) spell `name`? */
int pl__json_key_eq(const char *raw, size_t raw_len, const char *name, size_t name_len);
void pl__scratch_dispose(struct pl__scratch *s);

/* The schema behind a decoder, for the CSV layout. */
const struct pl__schema *pl__decoder_schema(const pl_decoder *d);
uint32_t pl__decoder_max_depth(const pl_decoder *d);

/* Rendering helpers shared by JSON and CSV. */
/* Append a number value (INT/UINT/FLOAT32/FLOAT64/BOOL/NUMBER/ENUM number) as text;
 * json: big integers and non-finite floats quoted. */
int pl__render_scalar(pl_text *t, const pl_value *v, int json);
/* Element i of a packed array as a value (no checks). */
void pl__packed_get(const pl_value *a, size_t i, pl_value *out);

/* RFC 3339 with 0/3/6/9 fraction digits of (seconds, nanos) for protobuf
 * Timestamp; returns length or 0 when out of range (years 1..9999). */
size_t pl__fmt_timestamp(int64_t secs, int32_t nanos, char *buf);

#endif /* PL_DECODE_INTERNAL_H */
