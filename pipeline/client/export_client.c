/*
 * export_client.c - pl_export_run(): download data through the export
 * endpoint (POST /v1/data/stream, then GET of the signed link at once,
 * without the key, streamed to disk), survive broken transfers, and prove
 * the result.
 *
 * Resume: when a transfer breaks, the part that arrived is read with the
 * streamed reader up to the first damaged record; every message it yielded
 * is whole (a chunk is only opened once it arrived completely). The export
 * is in log-time order, so every message before the last one seen, T, has
 * arrived, while messages at T itself may be cut short. The part keeps its
 * messages before T, and the next request asks for [T, end]. A part that
 * brought no message at all is dropped and asked for again. At most
 * max_parts transfers are made.
 *
 * Join (only when something broke; a single complete part is renamed into
 * place untouched): the parts are read in order and written through the
 * writer. Schemas and channels are matched by content across parts (a later
 * request may number them differently) and keep their ids when free.
 * Attachments come before messages in an export, so they are complete in
 * any part that holds a message; duplicates across parts (same name, times,
 * size and CRC) are written once, as are identical metadata records.
 *
 * Proof: the result must pass the doctor without errors; with
 * verify_against, pl_messages_compare() checks it holds exactly the local
 * file's messages for the same topics and times: each message is reduced to
 * (topic, log time, publish time, XXH3-64 of its bytes), both sides are
 * sorted and merged, and every topic that differs gets a line with its
 * counts and per-topic digests plus up to ten lines naming the missing,
 * extra or changed messages by log time. Sequence numbers and channel ids
 * are not compared (an export may renumber them).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_internal.h"
#include "pipeline/core.h"

#define DEFAULT_MAX_PARTS 8

void pl_export_result_dispose(pl_export_result *r) {
  if (!r) return;
  pl_diffs_free(r->diffs, r->n_diffs);
  memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------- parts */

struct part {
  char *path;
  int complete; /* the transfer finished */
  uint64_t cut; /* incomplete parts: keep messages with log_time < cut */
  uint64_t bytes;
};

/* Read what arrived of a broken part: the largest log time of a whole message. */
static int scan_part(const char *path, uint64_t *messages, uint64_t *last_time) {
  *messages = 0;
  *last_time = 0;
  mcap_source src;
  mcap_error_info me;
  if (mcap_source_open_file(&src, path, &me) != MCAP_OK) return -1;
  mcap_stream_reader *r = NULL;
  if (mcap_stream_reader_new(&r, &src, NULL) != MCAP_OK) return -1;
  mcap_record rec;
  while (mcap_stream_reader_next(r, &rec) == MCAP_OK) {
    if (rec.opcode != MCAP_OP_MESSAGE) continue;
    (*messages)++;
    if (rec.u.message.log_time > *last_time) *last_time = rec.u.message.log_time;
  }
  mcap_stream_reader_free(r);
  return 0;
}

/* ------------------------------------------------------------- join */

struct out_schema {
  uint16_t id;
  char *name, *encoding;
  uint8_t *data;
  uint64_t len;
};

struct out_channel {
  uint16_t id, schema_id;
  char *topic, *encoding;
  uint8_t *meta;
  uint32_t meta_len;
};

struct seen_att {
  char *name;
  uint64_t log_time, create_time, size;
  uint32_t crc;
};

struct joiner {
  mcap_writer *w;
  struct out_schema *schemas;
  size_t n_schemas, cap_schemas;
  struct out_channel *channels;
  size_t n_channels, cap_channels;
  uint8_t schema_used[65536];
  uint8_t channel_used[65536];
  struct seen_att *atts;
  size_t n_atts, cap_atts;
  uint64_t *meta_hashes;
  size_t n_meta, cap_meta;
  /* per part: input id -> output id (0 = not mapped) */
  uint16_t smap[65536];
  uint16_t cmap[65536];
  uint64_t messages, attachments;
  pl_error_info *err;
};

static void joiner_dispose(struct joiner *j) {
  for (size_t i = 0; i < j->n_schemas; i++) {
    free(j->schemas[i].name);
    free(j->schemas[i].encoding);
    free(j->schemas[i].data);
  }
  free(j->schemas);
  for (size_t i = 0; i < j->n_channels; i++) {
    free(j->channels[i].topic);
    free(j->channels[i].encoding);
    free(j->channels[i].meta);
  }
  free(j->channels);
  for (size_t i = 0; i < j->n_atts; i++) free(j->atts[i].name);
  free(j->atts);
  free(j->meta_hashes);
}

static int view_eq(mcap_str v, const char *s) {
  size_t n = strlen(s);
  return v.len == n && (n == 0 || memcmp(v.data, s, n) == 0);
}

static uint16_t free_id(const uint8_t *used, uint16_t want) {
  if (want && !used[want]) return want;
  for (uint32_t i = 1; i < 65536; i++)
    if (!used[i]) return (uint16_t)i;
  return 0;
}

static int werr(struct joiner *j, int mrc, const char *what) {
  return pl_error_set_mcap(j->err, mrc, UINT64_MAX, "joining the export: %s: %s", what,
                           mcap_writer_errmsg(j->w));
}

static int map_schema(struct joiner *j, const mcap_schema *s) {
  for (size_t i = 0; i < j->n_schemas; i++) {
    const struct out_schema *o = &j->schemas[i];
    if (view_eq(s->name, o->name) && view_eq(s->encoding, o->encoding) && s->data.len == o->len &&
        (o->len == 0 || memcmp(s->data.data, o->data, o->len) == 0)) {
      j->smap[s->id] = o->id;
      return PL_OK;
    }
  }
  uint16_t id = free_id(j->schema_used, s->id);
  if (!id)
    return pl_error_set(j->err, PL_EMCAP, UINT64_MAX, "joining the export: too many schemas");
  if (pl_grow((void **)&j->schemas, &j->cap_schemas, j->n_schemas + 1, sizeof *j->schemas) != 0)
    return pl_error_set(j->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  struct out_schema *o = &j->schemas[j->n_schemas];
  memset(o, 0, sizeof *o);
  o->id = id;
  o->name = pl_strview(s->name);
  o->encoding = pl_strview(s->encoding);
  o->len = s->data.len;
  o->data = malloc(s->data.len ? s->data.len : 1);
  if (!o->name || !o->encoding || !o->data) {
    free(o->name);
    free(o->encoding);
    free(o->data);
    return pl_error_set(j->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  if (s->data.len) memcpy(o->data, s->data.data, s->data.len);
  j->n_schemas++;
  j->schema_used[id] = 1;
  j->smap[s->id] = id;
  mcap_schema copy = *s;
  copy.id = id;
  int mrc = mcap_writer_put_schema(j->w, &copy);
  return mrc == MCAP_OK ? PL_OK : werr(j, mrc, "schema");
}

static int map_channel(struct joiner *j, const mcap_channel *c) {
  uint16_t sid = c->schema_id ? j->smap[c->schema_id] : 0;
  if (c->schema_id && !sid)
    return pl_error_set(j->err, PL_EMCAP, UINT64_MAX,
                        "joining the export: channel %u names unknown schema %u", c->id,
                        c->schema_id);
  for (size_t i = 0; i < j->n_channels; i++) {
    const struct out_channel *o = &j->channels[i];
    if (o->schema_id == sid && view_eq(c->topic, o->topic) &&
        view_eq(c->message_encoding, o->encoding) && c->metadata.len == o->meta_len &&
        (o->meta_len == 0 || memcmp(c->metadata.data, o->meta, o->meta_len) == 0)) {
      j->cmap[c->id] = o->id;
      return PL_OK;
    }
  }
  uint16_t id = free_id(j->channel_used, c->id);
  if (!id)
    return pl_error_set(j->err, PL_EMCAP, UINT64_MAX, "joining the export: too many channels");
  if (pl_grow((void **)&j->channels, &j->cap_channels, j->n_channels + 1, sizeof *j->channels) != 0)
    return pl_error_set(j->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  struct out_channel *o = &j->channels[j->n_channels];
  memset(o, 0, sizeof *o);
  o->id = id;
  o->schema_id = sid;
  o->topic = pl_strview(c->topic);
  o->encoding = pl_strview(c->message_encoding);
  o->meta_len = c->metadata.len;
  o->meta = malloc(c->metadata.len ? c->metadata.len : 1);
  if (!o->topic || !o->encoding || !o->meta) {
    free(o->topic);
    free(o->encoding);
    free(o->meta);
    return pl_error_set(j->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  if (c->metadata.len) memcpy(o->meta, c->metadata.data, c->metadata.len);
  j->n_channels++;
  j->channel_used[id] = 1;
  j->cmap[c->id] = id;
  mcap_channel copy = *c;
  copy.id = id;
  copy.schema_id = sid;
  int mrc = mcap_writer_put_channel(j->w, &copy);
  return mrc == MCAP_OK ? PL_OK : werr(j, mrc, "channel");
}

static int add_attachment(struct joiner *j, const mcap_attachment *a) {
  for (size_t i = 0; i < j->n_atts; i++) {
    const struct seen_att *s = &j->atts[i];
    if (s->log_time == a->log_time && s->create_time == a->create_time && s->size == a->data.len &&
        s->crc == a->crc && view_eq(a->name, s->name))
      return PL_OK; /* already written from an earlier part */
  }
  if (pl_grow((void **)&j->atts, &j->cap_atts, j->n_atts + 1, sizeof *j->atts) != 0)
    return pl_error_set(j->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  struct seen_att *s = &j->atts[j->n_atts];
  s->name = pl_strview(a->name);
  if (!s->name) return pl_error_set(j->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  s->log_time = a->log_time;
  s->create_time = a->create_time;
  s->size = a->data.len;
  s->crc = a->crc;
  j->n_atts++;
  j->attachments++;
  int mrc = mcap_writer_write_attachment(j->w, a);
  return mrc == MCAP_OK ? PL_OK : werr(j, mrc, "attachment");
}

static int add_metadata(struct joiner *j, const mcap_record *rec) {
  uint64_t hv = pl_hash64(rec->content.data, rec->content.len);
  for (size_t i = 0; i < j->n_meta; i++)
    if (j->meta_hashes[i] == hv) return PL_OK;
  if (pl_grow((void **)&j->meta_hashes, &j->cap_meta, j->n_meta + 1, sizeof *j->meta_hashes) != 0)
    return pl_error_set(j->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  j->meta_hashes[j->n_meta++] = hv;
  int mrc = mcap_writer_write_metadata_record(j->w, &rec->u.metadata);
  return mrc == MCAP_OK ? PL_OK : werr(j, mrc, "metadata");
}

static int join_part(struct joiner *j, const struct part *p) {
  memset(j->smap, 0, sizeof j->smap);
  memset(j->cmap, 0, sizeof j->cmap);
  mcap_source src;
  mcap_error_info me;
  if (mcap_source_open_file(&src, p->path, &me) != MCAP_OK)
    return pl_error_set_mcap(j->err, me.code, UINT64_MAX, "'%s': %s", p->path, me.msg);
  mcap_stream_reader *r = NULL;
  if (mcap_stream_reader_new(&r, &src, NULL) != MCAP_OK)
    return pl_error_set(j->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  int rc = PL_OK;
  mcap_record rec;
  int in_summary = 0;
  for (;;) {
    int mrc = mcap_stream_reader_next(r, &rec);
    if (mrc == MCAP_ITEROVER) break;
    if (mrc != MCAP_OK) {
      if (!p->complete) break; /* the cut: what came before is kept */
      rc = pl_error_set_mcap(j->err, mrc, mcap_stream_reader_error_offset(r),
                             "export part '%s': %s", p->path, mcap_stream_reader_errmsg(r));
      break;
    }
    if (rec.opcode == MCAP_OP_DATA_END) in_summary = 1;
    if (in_summary && !rec.in_chunk) {
      /* the summary repeats schemas and channels; nothing new there */
      if (rec.opcode != MCAP_OP_SCHEMA && rec.opcode != MCAP_OP_CHANNEL) continue;
    }
    switch (rec.opcode) {
      case MCAP_OP_SCHEMA:
        if (!j->smap[rec.u.schema.id]) rc = map_schema(j, &rec.u.schema);
        break;
      case MCAP_OP_CHANNEL:
        if (!j->cmap[rec.u.channel.id]) rc = map_channel(j, &rec.u.channel);
        break;
      case MCAP_OP_MESSAGE: {
        mcap_message m = rec.u.message;
        if (!p->complete && m.log_time >= p->cut) break;
        uint16_t cid = j->cmap[m.channel_id];
        if (!cid) {
          rc = pl_error_set(j->err, PL_EMCAP, UINT64_MAX,
                            "export part '%s': message on unknown channel %u", p->path,
                            m.channel_id);
          break;
        }
        m.channel_id = cid;
        int wrc = mcap_writer_write_message(j->w, &m);
        if (wrc != MCAP_OK)
          rc = werr(j, wrc, "message");
        else
          j->messages++;
        break;
      }
      case MCAP_OP_ATTACHMENT:
        rc = add_attachment(j, &rec.u.attachment);
        break;
      case MCAP_OP_METADATA:
        rc = add_metadata(j, &rec);
        break;
      default:
        break;
    }
    if (rc != PL_OK) break;
  }
  mcap_stream_reader_free(r);
  return rc;
}

static int join_parts(const struct part *parts, size_t n, const char *out, uint64_t *messages,
                      uint64_t *attachments, pl_error_info *err) {
  struct joiner *j = calloc(1, sizeof *j);
  if (!j) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  j->err = err;
  mcap_sink sink;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  int orc = mcap_sink_open_file(&sink, out, &me);
  if (orc != MCAP_OK) {
    free(j);
    return pl_error_set_mcap(err, orc, UINT64_MAX, "cannot create '%s': %s", out,
                             me.msg[0] ? me.msg : mcap_strerror(orc));
  }
  int rc = PL_OK;
  int mrc = mcap_writer_open(&j->w, &sink, NULL);
  if (mrc != MCAP_OK) rc = pl_error_set_mcap(err, mrc, UINT64_MAX, "cannot start '%s'", out);
  for (size_t i = 0; rc == PL_OK && i < n; i++) rc = join_part(j, &parts[i]);
  if (rc == PL_OK) {
    mrc = mcap_writer_close(j->w);
    if (mrc != MCAP_OK) rc = werr(j, mrc, "finishing the file");
  }
  if (rc == PL_OK && mcap_sink_commit(&sink, &me) != MCAP_OK)
    rc = pl_error_set_mcap(err, me.code, UINT64_MAX, "cannot write '%s': %s", out, me.msg);
  mcap_writer_free(j->w);
  mcap_sink_close(&sink, NULL);
  *messages = j->messages;
  *attachments = j->attachments;
  joiner_dispose(j);
  free(j);
  return rc;
}

/* ------------------------------------------------------------- checks */

static int doctor_file(const char *path, pl_export_result *res, pl_error_info *err) {
  mcap_source src;
  mcap_error_info me;
  if (mcap_source_open_file(&src, path, &me) != MCAP_OK)
    return pl_error_set_mcap(err, me.code, UINT64_MAX, "'%s': %s", path, me.msg);
  pl_doctor_report *rep = NULL;
  int rc = pl_doctor_run(&src, NULL, &rep, err);
  if (rc != PL_OK) return rc;
  res->doctor_errors = rep->n_errors;
  res->messages = rep->messages;
  if (rep->n_errors) {
    const pl_finding *f = NULL;
    for (size_t i = 0; i < rep->n_findings && !f; i++)
      if (rep->findings[i].severity == PL_SEV_ERROR) f = &rep->findings[i];
    rc = pl_error_set(err, PL_EVERIFY, f ? f->offset : UINT64_MAX,
                      "the export '%s' is not clean: %zu doctor error%s%s%s%s%s", path,
                      rep->n_errors, rep->n_errors == 1 ? "" : "s", f ? " (" : "", f ? f->code : "",
                      f ? ": " : "", f ? f->message : "");
    if (f) {
      size_t l = strlen(err->msg);
      if (l + 2 < sizeof err->msg) {
        err->msg[l] = ')';
        err->msg[l + 1] = 0;
      }
    }
  }
  pl_doctor_report_free(rep);
  return rc;
}

static char *part_path(const char *out, int k) {
  size_t n = strlen(out) + 32;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s.part%d", out, k);
  return p;
}

/* The export into out_path (o->out_path with a symlink resolved). */
static int export_run(pl_http *h, const pl_export_options *o, const char *out_path,
                      pl_export_result *res, pl_error_info *err) {
  if (!o->recording && !o->device_name && !o->device_id)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX,
                        "give a recording, or a device with start and end");
  if (!o->recording && !(o->has_start && o->has_end))
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "a device export needs a start and an end");
  if (o->has_start && o->has_end && o->end < o->start)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "the end is before the start");

  pl_api_stream_request req;
  memset(&req, 0, sizeof req);
  req.topics = o->topics;
  req.n_topics = o->n_topics;
  req.include_attachments = o->include_attachments;
  req.has_start = o->has_start;
  req.has_end = o->has_end;
  req.start = o->start;
  req.end = o->end;
  uint64_t final_end = o->has_end ? o->end : UINT64_MAX;
  pl_api_recording *rec = NULL;
  int rc = PL_OK;
  if (o->recording) {
    rc = pl_api_get_recording(h, o->recording, &rec, err);
    if (rc != PL_OK) return rc;
    req.recording_id = rec->id;
    if (!o->has_end) final_end = rec->end;
  } else {
    req.device_name = o->device_name;
    req.device_id = o->device_id;
  }

  int max_parts = o->max_parts > 0 ? o->max_parts : DEFAULT_MAX_PARTS;
  struct part *parts = calloc((size_t)max_parts, sizeof *parts);
  if (!parts) {
    pl_api_recording_free(rec);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  size_t n_parts = 0;
  int transfers = 0, complete = 0;
  while (!complete) {
    if (transfers >= max_parts) {
      rc = pl_error_set(err, PL_ENET, UINT64_MAX,
                        "the export broke off %d times; giving up (last: %s)", transfers,
                        err && err->msg[0] ? err->msg : "?");
      break;
    }
    transfers++;
    char *link = NULL;
    rc = pl_api_stream_link(h, &req, &link, err);
    if (rc != PL_OK) break;
    struct part *p = &parts[n_parts];
    memset(p, 0, sizeof *p);
    p->path = part_path(out_path, (int)n_parts);
    int fd = p->path ? open(p->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    if (fd < 0) {
      rc = p->path ? pl_error_set_errno(err, errno, "cannot create '%s'", p->path)
                   : pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
      free(link);
      free(p->path);
      p->path = NULL;
      break;
    }
    uint64_t got = 0;
    long status = 0;
    pl_error_info terr;
    memset(&terr, 0, sizeof terr);
    /* follow the link at once; a broken transfer is resumed below, not repeated */
    int trc =
        pl_http_get_to_fd(h, link, fd, 0, o->progress, o->progress_user, &got, &status, &terr);
    free(link);
    if (trc == PL_OK && fsync(fd) != 0)
      trc = pl_error_set_errno(&terr, errno, "cannot sync '%s'", p->path);
    close(fd);
    p->bytes = got;
    if (trc == PL_OK) {
      p->complete = 1;
      n_parts++;
      complete = 1;
      break;
    }
    if (err) *err = terr;
    if (trc == PL_ECANCELED || trc == PL_EIO || trc == PL_ENOMEM || trc == PL_ENOTFOUND ||
        (trc != PL_EAUTH && status >= 400 && status < 500)) {
      rc = trc;
      unlink(p->path);
      free(p->path);
      p->path = NULL;
      break;
    }
    /* broken (or an expired link): keep what arrived, if it holds a message */
    uint64_t msgs = 0, last = 0;
    if (status >= 200 && status < 300 && got > 0 && scan_part(p->path, &msgs, &last) == 0 &&
        msgs > 0 && (!req.has_start || last > req.start || n_parts == 0)) {
      p->cut = last;
      n_parts++;
      req.has_start = req.has_end = 1;
      req.start = last;
      req.end = final_end;
      pl__http_log(h, "export: transfer broke after %llu bytes (%s); resuming from %llu ns",
                   (unsigned long long)got, terr.msg, (unsigned long long)last);
    } else {
      pl__http_log(h, "export: transfer failed (%s); asking again", terr.msg);
      unlink(p->path);
      free(p->path);
      p->path = NULL;
    }
    if (n_parts >= (size_t)max_parts) {
      rc = pl_error_set(err, PL_ENET, UINT64_MAX, "the export broke off %d times; giving up",
                        transfers);
      break;
    }
  }
  res->parts = (int)n_parts;
  if (rc == PL_OK && complete) {
    if (n_parts == 1) {
      if (rename(parts[0].path, out_path) != 0)
        rc = pl_error_set_errno(err, errno, "cannot rename '%s' to '%s'", parts[0].path,
                                out_path);
    } else {
      uint64_t m = 0, a = 0;
      rc = join_parts(parts, n_parts, out_path, &m, &a, err);
      res->attachments = a;
    }
  }
  for (size_t i = 0; i < n_parts; i++) {
    if (parts[i].path) unlink(parts[i].path); /* gone already after a rename */
    free(parts[i].path);
  }
  free(parts);
  pl_api_recording_free(rec);
  if (rc != PL_OK) return rc;

  struct stat sb;
  if (stat(out_path, &sb) == 0) res->bytes = (uint64_t)sb.st_size;
  rc = doctor_file(out_path, res, err);
  if (rc != PL_OK) return rc;
  if (o->verify_against) {
    rc = pl_messages_compare(o->verify_against, out_path, o->topics, o->n_topics, o->has_start,
                             o->start, o->has_end, o->end, &res->diffs, &res->n_diffs,
                             &res->local_messages, err);
    if (rc != PL_OK) return rc;
    res->verified = 1;
    if (res->n_diffs)
      return pl_error_set(err, PL_EVERIFY, UINT64_MAX,
                          "the export differs from '%s' (%zu difference%s)", o->verify_against,
                          res->n_diffs, res->n_diffs == 1 ? "" : "s");
  }
  return PL_OK;
}

int pl_export_run(pl_http *h, const pl_export_options *o, pl_export_result *res,
                  pl_error_info *err) {
  memset(res, 0, sizeof *res);
  if (!o || !o->out_path) return pl_error_set(err, PL_EINVAL, UINT64_MAX, "no output file given");
  /* `-o LINK` replaces what the link points at, and the parts lie beside that file, so
   * that the last rename stays on its file system. */
  char *target = pl_output_target(o->out_path);
  if (!target) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  int rc = export_run(h, o, target, res, err);
  free(target);
  return rc;
}

/* ------------------------------------------------------------- compare */

struct msg_entry {
  uint32_t topic; /* index into the topic table */
  uint32_t len;
  uint64_t log_time, publish_time, hash;
};

struct msg_set {
  struct msg_entry *e;
  size_t n, cap;
};

struct topics_tab {
  char **names;
  size_t n, cap;
};

static int topic_index(struct topics_tab *t, mcap_str name, uint32_t *out) {
  for (size_t i = 0; i < t->n; i++)
    if (view_eq(name, t->names[i])) {
      *out = (uint32_t)i;
      return 0;
    }
  if (pl_grow((void **)&t->names, &t->cap, t->n + 1, sizeof *t->names) != 0) return -1;
  t->names[t->n] = pl_strview(name);
  if (!t->names[t->n]) return -1;
  *out = (uint32_t)t->n++;
  return 0;
}

static int collect(const char *path, const char *const *topics, size_t n_topics, int has_start,
                   uint64_t start, int has_end, uint64_t end, struct topics_tab *tab,
                   struct msg_set *set, pl_error_info *err) {
  mcap_source src;
  mcap_error_info me;
  if (mcap_source_open_file(&src, path, &me) != MCAP_OK)
    return pl_error_set_mcap(err, me.code, UINT64_MAX, "'%s': %s", path, me.msg);
  mcap_reader *r = NULL;
  mcap_indexed_options io;
  memset(&io, 0, sizeof io);
  io.threads = 1;
  io.skip_bad_chunks = 1; /* counted below */
  if (mcap_reader_open(&r, &src, &io, &me) != MCAP_OK)
    return pl_error_set_mcap(err, me.code, UINT64_MAX, "'%s': %s", path, me.msg);
  mcap_query q;
  memset(&q, 0, sizeof q);
  q.topics = n_topics ? topics : NULL;
  q.n_topics = n_topics;
  q.has_start = has_start;
  q.start = start;
  q.has_end = has_end;
  q.end = end;
  q.order = MCAP_ORDER_FILE;
  mcap_message_iter *it = NULL;
  int mrc = mcap_reader_query(r, &q, &it);
  int rc = PL_OK;
  if (mrc != MCAP_OK) {
    rc = pl_error_set_mcap(err, mrc, UINT64_MAX, "'%s': %s", path, mcap_reader_errmsg(r));
  } else {
    mcap_message_view v;
    while ((mrc = mcap_message_iter_next(it, &v)) == MCAP_OK) {
      uint32_t ti = 0;
      if (topic_index(tab, v.channel->topic, &ti) != 0 ||
          pl_grow((void **)&set->e, &set->cap, set->n + 1, sizeof *set->e) != 0) {
        rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
        break;
      }
      struct msg_entry *e = &set->e[set->n++];
      e->topic = ti;
      e->len = v.message.data.len > UINT32_MAX ? UINT32_MAX : (uint32_t)v.message.data.len;
      e->log_time = v.message.log_time;
      e->publish_time = v.message.publish_time;
      e->hash = pl_hash64(v.message.data.data, (size_t)v.message.data.len);
    }
    if (rc == PL_OK && mrc != MCAP_ITEROVER)
      rc = pl_error_set_mcap(err, mrc, UINT64_MAX, "'%s': %s", path, mcap_reader_errmsg(r));
  }
  mcap_damage d;
  mcap_reader_damage(r, &d);
  if (rc == PL_OK && d.problems) {
    /* a comparison with part of a file proves nothing */
    rc = pl_error_set(
        err, PL_EVERIFY, d.first_offset,
        "'%s' cannot be read completely (at offset %llu: %.200s): it cannot be compared", path,
        (unsigned long long)d.first_offset, d.msg);
  }
  mcap_message_iter_free(it);
  mcap_reader_free(r);
  return rc;
}

static int cmp_entry(const void *a, const void *b) {
  const struct msg_entry *x = a, *y = b;
  if (x->topic != y->topic) return x->topic < y->topic ? -1 : 1;
  if (x->log_time != y->log_time) return x->log_time < y->log_time ? -1 : 1;
  if (x->publish_time != y->publish_time) return x->publish_time < y->publish_time ? -1 : 1;
  if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
  return 0;
}

/* Same message slot: topic and both times. */
static int same_slot(const struct msg_entry *x, const struct msg_entry *y) {
  return x->topic == y->topic && x->log_time == y->log_time && x->publish_time == y->publish_time;
}

#define MAX_DETAILS_PER_TOPIC 10

/* A topic's digest: XXH3-128 over its sorted (log time, publish time, content
 * hash) entries, so equal digests mean the same messages in any file order. */
static int topic_digest(const struct msg_set *s, uint32_t topic, char out[33]) {
  pl_hash *h = pl_hash_new();
  if (!h) return -1;
  for (size_t i = 0; i < s->n; i++) {
    if (s->e[i].topic != topic) continue;
    pl_hash_u64(h, s->e[i].log_time);
    pl_hash_u64(h, s->e[i].publish_time);
    pl_hash_u64(h, s->e[i].hash);
  }
  pl_hash_hex(h, out);
  pl_hash_free(h);
  return 0;
}

int pl_messages_compare(const char *want, const char *got, const char *const *topics,
                        size_t n_topics, int has_start, uint64_t start, int has_end, uint64_t end,
                        pl_diff **diffs, size_t *n_diffs, uint64_t *n_want, pl_error_info *err) {
  *diffs = NULL;
  *n_diffs = 0;
  if (n_want) *n_want = 0;
  struct topics_tab tab = {0};
  struct msg_set a = {0}, b = {0};
  size_t cap = 0;
  int rc = collect(want, topics, n_topics, has_start, start, has_end, end, &tab, &a, err);
  if (rc == PL_OK)
    rc = collect(got, topics, n_topics, has_start, start, has_end, end, &tab, &b, err);
  if (rc == PL_OK) {
    if (n_want) *n_want = a.n;
    qsort(a.e, a.n, sizeof *a.e, cmp_entry);
    qsort(b.e, b.n, sizeof *b.e, cmp_entry);
    /* per topic counts, differences and details */
    size_t nt = tab.n;
    uint64_t *ca = calloc(nt ? nt : 1, sizeof *ca), *cb = calloc(nt ? nt : 1, sizeof *cb);
    uint64_t *miss = calloc(nt ? nt : 1, sizeof *miss), *extra = calloc(nt ? nt : 1, sizeof *extra);
    uint64_t *chg = calloc(nt ? nt : 1, sizeof *chg);
    size_t *shown = calloc(nt ? nt : 1, sizeof *shown);
    if (!ca || !cb || !miss || !extra || !chg || !shown)
      rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    size_t i = 0, k = 0;
    char what[512], l[128], r[128], t[40];
    pl_diff *details = NULL;
    size_t n_details = 0, cap_details = 0, cap_dtopic = 0;
    uint32_t *dtopic = NULL;
    while (rc == PL_OK && (i < a.n || k < b.n)) {
      const struct msg_entry *x = i < a.n ? &a.e[i] : NULL, *y = k < b.n ? &b.e[k] : NULL;
      int c = !x ? 1 : !y ? -1 : cmp_entry(x, y);
      if (c == 0) {
        ca[x->topic]++;
        cb[y->topic]++;
        i++;
        k++;
        continue;
      }
      const struct msg_entry *d = NULL;
      const char *kind;
      if (x && y && same_slot(x, y)) {
        chg[x->topic]++;
        ca[x->topic]++;
        cb[y->topic]++;
        d = x;
        kind = "changed";
        snprintf(l, sizeof l, "%u bytes, xxh3 %016llx", x->len, (unsigned long long)x->hash);
        snprintf(r, sizeof r, "%u bytes, xxh3 %016llx", y->len, (unsigned long long)y->hash);
        i++;
        k++;
      } else if (c < 0) {
        miss[x->topic]++;
        ca[x->topic]++;
        d = x;
        kind = "missing";
        snprintf(l, sizeof l, "%u bytes, xxh3 %016llx", x->len, (unsigned long long)x->hash);
        snprintf(r, sizeof r, "(missing)");
        i++;
      } else {
        extra[y->topic]++;
        cb[y->topic]++;
        d = y;
        kind = "extra";
        snprintf(l, sizeof l, "(missing)");
        snprintf(r, sizeof r, "%u bytes, xxh3 %016llx", y->len, (unsigned long long)y->hash);
        k++;
      }
      if (shown[d->topic] < MAX_DETAILS_PER_TOPIC) {
        shown[d->topic]++;
        pl_format_time(d->log_time, t);
        snprintf(what, sizeof what, "topic '%s': %s message at %s", tab.names[d->topic], kind, t);
        if (pl__diff_add(&details, &n_details, &cap_details, what, l, r) != PL_OK ||
            pl_grow((void **)&dtopic, &cap_dtopic, n_details, sizeof *dtopic) != 0)
          rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
        else
          dtopic[n_details - 1] = d->topic;
      }
    }
    /* each topic that differs: its summary line, then its details (grouped by topic already) */
    size_t di = 0;
    for (size_t ti = 0; rc == PL_OK && ti < nt; ti++) {
      if (!miss[ti] && !extra[ti] && !chg[ti]) continue;
      char da[33], db[33];
      if (topic_digest(&a, (uint32_t)ti, da) != 0 || topic_digest(&b, (uint32_t)ti, db) != 0) {
        rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
        break;
      }
      snprintf(what, sizeof what, "topic '%s': %llu missing, %llu extra, %llu changed",
               tab.names[ti], (unsigned long long)miss[ti], (unsigned long long)extra[ti],
               (unsigned long long)chg[ti]);
      snprintf(l, sizeof l, "%llu messages, digest %s", (unsigned long long)ca[ti], da);
      snprintf(r, sizeof r, "%llu messages, digest %s", (unsigned long long)cb[ti], db);
      if (pl__diff_add(diffs, n_diffs, &cap, what, l, r) != PL_OK)
        rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
      while (rc == PL_OK && di < n_details && dtopic[di] == ti) {
        if (pl__diff_add(diffs, n_diffs, &cap, details[di].what, details[di].local,
                         details[di].remote) != PL_OK)
          rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
        di++;
      }
    }
    pl_diffs_free(details, n_details);
    free(dtopic);
    free(ca);
    free(cb);
    free(miss);
    free(extra);
    free(chg);
    free(shown);
  }
  for (size_t i = 0; i < tab.n; i++) free(tab.names[i]);
  free(tab.names);
  free(a.e);
  free(b.e);
  if (rc != PL_OK) {
    pl_diffs_free(*diffs, *n_diffs);
    *diffs = NULL;
    *n_diffs = 0;
  }
  return rc;
}
