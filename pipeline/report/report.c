/*
 * report.c - the pl_report handle: computing a report from a file (the
 * recording index with rates observed on the way, the storage breakdown),
 * taking an index from elsewhere, and rendering HTML or SVG into memory or
 * atomically into a file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report_internal.h"

#define DEFAULT_MAX_BYTES (UINT64_C(16) << 20)
#define DEFAULT_MAX_ROWS 200

const char *pl_report_strerror(int code) {
  switch (code) {
    case PL_REPORT_OK: return "ok";
    case PL_REPORT_EINVAL: return "invalid argument";
    case PL_REPORT_ENOMEM: return "out of memory";
    case PL_REPORT_EIO: return "input/output error";
    case PL_REPORT_EINPUT: return "unreadable recording";
    case PL_REPORT_ELIMIT: return "document size limit exceeded";
    case PL_REPORT_ESTATE: return "nothing loaded";
    default: return "unknown error";
  }
}

int pl__report_fail(pl_report *r, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
  va_end(ap);
  return code;
}

int pl_report_create(pl_report **out) {
  if (!out) return PL_REPORT_EINVAL;
  *out = NULL;
  pl_report *r = calloc(1, sizeof *r);
  if (!r) return PL_REPORT_ENOMEM;
  if (pl__rates_init(&r->rates) != PL_REPORT_OK) {
    free(r);
    return PL_REPORT_ENOMEM;
  }
  *out = r;
  return PL_REPORT_OK;
}

static void clear(pl_report *r) {
  pl_recording_index_free(r->ix);
  r->ix = NULL;
  pl__rates_reset(&r->rates);
  r->has_rates = 0;
  memset(&r->storage, 0, sizeof r->storage);
  memset(&r->stats, 0, sizeof r->stats);
  r->errmsg[0] = '\0';
}

void pl_report_free(pl_report *r) {
  if (!r) return;
  clear(r);
  pl__rates_dispose(&r->rates);
  free(r);
}

const char *pl_report_errmsg(const pl_report *r) { return r ? r->errmsg : ""; }

/* ------------------------------------------------------------- computing */

static int observe_message(void *ctx, const char *topic, uint16_t channel_id, uint64_t log_time,
                           uint64_t bytes) {
  (void)bytes;
  pl_report *r = ctx;
  return pl__rates_add(&r->rates, topic, channel_id, log_time) == PL_REPORT_OK ? PL_OK
                                                                                : PL_ENOMEM;
}

static void observe_restart(void *ctx) {
  pl_report *r = ctx;
  /* keep the grid's size from the summary: times seen again widen it as needed */
  pl__rates_reset(&r->rates);
}

static int has_problem(const pl_recording_index *ix, const char *code) {
  for (size_t i = 0; i < ix->n_problems; i++)
    if (strcmp(ix->problems[i].code, code) == 0) return 1;
  return 0;
}

int pl_report_load_file(pl_report *r, const char *path, const pl_report_options *o) {
  if (!r) return PL_REPORT_EINVAL;
  clear(r);
  if (!path) return pl__report_fail(r, PL_REPORT_EINVAL, "no file given");
  pl_report_options defaults;
  memset(&defaults, 0, sizeof defaults);
  defaults.tolerance_s = -1;
  if (!o) o = &defaults;
  if (o->doctor && o->no_doctor)
    return pl__report_fail(r, PL_REPORT_EINVAL, "doctor and no_doctor exclude each other");

  struct stat sb;
  if (stat(path, &sb) != 0)
    return pl__report_fail(r, PL_REPORT_EIO, "cannot open '%s': %s", path, strerror(errno));
  if (!S_ISREG(sb.st_mode))
    return pl__report_fail(r, PL_REPORT_EINVAL, "'%s' is not a regular file", path);
  /* where the bytes go, and the summary's time range to size the rate bins at once */
  int has_range = 0;
  uint64_t lo = 0, hi = 0;
  char msg[256] = "";
  int src = pl__report_storage(path, &r->storage, &has_range, &lo, &hi, msg, sizeof msg);
  if (src < 0 && src != PL_REPORT_EINPUT) {
    clear(r);
    return pl__report_fail(r, src, "'%s': %s", path, msg);
  }
  if (has_range) pl__rates_presize(&r->rates, lo, hi);

  /* the index, with the rates observed on its way (it also says best what is wrong with a
   * file that is not MCAP) */
  pl_index_observer obs;
  memset(&obs, 0, sizeof obs);
  obs.ctx = r;
  obs.message = observe_message;
  obs.restart = observe_restart;
  pl_index_options io;
  memset(&io, 0, sizeof io);
  io.tolerance_s = o->tolerance_s;
  io.threads = o->threads > 0 ? o->threads : 1;
  io.no_doctor = o->no_doctor;
  io.doctor_if_scanning = !o->doctor;
  io.no_hash = o->no_hash;
  io.observer = &obs;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  pl_recording_index *ix = NULL;
  int rc = pl_index_file(path, &io, &ix, &err);
  if (rc != PL_OK) {
    int code = rc == PL_ENOMEM   ? PL_REPORT_ENOMEM
               : rc == PL_EIO    ? PL_REPORT_EIO
               : rc == PL_EINVAL ? PL_REPORT_EINVAL
                                 : PL_REPORT_EINPUT;
    clear(r);
    const char *why = err.msg[0] ? err.msg : pl_strerror(rc);
    if (strstr(why, path)) return pl__report_fail(r, code, "%s", why);
    return pl__report_fail(r, code, "'%s': %s", path, why);
  }
  if (src == PL_REPORT_EINPUT) { /* indexable after all: measure nothing rather than guess */
    memset(&r->storage, 0, sizeof r->storage);
    src = PL_REPORT_OK;
  }
  r->ix = ix;
  r->has_rates = 1;
  r->stats.chunks_decompressed = ix->chunks_decompressed;
  r->stats.storage_from_summary = src == 1;
  /* the index read the message indexes unless it says it had to fall back to a pass */
  r->stats.from_summary = src == 1 && !has_problem(ix, "index-summary-unused");
  r->stats.doctor_ran = !o->no_doctor && (o->doctor || !r->stats.from_summary);
  return PL_REPORT_OK;
}

int pl_report_set_index(pl_report *r, pl_recording_index *ix) {
  if (!r) {
    pl_recording_index_free(ix);
    return PL_REPORT_EINVAL;
  }
  clear(r);
  if (!ix) return pl__report_fail(r, PL_REPORT_EINVAL, "no index given");
  r->ix = ix;
  return PL_REPORT_OK;
}

const pl_recording_index *pl_report_index(const pl_report *r) { return r ? r->ix : NULL; }

void pl_report_get_stats(const pl_report *r, pl_report_stats *out) {
  if (!out) return;
  memset(out, 0, sizeof *out);
  if (r) *out = r->stats;
}

const pl_report_storage *pl_report_get_storage(const pl_report *r) {
  return r ? &r->storage : NULL;
}

int pl_report_topic_rate(const pl_report *r, const char *topic, pl_report_rate *out) {
  if (!r || !topic || !out || !r->has_rates || !r->rates.any) return 0;
  const struct rate_topic *t = pl__rates_find(&r->rates, topic);
  if (!t) return 0;
  out->origin = r->rates.origin;
  out->width = r->rates.width;
  out->n_bins = PL_REPORT_RATE_BINS;
  out->counts = t->bins;
  return 1;
}

/* ------------------------------------------------------------- rendering */

int pl_report_render(pl_report *r, pl_report_format fmt, const pl_report_render_options *o,
                     char **out, size_t *len) {
  if (!r || !out) return PL_REPORT_EINVAL;
  *out = NULL;
  if (len) *len = 0;
  r->errmsg[0] = '\0';
  if (!r->ix) return pl__report_fail(r, PL_REPORT_ESTATE, "nothing to render: no recording loaded");
  if (fmt != PL_REPORT_HTML && fmt != PL_REPORT_SVG)
    return pl__report_fail(r, PL_REPORT_EINVAL, "unknown document format %d", (int)fmt);
  pl_report_render_options defaults;
  memset(&defaults, 0, sizeof defaults);
  if (!o) o = &defaults;
  uint64_t max = o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES;
  if (max > SIZE_MAX / 2) max = SIZE_MAX / 2;
  struct timeline tl;
  int rc = pl__timeline_build(r, o->max_rows ? o->max_rows : DEFAULT_MAX_ROWS, &tl);
  if (rc != PL_REPORT_OK) return pl__report_fail(r, rc, "out of memory building the timeline");
  struct rb b;
  pl__rb_init(&b, (size_t)max);
  if (fmt == PL_REPORT_SVG) {
    pl__rb_put(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    pl__timeline_svg(&b, r, &tl, 1);
    pl__rb_put(&b, "\n");
  } else {
    pl__report_html(&b, r, o, &tl);
  }
  pl__timeline_dispose(&tl);
  if (b.status == PL_REPORT_OK && !b.p) pl__rb_put(&b, "");
  if (b.status != PL_REPORT_OK) {
    rc = b.status;
    pl__rb_dispose(&b);
    if (rc == PL_REPORT_ELIMIT)
      return pl__report_fail(r, rc, "the document would exceed %llu bytes (max_bytes)",
                             (unsigned long long)max);
    return pl__report_fail(r, rc, "out of memory rendering the document");
  }
  *out = b.p;
  if (len) *len = b.len;
  return PL_REPORT_OK;
}

int pl_report_write_file(pl_report *r, pl_report_format fmt, const pl_report_render_options *o,
                         const char *path) {
  if (!r) return PL_REPORT_EINVAL;
  if (!path) return pl__report_fail(r, PL_REPORT_EINVAL, "no output file given");
  char *doc = NULL;
  size_t len = 0;
  int rc = pl_report_render(r, fmt, o, &doc, &len);
  if (rc != PL_REPORT_OK) return rc;
  mcap_sink sink;
  mcap_error_info e;
  memset(&e, 0, sizeof e);
  char *target = pl_output_target(path); /* through a symlink, as a shell redirection */
  int orc = target ? mcap_sink_open_file(&sink, target, &e) : MCAP_ENOMEM;
  free(target);
  if (orc != MCAP_OK) {
    free(doc);
    return pl__report_fail(r, PL_REPORT_EIO, "cannot write '%s': %s", path,
                           e.msg[0] ? e.msg : mcap_strerror(orc));
  }
  if (sink.write(sink.payload, doc, len, &e) != MCAP_OK || mcap_sink_commit(&sink, &e) != MCAP_OK) {
    free(doc);
    mcap_sink_close(&sink, NULL);
    return pl__report_fail(r, PL_REPORT_EIO, "cannot write '%s': %s", path, e.msg);
  }
  free(doc);
  if (mcap_sink_close(&sink, &e) != MCAP_OK)
    return pl__report_fail(r, PL_REPORT_EIO, "cannot write '%s': %s", path, e.msg);
  return PL_REPORT_OK;
}
