// test_core_dlib.cc - pl_dl_open_table (pipeline/core/dlib.c), the one loader behind
// libcurl, libmicrohttpd and libcrypto: a table filled from a real library, and the
// failures named without touching the table.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <string>

extern "C" {
#include "pipeline/core.h"
}

namespace {

struct LibcTable {
  size_t (*strlen_fn)(const char *);
  int (*strcmp_fn)(const char *, const char *);
};

TEST(CoreDlib, FillsTheTableFromTheLibrary) {
  const pl_dl_fn fns[] = {{"strlen", offsetof(LibcTable, strlen_fn)},
                          {"strcmp", offsetof(LibcTable, strcmp_fn)}};
  LibcTable t{};
  char msg[200] = "";
  ASSERT_EQ(pl_dl_open_table("libc.so.6", fns, 2, &t, sizeof t, nullptr, msg, sizeof msg), 0)
      << msg;
  ASSERT_NE(t.strlen_fn, nullptr);
  EXPECT_EQ(t.strlen_fn("mcapkit"), 7u);
  EXPECT_EQ(t.strcmp_fn("a", "a"), 0);
}

TEST(CoreDlib, AMissingFunctionIsNamedAndTheTableIsLeftAlone) {
  const pl_dl_fn fns[] = {{"strlen", offsetof(LibcTable, strlen_fn)},
                          {"no_such_function_here", offsetof(LibcTable, strcmp_fn)}};
  LibcTable t{};
  char msg[200] = "";
  EXPECT_EQ(pl_dl_open_table("libc.so.6", fns, 2, &t, sizeof t, " (a hint)", msg, sizeof msg), -1);
  EXPECT_EQ(std::string(msg), "libc.so.6 has no function no_such_function_here (a hint)");
  EXPECT_EQ(t.strlen_fn, nullptr);
  EXPECT_EQ(t.strcmp_fn, nullptr);
}

TEST(CoreDlib, AMissingLibraryIsNamed) {
  const pl_dl_fn fns[] = {{"strlen", 0}};
  LibcTable t{};
  char msg[200] = "";
  EXPECT_EQ(
      pl_dl_open_table("libmcapkit-no-such.so.9", fns, 1, &t, sizeof t, nullptr, msg, sizeof msg),
      -1);
  EXPECT_NE(std::string(msg).find("libmcapkit-no-such.so.9"), std::string::npos) << msg;
  EXPECT_EQ(t.strlen_fn, nullptr);
}

TEST(CoreDlib, AnOffsetOutsideTheTableIsRefused) {
  const pl_dl_fn fns[] = {{"strlen", sizeof(LibcTable)}};
  LibcTable t{};
  char msg[200] = "";
  EXPECT_EQ(pl_dl_open_table("libc.so.6", fns, 1, &t, sizeof t, nullptr, msg, sizeof msg), -1);
  EXPECT_EQ(std::string(msg), "libc.so.6: strlen's place is outside the table");
  EXPECT_EQ(t.strlen_fn, nullptr);
}

}  // namespace
