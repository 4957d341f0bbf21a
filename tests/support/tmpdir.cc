// tmpdir.cc - TempDir: mkdtemp under $TMPDIR, recursive removal on destruction.
#include "tmpdir.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace mcapkit_test {

TempDir::TempDir() {
  const char *base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/mcapkit-test-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace mcapkit_test
