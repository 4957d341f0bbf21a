/*
 * cmd_convert.c - 'mcapkit convert INPUT... -o OUT': ROS 1 bags and rosbag2
 * SQLite bags (a .db3 or a bag folder) to one MCAP file, through pl_convert
 * (pipeline/include/pipeline/convert.h). Parses options, runs the library
 * into the atomic output (pl_output), renders the report. Exit 0 complete,
 * 3 converted with losses, 1 failure, 2 usage.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bag_input.h"
#include "cmd.h"
#include "mcap/mcap.h"
#include "optgroups.h"
#include "output.h"
#include "pipeline/convert.h"
#include "pipeline/rewrite.h"

struct convert_args {
  const char *output;
  cli_compress_args comp;
  int threads;
  cli_strlist msg_path;
  const char *tmp_dir;
  int json;
};

#define A(f) offsetof(struct convert_args, f)
static const cli_opt convert_opts[] = {
    {"output", 'o', CLI_OPT_STRING, A(output), "OUT", "where to write ('-' = standard output)"},
    CLI_OPTS_COMPRESSION(struct convert_args, comp, "zstd|lz4|none", "chunk compression (default zstd)",
                         "codec level", "target uncompressed chunk size, e.g. 4M (default 1M)"),
    {"threads", 'j', CLI_OPT_INT, A(threads), "N",
     "compression threads (default: number of cores)"},
    {"jobs", 0, CLI_OPT_INT, A(threads), "N", "same as --threads"},
    {"msg-path", 0, CLI_OPT_LIST, A(msg_path), "DIR",
     "where ROS 2 .msg files are (an install prefix with share/PKG/msg, or a share folder); "
     "repeatable"},
    {"tmp-dir", 0, CLI_OPT_STRING, A(tmp_dir), "DIR",
     "where a zstd-compressed .db3 is decompressed (default $TMPDIR or /tmp)"},
    {"json", 0, CLI_OPT_FLAG, A(json), NULL, "print the report as JSON"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};
#undef A

const cli_spec cmd_convert_spec = {
    "convert",
    "INPUT... -o OUT [options]",
    "Converts ROS 1 bags (format 2.0; chunks stored, bz2 or lz4) and ROS 2 SQLite bags (a .db3\n"
    "file, or a rosbag2 folder with metadata.yaml and its .db3 files) into one MCAP file, messages\n"
    "in log-time order. Inputs are recognised by their content. ROS 1 connections become ros1msg\n"
    "schemas and ros1 channels (metadata callerid, latching); ROS 2 topics become channels with\n"
    "their serialization format and offered_qos_profiles, schemas from the bag's\n"
    "message_definitions table, else from --msg-path, else empty (a warning each). Split bags are\n"
    "merged; rosbag2 zstd compression (file or message) is undone; metadata.yaml becomes the\n"
    "Metadata record 'rosbag2'. A bag whose index is missing (a killed recording) is converted by\n"
    "walking its chunks, keeping what is intact. OUT is written atomically; inputs are only read.\n"
    "Exit status: 0 complete, 3 converted but something was lost or damaged (see the report),\n"
    "1 failure (nothing written), 2 usage error.",
    convert_opts,
    1,
    -1,
    CLI_ARGS_FILES,
    NULL,
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_progress(void *user, uint64_t done, uint64_t total) {
  char b1[CLI_FMT_SIZE], b2[CLI_FMT_SIZE];
  cli_progress *p = user;
  if (total)
    cli_progress_update(p, "convert: %s of %s (%u%%)", cli_fmt_bytes(b1, sizeof b1, done),
                        cli_fmt_bytes(b2, sizeof b2, total),
                        (unsigned)((double)(done > total ? total : done) * 100.0 / (double)total));
  else
    cli_progress_update(p, "convert: %s", cli_fmt_bytes(b1, sizeof b1, done));
}

static int print_json(const char *output, const pl_convert_report *r, double secs) {
  json_object *doc = cli_json_document();
  json_object *ins = json_object_new_array();
  for (size_t i = 0; i < r->n_inputs; i++) {
    const pl_convert_input *in = &r->inputs[i];
    json_object *o = json_object_new_object();
    cli_json_add_str(o, "path", in->path);
    cli_json_add_str(o, "kind", pl_convert_kind_name(in->kind));
    if (in->kind == PL_CONVERT_KIND_ROS1_BAG) {
      cli_json_add_bool(o, "indexed", in->indexed);
      cli_json_add_u64(o, "chunk_count", in->chunks);
    } else {
      cli_json_add_u64(o, "database_count", in->files);
    }
    cli_json_add_u64(o, "message_count", in->messages);
    cli_json_add_u64(o, "bytes", in->bytes);
    json_object_array_add(ins, o);
  }
  json_object_object_add(doc, "inputs", ins);
  cli_json_add_str(doc, "output", output);
  cli_json_add_u64(doc, "message_count", r->messages);
  cli_json_add_u64(doc, "message_bytes", r->bytes);
  cli_json_add_u64(doc, "metadata_count", r->metadata);
  cli_json_add_u64(doc, "topic_count", r->n_topics);
  if (r->messages) {
    cli_json_add_time(doc, "start_time", r->start_time);
    cli_json_add_time(doc, "end_time", r->end_time);
  }
  json_object *topics = json_object_new_array();
  for (size_t i = 0; i < r->n_topics; i++) {
    const pl_convert_topic *t = &r->topics[i];
    json_object *o = json_object_new_object();
    cli_json_add_str(o, "topic", t->topic);
    cli_json_add_str(o, "type", t->type);
    cli_json_add_u64(o, "channel_id", t->channel_id);
    cli_json_add_str(o, "message_encoding", t->message_encoding);
    cli_json_add_str(o, "schema_encoding", t->schema_encoding);
    cli_json_add_str(o, "schema", t->schema_source == PL_CONVERT_SCHEMA_MISSING ? "missing"
                                                                                 : "found");
    cli_json_add_str(o, "schema_source", pl_convert_schema_source_name(t->schema_source));
    cli_json_add_u64(o, "message_count", t->messages);
    cli_json_add_u64(o, "bytes", t->bytes);
    json_object_array_add(topics, o);
  }
  json_object_object_add(doc, "topics", topics);
  json_object *lost = json_object_new_object();
  cli_json_add_bool(lost, "complete", r->damaged == 0);
  cli_json_add_u64(lost, "message_count", r->messages_lost);
  cli_json_add_bool(lost, "message_count_is_lower_bound", r->messages_lost_unknown);
  cli_json_add_u64(lost, "bytes_skipped", r->bytes_skipped);
  json_object_object_add(doc, "lost", lost);
  cli_json_add_u64(doc, "schemas_missing", r->schemas_missing);
  cli_json_add_u64(doc, "out_of_order_count", r->out_of_order);
  json_object *probs = json_object_new_array();
  for (size_t i = 0; i < r->n_problems; i++) {
    const pl_convert_problem *p = &r->problems[i];
    json_object *o = json_object_new_object();
    cli_json_add_str(o, "severity", p->loss ? "loss" : "warning");
    cli_json_add_str(o, "file", p->file);
    if (p->offset != UINT64_MAX) cli_json_add_u64(o, "offset", p->offset);
    if (p->row >= 0) cli_json_add_int(o, "row", p->row);
    cli_json_add_str(o, "message", p->message);
    json_object_array_add(probs, o);
  }
  json_object_object_add(doc, "problems", probs);
  cli_json_add_u64(doc, "problem_count", r->n_problems_total);
  cli_json_add_u64(doc, "bytes_in", r->bytes_in);
  cli_json_add_u64(doc, "bytes_out", r->bytes_out);
  cli_json_add_double(doc, "seconds", secs, 3);
  return cli_json_print(stdout, doc);
}

static void print_text(const char *output, const pl_convert_report *r, double secs) {
  char b1[CLI_FMT_SIZE], b2[CLI_FMT_SIZE];
  cli_table t;
  cli_table_init(&t, 5, "llrrl");
  cli_table_add(&t, "TOPIC");
  cli_table_add(&t, "TYPE");
  cli_table_add(&t, "MESSAGES");
  cli_table_add(&t, "BYTES");
  cli_table_add(&t, "SCHEMA");
  for (size_t i = 0; i < r->n_topics; i++) {
    const pl_convert_topic *p = &r->topics[i];
    cli_table_add(&t, "%s", p->topic);
    cli_table_add(&t, "%s", p->type);
    cli_table_add(&t, "%llu", (unsigned long long)p->messages);
    cli_table_add(&t, "%s", cli_fmt_bytes(b1, sizeof b1, p->bytes));
    cli_table_add(&t, "%s (%s)", pl_convert_schema_source_name(p->schema_source),
                  p->schema_encoding);
  }
  cli_table_print(&t, stdout, "");
  cli_table_dispose(&t);
  printf("wrote '%s': %llu messages on %zu topics from %zu inputs, %s (%s in) in %.2f s "
         "(%.0f MB/s)\n",
         output, (unsigned long long)r->messages, r->n_topics, r->n_inputs,
         cli_fmt_bytes(b1, sizeof b1, r->bytes_out), cli_fmt_bytes(b2, sizeof b2, r->bytes_in),
         secs, secs > 0 ? (double)r->bytes_in / 1e6 / secs : 0.0);
  if (r->damaged)
    printf("lost: %s%llu messages, %llu bytes skipped (%zu problems, listed on stderr)\n",
           r->messages_lost_unknown ? "at least " : "", (unsigned long long)r->messages_lost,
           (unsigned long long)r->bytes_skipped, r->damaged);
}

int cmd_convert(cli_ctx *ctx, int argc, char **argv) {
  struct convert_args a;
  memset(&a, 0, sizeof a);
  int first;
  const cli_spec *spec = &cmd_convert_spec;
  int rc = cli_parse(ctx, spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) {
    cli_opt_dispose(spec, &a);
    return rc;
  }
  int json = a.json || ctx->json;
  pl_output *out = NULL;
  pl_convert *cv = NULL;
  const char *const *inputs = (const char *const *)argv + first;
  size_t n_inputs = (size_t)(argc - first);
  pl_rewrite_options ro;
  memset(&ro, 0, sizeof ro);
  /* The compression and thread options mean what they mean for the rewrite commands; the
     codec is zstd unless -c says otherwise, so a level is checked against it at once. */
  ro.compression = MCAP_COMPRESSION_ZSTD;
  rc = cli_rewrite_setup(spec, &a.comp, 0, NULL, a.threads, &ro);
  if (rc != CLI_CONTINUE) goto done;
  if (!a.output) {
    rc = cli_usage_error(spec, "missing '-o OUT'");
    goto done;
  }
  int to_stdout = strcmp(a.output, "-") == 0;
  if (to_stdout && json) {
    rc = cli_usage_error(spec, "'--json' cannot be used with '-o -'");
    goto done;
  }
  if (to_stdout && ctx->stdout_tty) {
    cli_error(ctx, "refusing to write binary MCAP data to a terminal; use -o FILE or redirect "
                   "standard output");
    rc = CLI_EXIT_FAILURE;
    goto done;
  }
  for (size_t i = 0; i < n_inputs; i++) {
    pl_convert_kind k;
    mcap_error_info e;
    memset(&e, 0, sizeof e);
    if (pl_convert_detect(inputs[i], &k, &e) != PL_CONVERT_OK) {
      cli_error(ctx, "%s", e.msg);
      rc = CLI_EXIT_FAILURE;
      goto done;
    }
    if (k == PL_CONVERT_KIND_MCAP || k == PL_CONVERT_KIND_UNKNOWN) {
      cli_error(ctx, "'%s': %s", inputs[i],
                k == PL_CONVERT_KIND_MCAP
                    ? "already an MCAP file; nothing to convert"
                    : "not a ROS 1 bag, a rosbag2 SQLite database or a rosbag2 folder");
      rc = CLI_EXIT_FAILURE;
      goto done;
    }
  }

  pl_convert_options o;
  memset(&o, 0, sizeof o);
  o.writer.compression = ro.compression;
  o.writer.compression_level = ro.compression_level;
  o.writer.chunk_size = ro.chunk_size;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int threads = ro.threads > 0 ? ro.threads : (cores > 0 ? (int)cores : 1);
  o.writer.workers = threads > 1 ? threads : 0;
  o.msg_paths = a.msg_path.items;
  o.n_msg_paths = a.msg_path.n;
  o.tmp_dir = a.tmp_dir;
  cli_progress bar;
  cli_progress_init(&bar, ctx);
  o.progress = on_progress;
  o.progress_user = &bar;

  pl_error_info err;
  memset(&err, 0, sizeof err);
  rc = pl_output_open(&out, a.output, inputs, n_inputs, 0, &err);
  if (rc != PL_OK) {
    cli_error(ctx, "%s", err.msg);
    rc = rc == PL_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
    goto done;
  }
  if (pl_convert_new(&cv, &o) != PL_CONVERT_OK) {
    cli_error(ctx, "out of memory");
    rc = CLI_EXIT_FAILURE;
    goto done;
  }
  double t0 = now_s();
  int crc = pl_convert_run(cv, inputs, n_inputs, pl_output_sink(out));
  cli_progress_done(&bar);
  const pl_convert_report *r = pl_convert_get_report(cv);
  for (size_t i = 0; i < r->n_problems; i++) cli_print_convert_problem(ctx, &r->problems[i]);
  if (r->n_problems_total > r->n_problems)
    cli_error(ctx, "%zu more problems not shown", r->n_problems_total - r->n_problems);
  if (crc != PL_CONVERT_OK) {
    cli_error(ctx, "%s", pl_convert_errmsg(cv)[0] ? pl_convert_errmsg(cv) : pl_convert_strerror(crc));
    rc = CLI_EXIT_FAILURE;
    goto done;
  }
  pl_output_check check = {r->messages, 0, r->metadata, 0};
  if (pl_output_commit(out, &check, &err) != PL_OK) {
    cli_error(ctx, "%s", err.msg);
    rc = CLI_EXIT_FAILURE;
    goto done;
  }
  double secs = now_s() - t0;
  rc = r->damaged ? CLI_EXIT_PROBLEMS : CLI_EXIT_OK;
  if (json) {
    if (print_json(a.output, r, secs) != 0) rc = CLI_EXIT_FAILURE;
  } else if (!to_stdout) {
    print_text(a.output, r, secs);
  } else {
    cli_verbose(ctx, "converted %llu messages on %zu topics to standard output",
                (unsigned long long)r->messages, r->n_topics);
  }
done:
  pl_convert_free(cv);
  pl_output_free(out);
  cli_opt_dispose(spec, &a);
  return rc;
}
