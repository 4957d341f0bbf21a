/*
 * synth.c - deterministic synthetic MCAP recordings (see synth.h).
 *
 * Determinism: every random value comes from xoshiro256** streams seeded
 * with splitmix64 from the seed (one stream per topic, one for the world, so
 * topics do not disturb each other); trigonometry and square roots are our
 * own polynomial/Newton code instead of libm, so the floating-point results
 * (and hence the bytes) do not depend on the C library. Floating point is
 * plain IEEE double arithmetic (C17 mode: no FP contraction).
 *
 * Payloads are real ROS 2 CDR (XCDR1, little endian) for the ros2msg schemas
 * written alongside, and real JSON for /diagnostics, so other tools can decode
 * the files.
 */
#include "pipeline/synth.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/core.h"

/* ------------------------------------------------------------ randomness */

struct rng {
  uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* Stream `stream` of generator `seed`: independent sequences per purpose. */
static void rng_seed(struct rng *r, uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ (stream * UINT64_C(0xD1B54A32D192ED03));
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl64(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl64(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl64(s[3], 45);
  return result;
}

/* Uniform in [0, 1). */
static double rng_unit(struct rng *r) {
  return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [lo, hi). */
static double rng_uniform(struct rng *r, double lo, double hi) {
  return lo + (hi - lo) * rng_unit(r);
}

/* Uniform integer in [0, n); n > 0. The modulo bias is irrelevant here. */
static uint64_t rng_below(struct rng *r, uint64_t n) {
  return rng_next(r) % n;
}

/* Approximately standard normal (Irwin-Hall with 4 terms, scaled to sd 1). */
static double rng_gauss(struct rng *r) {
  double s = rng_unit(r) + rng_unit(r) + rng_unit(r) + rng_unit(r);
  return (s - 2.0) * 1.7320508075688772;
}

/* ---------------------------------------------- libm-free math functions */

#define SYN_PI 3.14159265358979323846
#define SYN_PIO2_HI 1.57079632673412561417e+00 /* first 33 bits of pi/2 */
#define SYN_PIO2_LO 6.07710050650619224932e-11 /* pi/2 - SYN_PIO2_HI */

/* sin and cos of r in [-pi/4, pi/4] by Taylor polynomials (error < 1e-15),
 * evaluated by Horner's rule from the highest term. */
static double poly_sin(double r) {
  static const double k[7] = {1.0,          -1.0 / 6,        1.0 / 120,         -1.0 / 5040,
                              1.0 / 362880, -1.0 / 39916800, 1.0 / 6227020800.0};
  double r2 = r * r, acc = 0;
  for (int i = 6; i >= 0; i--) acc = acc * r2 + k[i];
  return r * acc;
}

static double poly_cos(double r) {
  static const double k[8] = {1.0,         -0.5,           1.0 / 24,        -1.0 / 720,
                              1.0 / 40320, -1.0 / 3628800, 1.0 / 479001600, -1.0 / 87178291200.0};
  double r2 = r * r, acc = 0;
  for (int i = 7; i >= 0; i--) acc = acc * r2 + k[i];
  return acc;
}

/* sin and cos together, for |x| up to ~1e9 (Cody-Waite reduction). */
static void syn_sincos(double x, double *s, double *c) {
  double kd = x * (2.0 / SYN_PI);
  long long k = (long long)(kd >= 0 ? kd + 0.5 : kd - 0.5);
  double r = (x - (double)k * SYN_PIO2_HI) - (double)k * SYN_PIO2_LO;
  double ps = poly_sin(r), pc = poly_cos(r);
  switch ((unsigned long long)k & 3) {
    case 0:
      *s = ps;
      *c = pc;
      break;
    case 1:
      *s = pc;
      *c = -ps;
      break;
    case 2:
      *s = -ps;
      *c = -pc;
      break;
    default:
      *s = -pc;
      *c = ps;
      break;
  }
}

static double syn_sin(double x) {
  double s, c;
  syn_sincos(x, &s, &c);
  return s;
}

/* Square root by Newton's method from a bit-level first guess; x >= 0. */
static double syn_sqrt(double x) {
  if (!(x > 0)) return 0;
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  bits = (bits >> 1) + (UINT64_C(1023) << 51); /* halve the exponent */
  double g;
  memcpy(&g, &bits, sizeof g);
  for (int i = 0; i < 6; i++) g = 0.5 * (g + x / g);
  return g;
}

static double syn_round(double x) {
  return (double)(long long)(x >= 0 ? x + 0.5 : x - 0.5);
}

static double syn_clamp(double x, double lo, double hi) {
  return x < lo ? lo : x > hi ? hi : x;
}

/* ---------------------------------------------------- growable out buffer */

struct obuf {
  uint8_t *p;
  size_t len;
  size_t cap;
  int oom;
};

/* Room for n more bytes; on failure sets oom and returns NULL. */
static uint8_t *ob_grow(struct obuf *b, size_t n) {
  if (b->oom) return NULL;
  if (n > b->cap - b->len) {
    size_t want = b->cap ? b->cap : 4096;
    while (want - b->len < n) {
      if (want > SIZE_MAX / 2) {
        b->oom = 1;
        return NULL;
      }
      want *= 2;
    }
    uint8_t *np = realloc(b->p, want);
    if (!np) {
      b->oom = 1;
      return NULL;
    }
    b->p = np;
    b->cap = want;
  }
  uint8_t *at = b->p + b->len;
  b->len += n;
  return at;
}

static void ob_bytes(struct obuf *b, const void *data, size_t n) {
  uint8_t *d = ob_grow(b, n);
  if (d && n) memcpy(d, data, n);
}

static void ob_text(struct obuf *b, const char *s) {
  ob_bytes(b, s, strlen(s));
}

static void ob_printf(struct obuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ob_printf(struct obuf *b, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp) {
    b->oom = 1; /* never happens with our formats; treat as a failure */
    return;
  }
  ob_bytes(b, tmp, (size_t)n);
}

/* ------------------------------------------------------ CDR (XCDR1, LE) */

/* A CDR message starts with the 4-byte encapsulation header; alignment is
 * relative to the first byte after it. */
static void cdr_begin(struct obuf *b) {
  static const uint8_t encap[4] = {0x00, 0x01, 0x00, 0x00}; /* CDR_LE */
  b->len = 0;
  ob_bytes(b, encap, 4);
}

static void cdr_align(struct obuf *b, size_t a) {
  size_t pad = (a - (b->len - 4) % a) % a;
  uint8_t *d = ob_grow(b, pad);
  if (d) memset(d, 0, pad);
}

static void cdr_u8(struct obuf *b, uint8_t v) {
  ob_bytes(b, &v, 1);
}

static void cdr_u32(struct obuf *b, uint32_t v) {
  cdr_align(b, 4);
  uint8_t *d = ob_grow(b, 4);
  if (d) {
    d[0] = (uint8_t)v;
    d[1] = (uint8_t)(v >> 8);
    d[2] = (uint8_t)(v >> 16);
    d[3] = (uint8_t)(v >> 24);
  }
}

static void cdr_i32(struct obuf *b, int32_t v) {
  cdr_u32(b, (uint32_t)v);
}

static void put_le64(uint8_t *d, uint64_t v) {
  for (int i = 0; i < 8; i++) d[i] = (uint8_t)(v >> (8 * i));
}

static void put_f32(uint8_t *d, float f) {
  uint32_t v;
  memcpy(&v, &f, sizeof v);
  d[0] = (uint8_t)v;
  d[1] = (uint8_t)(v >> 8);
  d[2] = (uint8_t)(v >> 16);
  d[3] = (uint8_t)(v >> 24);
}

static void cdr_f64(struct obuf *b, double f) {
  cdr_align(b, 8);
  uint8_t *d = ob_grow(b, 8);
  if (d) {
    uint64_t v;
    memcpy(&v, &f, sizeof v);
    put_le64(d, v);
  }
}

static void cdr_string(struct obuf *b, const char *s) {
  size_t n = strlen(s);
  cdr_u32(b, (uint32_t)(n + 1));
  ob_bytes(b, s, n + 1); /* includes the terminating NUL, as CDR wants */
}

/* std_msgs/Header: builtin_interfaces/Time stamp + frame_id. */
static void cdr_header(struct obuf *b, uint64_t stamp_ns, const char *frame_id) {
  cdr_i32(b, (int32_t)(stamp_ns / 1000000000u));
  cdr_u32(b, (uint32_t)(stamp_ns % 1000000000u));
  cdr_string(b, frame_id);
}

/* ---------------------------------------------------------------- schemas */

#define SEP80 "================================================================================\n"

#define MSG_TIME "MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec\n"
#define MSG_HEADER "MSG: std_msgs/Header\nbuiltin_interfaces/Time stamp\nstring frame_id\n"
#define MSG_VECTOR3 "MSG: geometry_msgs/Vector3\nfloat64 x\nfloat64 y\nfloat64 z\n"
#define MSG_POINT "MSG: geometry_msgs/Point\nfloat64 x\nfloat64 y\nfloat64 z\n"
#define MSG_QUAT \
  "MSG: geometry_msgs/Quaternion\nfloat64 x 0\nfloat64 y 0\nfloat64 z 0\nfloat64 w 1\n"
#define MSG_POSE "MSG: geometry_msgs/Pose\nPoint position\nQuaternion orientation\n"

static const char schema_image[] =
    "# A raw image from the front camera\n"
    "std_msgs/Header header\n"
    "uint32 height\n"
    "uint32 width\n"
    "string encoding\n"
    "uint8 is_bigendian\n"
    "uint32 step\n"
    "uint8[] data\n" SEP80 MSG_HEADER SEP80 MSG_TIME;

static const char schema_pointcloud2[] =
    "std_msgs/Header header\n"
    "uint32 height\n"
    "uint32 width\n"
    "PointField[] fields\n"
    "bool is_bigendian\n"
    "uint32 point_step\n"
    "uint32 row_step\n"
    "uint8[] data\n"
    "bool is_dense\n" SEP80 MSG_HEADER SEP80 MSG_TIME SEP80
    "MSG: sensor_msgs/PointField\n"
    "uint8 INT8    = 1\n"
    "uint8 UINT8   = 2\n"
    "uint8 INT16   = 3\n"
    "uint8 UINT16  = 4\n"
    "uint8 INT32   = 5\n"
    "uint8 UINT32  = 6\n"
    "uint8 FLOAT32 = 7\n"
    "uint8 FLOAT64 = 8\n"
    "string name\n"
    "uint32 offset\n"
    "uint8 datatype\n"
    "uint32 count\n";

static const char schema_imu[] =
    "std_msgs/Header header\n"
    "geometry_msgs/Quaternion orientation\n"
    "float64[9] orientation_covariance\n"
    "geometry_msgs/Vector3 angular_velocity\n"
    "float64[9] angular_velocity_covariance\n"
    "geometry_msgs/Vector3 linear_acceleration\n"
    "float64[9] linear_acceleration_covariance\n" SEP80 MSG_HEADER SEP80 MSG_TIME SEP80 MSG_QUAT
        SEP80 MSG_VECTOR3;

static const char schema_tf[] = "geometry_msgs/TransformStamped[] transforms\n" SEP80
                                "MSG: geometry_msgs/TransformStamped\n"
                                "std_msgs/Header header\n"
                                "string child_frame_id\n"
                                "Transform transform\n" SEP80 MSG_HEADER SEP80 MSG_TIME SEP80
                                "MSG: geometry_msgs/Transform\n"
                                "Vector3 translation\n"
                                "Quaternion rotation\n" SEP80 MSG_VECTOR3 SEP80 MSG_QUAT;

static const char schema_odom[] =
    "std_msgs/Header header\n"
    "string child_frame_id\n"
    "geometry_msgs/PoseWithCovariance pose\n"
    "geometry_msgs/TwistWithCovariance twist\n" SEP80 MSG_HEADER SEP80 MSG_TIME SEP80
    "MSG: geometry_msgs/PoseWithCovariance\n"
    "Pose pose\n"
    "float64[36] covariance\n" SEP80 MSG_POSE SEP80 MSG_POINT SEP80 MSG_QUAT SEP80
    "MSG: geometry_msgs/TwistWithCovariance\n"
    "Twist twist\n"
    "float64[36] covariance\n" SEP80
    "MSG: geometry_msgs/Twist\n"
    "Vector3 linear\n"
    "Vector3 angular\n" SEP80 MSG_VECTOR3;

static const char schema_log[] =
    "byte DEBUG=10\n"
    "byte INFO=20\n"
    "byte WARN=30\n"
    "byte ERROR=40\n"
    "byte FATAL=50\n"
    "builtin_interfaces/Time stamp\n"
    "uint8 level\n"
    "string name\n"
    "string msg\n"
    "string file\n"
    "string function\n"
    "uint32 line\n" SEP80 MSG_TIME;

static const char schema_diagnostics[] =
    "{\n"
    "  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n"
    "  \"title\": \"DiagnosticArray\",\n"
    "  \"type\": \"object\",\n"
    "  \"properties\": {\n"
    "    \"stamp\": {\"type\": \"object\", \"properties\": {\n"
    "      \"sec\": {\"type\": \"integer\"}, \"nanosec\": {\"type\": \"integer\"}}},\n"
    "    \"status\": {\"type\": \"array\", \"items\": {\"type\": \"object\", \"properties\": {\n"
    "      \"name\": {\"type\": \"string\"},\n"
    "      \"hardware_id\": {\"type\": \"string\"},\n"
    "      \"level\": {\"type\": \"integer\", \"enum\": [0, 1, 2, 3]},\n"
    "      \"message\": {\"type\": \"string\"},\n"
    "      \"values\": {\"type\": \"object\", \"additionalProperties\": {\"type\": \"string\"}}\n"
    "    }, \"required\": [\"name\", \"level\", \"message\"]}}\n"
    "  },\n"
    "  \"required\": [\"stamp\", \"status\"]\n"
    "}\n";

static const char schema_string[] = "string data\n";

static const char schema_pose_stamped[] =
    "std_msgs/Header header\n"
    "Pose pose\n" SEP80 MSG_HEADER SEP80 MSG_TIME SEP80 MSG_POSE SEP80 MSG_POINT SEP80 MSG_QUAT;

/* offered_qos_profiles as rosbag2 records them (reliability 1 = reliable,
 * 2 = best effort). */
#define QOS_PROFILE(rel)                                                         \
  "- history: 3\n  depth: 0\n  reliability: " rel                                \
  "\n  durability: 2\n  deadline:\n"                                             \
  "    sec: 9223372036\n    nsec: 854775807\n  lifespan:\n    sec: 9223372036\n" \
  "    nsec: 854775807\n  liveliness: 1\n  liveliness_lease_duration:\n"         \
  "    sec: 9223372036\n    nsec: 854775807\n  avoid_ros_namespace_conventions: false"

static const char qos_reliable[] = QOS_PROFILE("1");
static const char qos_best_effort[] = QOS_PROFILE("2");

/* ------------------------------------------------------------- the world */

#define IMG_W 320
#define IMG_H 240
#define IMG_F 160.0 /* focal length in px: 90 degree horizontal field of view */
#define PANO_N 2048 /* panorama columns over 360 degrees */
#define LIDAR_RINGS 64
#define LIDAR_COLS 1024
#define LIDAR_POINT_STEP 16
#define LIDAR_HEIGHT 1.2 /* sensor height above the ground, m */
#define CAM_HEIGHT 1.0
#define N_PILLARS 6
#define YARD_X 25.0 /* walls at x = +-YARD_X, y = +-YARD_Y */
#define YARD_Y 20.0
#define WALL_H 6.0
#define PATH_R 8.0  /* the robot drives a circle of this radius */
#define ROBOT_V 1.2 /* m/s */

struct world {
  /* Horizon panorama for the camera: skyline height (px above the horizon)
   * and colour per column. */
  uint8_t pano_h[PANO_N];
  uint8_t pano_rgb[PANO_N][3];
  double pillar_x[N_PILLARS], pillar_y[N_PILLARS];
  double el_sin[LIDAR_RINGS], el_cos[LIDAR_RINGS];
  double az_sin[LIDAR_COLS], az_cos[LIDAR_COLS];
  double phase0;         /* where on the circle the robot starts */
  double map_dx, map_dy; /* map -> odom offset */
};

struct pose {
  double x, y, yaw;
  double v, w;     /* forward speed, yaw rate */
  double odometer; /* distance travelled */
};

static void robot_pose(const struct world *wd, double t, struct pose *p) {
  double w = ROBOT_V / PATH_R;
  double a = wd->phase0 + w * t;
  double s, c;
  syn_sincos(a, &s, &c);
  /* a slight weave so yaw rate and speed are not constant */
  double weave = 0.05 * syn_sin(0.9 * t);
  p->x = (PATH_R + weave) * c;
  p->y = (PATH_R + weave) * s;
  p->yaw = a + SYN_PI / 2 + 0.02 * syn_sin(0.9 * t + 1.0);
  p->v = ROBOT_V;
  p->w = w + 0.018 * syn_sin(0.9 * t + 2.0);
  p->odometer = ROBOT_V * t;
}

static void world_init(struct world *wd, uint64_t seed) {
  struct rng r;
  rng_seed(&r, seed, 1000);
  /* skyline: runs of buildings and gaps */
  static const uint8_t palette[6][3] = {{150, 140, 130}, {120, 124, 130}, {170, 160, 140},
                                        {100, 90, 85},   {140, 150, 160}, {180, 175, 170}};
  int col = 0;
  while (col < PANO_N) {
    int width = 30 + (int)rng_below(&r, 170);
    int gap = rng_below(&r, 4) == 0;
    int h = gap ? 0 : 15 + (int)rng_below(&r, 70);
    const uint8_t *rgb = palette[rng_below(&r, 6)];
    for (int i = 0; i < width && col < PANO_N; i++, col++) {
      wd->pano_h[col] = (uint8_t)h;
      memcpy(wd->pano_rgb[col], rgb, 3);
    }
  }
  for (int i = 0; i < N_PILLARS; i++) {
    /* pillars off the robot's path */
    double ang = rng_uniform(&r, 0, 2 * SYN_PI);
    double rad = rng_below(&r, 2) ? rng_uniform(&r, 2.5, 6.0) : rng_uniform(&r, 10.0, 16.0);
    double s, c;
    syn_sincos(ang, &s, &c);
    wd->pillar_x[i] = rad * c;
    wd->pillar_y[i] = rad * s;
  }
  for (int i = 0; i < LIDAR_RINGS; i++) {
    /* -22.5 .. +22.5 degrees, like a 64-beam spinning lidar */
    double el = (-22.5 + 45.0 * i / (LIDAR_RINGS - 1)) * (SYN_PI / 180.0);
    syn_sincos(el, &wd->el_sin[i], &wd->el_cos[i]);
  }
  for (int j = 0; j < LIDAR_COLS; j++) {
    double az = 2 * SYN_PI * j / LIDAR_COLS;
    syn_sincos(az, &wd->az_sin[j], &wd->az_cos[j]);
  }
  wd->phase0 = rng_uniform(&r, 0, 2 * SYN_PI);
  wd->map_dx = rng_uniform(&r, -2, 2);
  wd->map_dy = rng_uniform(&r, -2, 2);
}

/* ----------------------------------------------------------- the writer */

struct synth;
struct topic;
typedef void (*gen_fn)(struct synth *s, struct topic *t, uint64_t stamp, double tsec);

struct topic_def {
  const char *topic;
  const char *schema_name;
  const char *schema_encoding;
  const char *schema_text;
  const char *message_encoding;
  const char *qos; /* NULL: no offered_qos_profiles metadata */
  uint64_t period_ns;
  uint64_t jitter_ns;   /* log_time = nominal +- jitter (< period / 2) */
  uint64_t latency_min; /* publish_time = log_time - latency */
  uint64_t latency_span;
  uint64_t stamp_lag; /* header stamp before publish_time */
  gen_fn gen;
};

struct topic {
  const struct topic_def *def;
  struct rng rng;
  uint16_t channel_id;
  uint32_t sequence;
  uint64_t index;    /* next message number */
  uint64_t phase;    /* offset of message 0 from the start */
  uint64_t next_log; /* log time of the next message (absolute) */
  int done;
  uint64_t messages, bytes;
};

struct synth {
  const pl_synth_options *o;
  mcap_writer *w;
  struct world *world;
  uint64_t t0;
  uint64_t total_ns;
  struct obuf buf;
  struct rng misc;
  char device[32];
  uint32_t frame_count;
};

/* ---- generators. Each fills s->buf with one message. */

static void gen_image(struct synth *s, struct topic *t, uint64_t stamp, double tsec) {
  const struct world *wd = s->world;
  struct obuf *b = &s->buf;
  struct pose p;
  robot_pose(wd, tsec, &p);
  cdr_begin(b);
  cdr_header(b, stamp, "camera_front_optical");
  cdr_u32(b, IMG_H);
  cdr_u32(b, IMG_W);
  cdr_string(b, "rgb8");
  cdr_u8(b, 0);
  cdr_u32(b, IMG_W * 3);
  cdr_u32(b, IMG_W * IMG_H * 3);
  uint8_t *px = ob_grow(b, (size_t)IMG_W * IMG_H * 3);
  if (!px) return;

  /* Scene: sky gradient, skyline from the panorama (panning with the yaw),
   * a tiled floor moving with the odometer; then sensor noise. */
  double yaw_frac = p.yaw / (2 * SYN_PI);
  yaw_frac -= (double)(long long)yaw_frac;
  if (yaw_frac < 0) yaw_frac += 1;
  int pano_off = (int)(yaw_frac * PANO_N);
  int horizon = 100 + (int)syn_round(3.0 * syn_sin(2 * SYN_PI * 0.7 * tsec));
  double exposure = 1.0 + 0.03 * syn_sin(0.25 * tsec);
  uint64_t bits = 0;
  int nbits = 0;
  /* noise distribution: mostly 0, sometimes +-1, rarely +-2 */
  static const int8_t noise_tab[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, -1, 1, -1, 2, -2};
  for (int y = 0; y < IMG_H; y++) {
    uint8_t *row = px + (size_t)y * IMG_W * 3;
    double dist = 0, shade = 0;
    if (y >= horizon) {
      dist = CAM_HEIGHT * IMG_F / ((double)(y - horizon) + 0.5);
      shade = syn_clamp(1.0 - dist / 60.0, 0.55, 1.0);
    }
    for (int x = 0; x < IMG_W; x++) {
      int col = (pano_off + (PANO_N / 4) - (x * (PANO_N / 4)) / IMG_W) & (PANO_N - 1);
      double r, g, bl;
      if (y < horizon - wd->pano_h[col]) {
        /* sky: vertical gradient */
        r = 120 + 0.35 * y;
        g = 160 + 0.25 * y;
        bl = 230 - 0.1 * y;
      } else if (y < horizon) {
        /* building: base colour, shaded by height, with a window grid */
        int up = horizon - y;
        double k = 0.85 + 0.15 * up / 90.0;
        int window = (up % 12) > 3 && (up % 12) < 9 && (col % 16) > 4 && (col % 16) < 12;
        if (window) k *= 0.55;
        r = wd->pano_rgb[col][0] * k;
        g = wd->pano_rgb[col][1] * k;
        bl = wd->pano_rgb[col][2] * k;
      } else {
        /* floor: 1 m tiles in the robot frame, moving with the odometer */
        double lateral = dist * (double)(x - IMG_W / 2) / IMG_F;
        double u = dist + p.odometer;
        double v = lateral + 100.0;
        double fu = u - (double)(long long)u, fv = v - (double)(long long)v;
        int seam = fu < 0.04 || fv < 0.04;
        double base = seam ? 70 : 118;
        r = base * shade + 8;
        g = base * shade + 4;
        bl = base * shade;
      }
      uint8_t *o = row + (size_t)x * 3;
      double ch[3] = {r, g, bl};
      for (int c = 0; c < 3; c++) {
        if (nbits < 4) {
          bits = rng_next(&t->rng);
          nbits = 64;
        }
        int n = noise_tab[bits & 15];
        bits >>= 4;
        nbits -= 4;
        o[c] = (uint8_t)syn_clamp(syn_round(ch[c] * exposure) + n, 0, 255);
      }
    }
  }
  s->frame_count++;
}

static void gen_lidar(struct synth *s, struct topic *t, uint64_t stamp, double tsec) {
  const struct world *wd = s->world;
  struct obuf *b = &s->buf;
  static const struct {
    const char *name;
    uint32_t offset;
  } fields[4] = {{"x", 0}, {"y", 4}, {"z", 8}, {"intensity", 12}};
  struct pose p;
  robot_pose(wd, tsec, &p);
  cdr_begin(b);
  cdr_header(b, stamp, "lidar_link");
  cdr_u32(b, LIDAR_RINGS);
  cdr_u32(b, LIDAR_COLS);
  cdr_u32(b, 4);
  for (int i = 0; i < 4; i++) {
    cdr_string(b, fields[i].name);
    cdr_u32(b, fields[i].offset);
    cdr_u8(b, 7); /* FLOAT32 */
    cdr_u32(b, 1);
  }
  cdr_u8(b, 0); /* is_bigendian */
  cdr_u32(b, LIDAR_POINT_STEP);
  cdr_u32(b, LIDAR_POINT_STEP * LIDAR_COLS);
  cdr_u32(b, LIDAR_POINT_STEP * LIDAR_COLS * LIDAR_RINGS);
  uint8_t *d = ob_grow(b, (size_t)LIDAR_POINT_STEP * LIDAR_COLS * LIDAR_RINGS);
  if (!d) return;

  double ys, yc;
  syn_sincos(p.yaw, &ys, &yc);
  const uint32_t nan_bits = UINT32_C(0x7FC00000);
  for (int i = 0; i < LIDAR_RINGS; i++) {
    double es = wd->el_sin[i], ec = wd->el_cos[i];
    for (int j = 0; j < LIDAR_COLS; j++) {
      /* ray direction in the world (horizontal part) */
      double ca = wd->az_cos[j], sa = wd->az_sin[j];
      double dx = ca * yc - sa * ys, dy = sa * yc + ca * ys;
      double range = 1e9;
      double intensity = 0;
      /* ground */
      if (es < -1e-6) {
        range = LIDAR_HEIGHT / -es;
        intensity = 25;
      }
      /* walls of the yard: horizontal distance to the box */
      double hx = dx > 1e-9 ? (YARD_X - p.x) / dx : dx < -1e-9 ? (-YARD_X - p.x) / dx : 1e9;
      double hy = dy > 1e-9 ? (YARD_Y - p.y) / dy : dy < -1e-9 ? (-YARD_Y - p.y) / dy : 1e9;
      double hd = hx < hy ? hx : hy;
      double rw = hd / ec;
      double zw = LIDAR_HEIGHT + rw * es;
      if (rw < range && zw >= 0 && zw <= WALL_H) {
        range = rw;
        intensity = 90;
      }
      /* pillars: vertical cylinders of radius 0.3 m */
      for (int k = 0; k < N_PILLARS; k++) {
        double ox = p.x - wd->pillar_x[k], oy = p.y - wd->pillar_y[k];
        double bq = ox * dx + oy * dy;
        double cq = ox * ox + oy * oy - 0.09;
        double disc = bq * bq - cq;
        if (disc <= 0) continue;
        double hdist = -bq - syn_sqrt(disc);
        if (hdist <= 0.05) continue;
        double rp = hdist / ec;
        if (rp < range) {
          range = rp;
          intensity = 160;
        }
      }
      uint8_t *o = d + ((size_t)i * LIDAR_COLS + (size_t)j) * LIDAR_POINT_STEP;
      if (range > 100.0) {
        /* no return */
        for (int c = 0; c < 3; c++) {
          o[4 * c] = (uint8_t)nan_bits;
          o[4 * c + 1] = (uint8_t)(nan_bits >> 8);
          o[4 * c + 2] = (uint8_t)(nan_bits >> 16);
          o[4 * c + 3] = (uint8_t)(nan_bits >> 24);
        }
        put_f32(o + 12, 0.0f);
        continue;
      }
      /* range noise ~1 cm, reported with millimetre resolution */
      range = syn_round((range + 0.01 * rng_gauss(&t->rng)) * 1000.0) / 1000.0;
      double hr = range * ec;
      put_f32(o + 0, (float)(hr * ca));
      put_f32(o + 4, (float)(hr * sa));
      put_f32(o + 8, (float)(range * es));
      double inten = syn_round(intensity * (1.0 - range / 200.0) + 6.0 * rng_gauss(&t->rng));
      put_f32(o + 12, (float)syn_clamp(inten, 0, 255));
    }
  }
  cdr_u8(b, 0); /* is_dense: false, there are NaN points */
}

static void cdr_quat_yaw(struct obuf *b, double yaw) {
  double s, c;
  syn_sincos(yaw / 2, &s, &c);
  cdr_f64(b, 0);
  cdr_f64(b, 0);
  cdr_f64(b, s);
  cdr_f64(b, c);
}

static void gen_imu(struct synth *s, struct topic *t, uint64_t stamp, double tsec) {
  struct obuf *b = &s->buf;
  struct pose p;
  robot_pose(s->world, tsec, &p);
  struct rng *r = &t->rng;
  cdr_begin(b);
  cdr_header(b, stamp, "imu_link");
  /* orientation from a drifting gyro integration */
  cdr_quat_yaw(b, p.yaw + 0.002 * rng_gauss(r));
  static const double ocov[9] = {1e-4, 0, 0, 0, 1e-4, 0, 0, 0, 4e-4};
  for (int i = 0; i < 9; i++) cdr_f64(b, ocov[i]);
  cdr_f64(b, 0.004 * rng_gauss(r));
  cdr_f64(b, 0.004 * rng_gauss(r));
  cdr_f64(b, p.w + 0.004 * rng_gauss(r));
  static const double gcov[9] = {2.5e-5, 0, 0, 0, 2.5e-5, 0, 0, 0, 2.5e-5};
  for (int i = 0; i < 9; i++) cdr_f64(b, gcov[i]);
  /* centripetal acceleration to the left, gravity up, vibration */
  double vib = 0.05 * syn_sin(2 * SYN_PI * 27.0 * tsec);
  cdr_f64(b, 0.03 * rng_gauss(r) + vib);
  cdr_f64(b, p.v * p.w + 0.03 * rng_gauss(r));
  cdr_f64(b, 9.80665 + 0.04 * rng_gauss(r) + vib);
  static const double acov[9] = {4e-4, 0, 0, 0, 4e-4, 0, 0, 0, 4e-4};
  for (int i = 0; i < 9; i++) cdr_f64(b, acov[i]);
}

static void cdr_transform(struct obuf *b, uint64_t stamp, const char *parent, const char *child,
                          double x, double y, double z, double yaw) {
  cdr_header(b, stamp, parent);
  cdr_string(b, child);
  cdr_f64(b, x);
  cdr_f64(b, y);
  cdr_f64(b, z);
  cdr_quat_yaw(b, yaw);
}

static void gen_tf(struct synth *s, struct topic *t, uint64_t stamp, double tsec) {
  struct obuf *b = &s->buf;
  struct pose p;
  (void)t;
  robot_pose(s->world, tsec, &p);
  cdr_begin(b);
  cdr_u32(b, 2);
  /* localization drift between map and odom grows slowly */
  cdr_transform(b, stamp, "map", "odom", s->world->map_dx + 0.001 * tsec,
                s->world->map_dy - 0.0007 * tsec, 0, 0.0001 * tsec);
  cdr_transform(b, stamp, "odom", "base_link", p.x, p.y, 0, p.yaw);
}

static void gen_odom(struct synth *s, struct topic *t, uint64_t stamp, double tsec) {
  struct obuf *b = &s->buf;
  struct pose p;
  robot_pose(s->world, tsec, &p);
  struct rng *r = &t->rng;
  cdr_begin(b);
  cdr_header(b, stamp, "odom");
  cdr_string(b, "base_link");
  cdr_f64(b, p.x + 0.002 * rng_gauss(r));
  cdr_f64(b, p.y + 0.002 * rng_gauss(r));
  cdr_f64(b, 0);
  cdr_quat_yaw(b, p.yaw + 0.001 * rng_gauss(r));
  /* covariance grows with distance travelled */
  double pc = 0.001 + 0.0001 * p.odometer;
  for (int i = 0; i < 36; i++) cdr_f64(b, i % 7 == 0 ? (i < 14 ? pc : i < 35 ? 1e6 : pc / 4) : 0);
  cdr_f64(b, p.v + 0.01 * rng_gauss(r));
  cdr_f64(b, 0.005 * rng_gauss(r));
  cdr_f64(b, 0);
  cdr_f64(b, 0);
  cdr_f64(b, 0);
  cdr_f64(b, p.w + 0.003 * rng_gauss(r));
  for (int i = 0; i < 36; i++) cdr_f64(b, i % 7 == 0 ? (i < 14 ? 0.01 : i < 35 ? 1e6 : 0.005) : 0);
}

static void gen_diagnostics(struct synth *s, struct topic *t, uint64_t stamp, double tsec) {
  struct obuf *b = &s->buf;
  struct rng *r = &t->rng;
  b->len = 0;
  double battery = syn_clamp(92.0 - 0.02 * tsec + 0.3 * rng_gauss(r), 0, 100);
  double volts = 22.0 + 3.2 * battery / 100.0 + 0.02 * rng_gauss(r);
  double cpu_temp = 55.0 + 8.0 * syn_sin(tsec / 40.0) + 1.5 * rng_gauss(r);
  double load = syn_clamp(0.55 + 0.2 * rng_gauss(r), 0.05, 1.0);
  int cpu_level = cpu_temp > 62.0 ? 1 : 0;
  double fps = 29.9 + 0.08 * rng_gauss(r);
  unsigned dropped = rng_below(r, 25) == 0 ? 1u + (unsigned)rng_below(r, 3) : 0u;
  ob_printf(b, "{\"stamp\":{\"sec\":%u,\"nanosec\":%u},\"status\":[",
            (unsigned)(stamp / 1000000000u), (unsigned)(stamp % 1000000000u));
  ob_printf(b,
            "{\"name\":\"power/battery\",\"hardware_id\":\"bms0\",\"level\":%d,"
            "\"message\":\"%s\",\"values\":{\"percentage\":\"%.1f\",\"voltage\":\"%.2f\","
            "\"current\":\"%.2f\"}},",
            battery < 20 ? 1 : 0, battery < 20 ? "Low battery" : "OK", battery, volts,
            -3.1 + 0.4 * rng_gauss(r));
  ob_printf(b,
            "{\"name\":\"compute/cpu\",\"hardware_id\":\"%s\",\"level\":%d,\"message\":\"%s\","
            "\"values\":{\"temperature\":\"%.1f\",\"load\":\"%.2f\",\"memory_used_mb\":\"%u\"}},",
            s->device, cpu_level, cpu_level ? "Temperature high" : "OK", cpu_temp, load,
            2900u + (unsigned)rng_below(r, 400));
  ob_printf(b,
            "{\"name\":\"sensors/camera_front\",\"hardware_id\":\"cam0\",\"level\":%d,"
            "\"message\":\"%s\",\"values\":{\"fps\":\"%.2f\",\"dropped_frames\":\"%u\"}},",
            dropped ? 1 : 0, dropped ? "Frames dropped" : "OK", fps, dropped);
  ob_printf(b,
            "{\"name\":\"sensors/lidar\",\"hardware_id\":\"lidar0\",\"level\":0,"
            "\"message\":\"OK\",\"values\":{\"rpm\":\"%.0f\",\"packets_lost\":\"0\"}}",
            600.0 + syn_round(2 * rng_gauss(r)));
  ob_text(b, "]}");
}

static void gen_rosout(struct synth *s, struct topic *t, uint64_t stamp, double tsec) {
  struct obuf *b = &s->buf;
  struct rng *r = &t->rng;
  struct pose p;
  robot_pose(s->world, tsec, &p);
  char msg[256];
  const char *node, *file, *func;
  uint32_t line;
  uint8_t level = 20;
  switch (rng_below(r, 8)) {
    case 0:
      node = "planner";
      file = "src/global_planner.cpp";
      func = "makePlan";
      line = 211;
      snprintf(msg, sizeof msg, "Planning path to goal (%.2f, %.2f): %u waypoints",
               p.x + rng_uniform(r, -10, 10), p.y + rng_uniform(r, -10, 10),
               12u + (unsigned)rng_below(r, 90));
      break;
    case 1:
      node = "controller";
      file = "src/controller_server.cpp";
      func = "computeControl";
      line = 377;
      if (rng_below(r, 3) == 0) {
        level = 30;
        snprintf(msg, sizeof msg, "Control loop missed its desired rate of 20.0000Hz (%.2f ms)",
                 50.0 + rng_uniform(r, 1, 30));
      } else {
        snprintf(msg, sizeof msg, "Following path: %.2f m remaining, speed %.2f m/s",
                 rng_uniform(r, 0.5, 40), p.v);
      }
      break;
    case 2:
      node = "lidar_driver";
      file = "src/driver.cpp";
      func = "publishScan";
      line = 96;
      level = 10;
      snprintf(msg, sizeof msg, "Published scan with %u valid points",
               50000u + (unsigned)rng_below(r, 12000));
      break;
    case 3:
      node = "camera_driver";
      file = "src/camera_node.cpp";
      func = "onFrame";
      line = 143;
      level = 10;
      snprintf(msg, sizeof msg, "Frame %u exposure %.3f ms gain %.1f dB", s->frame_count,
               rng_uniform(r, 2, 12), rng_uniform(r, 0, 6));
      break;
    case 4:
      node = "localization";
      file = "src/amcl_node.cpp";
      func = "laserReceived";
      line = 1024;
      snprintf(msg, sizeof msg, "Pose estimate (%.3f, %.3f, %.3f), covariance trace %.5f", p.x, p.y,
               p.yaw, rng_uniform(r, 0.001, 0.05));
      break;
    case 5:
      node = "battery_monitor";
      file = "battery_monitor/monitor.py";
      func = "check";
      line = 58;
      snprintf(msg, sizeof msg, "Battery at %.1f%%, estimated %u min remaining", 92.0 - 0.02 * tsec,
               180u - (unsigned)(tsec / 60));
      break;
    case 6:
      node = "planner";
      file = "src/costmap_2d_ros.cpp";
      func = "updateMap";
      line = 402;
      if (rng_below(r, 4) == 0) {
        level = 40;
        snprintf(msg, sizeof msg, "Sensor origin at (%.2f, %.2f) is out of map bounds", p.x + 60,
                 p.y);
      } else {
        snprintf(msg, sizeof msg, "Costmap updated in %.1f ms", rng_uniform(r, 3, 25));
      }
      break;
    default:
      node = "bt_navigator";
      file = "src/bt_navigator.cpp";
      func = "onGoalPoseReceived";
      line = 310;
      snprintf(msg, sizeof msg, "Begin navigating from current location to (%.2f, %.2f)",
               rng_uniform(r, -20, 20), rng_uniform(r, -15, 15));
      break;
  }
  cdr_begin(b);
  cdr_i32(b, (int32_t)(stamp / 1000000000u));
  cdr_u32(b, (uint32_t)(stamp % 1000000000u));
  cdr_u8(b, level);
  cdr_string(b, node);
  cdr_string(b, msg);
  cdr_string(b, file);
  cdr_string(b, func);
  cdr_u32(b, line);
}

static void gen_chatter(struct synth *s, struct topic *t, uint64_t stamp, double tsec) {
  static const char *const words[8] = {
      "hello",   "status nominal", "waypoint reached", "battery ok",
      "link up", "heartbeat",      "task queued",      "idle"};
  char text[128];
  (void)stamp;
  (void)tsec;
  snprintf(text, sizeof text, "%s: %s #%u", s->device, words[rng_below(&t->rng, 8)], t->sequence);
  cdr_begin(&s->buf);
  cdr_string(&s->buf, text);
}

static void gen_pose(struct synth *s, struct topic *t, uint64_t stamp, double tsec) {
  struct obuf *b = &s->buf;
  struct pose p;
  robot_pose(s->world, tsec, &p);
  cdr_begin(b);
  cdr_header(b, stamp, "map");
  cdr_f64(b, p.x + 0.001 * rng_gauss(&t->rng));
  cdr_f64(b, p.y + 0.001 * rng_gauss(&t->rng));
  cdr_f64(b, 0);
  cdr_quat_yaw(b, p.yaw);
}

#define MS UINT64_C(1000000)
#define US UINT64_C(1000)

static const struct topic_def robot_topics[] = {
    {"/camera/front/image", "sensor_msgs/msg/Image", "ros2msg", schema_image, "cdr",
     qos_best_effort, 33333333, 1500 * US, 4 * MS, 5 * MS, 12 * MS, gen_image},
    {"/lidar/points", "sensor_msgs/msg/PointCloud2", "ros2msg", schema_pointcloud2, "cdr",
     qos_best_effort, 100 * MS, 400 * US, 6 * MS, 6 * MS, 50 * MS, gen_lidar},
    {"/imu", "sensor_msgs/msg/Imu", "ros2msg", schema_imu, "cdr", qos_best_effort, 1 * MS, 40 * US,
     100 * US, 300 * US, 200 * US, gen_imu},
    {"/tf", "tf2_msgs/msg/TFMessage", "ros2msg", schema_tf, "cdr", qos_reliable, 10 * MS, 500 * US,
     200 * US, 800 * US, 1 * MS, gen_tf},
    {"/odom", "nav_msgs/msg/Odometry", "ros2msg", schema_odom, "cdr", qos_reliable, 20 * MS, 1 * MS,
     300 * US, 1200 * US, 2 * MS, gen_odom},
    {"/diagnostics", "DiagnosticArray", "jsonschema", schema_diagnostics, "json", NULL, 1000 * MS,
     20 * MS, 1 * MS, 4 * MS, 5 * MS, gen_diagnostics},
    {"/rosout", "rcl_interfaces/msg/Log", "ros2msg", schema_log, "cdr", qos_reliable, 250 * MS,
     110 * MS, 200 * US, 1800 * US, 0, gen_rosout},
};

static const struct topic_def tiny_topics[] = {
    {"/chatter", "std_msgs/msg/String", "ros2msg", schema_string, "cdr", qos_reliable, 200 * MS,
     5 * MS, 100 * US, 400 * US, 0, gen_chatter},
    {"/pose", "geometry_msgs/msg/PoseStamped", "ros2msg", schema_pose_stamped, "cdr", qos_reliable,
     100 * MS, 2 * MS, 200 * US, 600 * US, 1 * MS, gen_pose},
};

/* ------------------------------------------------------------ utilities */

static void seterr(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *errbuf, size_t errlen, const char *fmt, ...) {
  if (!errbuf || !errlen) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errbuf, errlen, fmt, ap);
  va_end(ap);
}

/* "2026-01-01T00:00:00Z" for a Unix time in ns (second precision). */
static void format_utc(char *out, size_t n, uint64_t ns) {
  uint64_t secs = ns / 1000000000u;
  int64_t y;
  unsigned mo, d;
  pl_civil_from_days((int64_t)(secs / 86400), &y, &mo, &d);
  unsigned sod = (unsigned)(secs % 86400);
  snprintf(out, n, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, mo, d, sod / 3600,
           sod / 60 % 60, sod % 60);
}

/* ---- attachments */

static void png_chunk(struct obuf *b, const char type[4], const uint8_t *data, uint32_t len) {
  uint8_t hdr[8] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                    (uint8_t)len,         (uint8_t)type[0],     (uint8_t)type[1],
                    (uint8_t)type[2],     (uint8_t)type[3]};
  ob_bytes(b, hdr, 8);
  ob_bytes(b, data, len);
  uint32_t crc = mcap_crc32(0, hdr + 4, 4);
  crc = mcap_crc32(crc, data, len);
  uint8_t c[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
  ob_bytes(b, c, 4);
}

/* A valid 64x48 8-bit greyscale PNG (zlib stream with stored blocks). */
#define PNG_W 64
#define PNG_H 48
static void make_png(struct obuf *b, struct rng *r) {
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  uint8_t raw[PNG_H * (PNG_W + 1)];
  for (int y = 0; y < PNG_H; y++) {
    uint8_t *row = raw + y * (PNG_W + 1);
    row[0] = 0; /* filter: none */
    for (int x = 0; x < PNG_W; x++) {
      int dx = x - 40, dy = y - 20;
      int v = 60 + 2 * y + x;
      if (dx * dx + dy * dy < 100) v = 230;
      v += (int)rng_below(r, 7) - 3;
      row[1 + x] = (uint8_t)syn_clamp(v, 0, 255);
    }
  }
  uint8_t ihdr[13] = {0, 0, 0, PNG_W, 0, 0, 0, PNG_H, 8, 0, 0, 0, 0};
  /* zlib: header, one final stored block (raw < 65535 bytes), adler32 */
  uint8_t z[2 + 5 + sizeof raw + 4];
  size_t n = 0;
  z[n++] = 0x78;
  z[n++] = 0x01;
  uint16_t len = (uint16_t)sizeof raw;
  z[n++] = 0x01; /* BFINAL=1, BTYPE=00 */
  z[n++] = (uint8_t)len;
  z[n++] = (uint8_t)(len >> 8);
  z[n++] = (uint8_t)~len;
  z[n++] = (uint8_t)(~len >> 8);
  memcpy(z + n, raw, sizeof raw);
  n += sizeof raw;
  uint32_t a = 1, bb = 0;
  for (size_t i = 0; i < sizeof raw; i++) {
    a = (a + raw[i]) % 65521;
    bb = (bb + a) % 65521;
  }
  uint32_t adler = (bb << 16) | a;
  z[n++] = (uint8_t)(adler >> 24);
  z[n++] = (uint8_t)(adler >> 16);
  z[n++] = (uint8_t)(adler >> 8);
  z[n++] = (uint8_t)adler;
  b->len = 0;
  ob_bytes(b, sig, 8);
  png_chunk(b, "IHDR", ihdr, 13);
  png_chunk(b, "IDAT", z, (uint32_t)n);
  png_chunk(b, "IEND", NULL, 0);
}

static void make_calibration(struct synth *s, struct obuf *b, struct rng *r) {
  double fx = 160.0 + rng_uniform(r, -1.5, 1.5), fy = fx + rng_uniform(r, -0.3, 0.3);
  double cx = 160.0 + rng_uniform(r, -2, 2), cy = 120.0 + rng_uniform(r, -2, 2);
  double k1 = rng_uniform(r, -0.35, -0.25), k2 = rng_uniform(r, 0.08, 0.12);
  double p1 = rng_uniform(r, -1e-3, 1e-3), p2 = rng_uniform(r, -1e-3, 1e-3);
  char stamp[32];
  format_utc(stamp, sizeof stamp, s->t0 - UINT64_C(3) * 86400 * 1000000000u);
  b->len = 0;
  ob_printf(b, "# Camera and lidar calibration for %s\n# calibrated: %s\n", s->device, stamp);
  ob_text(b, "image_width: 320\nimage_height: 240\ncamera_name: camera_front\n");
  ob_printf(b,
            "camera_matrix:\n  rows: 3\n  cols: 3\n  data: [%.6f, 0.0, %.6f, 0.0, %.6f, %.6f, "
            "0.0, 0.0, 1.0]\n",
            fx, cx, fy, cy);
  ob_printf(b,
            "distortion_model: plumb_bob\ndistortion_coefficients:\n  rows: 1\n  cols: 5\n"
            "  data: [%.6f, %.6f, %.6f, %.6f, 0.0]\n",
            k1, k2, p1, p2);
  ob_text(b,
          "rectification_matrix:\n  rows: 3\n  cols: 3\n"
          "  data: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]\n");
  ob_printf(b,
            "projection_matrix:\n  rows: 3\n  cols: 4\n  data: [%.6f, 0.0, %.6f, 0.0, 0.0, "
            "%.6f, %.6f, 0.0, 0.0, 0.0, 1.0, 0.0]\n",
            fx, cx, fy, cy);
  ob_printf(b,
            "extrinsics:\n  lidar_link_to_base_link:\n    translation: [%.4f, %.4f, %.4f]\n"
            "    rotation_rpy: [0.0, 0.0, %.5f]\n",
            0.12 + rng_uniform(r, -0.01, 0.01), rng_uniform(r, -0.01, 0.01), 1.2,
            rng_uniform(r, -0.01, 0.01));
  ob_printf(b,
            "  camera_front_to_base_link:\n    translation: [%.4f, %.4f, %.4f]\n"
            "    rotation_rpy: [-1.5708, 0.0, -1.5708]\n",
            0.35 + rng_uniform(r, -0.01, 0.01), rng_uniform(r, -0.01, 0.01), 1.0);
}

static int write_attachment(struct synth *s, int index, uint64_t log_time, char *errbuf,
                            size_t errlen) {
  struct obuf data = {0};
  struct rng r;
  rng_seed(&r, s->o->seed, 2000 + (uint64_t)index);
  char name[64];
  const char *media;
  if (index == 0) {
    make_calibration(s, &data, &r);
    snprintf(name, sizeof name, "calibration.yaml");
    media = "text/yaml";
  } else if (index == 1 && s->o->profile == PL_SYNTH_ROBOT) {
    make_png(&data, &r);
    snprintf(name, sizeof name, "snapshot.png");
    media = "image/png";
  } else {
    char stamp[32];
    format_utc(stamp, sizeof stamp, log_time);
    ob_printf(&data, "Operator notes %d for %s\nwritten: %s\n", index, s->device, stamp);
    for (int i = 0, n = 3 + (int)rng_below(&r, 6); i < n; i++)
      ob_printf(&data, "- item %d: %s\n", i + 1,
                rng_below(&r, 2) ? "checked wheel alignment" : "cleaned lidar window");
    snprintf(name, sizeof name, "notes_%d.txt", index);
    media = "text/plain";
  }
  int rc = MCAP_OK;
  if (data.oom) {
    rc = MCAP_ENOMEM;
    seterr(errbuf, errlen, "out of memory building attachment '%s'", name);
    goto out;
  }
  mcap_attachment a;
  memset(&a, 0, sizeof a);
  a.log_time = log_time;
  a.create_time = log_time - (index == 0 ? UINT64_C(3) * 86400 * 1000000000u : 2000000000u);
  a.name = mcap_str_c(name);
  a.media_type = mcap_str_c(media);
  a.data.data = data.p;
  a.data.len = data.len;
  rc = mcap_writer_write_attachment(s->w, &a);
  if (rc != MCAP_OK)
    seterr(errbuf, errlen, "writing attachment '%s': %s", name, mcap_writer_errmsg(s->w));
out:
  free(data.p);
  return rc;
}

static int write_metadata(struct synth *s, int index, char *errbuf, size_t errlen) {
  char name[64];
  char v[4][64];
  mcap_kv kv[6];
  size_t n = 0;
  const char *pname = pl_synth_profile_name(s->o->profile);
  if (index == 0) {
    snprintf(name, sizeof name, "foxglove");
    kv[n].key = mcap_str_c("deviceName");
    kv[n++].value = mcap_str_c(s->device);
  } else if (index == 1) {
    snprintf(name, sizeof name, "recording_info");
    format_utc(v[0], sizeof v[0], s->t0);
    snprintf(v[1], sizeof v[1], "%llu", (unsigned long long)s->o->seed);
    snprintf(v[2], sizeof v[2], "%.3f", (double)s->total_ns / 1e9);
    kv[n].key = mcap_str_c("robot_model");
    kv[n++].value = mcap_str_c(s->o->profile == PL_SYNTH_ROBOT ? "rover-mk2" : "tiny-bot");
    kv[n].key = mcap_str_c("software_version");
    kv[n++].value = mcap_str_c("2.4.1");
    kv[n].key = mcap_str_c("started_at");
    kv[n++].value = mcap_str_c(v[0]);
    kv[n].key = mcap_str_c("synth_profile");
    kv[n++].value = mcap_str_c(pname);
    kv[n].key = mcap_str_c("synth_seed");
    kv[n++].value = mcap_str_c(v[1]);
    kv[n].key = mcap_str_c("duration_s");
    kv[n++].value = mcap_str_c(v[2]);
  } else {
    snprintf(name, sizeof name, "extra_%d", index);
    snprintf(v[0], sizeof v[0], "%d", index);
    kv[n].key = mcap_str_c("index");
    kv[n++].value = mcap_str_c(v[0]);
    kv[n].key = mcap_str_c("note");
    kv[n++].value = mcap_str_c("synthetic metadata record");
  }
  int rc = mcap_writer_write_metadata(s->w, mcap_str_c(name), kv, n);
  if (rc != MCAP_OK)
    seterr(errbuf, errlen, "writing metadata '%s': %s", name, mcap_writer_errmsg(s->w));
  return rc;
}

/* ------------------------------------------------------------ public API */

const char *pl_synth_profile_name(pl_synth_profile p) {
  switch (p) {
    case PL_SYNTH_TINY:
      return "tiny";
    case PL_SYNTH_ROBOT:
      return "robot";
  }
  return NULL;
}

int pl_synth_profile_parse(const char *name, pl_synth_profile *out) {
  if (name && strcmp(name, "tiny") == 0) {
    *out = PL_SYNTH_TINY;
    return 0;
  }
  if (name && strcmp(name, "robot") == 0) {
    *out = PL_SYNTH_ROBOT;
    return 0;
  }
  return -1;
}

/* Draw the log time of topic t's next message, or mark it done. */
static void topic_advance(struct synth *s, struct topic *t) {
  const struct topic_def *d = t->def;
  if (t->phase >= s->total_ns || t->index > (s->total_ns - t->phase) / d->period_ns) {
    t->done = 1;
    return;
  }
  uint64_t nominal = t->phase + t->index * d->period_ns;
  if (nominal >= s->total_ns) {
    t->done = 1;
    return;
  }
  uint64_t j = d->jitter_ns ? rng_below(&t->rng, 2 * d->jitter_ns + 1) : 0;
  /* phase >= jitter, so nominal + j - jitter cannot go below the start */
  t->next_log = s->t0 + nominal + j - d->jitter_ns;
  t->index++;
}

int pl_synth_write(mcap_sink *sink, const pl_synth_options *opts, pl_synth_stats *stats,
                   char *errbuf, size_t errlen) {
  pl_synth_options defaults;
  memset(&defaults, 0, sizeof defaults);
  const pl_synth_options *o = opts ? opts : &defaults;
  if (stats) memset(stats, 0, sizeof *stats);
  if (errbuf && errlen) errbuf[0] = '\0';
  if (!sink || !sink->write) {
    seterr(errbuf, errlen, "invalid argument: 'sink'");
    return MCAP_EINVAL;
  }
  if (!(o->duration >= 0 && o->duration <= 1e6)) {
    seterr(errbuf, errlen, "invalid duration %g: must be between 0 and 1000000 seconds",
           o->duration);
    return MCAP_EINVAL;
  }
  if (!pl_synth_profile_name(o->profile)) {
    seterr(errbuf, errlen, "invalid profile %d", (int)o->profile);
    return MCAP_EINVAL;
  }
  if (!mcap_compression_name(o->compression)) {
    seterr(errbuf, errlen, "invalid compression %d", (int)o->compression);
    return MCAP_EINVAL;
  }
  if (o->n_attachments > 1000 || o->n_metadata > 1000) {
    seterr(errbuf, errlen, "too many attachments or metadata records (at most 1000)");
    return MCAP_EINVAL;
  }

  struct synth s;
  memset(&s, 0, sizeof s);
  struct topic topics[PL_SYNTH_MAX_TOPICS];
  memset(topics, 0, sizeof topics);
  mcap_writer *w = NULL;
  int rc = MCAP_OK;

  s.o = o;
  s.world = malloc(sizeof *s.world);
  if (!s.world) {
    rc = MCAP_ENOMEM;
    seterr(errbuf, errlen, "out of memory");
    goto out;
  }
  world_init(s.world, o->seed);
  rng_seed(&s.misc, o->seed, 1);
  double dur = o->duration > 0 ? o->duration : 10.0;
  s.total_ns = (uint64_t)(dur * 1e9 + 0.5);
  if (s.total_ns == 0) s.total_ns = 1;
  /* 2026-01-01T00:00:00Z plus up to a day, in whole milliseconds */
  s.t0 = UINT64_C(1767225600) * 1000000000u + rng_below(&s.misc, UINT64_C(86400000)) * MS;
  snprintf(s.device, sizeof s.device, "robot-%02u", (unsigned)(o->seed % 8) + 1);

  const struct topic_def *defs = o->profile == PL_SYNTH_ROBOT ? robot_topics : tiny_topics;
  size_t n_topics = o->profile == PL_SYNTH_ROBOT ? sizeof robot_topics / sizeof robot_topics[0]
                                                 : sizeof tiny_topics / sizeof tiny_topics[0];
  int n_att = o->n_attachments < 0           ? 0
              : o->n_attachments > 0         ? o->n_attachments
              : o->profile == PL_SYNTH_ROBOT ? 2
                                             : 1;
  int n_meta = o->n_metadata < 0 ? 0 : o->n_metadata > 0 ? o->n_metadata : 2;

  mcap_writer_options wo;
  mcap_writer_options_init(&wo);
  wo.profile = o->profile == PL_SYNTH_ROBOT ? "" : "ros2";
  wo.library = o->library;
  wo.chunk_size = o->chunk_size;
  wo.compression = o->compression;
  wo.compression_level = o->compression_level;
  wo.no_chunking = o->no_chunking;
  wo.no_message_index = o->no_message_index;
  wo.no_chunk_index = o->no_chunk_index;
  wo.no_statistics = o->no_statistics;
  wo.no_summary_offsets = o->no_summary_offsets;
  wo.no_summary = o->no_summary;
  wo.no_repeated_schemas = o->no_repeated_schemas_channels;
  wo.no_repeated_channels = o->no_repeated_schemas_channels;
  wo.no_chunk_crc = wo.no_data_crc = wo.no_summary_crc = wo.no_attachment_crc = o->no_crcs;
  wo.workers = o->workers;
  rc = mcap_writer_open(&w, sink, &wo);
  if (rc != MCAP_OK) {
    seterr(errbuf, errlen, "opening the writer: %s", w ? mcap_writer_errmsg(w) : mcap_strerror(rc));
    goto out;
  }
  s.w = w;

  for (size_t i = 0; i < n_topics; i++) {
    const struct topic_def *d = &defs[i];
    struct topic *t = &topics[i];
    t->def = d;
    rng_seed(&t->rng, o->seed, 100 + i);
    /* sensors are not aligned: a random phase in [jitter, period - jitter) */
    t->phase = d->jitter_ns + rng_below(&t->rng, d->period_ns - 2 * d->jitter_ns);
    uint16_t schema_id = 0;
    mcap_bytes sd = {(const uint8_t *)d->schema_text, strlen(d->schema_text)};
    rc = mcap_writer_add_schema(w, mcap_str_c(d->schema_name), mcap_str_c(d->schema_encoding), sd,
                                &schema_id);
    if (rc != MCAP_OK) {
      seterr(errbuf, errlen, "adding schema '%s': %s", d->schema_name, mcap_writer_errmsg(w));
      goto out;
    }
    mcap_kv md[1];
    size_t n_md = 0;
    if (d->qos) {
      md[0].key = mcap_str_c("offered_qos_profiles");
      md[0].value = mcap_str_c(d->qos);
      n_md = 1;
    }
    rc = mcap_writer_add_channel(w, schema_id, mcap_str_c(d->topic),
                                 mcap_str_c(d->message_encoding), md, n_md, &t->channel_id);
    if (rc != MCAP_OK) {
      seterr(errbuf, errlen, "adding channel '%s': %s", d->topic, mcap_writer_errmsg(w));
      goto out;
    }
    topic_advance(&s, t);
  }

  for (int i = 0; i < n_meta; i++) {
    rc = write_metadata(&s, i, errbuf, errlen);
    if (rc != MCAP_OK) goto out;
  }

  uint64_t start = UINT64_MAX, end = 0, total_msgs = 0, total_bytes = 0;
  int next_att = 0;
  for (;;) {
    struct topic *t = NULL;
    for (size_t i = 0; i < n_topics; i++)
      if (!topics[i].done && (!t || topics[i].next_log < t->next_log)) t = &topics[i];
    /* attachments are due at evenly spaced times, the first at the start */
    while (next_att < n_att) {
      uint64_t due = s.t0 + s.total_ns / (uint64_t)n_att * (uint64_t)next_att;
      if (t && due > t->next_log) break;
      rc = write_attachment(&s, next_att, due, errbuf, errlen);
      if (rc != MCAP_OK) goto out;
      next_att++;
    }
    if (!t) break;

    const struct topic_def *d = t->def;
    uint64_t log_time = t->next_log;
    uint64_t latency = d->latency_min + (d->latency_span ? rng_below(&t->rng, d->latency_span) : 0);
    uint64_t publish_time = log_time - latency;
    uint64_t stamp = publish_time - d->stamp_lag;
    double tsec = (double)(log_time - s.t0) / 1e9;
    d->gen(&s, t, stamp, tsec);
    if (s.buf.oom) {
      rc = MCAP_ENOMEM;
      seterr(errbuf, errlen, "out of memory generating a message on '%s'", d->topic);
      goto out;
    }
    mcap_message m;
    m.channel_id = t->channel_id;
    m.sequence = ++t->sequence;
    m.log_time = log_time;
    m.publish_time = publish_time;
    m.data.data = s.buf.p;
    m.data.len = s.buf.len;
    rc = mcap_writer_write_message(w, &m);
    if (rc != MCAP_OK) {
      seterr(errbuf, errlen, "writing message %u on '%s': %s", t->sequence, d->topic,
             mcap_writer_errmsg(w));
      goto out;
    }
    t->messages++;
    t->bytes += s.buf.len;
    total_msgs++;
    total_bytes += s.buf.len;
    if (log_time < start) start = log_time;
    if (log_time > end) end = log_time;
    if (o->progress && total_msgs % 256 == 0)
      o->progress(o->progress_user, log_time - s.t0, s.total_ns);
    topic_advance(&s, t);
  }

  rc = mcap_writer_close(w);
  if (rc != MCAP_OK) {
    seterr(errbuf, errlen, "finishing the file: %s", mcap_writer_errmsg(w));
    goto out;
  }
  if (o->progress) o->progress(o->progress_user, s.total_ns, s.total_ns);

  if (stats) {
    stats->messages = total_msgs;
    stats->message_bytes = total_bytes;
    stats->schemas = n_topics;
    stats->channels = n_topics;
    stats->attachments = (uint64_t)n_att;
    stats->metadata = (uint64_t)n_meta;
    stats->start_time = total_msgs ? start : 0;
    stats->end_time = end;
    stats->file_bytes = mcap_writer_bytes_written(w);
    stats->n_topics = n_topics;
    for (size_t i = 0; i < n_topics; i++) {
      stats->topics[i].topic = defs[i].topic;
      stats->topics[i].channel_id = topics[i].channel_id;
      stats->topics[i].messages = topics[i].messages;
      stats->topics[i].message_bytes = topics[i].bytes;
    }
  }

out:
  mcap_writer_free(w);
  free(s.buf.p);
  free(s.world);
  return rc;
}
