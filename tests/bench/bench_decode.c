/*
 * bench_decode.c - `mcapkit-bench decode`: message decoding speed of pl_decode
 * (pipeline/decode), on one core.
 *
 * A robot recording (pl_synth_write, seed 0, uncompressed, into memory) gives
 * real CDR messages with the ros2msg schemas rosbag2 would store: /imu
 * (sensor_msgs/msg/Imu, 1 kHz), /tf (tf2_msgs/msg/TFMessage, 100 Hz) and /odom
 * (nav_msgs/msg/Odometry, 50 Hz), kept in their recorded order. Each row then
 * runs one decoder per channel over all of them, in passes, until at least
 * --seconds have gone by, best of --repeats:
 *
 *   decode           pl_decoder_decode only (the value tree)
 *   decode + NDJSON  plus pl_decode_ndjson_line into a buffer (what `mcapkit cat
 *                    --decode` and `extract --format ndjson` write)
 *   decode + CSV     plus pl_csv_write_row (extract --format csv)
 *
 * MB/s is CDR payload (10^6 bytes of message data, 4-byte headers included) per
 * second of wall time; the CPU-time figure is beside it. Target: NDJSON >= 150
 * MB/s. Output buffers are emptied (not written anywhere) when over 1 MiB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "mcap/mcap.h"
#include "pipeline/decode.h"
#include "pipeline/synth.h"

#define TARGET_NDJSON_MBPS 150.0

struct dmsg {
  mcap_message m;
  int ch; /* index into channels */
};

struct dset {
  mcap_channel channels[3];
  char *topics[3];
  pl_decoder *dec[3];
  pl_csv *csv[3];
  struct dmsg *msgs;
  size_t n, cap;
  uint8_t *data; /* every payload, back to back */
  size_t data_len, data_cap;
  uint64_t bytes[3];
  uint64_t count[3];
};

static const char *const k_topics[3] = {"/imu", "/tf", "/odom"};

static void dset_free(struct dset *s) {
  for (int i = 0; i < 3; i++) {
    pl_csv_free(s->csv[i]);
    pl_decoder_free(s->dec[i]);
    free(s->topics[i]);
  }
  free(s->msgs);
  free(s->data);
}

/* Read the recording and keep the three topics' messages (payloads copied). */
static int load(struct dset *s, const uint8_t *file, uint64_t size) {
  mcap_source src;
  mcap_stream_reader *r = NULL;
  int chan_of[65536];
  for (int i = 0; i < 65536; i++) chan_of[i] = -1;
  mcap_schema schemas[16];
  char *schema_copies[16] = {0};
  int rc = -1;
  if (mcap_source_from_memory(&src, file, size) != MCAP_OK ||
      mcap_stream_reader_new(&r, &src, NULL) != MCAP_OK) {
    bench_err("cannot read the generated recording");
    return -1;
  }
  memset(schemas, 0, sizeof schemas);
  for (;;) {
    mcap_record rec;
    int x = mcap_stream_reader_next(r, &rec);
    if (x == MCAP_ITEROVER) break;
    if (x != MCAP_OK) {
      bench_err("reading the generated recording: %s", mcap_stream_reader_errmsg(r));
      goto out;
    }
    if (rec.opcode == MCAP_OP_SCHEMA && rec.u.schema.id < 16) {
      const mcap_schema *sc = &rec.u.schema;
      /* keep a copy: the stream reader's views do not outlive the record */
      size_t n = sc->name.len + sc->encoding.len + (size_t)sc->data.len;
      char *c = malloc(n ? n : 1);
      if (!c) goto out;
      memcpy(c, sc->name.data, sc->name.len);
      memcpy(c + sc->name.len, sc->encoding.data, sc->encoding.len);
      memcpy(c + sc->name.len + sc->encoding.len, sc->data.data, (size_t)sc->data.len);
      free(schema_copies[sc->id]);
      schema_copies[sc->id] = c;
      schemas[sc->id] = *sc;
      schemas[sc->id].name.data = c;
      schemas[sc->id].encoding.data = c + sc->name.len;
      schemas[sc->id].data.data = (const uint8_t *)c + sc->name.len + sc->encoding.len;
    } else if (rec.opcode == MCAP_OP_CHANNEL) {
      const mcap_channel *c = &rec.u.channel;
      for (int i = 0; i < 3; i++) {
        if (c->topic.len != strlen(k_topics[i]) || memcmp(c->topic.data, k_topics[i], c->topic.len))
          continue;
        if (s->dec[i]) break;
        s->topics[i] = malloc(c->topic.len + 1);
        if (!s->topics[i]) goto out;
        memcpy(s->topics[i], c->topic.data, c->topic.len);
        s->channels[i] = *c;
        s->channels[i].topic.data = s->topics[i];
        memset(&s->channels[i].metadata, 0, sizeof s->channels[i].metadata);
        pl_decoder_spec spec;
        pl_decoder_spec_from(
            &spec, &s->channels[i],
            c->schema_id < 16 && schema_copies[c->schema_id] ? &schemas[c->schema_id] : NULL);
        pl_decode_error_info de;
        if (pl_decoder_create(&s->dec[i], &spec, NULL, &de) != PL_DECODE_OK) {
          bench_err("%s", de.msg);
          goto out;
        }
        pl_csv_options co;
        pl_csv_options_init(&co);
        if (pl_csv_create(&s->csv[i], s->dec[i], &co, &de) != PL_DECODE_OK) {
          bench_err("%s", de.msg);
          goto out;
        }
        chan_of[c->id] = i;
      }
    } else if (rec.opcode == MCAP_OP_MESSAGE) {
      const mcap_message *m = &rec.u.message;
      int ci = chan_of[m->channel_id];
      if (ci < 0) continue;
      if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        struct dmsg *p = realloc(s->msgs, cap * sizeof *p);
        if (!p) goto out;
        s->msgs = p;
        s->cap = cap;
      }
      while (s->data_len + m->data.len > s->data_cap) {
        size_t cap = s->data_cap ? s->data_cap * 2 : (size_t)1 << 20;
        uint8_t *p = realloc(s->data, cap);
        if (!p) goto out;
        s->data = p;
        s->data_cap = cap;
      }
      memcpy(s->data + s->data_len, m->data.data, (size_t)m->data.len);
      s->msgs[s->n].m = *m;
      s->msgs[s->n].m.data.data = (const uint8_t *)(uintptr_t)s->data_len; /* fixed below */
      s->msgs[s->n].ch = ci;
      s->data_len += (size_t)m->data.len;
      s->bytes[ci] += m->data.len;
      s->count[ci]++;
      s->n++;
    }
  }
  for (size_t i = 0; i < s->n; i++)
    s->msgs[i].m.data.data = s->data + (uintptr_t)s->msgs[i].m.data.data;
  for (int i = 0; i < 3; i++)
    if (!s->count[i]) {
      bench_err("the recording has no %s messages", k_topics[i]);
      goto out;
    }
  rc = 0;
out:
  for (int i = 0; i < 16; i++) free(schema_copies[i]);
  mcap_stream_reader_free(r);
  return rc;
}

enum mode { M_DECODE, M_NDJSON, M_CSV };

/* One pass over the messages of `topic` (-1: all). 0 or -1 after a message. */
static int pass(struct dset *s, enum mode mode, int topic, pl_text *out) {
  for (size_t i = 0; i < s->n; i++) {
    const struct dmsg *d = &s->msgs[i];
    if (topic >= 0 && d->ch != topic) continue;
    const pl_value *v;
    if (pl_decoder_decode(s->dec[d->ch], &d->m, &v) != PL_DECODE_OK) {
      bench_err("%s", pl_decoder_errmsg(s->dec[d->ch]));
      return -1;
    }
    int rc = PL_DECODE_OK;
    if (mode == M_NDJSON)
      rc = pl_decode_ndjson_line(&s->channels[d->ch], &d->m, v, NULL, out);
    else if (mode == M_CSV)
      rc = pl_csv_write_row(s->csv[d->ch], d->m.log_time, v, out);
    if (rc != PL_DECODE_OK) {
      bench_err("rendering failed");
      return -1;
    }
    if (out->len > ((size_t)1 << 20)) out->len = 0;
  }
  return 0;
}

struct result {
  double mbps, cpu_mbps, out_ratio;
};

static int measure(struct dset *s, enum mode mode, int topic, double min_seconds, int repeats,
                   struct result *res) {
  uint64_t bytes = topic < 0 ? s->bytes[0] + s->bytes[1] + s->bytes[2] : s->bytes[topic];
  pl_text out = PL_TEXT_INIT;
  memset(res, 0, sizeof *res);
  if (pass(s, mode, topic, &out) != 0) { /* warm up; and the output size of one pass */
    pl_text_dispose(&out);
    return -1;
  }
  double best = 0, best_cpu = 0;
  uint64_t out_bytes = 0;
  for (int r = 0; r < repeats; r++) {
    double t0 = bench_now(), c0 = bench_thread_cpu(), t, c;
    uint64_t passes = 0;
    do {
      out.len = 0;
      if (pass(s, mode, topic, &out) != 0) {
        pl_text_dispose(&out);
        return -1;
      }
      passes++;
      t = bench_now() - t0;
    } while (t < min_seconds);
    c = bench_thread_cpu() - c0;
    double mb = (double)bytes * (double)passes / 1e6;
    if (mb / t > best) best = mb / t;
    if (mb / c > best_cpu) best_cpu = mb / c;
  }
  /* output bytes of one pass (the buffer is emptied at 1 MiB, so count it alone) */
  for (size_t i = 0; i < s->n && mode != M_DECODE; i++) {
    const struct dmsg *d = &s->msgs[i];
    if (topic >= 0 && d->ch != topic) continue;
    const pl_value *v;
    out.len = 0;
    if (pl_decoder_decode(s->dec[d->ch], &d->m, &v) != PL_DECODE_OK) break;
    if (mode == M_NDJSON)
      pl_decode_ndjson_line(&s->channels[d->ch], &d->m, v, NULL, &out);
    else
      pl_csv_write_row(s->csv[d->ch], d->m.log_time, v, &out);
    out_bytes += out.len;
  }
  pl_text_dispose(&out);
  res->mbps = best;
  res->cpu_mbps = best_cpu;
  res->out_ratio = bytes ? (double)out_bytes / (double)bytes : 0;
  return 0;
}

static void decode_usage(FILE *f) {
  fputs("usage: " BENCH_PROG
        " decode [--duration S] [--seconds S] [--repeats N] [--json]\n"
        "  --duration S  seconds of robot recording to take messages from (default 10)\n"
        "  --seconds S   minimum time per measurement (default 1)\n"
        "  --repeats N   best of N measurements (default 3)\n",
        f);
}

int bench_decode_main(int argc, char **argv) {
  double duration = 10, seconds = 1;
  uint64_t repeats = 3;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--json") == 0) {
      json = 1;
    } else if ((strcmp(a, "--duration") == 0 || strcmp(a, "--seconds") == 0) && i + 1 < argc) {
      char *end;
      double v = strtod(argv[++i], &end);
      if (*end || !(v > 0 && v <= 3600)) {
        bench_err("bad value for %s", a);
        return 2;
      }
      if (strcmp(a, "--duration") == 0)
        duration = v;
      else
        seconds = v;
    } else if (strcmp(a, "--repeats") == 0 && i + 1 < argc) {
      if (bench_parse_u64(argv[++i], &repeats) != 0 || repeats == 0 || repeats > 100) {
        bench_err("bad value for --repeats");
        return 2;
      }
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      decode_usage(stdout);
      return 0;
    } else {
      decode_usage(stderr);
      return 2;
    }
  }

  /* the recording, in memory, uncompressed */
  pl_synth_options o;
  pl_synth_stats st;
  memset(&o, 0, sizeof o);
  o.profile = PL_SYNTH_ROBOT;
  o.duration = duration;
  o.compression = MCAP_COMPRESSION_NONE;
  o.n_attachments = PL_SYNTH_NONE;
  o.n_metadata = PL_SYNTH_NONE;
  mcap_sink sink;
  char msg[256] = "";
  if (mcap_sink_memory(&sink, (uint64_t)8 << 30) != MCAP_OK) {
    bench_err("out of memory");
    return 1;
  }
  if (pl_synth_write(&sink, &o, &st, msg, sizeof msg) != MCAP_OK) {
    bench_err("generation failed: %s", msg);
    mcap_sink_close(&sink, NULL);
    return 1;
  }
  uint64_t size;
  const uint8_t *file = mcap_sink_memory_data(&sink, &size);
  struct dset s;
  memset(&s, 0, sizeof s);
  int rc = load(&s, file, size);
  mcap_sink_close(&sink, NULL);
  if (rc != 0) {
    dset_free(&s);
    return 1;
  }

  static const char *const mode_names[3] = {"decode", "decode + NDJSON", "decode + CSV"};
  static const char *const mode_keys[3] = {"decode", "ndjson", "csv"};
  struct result mix[3], per[3];
  for (int m = 0; m < 3; m++)
    if (measure(&s, (enum mode)m, -1, seconds, (int)repeats, &mix[m]) != 0) goto fail;
  for (int t = 0; t < 3; t++)
    if (measure(&s, M_NDJSON, t, seconds, (int)repeats, &per[t]) != 0) goto fail;

  uint64_t total = s.bytes[0] + s.bytes[1] + s.bytes[2];
  int met = mix[M_NDJSON].mbps >= TARGET_NDJSON_MBPS;
  if (json) {
    printf("{\"format_version\":1,\"messages\":%zu,\"payload_bytes\":%llu,\"topics\":{", s.n,
           (unsigned long long)total);
    for (int t = 0; t < 3; t++)
      printf(
          "%s\"%s\":{\"messages\":%llu,\"payload_bytes\":%llu,\"ndjson_mbps\":%.1f,"
          "\"ndjson_cpu_mbps\":%.1f}",
          t ? "," : "", k_topics[t], (unsigned long long)s.count[t], (unsigned long long)s.bytes[t],
          per[t].mbps, per[t].cpu_mbps);
    printf("},\"mix\":{");
    for (int m = 0; m < 3; m++)
      printf("%s\"%s\":{\"mbps\":%.1f,\"cpu_mbps\":%.1f,\"output_per_input\":%.2f}", m ? "," : "",
             mode_keys[m], mix[m].mbps, mix[m].cpu_mbps, mix[m].out_ratio);
    printf("},\"ndjson_target_mbps\":%.0f,\"ndjson_target_met\":%s}\n", TARGET_NDJSON_MBPS,
           met ? "true" : "false");
  } else {
    printf(
        "decode: %zu messages, %.2f MB of CDR payload (/imu %llu, /tf %llu, /odom %llu "
        "messages), one core\n\n",
        s.n, (double)total / 1e6, (unsigned long long)s.count[0], (unsigned long long)s.count[1],
        (unsigned long long)s.count[2]);
    printf("%-28s %10s %10s %12s\n", "", "MB/s", "CPU MB/s", "out/in");
    for (int m = 0; m < 3; m++)
      printf("%-28s %10.1f %10.1f %12.2f%s\n", mode_names[m], mix[m].mbps, mix[m].cpu_mbps,
             mix[m].out_ratio,
             m == M_NDJSON ? (met ? "  (target >= 150: ok)" : "  (target >= 150: MISS)") : "");
    for (int t = 0; t < 3; t++) {
      char label[64];
      snprintf(label, sizeof label, "  NDJSON, %s only", k_topics[t]);
      printf("%-28s %10.1f %10.1f %12.2f\n", label, per[t].mbps, per[t].cpu_mbps, per[t].out_ratio);
    }
  }
  dset_free(&s);
  return 0;
fail:
  dset_free(&s);
  return 1;
}
