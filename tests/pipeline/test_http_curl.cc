// test_http_curl.cc - libcurl opened on first use (http_curl.c): a library that is missing
// or is not libcurl gives a message naming it and why; the real one fills every function.
#include <gtest/gtest.h>

#include <string>

extern "C" {
#include "http_curl.h"
}
#include "pipeline/client.h"

namespace {

TEST(HttpCurl, MissingLibraryIsNamed) {
  struct pl__curl_api api;
  char msg[200] = "";
  EXPECT_EQ(pl__curl_open("libmcapkit-no-such-curl.so.4", &api, msg, sizeof msg), -1);
  EXPECT_NE(std::string(msg).find("libmcapkit-no-such-curl.so.4"), std::string::npos) << msg;
}

TEST(HttpCurl, LibraryWithoutCurlFunctionsIsRefused) {
  struct pl__curl_api api;
  char msg[200] = "";
  // zlib is on every Debian system (and under libcurl); it has none of libcurl's functions.
  EXPECT_EQ(pl__curl_open("libz.so.1", &api, msg, sizeof msg), -1);
  EXPECT_NE(std::string(msg).find("libz.so.1 has no function curl_global_init"), std::string::npos)
      << msg;
}

TEST(HttpCurl, RealLibraryFillsEveryFunction) {
  struct pl__curl_api api;
  char msg[200] = "";
  ASSERT_EQ(pl__curl_open(PL__CURL_SONAME, &api, msg, sizeof msg), 0) << msg;
  const void *const *p = reinterpret_cast<const void *const *>(&api);
  for (size_t i = 0; i < sizeof api / sizeof(void *); i++) EXPECT_NE(p[i], nullptr) << i;
  ASSERT_EQ(pl__curl_load(nullptr), PL_OK);
  EXPECT_EQ(pl__curl_load(nullptr), PL_OK);  // once per process, same answer
  EXPECT_NE(pl__curl.easy_init, nullptr);
  ASSERT_EQ(pl_http_global_init(nullptr), PL_OK);
  pl_http *h = nullptr;
  ASSERT_EQ(pl_http_new(&h, "http://127.0.0.1:1", nullptr, nullptr, nullptr), PL_OK);
  pl_http_free(h);
  pl_http_global_cleanup();
}

}  // namespace
