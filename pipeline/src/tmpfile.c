/*
 * tmpfile.c - unnamed temporary files for outputs that replace a target
 * atomically (pl_output). An O_TMPFILE file has no name while it is written
 * and is linked in (through /proc) only to be renamed over the target, so a
 * process killed before that -- Ctrl-C, SIGKILL, a crash -- leaves nothing
 * behind; a named ".NAME.tmp-XXXXXX" stayed. libmcap's file sink does the
 * same for its own outputs (mcap/src/sink.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tmpfile.h"

int pl__tmpfile_open_unnamed(const char *dir) {
#ifdef O_TMPFILE
  char proc[64];
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  /* The link at the end goes through /proc: without it, better a named file now. */
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  if (access(proc, F_OK) != 0) {
    close(fd);
    return -1;
  }
  return fd;
#else
  (void)dir;
  return -1;
#endif
}

void pl__tmpfile_proc_path(int fd, char buf[64]) {
  snprintf(buf, 64, "/proc/self/fd/%d", fd);
}

int pl__tmpfile_link(int fd, char *tmpl) {
  static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  char proc[64];
  size_t n = strlen(tmpl);
  struct timespec ts;
  uint64_t x;
  if (n < 6) return EINVAL;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  x = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15u ^ (uint64_t)getpid() << 32 ^ (uintptr_t)tmpl;
  pl__tmpfile_proc_path(fd, proc);
  for (int attempt = 0; attempt < 64; attempt++) {
    for (int i = 0; i < 6; i++) {
      x = x * 6364136223846793005u + 1442695040888963407u;
      tmpl[n - 6 + (size_t)i] = chars[(x >> 33) % (sizeof chars - 1)];
    }
    if (linkat(AT_FDCWD, proc, AT_FDCWD, tmpl, AT_SYMLINK_FOLLOW) == 0) return 0;
    if (errno != EEXIST) return errno;
  }
  return EEXIST;
}
