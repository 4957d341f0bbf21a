// run.cc - process running with captured output (posix_spawn + poll) and a
// small strict JSON parser for tests.
#include "run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char **environ;

namespace mcapkit_test {

std::string mcapkit_path() {
  return std::string(MCAPKIT_BIN_DIR) + "/mcapkit";
}

namespace {

double now_seconds() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void close_fd(int &fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace

RunResult run_program(const std::vector<std::string> &argv, const RunOptions &opts) {
  if (argv.empty()) throw std::runtime_error("run_program: empty argv");
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  if (opts.stderr_tty) {
    // err[0] is the terminal's master side, err[1] its slave: the child's stderr
    err[0] = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    const char *slave = err[0] >= 0 && grantpt(err[0]) == 0 && unlockpt(err[0]) == 0
                            ? ptsname(err[0])
                            : nullptr;
    if (slave) err[1] = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct termios t;
    if (err[1] < 0 || tcgetattr(err[1], &t) != 0)
      throw std::runtime_error(std::string("pseudo-terminal: ") + std::strerror(errno));
    cfmakeraw(&t);  // bytes as written: no "\r\n" for "\n"
    tcsetattr(err[1], TCSANOW, &t);
  } else if (pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }

  // A child that exits without reading all of its stdin must not kill us
  // with SIGPIPE; the child itself gets the default disposition back.
  signal(SIGPIPE, SIG_IGN);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);

  std::vector<char *> args;
  for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0].c_str(), &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close_fd(in[0]);
  close_fd(out[1]);
  close_fd(err[1]);
  if (rc != 0) {
    close_fd(in[1]);
    close_fd(out[0]);
    close_fd(err[0]);
    throw std::runtime_error("cannot run '" + argv[0] + "': " + std::strerror(rc));
  }

  // Writing stdin must not block while the child waits for us to read its output.
  fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
  RunResult res;
  size_t in_pos = 0;
  if (opts.stdin_data.empty()) close_fd(in[1]);
  double deadline = now_seconds() + opts.timeout_seconds;
  bool killed = false;
  while (out[0] >= 0 || err[0] >= 0) {
    struct pollfd p[3];
    int n = 0;
    int idx_out = -1, idx_err = -1, idx_in = -1;
    if (out[0] >= 0) {
      p[n] = {out[0], POLLIN, 0};
      idx_out = n++;
    }
    if (err[0] >= 0) {
      p[n] = {err[0], POLLIN, 0};
      idx_err = n++;
    }
    if (in[1] >= 0) {
      p[n] = {in[1], POLLOUT, 0};
      idx_in = n++;
    }
    double left = deadline - now_seconds();
    if (left <= 0) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    int pr = poll(p, static_cast<nfds_t>(n), static_cast<int>(left * 1000) + 1);
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0) break;
    char buf[65536];
    auto drain = [&](int idx, int &fd, std::string &dst) {
      if (idx < 0 || !(p[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t got = read(fd, buf, sizeof buf);
      if (got > 0)
        dst.append(buf, static_cast<size_t>(got));
      else if (got == 0 || (errno != EINTR && errno != EAGAIN))
        close_fd(fd);
    };
    drain(idx_out, out[0], res.out);
    drain(idx_err, err[0], res.err);
    if (idx_in >= 0 && (p[idx_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t put = write(in[1], opts.stdin_data.data() + in_pos, opts.stdin_data.size() - in_pos);
      if (put > 0) in_pos += static_cast<size_t>(put);
      if ((put < 0 && errno != EAGAIN && errno != EINTR) || in_pos == opts.stdin_data.size())
        close_fd(in[1]);  // done, or the child closed its stdin (EPIPE)
    }
  }
  close_fd(in[1]);
  close_fd(out[0]);
  close_fd(err[0]);
  int status = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  res.max_rss_kib = ru.ru_maxrss;
  if (WIFEXITED(status))
    res.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    res.exit_code = 128 + WTERMSIG(status);
  if (killed) res.err += "\n[run_program: killed after timeout]\n";
  return res;
}

RunResult run_mcapkit(const std::vector<std::string> &args, const RunOptions &opts) {
  std::vector<std::string> argv{mcapkit_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, opts);
}

std::string read_file_or_throw(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read '" + path + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file_or_throw(const std::string &path, const std::string &data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!f) throw std::runtime_error("cannot write '" + path + "'");
}

// ------------------------------------------------------------------ JSON

static std::runtime_error json_error(const std::string &what) {
  return std::runtime_error("JSON: " + what);
}

bool Json::boolean() const {
  if (type_ != kBool) throw json_error("not a bool");
  return bool_;
}

const std::string &Json::str() const {
  if (type_ != kString) throw json_error("not a string");
  return text_;
}

const std::string &Json::number_text() const {
  if (type_ != kNumber) throw json_error("not a number");
  return text_;
}

uint64_t Json::u64() const {
  if (type_ != kNumber && type_ != kString) throw json_error("not a number or string");
  const std::string &t = text_;
  if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos)
    throw json_error("'" + t + "' is not a non-negative integer");
  errno = 0;
  unsigned long long v = std::strtoull(t.c_str(), nullptr, 10);
  if (errno == ERANGE) throw json_error("'" + t + "' out of range");
  return v;
}

double Json::num() const {
  if (type_ != kNumber) throw json_error("not a number");
  return std::strtod(text_.c_str(), nullptr);
}

size_t Json::size() const {
  if (type_ != kArray && type_ != kObject) throw json_error("not an array or object");
  return items_.size();
}

const Json &Json::operator[](size_t i) const {
  if (type_ != kArray) throw json_error("not an array");
  if (i >= items_.size()) throw json_error("index " + std::to_string(i) + " out of range");
  return items_[i];
}

const Json &Json::operator[](const std::string &key) const {
  if (type_ != kObject) throw json_error("not an object (looking for '" + key + "')");
  for (size_t i = 0; i < keys_.size(); i++)
    if (keys_[i] == key) return items_[i];
  throw json_error("no member '" + key + "'");
}

bool Json::has(const std::string &key) const {
  if (type_ != kObject) return false;
  for (const auto &k : keys_)
    if (k == key) return true;
  return false;
}

class JsonParser {
 public:
  explicit JsonParser(const std::string &s) : s_(s) {}

  Json document() {
    Json v = value(0);
    ws();
    if (pos_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  const std::string &s_;
  size_t pos_ = 0;

  [[noreturn]] void fail(const std::string &what) {
    throw json_error(what + " at offset " + std::to_string(pos_));
  }
  void ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      pos_++;
  }
  bool eat(char c) {
    ws();
    if (pos_ < s_.size() && s_[pos_] == c) {
      pos_++;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  bool literal(const char *word) {
    size_t n = std::strlen(word);
    if (s_.compare(pos_, n, word) == 0) {
      pos_ += n;
      return true;
    }
    return false;
  }

  static void append_utf8(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  uint32_t hex4() {
    if (s_.size() - pos_ < 4) fail("short \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        fail("bad \\u escape");
    }
    return v;
  }

  std::string string_body() {
    // called after the opening quote
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) fail("unterminated string");
      char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && literal("\\u")) {
            uint32_t lo = hex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }

  Json value(int depth) {
    if (depth > 200) fail("nesting too deep");
    ws();
    if (pos_ >= s_.size()) fail("unexpected end");
    Json v;
    char c = s_[pos_];
    if (c == '{') {
      pos_++;
      v.type_ = Json::kObject;
      if (eat('}')) return v;
      do {
        ws();
        if (pos_ >= s_.size() || s_[pos_] != '"') fail("expected a key");
        pos_++;
        v.keys_.push_back(string_body());
        expect(':');
        v.items_.push_back(value(depth + 1));
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      pos_++;
      v.type_ = Json::kArray;
      if (eat(']')) return v;
      do {
        v.items_.push_back(value(depth + 1));
      } while (eat(','));
      expect(']');
    } else if (c == '"') {
      pos_++;
      v.type_ = Json::kString;
      v.text_ = string_body();
    } else if (literal("true")) {
      v.type_ = Json::kBool;
      v.bool_ = true;
    } else if (literal("false")) {
      v.type_ = Json::kBool;
    } else if (literal("null")) {
      v.type_ = Json::kNull;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t start = pos_;
      if (s_[pos_] == '-') pos_++;
      auto digits = [&] {
        size_t d = pos_;
        while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') pos_++;
        if (pos_ == d) fail("expected digits");
      };
      digits();
      if (pos_ < s_.size() && s_[pos_] == '.') {
        pos_++;
        digits();
      }
      if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
        pos_++;
        if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) pos_++;
        digits();
      }
      v.type_ = Json::kNumber;
      v.text_ = s_.substr(start, pos_ - start);
    } else {
      fail("unexpected character");
    }
    return v;
  }
};

Json Json::parse(const std::string &text) {
  return JsonParser(text).document();
}

}  // namespace mcapkit_test
