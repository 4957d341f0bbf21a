/*
 * rewrite_output.c - pl_output: where rewrite, merge and recover write.
 * A file target is produced as a temporary file beside it (same directory,
 * so the final rename is atomic), flushed and fsynced, checked by reading it
 * back, and only then renamed over the target; the directory is fsynced so
 * the rename survives a crash. Writing over an input is refused unless the
 * caller asks for in-place, which is then the same procedure: the input is
 * replaced only by a complete, verified file.
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
#include "tmpfile.h"

struct pl_output {
  char *path;     /* the target (a symlink resolved to what it points at) */
  char *dir;      /* its directory */
  char *tmp_path; /* the temporary file's name ("...XXXXXX" while unnamed); NULL for stdout */
  int named;      /* tmp_path exists (an unnamed file is linked in just before the rename) */
  int fd;
  int is_stdout;
  int sink_open;
  int committed;
  mcap_sink sink;
};

static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return pl__strdup(".");
  if (slash == path) return pl__strdup("/");
  size_t n = (size_t)(slash - path);
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, path, n);
    d[n] = '\0';
  }
  return d;
}

int pl_output_open(pl_output **out, const char *path, const char *const *inputs, size_t n_inputs,
                   int in_place, pl_error_info *err) {
  struct stat st, ist;
  mcap_error_info me;
  int rc = PL_OK;
  if (!out || !path || (n_inputs && !inputs))
    return pl__err(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  *out = NULL;
  pl_output *o = calloc(1, sizeof *o);
  if (!o) return pl__err(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  o->fd = -1;
  memset(&me, 0, sizeof me);
  if (strcmp(path, "-") == 0) {
    o->is_stdout = 1;
    int mrc = mcap_sink_from_fd(&o->sink, STDOUT_FILENO, &me);
    if (mrc) {
      free(o);
      return pl__err_mcap(err, mrc, UINT64_MAX, "standard output: %s", me.msg);
    }
    o->sink_open = 1;
    *out = o;
    return PL_OK;
  }

  int exists = stat(path, &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) {
    rc = pl__err(err, PL_EINVAL, UINT64_MAX, "'%s' is a directory", path);
    goto fail;
  }
  for (size_t i = 0; exists && i < n_inputs; i++) {
    if (!inputs[i] || strcmp(inputs[i], "-") == 0) continue;
    if (stat(inputs[i], &ist) == 0 && ist.st_dev == st.st_dev && ist.st_ino == st.st_ino &&
        !in_place) {
      rc = pl__err(err, PL_EINVAL, UINT64_MAX,
                   "refusing to write over the input '%s' (use --in-place to replace it)",
                   inputs[i]);
      goto fail;
    }
  }
  /* Replace what a symlink points at, not the link itself. */
  struct stat lst;
  if (exists && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
    o->path = realpath(path, NULL);
  } else {
    o->path = pl__strdup(path);
  }
  if (!o->path || !(o->dir = dir_of(o->path))) {
    rc = pl__err(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    goto fail;
  }
  const char *base = strrchr(o->path, '/');
  base = base ? base + 1 : o->path;
  size_t n = strlen(o->dir) + strlen(base) + 32;
  o->tmp_path = malloc(n);
  if (!o->tmp_path) {
    rc = pl__err(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    goto fail;
  }
  snprintf(o->tmp_path, n, "%s/.%s.tmp-XXXXXX", o->dir, base);
  /* Unnamed where possible: a killed run then leaves nothing behind (tmpfile.c). */
  o->fd = pl__tmpfile_open_unnamed(o->dir);
  if (o->fd < 0) {
    o->fd = mkstemp(o->tmp_path);
    o->named = o->fd >= 0;
  }
  if (o->fd < 0) {
    rc = pl__err_errno(err, errno, "cannot create a temporary file beside '%s'", path);
    free(o->tmp_path);
    o->tmp_path = NULL;
    goto fail;
  }
  /* mkstemp and the unnamed file are 0600: give the result the mode a new file (or the file
   * it replaces) would have. */
  mode_t mode;
  if (exists) {
    mode = st.st_mode & 07777;
  } else {
    mode_t um = umask(0);
    umask(um);
    mode = 0666 & ~um;
  }
  if (fchmod(o->fd, mode) != 0) {
    /* not fatal: the data is what matters */
  }
  int mrc = mcap_sink_from_fd(&o->sink, o->fd, &me);
  if (mrc) {
    rc = pl__err_mcap(err, mrc, UINT64_MAX, "%s", me.msg);
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
  if (mrc) return pl__err_mcap(err, mrc, UINT64_MAX, "checking the output: %s", me.msg);
  mcap_indexed_options io;
  memset(&io, 0, sizeof io);
  io.threads = 1;
  mcap_reader *r = NULL;
  mrc = mcap_reader_open(&r, &src, &io, &me);
  if (mrc) {
    return pl__err(err, PL_EVERIFY, me.offset, "the output does not read back: %s",
                   me.msg[0] ? me.msg : mcap_strerror(mrc));
  }
  int rc = PL_OK;
  int from_file = 0;
  const mcap_statistics *s = mcap_reader_statistics(r, &from_file);
  /* Files written without chunks are indexed by a scan: then the counts are the scan's. */
  if (!from_file && mcap_reader_index_source(r, NULL) == MCAP_INDEX_FROM_SUMMARY) {
    rc = pl__err(err, PL_EVERIFY, UINT64_MAX, "the output's summary has no statistics");
  } else if (s->message_count != c->messages || s->attachment_count != c->attachments ||
             s->metadata_count != c->metadata) {
    rc = pl__err(err, PL_EVERIFY, UINT64_MAX,
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
  if (mrc) return pl__err_mcap(err, mrc, UINT64_MAX, "checking the output: %s", me.msg);
  mcap_stream_reader *sr = NULL;
  mrc = mcap_stream_reader_new(&sr, &src, NULL);
  if (mrc) return pl__err(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  uint64_t msgs = 0, atts = 0, metas = 0;
  mcap_record rec;
  while ((mrc = mcap_stream_reader_next(sr, &rec)) == MCAP_OK) {
    if (rec.opcode == MCAP_OP_MESSAGE) msgs++;
    if (rec.opcode == MCAP_OP_ATTACHMENT) atts++;
    if (rec.opcode == MCAP_OP_METADATA) metas++;
  }
  if (mrc != MCAP_ITEROVER) {
    rc = pl__err(err, PL_EVERIFY, mcap_stream_reader_error_offset(sr),
                 "the output does not read back: %s", mcap_stream_reader_errmsg(sr));
  } else if (msgs != c->messages || atts != c->attachments || metas != c->metadata) {
    rc = pl__err(err, PL_EVERIFY, UINT64_MAX,
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
  if (!o || o->committed) return pl__err(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  if (o->sink_open) {
    o->sink_open = 0;
    int mrc = mcap_sink_close(&o->sink, &me);
    if (mrc) {
      return pl__err_mcap(err, mrc, UINT64_MAX, "writing '%s': %s",
                          o->is_stdout ? "standard output" : o->path,
                          me.msg[0] ? me.msg : mcap_strerror(mrc));
    }
  }
  if (o->is_stdout) {
    o->committed = 1;
    return PL_OK;
  }
  if (fsync(o->fd) != 0) return pl__err_errno(err, errno, "cannot sync the output of '%s'", o->path);
  if (check) {
    /* An unnamed file is read back through /proc: it gets its name only to be renamed. */
    char proc[64];
    if (!o->named) pl__tmpfile_proc_path(o->fd, proc);
    int rc = verify(o->named ? o->tmp_path : proc, check, err);
    if (rc) return rc;
  }
  if (!o->named) {
    int e = pl__tmpfile_link(o->fd, o->tmp_path);
    if (e) return pl__err_errno(err, e, "cannot name the temporary file beside '%s'", o->path);
    o->named = 1;
  }
  if (close(o->fd) != 0) {
    o->fd = -1;
    return pl__err_errno(err, errno, "cannot close '%s'", o->tmp_path);
  }
  o->fd = -1;
  if (rename(o->tmp_path, o->path) != 0)
    return pl__err_errno(err, errno, "cannot rename '%s' to '%s'", o->tmp_path, o->path);
  free(o->tmp_path);
  o->tmp_path = NULL;
  o->committed = 1;
  int dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)fsync(dfd); /* best effort: some file systems refuse directory fsync */
    close(dfd);
  }
  return PL_OK;
}

void pl_output_free(pl_output *o) {
  if (!o) return;
  if (o->sink_open) mcap_sink_close(&o->sink, NULL);
  if (o->fd >= 0) close(o->fd);
  if (o->tmp_path && o->named && !o->committed) unlink(o->tmp_path);
  free(o->tmp_path);
  free(o->path);
  free(o->dir);
  free(o);
}
