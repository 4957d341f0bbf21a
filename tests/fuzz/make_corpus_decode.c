/*
 * make_corpus_decode.c - the seeds of the pl_decode fuzz targets, written by
 * mcapkit-make-corpus (make_corpus.c calls make_decode_corpus) into
 * OUTDIR/decode_<format>/<format>_<name>.bin: each seed is a format selector, a schema and a
 * message in the layout of fuzz_decode.h (u8 selector, u8 name length, name, u16
 * schema length, schema, message).
 * Messages are encoded here by hand (CDR in both byte orders, ROS 1, protobuf
 * with a hand-built FileDescriptorSet, JSON text); every seed is checked to
 * decode without error, so a seed that stops matching its decoder fails the
 * generator (and the fuzz_make_corpus test) instead of silently fuzzing
 * nothing. Deterministic; every file stays under 4 KiB.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pipeline/decode.h"

int make_decode_corpus(const char *root, unsigned *files);

#define SEED_MAX 4096

struct buf {
  uint8_t b[SEED_MAX];
  size_t n;
  size_t origin; /* CDR: where alignment counts from */
  int be;
  int overflow;
};

static void put(struct buf *b, const void *p, size_t n) {
  if (b->n + n > sizeof b->b) {
    b->overflow = 1;
    return;
  }
  memcpy(b->b + b->n, p, n);
  b->n += n;
}

static void putn(struct buf *b, uint64_t v, size_t n, int be) {
  uint8_t t[8];
  for (size_t i = 0; i < n; i++) t[i] = (uint8_t)(v >> (8 * (be ? n - 1 - i : i)));
  put(b, t, n);
}

/* ------------------------------------------------------------------ CDR */

static void cdr_begin(struct buf *b, int be) {
  memset(b, 0, sizeof *b);
  uint8_t h[4] = {0, be ? 0 : 1, 0, 0};
  put(b, h, 4);
  b->origin = 4;
  b->be = be;
}

static void cdr_num(struct buf *b, uint64_t v, size_t n) {
  while ((b->n - b->origin) % n) put(b, "", 1);
  putn(b, v, n, b->be);
}

static void cdr_f64(struct buf *b, double d) {
  uint64_t v;
  memcpy(&v, &d, 8);
  cdr_num(b, v, 8);
}

static void cdr_f32(struct buf *b, float f) {
  uint32_t v;
  memcpy(&v, &f, 4);
  cdr_num(b, v, 4);
}

static void cdr_str(struct buf *b, const char *s) {
  cdr_num(b, strlen(s) + 1, 4);
  put(b, s, strlen(s) + 1);
}

/* ---------------------------------------------------------------- ROS 1 */

static void r1_num(struct buf *b, uint64_t v, size_t n) {
  putn(b, v, n, 0);
}

static void r1_f64(struct buf *b, double d) {
  uint64_t v;
  memcpy(&v, &d, 8);
  r1_num(b, v, 8);
}

static void r1_str(struct buf *b, const char *s) {
  r1_num(b, strlen(s), 4);
  put(b, s, strlen(s));
}

/* ------------------------------------------------------------- protobuf */

static void pb_varint_raw(struct buf *b, uint64_t v) {
  while (v >= 0x80) {
    uint8_t c = (uint8_t)(v | 0x80);
    put(b, &c, 1);
    v >>= 7;
  }
  uint8_t c = (uint8_t)v;
  put(b, &c, 1);
}

static void pb_varint(struct buf *b, unsigned field, uint64_t v) {
  pb_varint_raw(b, (uint64_t)field << 3);
  pb_varint_raw(b, v);
}

static void pb_len(struct buf *b, unsigned field, const void *p, size_t n) {
  pb_varint_raw(b, (uint64_t)field << 3 | 2);
  pb_varint_raw(b, n);
  put(b, p, n);
}

static void pb_str(struct buf *b, unsigned field, const char *s) {
  pb_len(b, field, s, strlen(s));
}

static void pb_sub(struct buf *b, unsigned field, const struct buf *sub) {
  pb_len(b, field, sub->b, sub->n);
}

static void pb_fixed64(struct buf *b, unsigned field, double d) {
  uint64_t v;
  memcpy(&v, &d, 8);
  pb_varint_raw(b, (uint64_t)field << 3 | 1);
  putn(b, v, 8, 0);
}

/* FieldDescriptorProto: name, number, label, type, type_name, oneof index (-1 none) */
static void pb_field(struct buf *msg, const char *name, int number, int label, int type,
                     const char *type_name, int oneof) {
  static struct buf f;
  memset(&f, 0, sizeof f);
  pb_str(&f, 1, name);
  pb_varint(&f, 3, (uint64_t)number);
  pb_varint(&f, 4, (uint64_t)label);
  pb_varint(&f, 5, (uint64_t)type);
  if (type_name) pb_str(&f, 6, type_name);
  if (oneof >= 0) pb_varint(&f, 9, (uint64_t)oneof);
  pb_sub(msg, 2, &f);
}

/* ---------------------------------------------------------------- seeds */

struct seeds {
  const char *root;
  unsigned *files;
  int failed;
};

/* fuzz_decode.h's selector of each format (its k_formats), and the seed file name prefix */
static const struct {
  const char *me, *se, *prefix;
} k_formats[5] = {{"cdr", "ros2msg", "ros2msg"},
                  {"cdr", "ros2idl", "ros2idl"},
                  {"ros1", "ros1msg", "ros1"},
                  {"json", "jsonschema", "json"},
                  {"protobuf", "protobuf", "protobuf"}};

static void seed(struct seeds *s, const char *file, const char *me, const char *se,
                 const char *name, const void *schema, size_t schema_len, const struct buf *msg) {
  char dir[32];
  int sel = -1;
  for (int i = 0; i < 5; i++)
    if (strcmp(k_formats[i].me, me) == 0 && strcmp(k_formats[i].se, se) == 0) sel = i;
  if (sel < 0) {
    fprintf(stderr, "make-corpus: decode seed %s: no selector for %s/%s\n", file, me, se);
    s->failed = 1;
    return;
  }
  snprintf(dir, sizeof dir, "decode_%s", k_formats[sel].prefix); /* the target's own seeds */
  if (msg->overflow) {
    fprintf(stderr, "make-corpus: decode seed %s/%s: message over %d bytes\n", dir, file, SEED_MAX);
    s->failed = 1;
    return;
  }
  /* the seed must decode: it is worth fuzzing only if it reaches the decoder */
  pl_decoder_spec spec;
  memset(&spec, 0, sizeof spec);
  spec.topic.data = "/seed";
  spec.topic.len = 5;
  spec.message_encoding.data = me;
  spec.message_encoding.len = (uint32_t)strlen(me);
  spec.schema_encoding.data = se;
  spec.schema_encoding.len = (uint32_t)strlen(se);
  spec.schema_name.data = name;
  spec.schema_name.len = (uint32_t)strlen(name);
  spec.schema_data.data = schema;
  spec.schema_data.len = schema_len;
  pl_decoder *d = NULL;
  pl_decode_error_info err;
  const pl_value *v;
  if (pl_decoder_create(&d, &spec, NULL, &err) != PL_DECODE_OK) {
    fprintf(stderr, "make-corpus: decode seed %s/%s: %s\n", dir, file, err.msg);
    s->failed = 1;
    return;
  }
  if (pl_decoder_decode_bytes(d, msg->b, msg->n, &v) != PL_DECODE_OK) {
    fprintf(stderr, "make-corpus: decode seed %s/%s: %s\n", dir, file, pl_decoder_errmsg(d));
    s->failed = 1;
  }
  pl_decoder_free(d);
  size_t nl = strlen(name);
  size_t total = 2 + nl + 2 + schema_len + msg->n;
  if (total >= SEED_MAX || nl > 255 || schema_len > 65535) {
    fprintf(stderr, "make-corpus: decode seed %s/%s would be %zu bytes\n", dir, file, total);
    s->failed = 1;
    return;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", s->root, dir);
  if (mkdir(path, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "make-corpus: cannot create '%s': %s\n", path, strerror(errno));
    s->failed = 1;
    return;
  }
  snprintf(path, sizeof path, "%s/%s/%s_%s", s->root, dir, k_formats[sel].prefix, file);
  FILE *f = fopen(path, "wb");
  uint8_t head[4] = {(uint8_t)sel, (uint8_t)nl, (uint8_t)schema_len, (uint8_t)(schema_len >> 8)};
  int ok = f && fwrite(head, 1, 2, f) == 2 && fwrite(name, 1, nl, f) == nl &&
           fwrite(head + 2, 1, 2, f) == 2 && fwrite(schema, 1, schema_len, f) == schema_len &&
           fwrite(msg->b, 1, msg->n, f) == msg->n;
  if (f && fclose(f) != 0) ok = 0;
  if (!ok) {
    fprintf(stderr, "make-corpus: cannot write '%s'\n", path);
    s->failed = 1;
    return;
  }
  (*s->files)++;
}

#define SEP "================================================================================\n"

static const char k_imu[] =
    "std_msgs/Header header\ngeometry_msgs/Quaternion orientation\n"
    "float64[9] orientation_covariance\ngeometry_msgs/Vector3 angular_velocity\n"
    "float64[9] angular_velocity_covariance\ngeometry_msgs/Vector3 linear_acceleration\n"
    "float64[9] linear_acceleration_covariance\n" SEP
    "MSG: std_msgs/Header\n"
    "builtin_interfaces/Time stamp\nstring frame_id\n" SEP
    "MSG: builtin_interfaces/Time\n"
    "int32 sec\nuint32 nanosec\n" SEP
    "MSG: geometry_msgs/Quaternion\nfloat64 x 0\n"
    "float64 y 0\nfloat64 z 0\nfloat64 w 1\n" SEP
    "MSG: geometry_msgs/Vector3\nfloat64 x\n"
    "float64 y\nfloat64 z\n";

static void imu_cdr(struct buf *b, int be) {
  cdr_begin(b, be);
  cdr_num(b, 1767225600, 4);
  cdr_num(b, 5000, 4);
  cdr_str(b, "imu_link");
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < (k == 0 ? 4 : 3); i++) cdr_f64(b, 0.25 * i - 0.1 * k);
    for (int i = 0; i < 9; i++) cdr_f64(b, i % 4 == 0 ? 1e-4 : 0);
  }
}

static const char k_arrays[] =
    "Point[2] fixed\nPoint[] dyn\nint32[3] nums\nstring[] names\nwstring w\nint16[<=4] shorts\n"
    "uint8[] blob\nbool[] flags\nint64 BIG=5\nstring<=5 bounded\n" SEP
    "MSG: pkg/Point\nfloat32 x\nstring label\n";

static void arrays_cdr(struct buf *b, int be) {
  cdr_begin(b, be);
  for (int i = 0; i < 2; i++) {
    cdr_f32(b, 1.5f * (float)i);
    cdr_str(b, i ? "b" : "a");
  }
  cdr_num(b, 1, 4);
  cdr_f32(b, -2);
  cdr_str(b, "c");
  for (int i = 0; i < 3; i++) cdr_num(b, (uint64_t)(i - 1), 4);
  cdr_num(b, 2, 4);
  cdr_str(b, "x");
  cdr_str(b, "");
  cdr_num(b, 2, 4);
  cdr_num(b, 0xE9, 4);
  cdr_num(b, 0x1F600, 4);
  cdr_num(b, 1, 4);
  cdr_num(b, 7, 2);
  cdr_num(b, 3, 4);
  put(b, "\x01\x02\x03", 3);
  cdr_num(b, 2, 4);
  put(b, "\x01\x00", 2);
  cdr_str(b, "abc");
}

static const char k_tree[] = "Node[] children\nint32 v\n";

static void tree_cdr(struct buf *b, int depth) {
  cdr_num(b, depth > 0 ? 1 : 0, 4);
  if (depth > 0) tree_cdr(b, depth - 1);
  cdr_num(b, (uint64_t)depth, 4);
}

static const char k_idl[] = SEP
    "IDL: pkg/msg/Sample\n#include \"pkg/msg/Inner.idl\"\n"
    "module pkg {\n  module msg {\n    module Sample_Constants { const uint8 LEVEL = 3; };\n"
    "    const long N = 2;\n    typedef int32 Pair[N];\n    enum Color { RED, GREEN, BLUE };\n"
    "    struct Sample {\n      @default (value=5)\n      int16 a;\n      unsigned short b;\n"
    "      long c; long long d;\n      octet e;\n      boolean g;\n      string<8> bounded;\n"
    "      wstring w;\n      sequence<int32> nums;\n      sequence<Inner, 3> inners;\n"
    "      Pair pair;\n      double m[2][3];\n      Color color;\n    };\n  };\n};\n" SEP
    "IDL: pkg/msg/Inner\nmodule pkg { module msg {\n"
    "  struct Inner { unsigned long long big; float f; };\n}; };\n";

static void idl_cdr(struct buf *b, int be) {
  cdr_begin(b, be);
  cdr_num(b, (uint16_t)-5, 2);
  cdr_num(b, 5, 2);
  cdr_num(b, (uint32_t)-70000, 4);
  cdr_num(b, (uint64_t)1 << 40, 8);
  cdr_num(b, 255, 1);
  cdr_num(b, 0, 1);
  cdr_str(b, "bnd");
  cdr_num(b, 1, 4);
  cdr_num(b, 'w', 4);
  cdr_num(b, 2, 4);
  cdr_num(b, 1, 4);
  cdr_num(b, 2, 4);
  cdr_num(b, 1, 4);
  cdr_num(b, 12345, 8);
  cdr_f32(b, 0.1f);
  cdr_num(b, 7, 4);
  cdr_num(b, 8, 4);
  for (int i = 0; i < 6; i++) cdr_f64(b, i * 0.5);
  cdr_num(b, 2, 4);
}

static const char k_ros1[] =
    "Header header\nbyte b\nchar c\nduration d\nint16[2] fixed\nuint8[] blob\nstring[] names\n"
    "float64[] values\nint64 BIG=5\n" SEP
    "MSG: std_msgs/Header\nuint32 seq\ntime stamp\n"
    "string frame_id\n";

static void ros1_msg(struct buf *b) {
  memset(b, 0, sizeof *b);
  r1_num(b, 9, 4);
  r1_num(b, 1600000000, 4);
  r1_num(b, 250, 4);
  r1_str(b, "base");
  r1_num(b, (uint8_t)-1, 1);
  r1_num(b, 200, 1);
  r1_num(b, (uint32_t)-3, 4);
  r1_num(b, (uint32_t)-500, 4);
  r1_num(b, (uint16_t)-1, 2);
  r1_num(b, 2, 2);
  r1_num(b, 2, 4);
  put(b, "\xff\x00", 2);
  r1_num(b, 2, 4);
  r1_str(b, "p");
  r1_str(b, "q");
  r1_num(b, 2, 4);
  r1_f64(b, 0.5);
  r1_f64(b, -1e300);
}

static const char k_jsonschema[] =
    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"pos\":{\"type\":"
    "\"object\",\"properties\":{\"x\":{\"type\":\"number\"},\"y\":{\"type\":\"number\"}}},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"img\":{\"type\":\"string\","
    "\"contentEncoding\":\"base64\"},\"meta\":{\"$ref\":\"#/$defs/Meta\"},\"ok\":{\"type\":"
    "[\"boolean\",\"null\"]},\"any\":{}},\"$defs\":{\"Meta\":{\"type\":\"object\","
    "\"properties\":{\"k\":{\"type\":\"integer\"},\"next\":{\"$ref\":\"#/$defs/Meta\"}}}}}";

static void text_msg(struct buf *b, const char *text) {
  memset(b, 0, sizeof *b);
  put(b, text, strlen(text));
}

/* A FileDescriptorSet: test.All with scalars, nested, repeated, enum, map, oneof, and
 * google.protobuf.Timestamp. */
static void descriptor(struct buf *set) {
  static struct buf file, msg, inner, entry, en, val, ts, tsfile;
  memset(set, 0, sizeof *set);
  memset(&tsfile, 0, sizeof tsfile);
  pb_str(&tsfile, 1, "google/protobuf/timestamp.proto");
  pb_str(&tsfile, 2, "google.protobuf");
  memset(&ts, 0, sizeof ts);
  pb_str(&ts, 1, "Timestamp");
  pb_field(&ts, "seconds", 1, 1, 3, NULL, -1);
  pb_field(&ts, "nanos", 2, 1, 5, NULL, -1);
  pb_sub(&tsfile, 4, &ts);
  pb_str(&tsfile, 12, "proto3");
  pb_sub(set, 1, &tsfile);

  memset(&file, 0, sizeof file);
  pb_str(&file, 1, "test.proto");
  pb_str(&file, 2, "test");
  memset(&inner, 0, sizeof inner);
  pb_str(&inner, 1, "Inner");
  pb_field(&inner, "x", 1, 1, 1, NULL, -1);
  pb_field(&inner, "label", 2, 1, 9, NULL, -1);
  pb_sub(&file, 4, &inner);
  memset(&msg, 0, sizeof msg);
  pb_str(&msg, 1, "All");
  pb_field(&msg, "d", 1, 1, 1, NULL, -1);
  pb_field(&msg, "f", 2, 1, 2, NULL, -1);
  pb_field(&msg, "i64", 3, 1, 3, NULL, -1);
  pb_field(&msg, "u32", 4, 1, 13, NULL, -1);
  pb_field(&msg, "s", 5, 1, 9, NULL, -1);
  pb_field(&msg, "by", 6, 1, 12, NULL, -1);
  pb_field(&msg, "si", 7, 1, 18, NULL, -1);
  pb_field(&msg, "fx", 8, 1, 7, NULL, -1);
  pb_field(&msg, "b", 9, 1, 8, NULL, -1);
  pb_field(&msg, "mode", 10, 1, 14, ".test.Mode", -1);
  pb_field(&msg, "inner", 11, 1, 11, ".test.Inner", -1);
  pb_field(&msg, "ints", 12, 3, 5, NULL, -1);
  pb_field(&msg, "inners", 13, 3, 11, ".test.Inner", -1);
  pb_field(&msg, "counts", 14, 3, 11, ".test.All.CountsEntry", -1);
  pb_field(&msg, "name", 15, 1, 9, NULL, 0);
  pb_field(&msg, "id", 16, 1, 5, NULL, 0);
  pb_field(&msg, "stamp", 17, 1, 11, ".google.protobuf.Timestamp", -1);
  memset(&entry, 0, sizeof entry);
  pb_str(&entry, 1, "CountsEntry");
  pb_field(&entry, "key", 1, 1, 9, NULL, -1);
  pb_field(&entry, "value", 2, 1, 5, NULL, -1);
  static struct buf opts;
  memset(&opts, 0, sizeof opts);
  pb_varint(&opts, 7, 1);
  pb_sub(&entry, 7, &opts);
  pb_sub(&msg, 3, &entry);
  static struct buf oneof;
  memset(&oneof, 0, sizeof oneof);
  pb_str(&oneof, 1, "choice");
  pb_sub(&msg, 8, &oneof);
  pb_sub(&file, 4, &msg);
  memset(&en, 0, sizeof en);
  pb_str(&en, 1, "Mode");
  const char *names[] = {"MODE_UNKNOWN", "MODE_AUTO", "MODE_MANUAL"};
  for (int i = 0; i < 3; i++) {
    memset(&val, 0, sizeof val);
    pb_str(&val, 1, names[i]);
    pb_varint(&val, 2, (uint64_t)i);
    pb_sub(&en, 2, &val);
  }
  pb_sub(&file, 5, &en);
  pb_str(&file, 12, "proto3");
  pb_sub(set, 1, &file);
}

static void proto_msg(struct buf *b) {
  static struct buf sub;
  memset(b, 0, sizeof *b);
  pb_fixed64(b, 1, 1.25);
  pb_varint_raw(b, 2 << 3 | 5);
  putn(b, 0x3DCCCCCD, 4, 0);
  pb_varint(b, 3, (uint64_t)-5);
  pb_varint(b, 4, 42);
  pb_str(b, 5, "h\xc3\xa9llo");
  pb_len(b, 6, "\x00\x01\x02", 3);
  pb_varint(b, 7, 245);
  pb_varint_raw(b, 8 << 3 | 5);
  putn(b, 4000000000u, 4, 0);
  pb_varint(b, 9, 1);
  pb_varint(b, 10, 2);
  memset(&sub, 0, sizeof sub);
  pb_fixed64(&sub, 1, 0.5);
  pb_str(&sub, 2, "in");
  pb_sub(b, 11, &sub);
  pb_sub(b, 13, &sub);
  static struct buf packed;
  memset(&packed, 0, sizeof packed);
  pb_varint_raw(&packed, 1);
  pb_varint_raw(&packed, (uint64_t)-1);
  pb_varint_raw(&packed, 300);
  pb_sub(b, 12, &packed);
  pb_varint(b, 12, 4);
  memset(&sub, 0, sizeof sub);
  pb_str(&sub, 1, "k");
  pb_varint(&sub, 2, 7);
  pb_sub(b, 14, &sub);
  pb_varint(b, 16, 99);
  memset(&sub, 0, sizeof sub);
  pb_varint(&sub, 1, 1767225600);
  pb_varint(&sub, 2, 500000000);
  pb_sub(b, 17, &sub);
  pb_varint(b, 1000, 5); /* an unknown field */
}

int make_decode_corpus(const char *root, unsigned *files) {
  struct seeds s = {root, files, 0};
  static struct buf b;
  imu_cdr(&b, 0);
  seed(&s, "imu_le.bin", "cdr", "ros2msg", "sensor_msgs/msg/Imu", k_imu,
       sizeof k_imu - 1, &b);
  imu_cdr(&b, 1);
  seed(&s, "imu_be.bin", "cdr", "ros2msg", "sensor_msgs/msg/Imu", k_imu,
       sizeof k_imu - 1, &b);
  arrays_cdr(&b, 0);
  seed(&s, "arrays_le.bin", "cdr", "ros2msg", "pkg/msg/Arrays", k_arrays,
       sizeof k_arrays - 1, &b);
  arrays_cdr(&b, 1);
  seed(&s, "arrays_be.bin", "cdr", "ros2msg", "pkg/msg/Arrays", k_arrays,
       sizeof k_arrays - 1, &b);
  cdr_begin(&b, 0);
  tree_cdr(&b, 3);
  seed(&s, "tree.bin", "cdr", "ros2msg", "pkg/msg/Node", k_tree,
       sizeof k_tree - 1, &b);
  cdr_begin(&b, 0);
  put(&b, "", 1);
  seed(&s, "empty.bin", "cdr", "ros2msg", "test_msgs/msg/Empty", "", 0, &b);

  idl_cdr(&b, 1);
  seed(&s, "sample_be.bin", "cdr", "ros2idl", "pkg/msg/Sample", k_idl,
       sizeof k_idl - 1, &b);
  idl_cdr(&b, 0);
  seed(&s, "sample_le.bin", "cdr", "ros2idl", "pkg/msg/Sample", k_idl,
       sizeof k_idl - 1, &b);

  ros1_msg(&b);
  seed(&s, "header_arrays.bin", "ros1", "ros1msg", "pkg/Sample", k_ros1,
       sizeof k_ros1 - 1, &b);

  text_msg(&b,
           "{\"pos\":{\"y\":2,\"x\":1.50},\"name\":\"a,\\\"b\\\"\\u00e9\",\"tags\":[\"t1\"],"
           "\"img\":\"AAECAw==\",\"meta\":{\"k\":5,\"next\":{\"k\":-1e9}},\"ok\":null,"
           "\"any\":{\"z\":[1,true,false,null]},\"extra\":123456789012345678901234567890}");
  seed(&s, "schema.bin", "json", "jsonschema", "Thing", k_jsonschema,
       sizeof k_jsonschema - 1, &b);
  text_msg(&b, " [ {\"a\" : \"\\ud83d\\ude00\\n\"}, -0.0, 1E+2, \"\xc3\xa9\" ] ");
  seed(&s, "schemaless.bin", "json", "jsonschema", "", "", 0, &b);

  static struct buf ds;
  descriptor(&ds);
  proto_msg(&b);
  if (ds.overflow) s.failed = 1;
  seed(&s, "all.bin", "protobuf", "protobuf", "test.All", ds.b, ds.n, &b);
  memset(&b, 0, sizeof b);
  seed(&s, "defaults.bin", "protobuf", "protobuf", "test.All", ds.b, ds.n, &b);
  return s.failed ? -1 : 0;
}
