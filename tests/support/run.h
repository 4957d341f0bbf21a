// run.h - run a program (usually the built mcapkit) from a test and capture its
// exit code, stdout and stderr; plus a small JSON reader to check --json output
// (the test support library does not link json-c, and tests should not read
// our JSON with the same library that wrote it anyway).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mcapkit_test {

struct RunResult {
  int exit_code = -1;  // the exit status; 128 + signal number if killed by a signal
  std::string out;     // everything written to stdout
  std::string err;     // everything written to stderr
  long max_rss_kib = 0; // the child's peak RSS (wait4); at least the test process's own
                        // at the spawn, which Linux carries across exec
};

struct RunOptions {
  std::string stdin_data;        // fed to the child's stdin, which is then closed
  double timeout_seconds = 300;  // the child is killed (SIGKILL) after this long
  bool stderr_tty = false;       // the child's stderr is a pseudo-terminal (raw mode), as
                                 // when a user runs it: progress lines show
};

// Path of the built mcapkit binary (MCAPKIT_BIN_DIR "/mcapkit").
std::string mcapkit_path();

// Run argv[0] (a path, not searched in PATH) with argv; stdin/stdout/stderr are
// pipes. Throws std::runtime_error if the program cannot be started.
RunResult run_program(const std::vector<std::string> &argv, const RunOptions &opts = {});

// Run mcapkit with `args` (without the program name).
RunResult run_mcapkit(const std::vector<std::string> &args, const RunOptions &opts = {});

// Whole-file helpers for tests.
std::string read_file_or_throw(const std::string &path);
void write_file_or_throw(const std::string &path, const std::string &data);

// A parsed JSON value. Numbers keep their text so 64-bit integers stay exact.
class Json {
 public:
  enum Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Type type() const { return type_; }
  bool is_null() const { return type_ == kNull; }
  bool boolean() const;            // throws unless a bool
  const std::string &str() const;  // throws unless a string
  const std::string &number_text() const;
  uint64_t u64() const;                    // a non-negative integer number, or a decimal string
  double num() const;                      // a number
  size_t size() const;                     // elements of an array / members of an object
  const Json &operator[](size_t i) const;  // array element; throws if out of range
  const Json &operator[](const std::string &key) const;  // object member; throws if missing
  bool has(const std::string &key) const;
  const std::vector<std::string> &keys() const { return keys_; }

  // Parse a complete JSON text (surrounding whitespace allowed); throws
  // std::runtime_error naming the byte offset on malformed input.
  static Json parse(const std::string &text);

 private:
  friend class JsonParser;
  Type type_ = kNull;
  bool bool_ = false;
  std::string text_;         // string value or number text
  std::vector<Json> items_;  // array elements or object values
  std::vector<std::string> keys_;
};

}  // namespace mcapkit_test
