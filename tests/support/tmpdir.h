// tmpdir.h - a temporary directory per test, removed with its contents at the end.
#pragma once
#include <string>

namespace mcapkit_test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const std::string &path() const { return path_; }
  std::string file(const std::string &name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace mcapkit_test
