// test_sink.cc - the built-in sinks (sink.c): the atomic file sink (nothing at
// the target until commit, nothing left behind without one, an existing target
// untouched), the fd sink (pipes, short writes, errors), and the capped memory
// sink.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mcap/mcap.h"
#include "tmpdir.h"
extern "C" {
#include "alloc.h"
}

using mcapkit_test::TempDir;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto &c : b) c = static_cast<uint8_t>(rng());
  return b;
}

std::vector<std::string> list_dir(const std::string &dir) {
  std::vector<std::string> names;
  DIR *d = opendir(dir.c_str());
  if (!d) return names;
  while (struct dirent *e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool exists(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

Bytes read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  return Bytes(s.begin(), s.end());
}

void write_file(const std::string &path, const std::string &text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

// Writes `data` in pieces of varying size (tiny, medium, and larger than the buffer).
int write_pieces(mcap_sink *s, const Bytes &data, mcap_error_info *err) {
  static const size_t sizes[] = {1, 7, 100, 4096, 3 << 20, 65536, 13};
  size_t pos = 0;
  for (size_t i = 0; pos < data.size(); i++) {
    size_t n = std::min(sizes[i % 7], data.size() - pos);
    int rc = s->write(s->payload, data.data() + pos, n, err);
    if (rc) return rc;
    pos += n;
  }
  return MCAP_OK;
}

}  // namespace

TEST(Sink, ZeroedSinkCloseIsNoop) {
  mcap_sink s{};
  mcap_error_info err{};
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);
  EXPECT_EQ(mcap_sink_close(nullptr, &err), MCAP_OK);
}

TEST(FileSink, NothingAtTargetUntilCommit) {
  TempDir dir;
  std::string target = dir.file("out.mcap");
  mcap_sink s{};
  mcap_error_info err{};
  ASSERT_EQ(mcap_sink_open_file(&s, target.c_str(), &err), MCAP_OK) << err.msg;

  // An unnamed temporary file (O_TMPFILE): nothing in the directory at all. Where the file
  // system cannot, a hidden one beside the target, named .out.mcap.tmp-XXXXXX.
  auto names = list_dir(dir.path());
  if (!names.empty()) {
    ASSERT_EQ(names.size(), 1u);
    EXPECT_EQ(names[0].rfind(".out.mcap.tmp-", 0), 0u) << names[0];
    EXPECT_EQ(names[0].size(), std::strlen(".out.mcap.tmp-XXXXXX"));
  }

  Bytes data = random_bytes(5 << 20, 1);
  ASSERT_EQ(write_pieces(&s, data, &err), MCAP_OK) << err.msg;
  EXPECT_FALSE(exists(target));

  ASSERT_EQ(mcap_sink_commit(&s, &err), MCAP_OK) << err.msg;
  EXPECT_TRUE(exists(target));
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"out.mcap"});

  // After commit: no more writes, no second commit; close succeeds and keeps the file.
  EXPECT_EQ(s.write(s.payload, "x", 1, &err), MCAP_ESTATE);
  EXPECT_EQ(mcap_sink_commit(&s, &err), MCAP_ESTATE);
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);
  EXPECT_EQ(s.payload, nullptr);
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);  // second close: zeroed, no-op
  EXPECT_TRUE(read_file(target) == data);
}

// A writer killed before its commit (SIGKILL: nothing of it runs) leaves no file behind
// where the temporary file is unnamed; the fallback's hidden file is the only other case.
TEST(FileSink, KilledBeforeCommitLeavesNothing) {
  TempDir dir;
  std::string target = dir.file("killed.mcap");
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    mcap_sink s{};
    mcap_error_info err{};
    if (mcap_sink_open_file(&s, target.c_str(), &err) != MCAP_OK) _exit(2);
    std::vector<uint8_t> data(3 << 20, 0x5a);
    if (s.write(s.payload, data.data(), data.size(), &err) != MCAP_OK) _exit(3);
    char c = 1;
    if (write(ready[1], &c, 1) != 1) _exit(4);
    pause();  // killed here, mid-write
    _exit(5);
  }
  close(ready[1]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  auto during = list_dir(dir.path());
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto after = list_dir(dir.path());
  bool unnamed_ok = false;
#ifdef O_TMPFILE
  int probe = open(dir.path().c_str(), O_TMPFILE | O_RDWR, 0600);
  unnamed_ok = probe >= 0;
  if (probe >= 0) close(probe);
#endif
  if (unnamed_ok) {
    EXPECT_TRUE(during.empty()) << during[0];
    EXPECT_TRUE(after.empty()) << after[0];
  } else {
    // No O_TMPFILE here: the hidden temporary file is what a killed writer leaves.
    EXPECT_EQ(after, during);
  }
  EXPECT_FALSE(exists(target));
}

TEST(FileSink, CloseWithoutCommitLeavesNothing) {
  TempDir dir;
  std::string target = dir.file("new.mcap");
  mcap_sink s{};
  mcap_error_info err{};
  ASSERT_EQ(mcap_sink_open_file(&s, target.c_str(), &err), MCAP_OK) << err.msg;
  Bytes data = random_bytes(2 << 20, 2);
  ASSERT_EQ(write_pieces(&s, data, &err), MCAP_OK) << err.msg;
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);
  EXPECT_TRUE(list_dir(dir.path()).empty());
}

TEST(FileSink, CloseWithoutCommitKeepsExistingTarget) {
  TempDir dir;
  std::string target = dir.file("keep.mcap");
  write_file(target, "original contents");
  mcap_sink s{};
  mcap_error_info err{};
  ASSERT_EQ(mcap_sink_open_file(&s, target.c_str(), &err), MCAP_OK) << err.msg;
  ASSERT_EQ(s.write(s.payload, "replacement", 11, &err), MCAP_OK);
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"keep.mcap"});
  Bytes got = read_file(target);
  EXPECT_EQ(std::string(got.begin(), got.end()), "original contents");
}

TEST(FileSink, CommitReplacesExistingTarget) {
  TempDir dir;
  std::string target = dir.file("replace.mcap");
  write_file(target, "old");
  mcap_sink s{};
  mcap_error_info err{};
  ASSERT_EQ(mcap_sink_open_file(&s, target.c_str(), &err), MCAP_OK) << err.msg;
  ASSERT_EQ(s.write(s.payload, "new contents", 12, &err), MCAP_OK);
  // Before commit the old file is still what readers see.
  Bytes got = read_file(target);
  EXPECT_EQ(std::string(got.begin(), got.end()), "old");
  ASSERT_EQ(mcap_sink_commit(&s, &err), MCAP_OK) << err.msg;
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);
  got = read_file(target);
  EXPECT_EQ(std::string(got.begin(), got.end()), "new contents");
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"replace.mcap"});
}

TEST(FileSink, EmptyFileAndUmaskMode) {
  TempDir dir;
  std::string target = dir.file("empty.mcap");
  mode_t old = umask(027);
  mcap_sink s{};
  mcap_error_info err{};
  int rc = mcap_sink_open_file(&s, target.c_str(), &err);
  umask(old);
  ASSERT_EQ(rc, MCAP_OK) << err.msg;
  ASSERT_EQ(mcap_sink_commit(&s, &err), MCAP_OK) << err.msg;
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);
  struct stat st;
  ASSERT_EQ(stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);  // 0666 & ~027, not mkstemp's 0600
}

// Replacing a file keeps its mode (pl_output's in-place rewrites rely on it).
TEST(FileSink, ReplacingKeepsTheMode) {
  TempDir dir;
  std::string target = dir.file("kept.mcap");
  write_file(target, "old");
  ASSERT_EQ(chmod(target.c_str(), 0604), 0);
  mcap_sink s{};
  mcap_error_info err{};
  ASSERT_EQ(mcap_sink_open_file(&s, target.c_str(), &err), MCAP_OK) << err.msg;
  ASSERT_EQ(s.write(s.payload, "new!", 4, &err), MCAP_OK) << err.msg;
  ASSERT_EQ(mcap_sink_commit(&s, &err), MCAP_OK) << err.msg;
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);
  struct stat st;
  ASSERT_EQ(stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0604u);
  EXPECT_EQ(read_file(target).size(), 4u);
}

// mcap_sink_sync: the bytes can be read back (by the path it gives) before the commit,
// while the target does not exist yet; closing then discards them.
TEST(FileSink, SyncGivesAPathToCheckBeforeCommit) {
  TempDir dir;
  std::string target = dir.file("checked.mcap");
  Bytes data = random_bytes(3 << 20, 9);
  for (int commit = 0; commit < 2; commit++) {
    mcap_sink s{};
    mcap_error_info err{};
    ASSERT_EQ(mcap_sink_open_file(&s, target.c_str(), &err), MCAP_OK) << err.msg;
    ASSERT_EQ(write_pieces(&s, data, &err), MCAP_OK) << err.msg;
    const char *path = nullptr;
    ASSERT_EQ(mcap_sink_sync(&s, &path, &err), MCAP_OK) << err.msg;
    ASSERT_NE(path, nullptr);
    EXPECT_TRUE(read_file(path) == data) << path;
    EXPECT_FALSE(exists(target));
    if (commit) {
      ASSERT_EQ(mcap_sink_commit(&s, &err), MCAP_OK) << err.msg;
      EXPECT_EQ(mcap_sink_sync(&s, &path, &err), MCAP_ESTATE);
    }
    EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);
    EXPECT_EQ(exists(target), commit == 1);
    EXPECT_EQ(list_dir(dir.path()).size(), (size_t)commit);
  }
  mcap_sink mem{};
  ASSERT_EQ(mcap_sink_memory(&mem, 0), MCAP_OK);
  mcap_error_info err{};
  const char *path = nullptr;
  EXPECT_EQ(mcap_sink_sync(&mem, &path, &err), MCAP_EUNSUPPORTED);
  mcap_sink_close(&mem, &err);
}

// A target that is not a regular file (a device, a FIFO) is written to as it is: the
// temporary file and the rename would replace it. As root, `mcapkit filter X -o /dev/null`
// put a regular file in place of /dev/null.
TEST(FileSink, ADeviceOrFifoTargetIsWrittenNotReplaced) {
  TempDir dir;
  Bytes data = random_bytes(3 << 20, 11);
  // a FIFO, read by a thread
  std::string fifo = dir.file("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // held open for writing here too, so that the reader never blocks (and sees the end)
  // whatever the sink does with the path
  int keep = open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(keep, 0);
  Bytes got;
  std::thread reader([&] {
    int fd = open(fifo.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    uint8_t buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) got.insert(got.end(), buf, buf + n);
    close(fd);
  });
  mcap_sink s{};
  mcap_error_info err{};
  ASSERT_EQ(mcap_sink_open_file(&s, fifo.c_str(), &err), MCAP_OK) << err.msg;
  ASSERT_EQ(write_pieces(&s, data, &err), MCAP_OK) << err.msg;
  const char *path = "x";
  ASSERT_EQ(mcap_sink_sync(&s, &path, &err), MCAP_OK) << err.msg;
  EXPECT_EQ(path, nullptr) << "a FIFO cannot be read back";
  ASSERT_EQ(mcap_sink_commit(&s, &err), MCAP_OK) << err.msg;
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);
  close(keep);
  reader.join();
  EXPECT_TRUE(got == data) << got.size();
  struct stat st;
  ASSERT_EQ(lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO was replaced";
  EXPECT_EQ(list_dir(dir.path()).size(), 1u) << "no temporary file";
  // a character device like /dev/null (1, 3), made here (mknod needs root)
  std::string dev = dir.file("null");
  if (mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
    ASSERT_EQ(lstat(dev.c_str(), &st), 0);
    mode_t mode = st.st_mode & 07777;  // 0666 less the umask
    for (int commit = 0; commit < 2; commit++) {
      mcap_sink d{};
      ASSERT_EQ(mcap_sink_open_file(&d, dev.c_str(), &err), MCAP_OK) << err.msg;
      ASSERT_EQ(write_pieces(&d, data, &err), MCAP_OK) << err.msg;
      if (commit) {
        ASSERT_EQ(mcap_sink_commit(&d, &err), MCAP_OK) << err.msg;
      }
      EXPECT_EQ(mcap_sink_close(&d, &err), MCAP_OK);
      ASSERT_EQ(lstat(dev.c_str(), &st), 0);
      EXPECT_TRUE(S_ISCHR(st.st_mode)) << "the device was replaced by a regular file";
      EXPECT_EQ(st.st_mode & 07777, mode) << "its mode was changed";
      EXPECT_EQ(list_dir(dir.path()).size(), 2u) << "no temporary file";
    }
  } else {
    EXPECT_NE(geteuid(), 0u) << "root could not make a device node here: " << strerror(errno);
  }
}

// A directory as the target is refused when the sink opens, not at the rename after all the
// work (`mcapkit get ... -o DIR` and `synth -o DIR` failed only there).
TEST(FileSink, ADirectoryTargetIsRefusedAtOpen) {
  TempDir dir;
  std::string target = dir.file("out");
  ASSERT_EQ(mkdir(target.c_str(), 0700), 0);
  mcap_sink s{};
  mcap_error_info err{};
  EXPECT_EQ(mcap_sink_open_file(&s, target.c_str(), &err), MCAP_EINVAL);
  EXPECT_NE(std::string(err.msg).find("'" + target + "' is a directory"), std::string::npos)
      << err.msg;
  EXPECT_EQ(list_dir(dir.path()).size(), 1u) << "no temporary file";
  mcap_sink_close(&s, &err);
}

TEST(FileSink, RelativePath) {
  TempDir dir;
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(chdir(dir.path().c_str()), 0);
  mcap_sink s{};
  mcap_error_info err{};
  int rc = mcap_sink_open_file(&s, "rel.mcap", &err);
  if (rc == MCAP_OK) {
    s.write(s.payload, "abc", 3, &err);
    rc = mcap_sink_commit(&s, &err);
    mcap_sink_close(&s, &err);
  }
  ASSERT_EQ(chdir(cwd), 0);
  ASSERT_EQ(rc, MCAP_OK) << err.msg;
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"rel.mcap"});
}

TEST(FileSink, OpenErrorsNamePath) {
  TempDir dir;
  std::string bad = dir.file("no/such/dir/x.mcap");
  mcap_sink s{};
  mcap_error_info err{};
  EXPECT_EQ(mcap_sink_open_file(&s, bad.c_str(), &err), MCAP_EIO);
  EXPECT_NE(std::string(err.msg).find(bad), std::string::npos) << err.msg;
  EXPECT_NE(std::string(err.msg).find("No such file or directory"), std::string::npos) << err.msg;
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);  // left zeroed

  EXPECT_EQ(mcap_sink_open_file(&s, "", &err), MCAP_EINVAL);
  EXPECT_EQ(mcap_sink_open_file(&s, nullptr, &err), MCAP_EINVAL);
  EXPECT_EQ(mcap_sink_open_file(&s, (dir.path() + "/").c_str(), &err), MCAP_EINVAL);
  EXPECT_EQ(mcap_sink_open_file(nullptr, "x", &err), MCAP_EINVAL);
}

TEST(FileSink, CommitFailureLeavesNoTemp) {
  // The target became a non-empty directory after the sink opened (a directory there at
  // the open is refused then): rename fails, close cleans up.
  TempDir dir;
  std::string target = dir.file("adir");
  mcap_sink s{};
  mcap_error_info err{};
  ASSERT_EQ(mcap_sink_open_file(&s, target.c_str(), &err), MCAP_OK) << err.msg;
  ASSERT_EQ(s.write(s.payload, "data", 4, &err), MCAP_OK);
  ASSERT_EQ(mkdir(target.c_str(), 0755), 0);
  write_file(target + "/inside", "x");
  EXPECT_EQ(mcap_sink_commit(&s, &err), MCAP_EIO);
  EXPECT_NE(std::string(err.msg).find("renaming"), std::string::npos) << err.msg;
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"adir"});
}

TEST(FileSink, CommitOnlyForFileSinks) {
  mcap_sink s{};
  mcap_error_info err{};
  EXPECT_EQ(mcap_sink_commit(&s, &err), MCAP_EINVAL);
  ASSERT_EQ(mcap_sink_memory(&s, 0), MCAP_OK);
  EXPECT_EQ(mcap_sink_commit(&s, &err), MCAP_EUNSUPPORTED);
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);
}

TEST(FileSink, AllocationFailuresAreClean) {
  TempDir dir;
  std::string target = dir.file("oom.mcap");
  for (long n = 0; n < 10; n++) {
    mcap_sink s{};
    mcap_error_info err{};
    mcap__set_alloc_fail_after(n);
    int rc = mcap_sink_open_file(&s, target.c_str(), &err);
    mcap__set_alloc_fail_after(-1);
    if (rc == MCAP_OK) {
      EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);
      EXPECT_GE(n, 5);  // a handful of allocations
      break;
    }
    EXPECT_EQ(rc, MCAP_ENOMEM);
    EXPECT_EQ(s.payload, nullptr);
    EXPECT_TRUE(list_dir(dir.path()).empty()) << "after failing allocation " << n;
  }
}

TEST(FdSink, PipeRoundTrip) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  Bytes data = random_bytes(7 << 20, 3);  // far more than a pipe holds
  Bytes got;
  std::thread reader([&] {
    uint8_t buf[65536];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) got.insert(got.end(), buf, buf + n);
  });
  mcap_sink s{};
  mcap_error_info err{};
  ASSERT_EQ(mcap_sink_from_fd(&s, fds[1], &err), MCAP_OK);
  EXPECT_EQ(write_pieces(&s, data, &err), MCAP_OK) << err.msg;
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK) << err.msg;
  // The descriptor is still open and usable: the sink does not own it.
  EXPECT_NE(fcntl(fds[1], F_GETFD), -1);
  EXPECT_EQ(write(fds[1], "!", 1), 1);
  close(fds[1]);
  reader.join();
  close(fds[0]);
  ASSERT_EQ(got.size(), data.size() + 1);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), got.begin()));
  EXPECT_EQ(got.back(), '!');
}

TEST(FdSink, NonBlockingPipe) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK), 0);
  Bytes data = random_bytes(3 << 20, 4);
  Bytes got;
  std::thread reader([&] {
    uint8_t buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) {
      got.insert(got.end(), buf, buf + n);
      usleep(10);  // slower than the writer: EAGAIN happens
    }
  });
  mcap_sink s{};
  mcap_error_info err{};
  ASSERT_EQ(mcap_sink_from_fd(&s, fds[1], &err), MCAP_OK);
  EXPECT_EQ(write_pieces(&s, data, &err), MCAP_OK) << err.msg;
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK) << err.msg;
  close(fds[1]);
  reader.join();
  close(fds[0]);
  EXPECT_TRUE(got == data);
}

TEST(FdSink, WriteErrorsAreReportedAndSticky) {
  // A pipe whose reader is gone: EPIPE (SIGPIPE ignored for the test).
  struct sigaction ign {}, old {};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);
  mcap_sink s{};
  mcap_error_info err{};
  ASSERT_EQ(mcap_sink_from_fd(&s, fds[1], &err), MCAP_OK);
  // A small write is only buffered; a large one reaches the pipe.
  EXPECT_EQ(s.write(s.payload, "abc", 3, &err), MCAP_OK);
  Bytes big(2 << 20, 'x');
  EXPECT_EQ(s.write(s.payload, big.data(), big.size(), &err), MCAP_EIO);
  std::string msg = err.msg;
  EXPECT_NE(msg.find("fd " + std::to_string(fds[1])), std::string::npos) << msg;
  EXPECT_NE(msg.find("Broken pipe"), std::string::npos) << msg;
  // Later writes and the close report the failure too.
  EXPECT_EQ(s.write(s.payload, "d", 1, &err), MCAP_EIO);
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_EIO);
  close(fds[1]);
  sigaction(SIGPIPE, &old, nullptr);
}

TEST(FdSink, CloseReportsFlushError) {
  int fd = open("/dev/full", O_WRONLY);
  if (fd < 0) GTEST_SKIP() << "no /dev/full";
  mcap_sink s{};
  mcap_error_info err{};
  ASSERT_EQ(mcap_sink_from_fd(&s, fd, &err), MCAP_OK);
  EXPECT_EQ(s.write(s.payload, "buffered", 8, &err), MCAP_OK);
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_EIO);
  EXPECT_NE(std::string(err.msg).find("No space left on device"), std::string::npos) << err.msg;
  close(fd);
  EXPECT_EQ(mcap_sink_from_fd(&s, -1, &err), MCAP_EINVAL);
}

TEST(MemorySink, CollectsBytes) {
  mcap_sink s{};
  ASSERT_EQ(mcap_sink_memory(&s, 0), MCAP_OK);
  uint64_t size = 99;
  mcap_sink_memory_data(&s, &size);
  EXPECT_EQ(size, 0u);
  Bytes data = random_bytes(5 << 20, 5);
  mcap_error_info err{};
  ASSERT_EQ(write_pieces(&s, data, &err), MCAP_OK) << err.msg;
  const uint8_t *p = mcap_sink_memory_data(&s, &size);
  ASSERT_EQ(size, data.size());
  EXPECT_EQ(std::memcmp(p, data.data(), data.size()), 0);
  EXPECT_EQ(s.write(s.payload, nullptr, 0, &err), MCAP_OK);
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);
  EXPECT_EQ(mcap_sink_memory_data(&s, &size), nullptr);  // closed: zeroed
  EXPECT_EQ(size, 0u);
}

TEST(MemorySink, Cap) {
  mcap_sink s{};
  ASSERT_EQ(mcap_sink_memory(&s, 100), MCAP_OK);
  mcap_error_info err{};
  Bytes data(60, 'a');
  EXPECT_EQ(s.write(s.payload, data.data(), 60, &err), MCAP_OK);
  EXPECT_EQ(s.write(s.payload, data.data(), 40, &err), MCAP_OK);  // exactly at the cap
  EXPECT_EQ(s.write(s.payload, data.data(), 1, &err), MCAP_ELIMIT);
  EXPECT_NE(std::string(err.msg).find("100"), std::string::npos) << err.msg;
  uint64_t size = 0;
  mcap_sink_memory_data(&s, &size);
  EXPECT_EQ(size, 100u);  // the refused write added nothing
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);

  ASSERT_EQ(mcap_sink_memory(&s, 10), MCAP_OK);
  EXPECT_EQ(s.write(s.payload, data.data(), 11, &err), MCAP_ELIMIT);
  EXPECT_EQ(s.write(s.payload, data.data(), SIZE_MAX, &err), MCAP_ELIMIT);  // no overflow
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);
}

TEST(MemorySink, DataOnlyForMemorySinks) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  mcap_sink s{};
  mcap_error_info err{};
  ASSERT_EQ(mcap_sink_from_fd(&s, fds[1], &err), MCAP_OK);
  uint64_t size = 5;
  EXPECT_EQ(mcap_sink_memory_data(&s, &size), nullptr);
  EXPECT_EQ(size, 0u);
  EXPECT_EQ(mcap_sink_memory_data(nullptr, nullptr), nullptr);
  EXPECT_EQ(mcap_sink_close(&s, &err), MCAP_OK);
  close(fds[0]);
  close(fds[1]);
  EXPECT_EQ(mcap_sink_memory(nullptr, 0), MCAP_EINVAL);
}
