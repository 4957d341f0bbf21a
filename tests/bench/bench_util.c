/*
 * bench_util.c - small helpers of mcapkit-bench: the clock, number parsing,
 * the page-cache states a measurement starts from (made with plain write(),
 * read() and posix_fadvise() calls, never with mcapkit's reader), a counting
 * null sink, and running a measurement in a child process with its own wall
 * time and peak RSS.
 *
 * Why a launcher: Linux keeps a process's RSS high-water mark across exec
 * (exec_mmap folds the old mm's peak into signal->maxrss), so a child forked
 * from a benchmark that once held a gigabyte would report at least that much.
 * Measurements therefore go parent -> `__measure` launcher (a fresh, small
 * process after its exec) -> the measured program, and the launcher reports
 * the program's wait4() rusage on file descriptor 3. The measured program is
 * mcapkit-bench itself (`__measure ARGS...`) or any executable
 * (`__measure --exec PATH ARGS...`, e.g. the mcapkit CLI or /bin/cp).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define REPORT_FD 3

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_thread_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_err(const char *fmt, ...) {
  va_list ap;
  fputs(BENCH_PROG ": ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

int bench_parse_u64(const char *s, uint64_t *out) {
  uint64_t v = 0;
  if (!s || !*s) return -1;
  for (; *s; s++) {
    unsigned d;
    if (*s < '0' || *s > '9') return -1;
    d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

int bench_kv_u64(const char *text, const char *key, uint64_t *out) {
  size_t klen = strlen(key);
  for (const char *p = strstr(text, key); p; p = strstr(p + klen, key)) {
    int starts_word = p == text || p[-1] == ' ' || p[-1] == '\n' || p[-1] == '\t';
    if (starts_word && p[klen] == '=') {
      const char *q = p + klen + 1;
      uint64_t v = 0;
      if (*q < '0' || *q > '9') return -1;
      for (; *q >= '0' && *q <= '9'; q++) {
        unsigned d = (unsigned)(*q - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
      }
      *out = v;
      return 0;
    }
  }
  return -1;
}

int bench_warm_file(const char *path, uint64_t *bytes) {
  size_t cap = 1u << 20;
  uint8_t *buf = malloc(cap);
  uint64_t total = 0;
  int fd;
  if (!buf) return -1;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    bench_err("cannot open '%s': %s", path, strerror(errno));
    free(buf);
    return -1;
  }
  for (;;) {
    ssize_t n = read(fd, buf, cap);
    if (n < 0) {
      if (errno == EINTR) continue;
      bench_err("cannot read '%s': %s", path, strerror(errno));
      close(fd);
      free(buf);
      return -1;
    }
    if (n == 0) break;
    total += (uint64_t)n;
  }
  close(fd);
  free(buf);
  if (bytes) *bytes = total;
  return 0;
}

/* ------------------------------------------------------------ page cache */

/* cat's buffer size: the copy and the read-back issue the calls another program would. */
#define PLAIN_IO_SIZE ((size_t)128 << 10)

int bench_state_parse(const char *name, enum bench_state *out) {
  if (strcmp(name, "written") == 0) *out = BENCH_WRITTEN;
  else if (strcmp(name, "read") == 0) *out = BENCH_READ;
  else if (strcmp(name, "cold") == 0) *out = BENCH_COLD;
  else return -1;
  return 0;
}

const char *bench_state_name(enum bench_state st) {
  return st == BENCH_WRITTEN ? "written" : st == BENCH_READ ? "read" : "cold";
}

/* Write all of buf to fd; 0 or -1 (errno set). */
static int write_all(int fd, const uint8_t *buf, size_t len) {
  while (len) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

int bench_copy_written(const char *src, const char *dst) {
  uint8_t *buf = malloc(PLAIN_IO_SIZE);
  int in = -1, out = -1, rc = -1;
  if (!buf) return -1;
  in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    bench_err("cannot open '%s': %s", src, strerror(errno));
    goto done;
  }
  /* A new file (not a truncated one): none of its pages may be in the cache already. */
  if (unlink(dst) != 0 && errno != ENOENT) {
    bench_err("cannot remove '%s': %s", dst, strerror(errno));
    goto done;
  }
  out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    bench_err("cannot create '%s': %s", dst, strerror(errno));
    goto done;
  }
  for (;;) {
    ssize_t n = read(in, buf, PLAIN_IO_SIZE);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      bench_err("cannot read '%s': %s", src, strerror(errno));
      goto done;
    }
    if (n == 0) break;
    if (write_all(out, buf, (size_t)n)) {
      bench_err("cannot write '%s': %s", dst, strerror(errno));
      goto done;
    }
  }
  /* Written back before the run, so that no writeback runs beside the measurement; clean
   * pages keep the folios the writes made. */
  if (fdatasync(out) != 0) {
    bench_err("cannot sync '%s': %s", dst, strerror(errno));
    goto done;
  }
  rc = 0;
done:
  if (in >= 0) close(in);
  if (out >= 0 && close(out) != 0 && rc == 0) {
    bench_err("cannot write '%s': %s", dst, strerror(errno));
    rc = -1;
  }
  if (rc && out >= 0) unlink(dst);
  free(buf);
  return rc;
}

/* Fraction of the file's pages in the page cache (mincore over a mapping that is never
 * touched), or -1 when it cannot be told. */
static double resident_fraction(int fd, uint64_t size) {
  long page = sysconf(_SC_PAGESIZE);
  size_t pages, in = 0;
  unsigned char *vec;
  void *m;
  if (size == 0) return 0;
  if (page <= 0 || size > SIZE_MAX) return -1;
  m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return -1;
  pages = (size_t)((size + (uint64_t)page - 1) / (uint64_t)page);
  vec = malloc(pages);
  if (!vec || mincore(m, (size_t)size, vec) != 0) {
    free(vec);
    munmap(m, (size_t)size);
    return -1;
  }
  for (size_t i = 0; i < pages; i++) in += vec[i] & 1;
  free(vec);
  munmap(m, (size_t)size);
  return (double)in / (double)pages;
}

int bench_evict(const char *path) {
  struct stat st;
  double left = -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) != 0) {
    bench_err("cannot open '%s': %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  /* Only clean, unmapped pages go: write back first; a second pass catches pages that were
   * still on a per-CPU list during the first. */
  (void)fdatasync(fd);
  for (int pass = 0; pass < 3; pass++) {
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    left = resident_fraction(fd, (uint64_t)st.st_size);
    if (left == 0) break;
  }
  close(fd);
  if (left > 0.01) {
    bench_err("warning: %.1f%% of '%s' stayed in the page cache after eviction (mapped by "
              "another process?)",
              100.0 * left, path);
  }
  return 0;
}

int bench_read_back(const char *path) {
  uint8_t *buf = malloc(PLAIN_IO_SIZE);
  int fd, rc = 0;
  if (!buf) return -1;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    bench_err("cannot open '%s': %s", path, strerror(errno));
    free(buf);
    return -1;
  }
  for (;;) {
    ssize_t n = read(fd, buf, PLAIN_IO_SIZE);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      bench_err("cannot read '%s': %s", path, strerror(errno));
      rc = -1;
    }
    if (n <= 0) break;
  }
  close(fd);
  free(buf);
  return rc;
}

int bench_state_prepare(const char *path, enum bench_state st, const char *copy) {
  switch (st) {
    case BENCH_WRITTEN:
      return bench_copy_written(path, copy);
    case BENCH_READ:
      return bench_evict(path) || bench_read_back(path) ? -1 : 0;
    default:
      return bench_evict(path);
  }
}

/* ------------------------------------------------------------- null sink */

static int null_write(void *payload, const void *buf, size_t len, mcap_error_info *err) {
  (void)buf;
  (void)err;
  *(uint64_t *)payload += len;
  return MCAP_OK;
}

static int null_close(void *payload, mcap_error_info *err) {
  (void)payload;
  (void)err;
  return MCAP_OK;
}

void bench_null_sink(mcap_sink *sink, uint64_t *counter) {
  *counter = 0;
  sink->payload = counter;
  sink->write = null_write;
  sink->close = null_close;
}

/* ------------------------------------------------------- child processes */

static size_t count_args(char *const args[]) {
  size_t n = 0;
  while (args[n]) n++;
  return n;
}

/* Append what is readable on fd to buf (keeping at most cap-1 bytes); 1 at EOF. */
static int drain(int fd, char *buf, size_t cap, size_t *len) {
  char tmp[4096];
  ssize_t n = read(fd, tmp, sizeof tmp);
  if (n < 0) return errno == EINTR || errno == EAGAIN ? 0 : 1;
  if (n == 0) return 1;
  if (*len + 1 < cap) {
    size_t room = cap - 1 - *len;
    size_t take = (size_t)n < room ? (size_t)n : room;
    memcpy(buf + *len, tmp, take);
    *len += take;
    buf[*len] = '\0';
  }
  return 0;
}

int bench_run_child(char *const args[], struct bench_child *res) {
  return bench_run_child_exec(NULL, args, res);
}

int bench_run_child_exec(const char *prog, char *const args[], struct bench_child *res) {
  int p_out[2] = {-1, -1}, p_err[2] = {-1, -1}, p_rep[2] = {-1, -1};
  size_t n = count_args(args), len_out = 0, len_err = 0, len_rep = 0, k = 0;
  char **argv = calloc(n + 5, sizeof *argv);
  char rep[256] = "";
  pid_t pid;
  int status = 0;
  double t0;

  memset(res, 0, sizeof *res);
  res->exit_code = -1;
  if (!argv) return -1;
  argv[k++] = (char *)BENCH_PROG;
  argv[k++] = (char *)"__measure";
  if (prog) {
    argv[k++] = (char *)"--exec";
    argv[k++] = (char *)prog;
  }
  for (size_t i = 0; i < n; i++) argv[k++] = args[i];
  if (pipe2(p_out, O_CLOEXEC) || pipe2(p_err, O_CLOEXEC) || pipe2(p_rep, O_CLOEXEC)) {
    bench_err("pipe: %s", strerror(errno));
    goto fail;
  }
  fflush(NULL);
  t0 = bench_now();
  pid = fork();
  if (pid < 0) {
    bench_err("fork: %s", strerror(errno));
    goto fail;
  }
  if (pid == 0) {
    /* dup2 clears FD_CLOEXEC on the targets; the launcher re-sets it on fd 3. */
    if (dup2(p_out[1], 1) < 0 || dup2(p_err[1], 2) < 0 || dup2(p_rep[1], REPORT_FD) < 0) _exit(127);
    execv("/proc/self/exe", argv);
    _exit(127);
  }
  close(p_out[1]);
  close(p_err[1]);
  close(p_rep[1]);
  p_out[1] = p_err[1] = p_rep[1] = -1;
  {
    struct pollfd fds[3] = {{p_out[0], POLLIN, 0}, {p_err[0], POLLIN, 0}, {p_rep[0], POLLIN, 0}};
    int open_fds = 3;
    while (open_fds > 0) {
      if (poll(fds, 3, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (int i = 0; i < 3; i++) {
        int eof;
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (i == 0) eof = drain(fds[i].fd, res->out, sizeof res->out, &len_out);
        else if (i == 1) eof = drain(fds[i].fd, res->err, sizeof res->err, &len_err);
        else eof = drain(fds[i].fd, rep, sizeof rep, &len_rep);
        if (eof) {
          fds[i].fd = -1;
          open_fds--;
        }
      }
    }
  }
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  res->seconds = bench_now() - t0;
  {
    uint64_t code, rss, ns, cpu_ns;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && bench_kv_u64(rep, "exit", &code) == 0 &&
        bench_kv_u64(rep, "maxrss_kib", &rss) == 0 && bench_kv_u64(rep, "ns", &ns) == 0 &&
        bench_kv_u64(rep, "cpu_ns", &cpu_ns) == 0) {
      res->exit_code = code == UINT64_MAX ? -1 : (int)code;
      res->maxrss_kib = (long)rss;
      res->seconds = (double)ns * 1e-9; /* the program alone, without the launcher */
      res->cpu_seconds = (double)cpu_ns * 1e-9;
    } else {
      bench_err("measurement launcher failed (%s)", rep[0] ? rep : "no report");
    }
  }
  for (int i = 0; i < 2; i++) {
    if (p_out[i] >= 0) close(p_out[i]);
    if (p_err[i] >= 0) close(p_err[i]);
    if (p_rep[i] >= 0) close(p_rep[i]);
  }
  free(argv);
  return 0;
fail:
  for (int i = 0; i < 2; i++) {
    if (p_out[i] >= 0) close(p_out[i]);
    if (p_err[i] >= 0) close(p_err[i]);
    if (p_rep[i] >= 0) close(p_rep[i]);
  }
  free(argv);
  return -1;
}

int bench_measure_main(int argc, char **argv) {
  /* argv[0] is "__measure"; then either the arguments of mcapkit-bench itself, or
   * "--exec PATH" and the arguments of PATH. */
  char **args = calloc((size_t)argc + 1, sizeof *args);
  const char *prog = "/proc/self/exe";
  int first = 1; /* index in argv of the program's first argument */
  struct rusage ru;
  pid_t pid;
  int status = 0, code;
  double t0, t1, cpu;
  if (argc >= 2 && strcmp(argv[1], "--exec") == 0) {
    if (argc < 3 || !argv[2][0]) {
      free(args);
      return 2;
    }
    prog = argv[2];
    first = 3;
  }
  if (!args || (first == 1 && argc < 2)) {
    free(args);
    return 2;
  }
  if (fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC) < 0) {
    free(args);
    return 2;
  }
  args[0] = first == 1 ? (char *)BENCH_PROG : (char *)prog;
  for (int i = first; i < argc; i++) args[1 + i - first] = argv[i];
  t0 = bench_now();
  pid = fork();
  if (pid < 0) {
    free(args);
    return 1;
  }
  if (pid == 0) {
    execv(prog, args);
    /* stderr is the parent's pipe: say why, so the failure is not just "exit 127". */
    dprintf(2, "%s: cannot run '%s': %s\n", BENCH_PROG, prog, strerror(errno));
    _exit(127);
  }
  memset(&ru, 0, sizeof ru);
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) {
      free(args);
      return 1;
    }
  }
  t1 = bench_now();
  code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
        (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
  dprintf(REPORT_FD, "exit=%llu maxrss_kib=%ld ns=%llu cpu_ns=%llu\n",
          code < 0 ? (unsigned long long)UINT64_MAX : (unsigned long long)code, ru.ru_maxrss,
          (unsigned long long)((t1 - t0) * 1e9), (unsigned long long)(cpu * 1e9));
  free(args);
  return 0;
}

/* ------------------------------------------------------------ cache dirs */

int bench_make_dirs(const char *path) {
  char tmp[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof tmp) return -1;
  memcpy(tmp, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (tmp[i] == '/' || tmp[i] == '\0') {
      char c = tmp[i];
      tmp[i] = '\0';
      if (mkdir(tmp, 0777) != 0 && errno != EEXIST) {
        bench_err("cannot create '%s': %s", tmp, strerror(errno));
        return -1;
      }
      tmp[i] = c;
    }
  }
  return 0;
}

int bench_default_cache(char *dst, size_t cap) {
  const char *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  int n;
  if (xdg && xdg[0] == '/') n = snprintf(dst, cap, "%s/mcapkit-bench", xdg);
  else if (home && home[0]) n = snprintf(dst, cap, "%s/.cache/mcapkit-bench", home);
  else n = snprintf(dst, cap, "/tmp/mcapkit-bench");
  return n <= 0 || (size_t)n >= cap - 64 ? -1 : 0;
}
