/*
 * rewrite_output.c - pl_output: where rewrite, merge and recover write.
 * A file target is libmcap's atomic file sink (an unnamed temporary file
 * beside it, so that a killed run leaves nothing behind), flushed and fsynced
 * (mcap_sink_sync), checked by reading it back, and only then renamed over
 * the target (mcap_sink_commit, which fsyncs the directory too). Writing over
 * an input is refused unless the caller asks for in-place, which is then the
 * same procedure: the input is replaced only by a complete, verified file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rewrite_internal.h"

struct pl_output {
  char *path; /* the target (a symlink resolved to what it points at) */
  int is_stdout;
  int sink_open;
  int committed;
  mcap_sink sink;
};

int pl_output_open(pl_output **out, const char *path, const char *const *inputs, size_t n_inputs,
                   int in_place, pl_error_info *err) {
  struct stat st, ist;
  mcap_error_info me;
  int rc = PL_OK;
  if (!out || !path || (n_inputs && !inputs))
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  *out = NULL;
  pl_output *o = calloc(1, sizeof *o);
  if (!o) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  memset(&me, 0, sizeof me);
  if (strcmp(path, "-") == 0) {
    o->is_stdout = 1;
    int mrc = mcap_sink_from_fd(&o->sink, STDOUT_FILENO, &me);
    if (mrc) {
      free(o);
      return pl_error_set_mcap(err, mrc, UINT64_MAX, "standard output: %s", me.msg);
    }
    o->sink_open = 1;
    *out = o;
    return PL_OK;
  }

  int exists = stat(path, &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) {
    rc = pl_error_set(err, PL_EINVAL, UINT64_MAX, "'%s' is a directory", path);
    goto fail;
  }
  for (size_t i = 0; exists && i < n_inputs; i++) {
    if (!inputs[i] || strcmp(inputs[i], "-") == 0) continue;
    if (stat(inputs[i], &ist) == 0 && ist.st_dev == st.st_dev && ist.st_ino == st.st_ino &&
        !in_place) {
      rc = pl_error_set(err, PL_EINVAL, UINT64_MAX, "refusing to write over the input '%s'",
                        inputs[i]);
      goto fail;
    }
  }
  /* Replace what a symlink points at, not the link itself. */
  o->path = pl_output_target(path);
  if (!o->path) {
    rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    goto fail;
  }
  int mrc = mcap_sink_open_file(&o->sink, o->path, &me);
  if (mrc) {
    rc = pl_error_set_mcap(err, mrc, UINT64_MAX, "%s", me.msg);
    goto fail;
  }
  o->sink_open = 1;
  *out = o;
  return PL_OK;
fail:
  pl_output_free(o);
  return rc;
}

mcap_sink *pl_output_sink(pl_output *o) {
  return o ? &o->sink : NULL;
}

int pl_output_is_stdout(const pl_output *o) {
  return o && o->is_stdout;
}

/* Read the finished file back and compare with what was written. */
static int verify(const char *path, const pl_output_check *c, pl_error_info *err) {
  mcap_source src;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  int mrc = mcap_source_open_file(&src, path, &me);
  if (mrc) return pl_error_set_mcap(err, mrc, UINT64_MAX, "checking the output: %s", me.msg);
  mcap_indexed_options io;
  memset(&io, 0, sizeof io);
  io.threads = 1;
  mcap_reader *r = NULL;
  mrc = mcap_reader_open(&r, &src, &io, &me);
  if (mrc) {
    return pl_error_set(err, PL_EVERIFY, me.offset, "the output does not read back: %s",
                        me.msg[0] ? me.msg : mcap_strerror(mrc));
  }
  int rc = PL_OK;
  int from_file = 0;
  const mcap_statistics *s = mcap_reader_statistics(r, &from_file);
  /* Files written without chunks are indexed by a scan: then the counts are the scan's. */
  if (!from_file && mcap_reader_index_source(r, NULL) == MCAP_INDEX_FROM_SUMMARY) {
    rc = pl_error_set(err, PL_EVERIFY, UINT64_MAX, "the output's summary has no statistics");
  } else if (s->message_count != c->messages || s->attachment_count != c->attachments ||
             s->metadata_count != c->metadata) {
    rc = pl_error_set(err, PL_EVERIFY, UINT64_MAX,
                      "the output holds %llu messages, %u attachments, %u metadata records; "
                      "%llu, %llu, %llu were written",
                      (unsigned long long)s->message_count, s->attachment_count, s->metadata_count,
                      (unsigned long long)c->messages, (unsigned long long)c->attachments,
                      (unsigned long long)c->metadata);
  }
  mcap_reader_free(r);
  if (rc || !c->full) return rc;

  /* Every record, every CRC. */
  mrc = mcap_source_open_file(&src, path, &me);
  if (mrc) return pl_error_set_mcap(err, mrc, UINT64_MAX, "checking the output: %s", me.msg);
  mcap_stream_reader *sr = NULL;
  mrc = mcap_stream_reader_new(&sr, &src, NULL);
  if (mrc) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  uint64_t msgs = 0, atts = 0, metas = 0;
  mcap_record rec;
  while ((mrc = mcap_stream_reader_next(sr, &rec)) == MCAP_OK) {
    if (rec.opcode == MCAP_OP_MESSAGE) msgs++;
    if (rec.opcode == MCAP_OP_ATTACHMENT) atts++;
    if (rec.opcode == MCAP_OP_METADATA) metas++;
  }
  if (mrc != MCAP_ITEROVER) {
    rc = pl_error_set(err, PL_EVERIFY, mcap_stream_reader_error_offset(sr),
                      "the output does not read back: %s", mcap_stream_reader_errmsg(sr));
  } else if (msgs != c->messages || atts != c->attachments || metas != c->metadata) {
    rc = pl_error_set(err, PL_EVERIFY, UINT64_MAX,
                      "reading the output back gave %llu messages, %llu attachments, %llu metadata "
                      "records instead of %llu, %llu, %llu",
                      (unsigned long long)msgs, (unsigned long long)atts, (unsigned long long)metas,
                      (unsigned long long)c->messages, (unsigned long long)c->attachments,
                      (unsigned long long)c->metadata);
  }
  mcap_stream_reader_free(sr);
  return rc;
}

int pl_output_commit(pl_output *o, const pl_output_check *check, pl_error_info *err) {
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  if (!o || o->committed) return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  if (o->is_stdout) {
    if (o->sink_open) {
      o->sink_open = 0;
      int mrc = mcap_sink_close(&o->sink, &me);
      if (mrc) {
        return pl_error_set_mcap(err, mrc, UINT64_MAX, "writing standard output: %s",
                                 me.msg[0] ? me.msg : mcap_strerror(mrc));
      }
    }
    o->committed = 1;
    return PL_OK;
  }
  if (!o->sink_open) return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  const char *written = NULL;
  int mrc = mcap_sink_sync(&o->sink, &written, &me);
  if (mrc) {
    return pl_error_set_mcap(err, mrc, UINT64_MAX, "writing '%s': %s", o->path,
                             me.msg[0] ? me.msg : mcap_strerror(mrc));
  }
  if (check && written) { /* NULL: a device or a FIFO, which cannot be read back */
    int rc = verify(written, check, err);
    if (rc) return rc;
  }
  mrc = mcap_sink_commit(&o->sink, &me);
  if (mrc) return pl_error_set_mcap(err, mrc, UINT64_MAX, "%s", me.msg);
  o->committed = 1;
  o->sink_open = 0;
  mrc = mcap_sink_close(&o->sink, &me);
  if (mrc) return pl_error_set_mcap(err, mrc, UINT64_MAX, "%s", me.msg);
  return PL_OK;
}

void pl_output_free(pl_output *o) {
  if (!o) return;
  if (o->sink_open) mcap_sink_close(&o->sink, NULL); /* uncommitted: discarded */
  free(o->path);
  free(o);
}
