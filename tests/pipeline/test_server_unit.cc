// test_server_unit.cc - unit tests of the server's building blocks that have
// published test vectors: SHA-256 (FIPS 180-4 examples) and HMAC-SHA256
// (RFC 4231), used for signed links.
#include <gtest/gtest.h>

#include <string>

extern "C" {
#include "sha256.h"
}

namespace {

std::string hex(const uint8_t *p, size_t n) {
  static const char d[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

std::string sha(const std::string &msg, size_t piece = 0) {
  pl__sha256 c;
  pl__sha256_init(&c);
  if (piece == 0) piece = msg.size() ? msg.size() : 1;
  for (size_t off = 0; off < msg.size(); off += piece)
    pl__sha256_update(&c, msg.data() + off, std::min(piece, msg.size() - off));
  uint8_t out[PL__SHA256_SIZE];
  pl__sha256_final(&c, out);
  return hex(out, sizeof out);
}

std::string hmac(const std::string &key, const std::string &msg) {
  uint8_t out[PL__SHA256_SIZE];
  pl__hmac_sha256(key.data(), key.size(), msg.data(), msg.size(), out);
  return hex(out, sizeof out);
}

TEST(ServerSha256, FipsExamples) {
  EXPECT_EQ(sha(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(sha(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  for (size_t piece : {1, 3, 63, 64, 65}) EXPECT_EQ(sha(two, piece), sha(two)) << piece;
  EXPECT_EQ(sha(std::string(1000000, 'a'), 4096),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(ServerSha256, HmacRfc4231) {
  EXPECT_EQ(hmac(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hmac("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac(std::string(20, '\xaa'), std::string(50, '\xdd')),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  // a key longer than the block is hashed first (test case 6)
  EXPECT_EQ(hmac(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

}  // namespace
