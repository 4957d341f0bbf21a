// test_server_mhd.cc - libmicrohttpd opened when a local site first starts (server_mhd.c):
// a library that is missing or is not libmicrohttpd gives a message naming it and why;
// the real one fills every function.
#include <gtest/gtest.h>

#include <string>

extern "C" {
#include "server_mhd.h"
}

namespace {

TEST(ServerMhd, MissingLibraryIsNamed) {
  struct pl__mhd_api api;
  char msg[200] = "";
  EXPECT_EQ(pl__mhd_open("libmcapkit-no-such-mhd.so.12", &api, msg, sizeof msg), -1);
  EXPECT_NE(std::string(msg).find("libmcapkit-no-such-mhd.so.12"), std::string::npos) << msg;
}

TEST(ServerMhd, LibraryWithoutMhdFunctionsIsRefused) {
  struct pl__mhd_api api;
  char msg[200] = "";
  EXPECT_EQ(pl__mhd_open("libz.so.1", &api, msg, sizeof msg), -1);
  EXPECT_NE(std::string(msg).find("libz.so.1 has no function MHD_start_daemon"), std::string::npos)
      << msg;
}

TEST(ServerMhd, RealLibraryFillsEveryFunction) {
  struct pl__mhd_api api;
  char msg[200] = "";
  ASSERT_EQ(pl__mhd_open(PL__MHD_SONAME, &api, msg, sizeof msg), 0) << msg;
  const void *const *p = reinterpret_cast<const void *const *>(&api);
  for (size_t i = 0; i < sizeof api / sizeof(void *); i++) EXPECT_NE(p[i], nullptr) << i;
  ASSERT_EQ(pl__mhd_load(nullptr), PL_OK);
  EXPECT_NE(pl__mhd.start_daemon, nullptr);
}

}  // namespace
