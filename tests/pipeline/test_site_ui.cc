// test_site_ui.cc - the browser pages of the local site (pipeline/site/site_ui*.c): the
// session store (lifetime, logout, cap, malformed ids), the cookie's attributes, the login
// form's CSRF token, form bodies; then over HTTP against a server in this process: login
// and logout with their CSRF checks, a session cookie that does not open the JSON API, the
// Secure attribute behind an https public URL, --ui-open refused off loopback, and pages
// that escape a hostile topic, filter and page. The browser itself is in
// tests/cli/test_cli_site_ui.cc.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>

#include "test_server_util.h"

extern "C" {
#include "sha256.h"
#include "site_ui.h"
}

using namespace mcapkit_test;

namespace {

constexpr uint64_t kSec = 1000000000ull;
const struct srv_key *const kKeyA = reinterpret_cast<const struct srv_key *>(0x1000);
const struct srv_key *const kKeyB = reinterpret_cast<const struct srv_key *>(0x2000);

struct Sessions {
  ui_sessions ss;
  Sessions(size_t max, uint64_t lifetime_s) { EXPECT_EQ(pl__ui_sessions_init(&ss, max, lifetime_s), 0); }
  ~Sessions() { pl__ui_sessions_dispose(&ss); }
  std::string make(const struct srv_key *k, uint64_t now, std::string *csrf = nullptr) {
    char id[UI_TOKEN_HEX + 1], c[UI_TOKEN_HEX + 1];
    EXPECT_EQ(pl__ui_session_new(&ss, k, now, id, c), 0);
    if (csrf) *csrf = c;
    return id;
  }
  bool alive(const std::string &id, uint64_t now) {
    return pl__ui_session_get(&ss, id.c_str(), now, nullptr, nullptr) == 1;
  }
};

}  // namespace

// One test per area (each ctest test starts the binary: CI time).
TEST(SiteUiSession, MadeFoundEndedAndExpired) {
  {  // MadeFoundAndEndedByLogout
    Sessions s(0, 0);
    std::string csrf;
    std::string id = s.make(kKeyA, 100 * kSec, &csrf);
    EXPECT_TRUE(pl__ui_is_token(id.c_str()));
    EXPECT_TRUE(pl__ui_is_token(csrf.c_str()));
    EXPECT_NE(id, csrf);
    std::string other = s.make(kKeyB, 100 * kSec);
    EXPECT_NE(id, other);
    const struct srv_key *k = nullptr;
    char c[UI_TOKEN_HEX + 1] = "";
    ASSERT_EQ(pl__ui_session_get(&s.ss, id.c_str(), 101 * kSec, &k, c), 1);
    EXPECT_EQ(k, kKeyA);
    EXPECT_EQ(std::string(c), csrf);
    EXPECT_EQ(pl__ui_session_end(&s.ss, id.c_str()), 1);
    EXPECT_FALSE(s.alive(id, 101 * kSec));
    EXPECT_EQ(pl__ui_session_end(&s.ss, id.c_str()), 0);
    EXPECT_TRUE(s.alive(other, 101 * kSec));
    EXPECT_EQ(pl__ui_session_count(&s.ss), 1u);
  }
  {  // ExpiresAfterItsLifetimeEvenWhenUsed
    Sessions s(0, 60);
    std::string id = s.make(kKeyA, 1000 * kSec);
    EXPECT_TRUE(s.alive(id, 1030 * kSec));
    EXPECT_TRUE(s.alive(id, 1060 * kSec - 1));  // use does not extend it
    EXPECT_FALSE(s.alive(id, 1060 * kSec));
    EXPECT_EQ(pl__ui_session_count(&s.ss), 0u);  // dropped when found expired
    // the default lifetime is 8 hours
    Sessions d(0, 0);
    std::string id2 = d.make(kKeyA, 0);
    EXPECT_TRUE(d.alive(id2, 8 * 3600 * kSec - 1));
    EXPECT_FALSE(d.alive(id2, 8 * 3600 * kSec));
  }
}

// The cap: expired sessions first, then the least recently used; malformed ids.
TEST(SiteUiSession, CapAndMalformedIds) {
  {  // CapDropsExpiredFirstThenLeastRecentlyUsed
    Sessions s(3, 100);
    std::string a = s.make(kKeyA, 1 * kSec), b = s.make(kKeyA, 2 * kSec), c = s.make(kKeyA, 3 * kSec);
    EXPECT_TRUE(s.alive(a, 4 * kSec));  // a is now the most recently used
    std::string d = s.make(kKeyA, 5 * kSec);
    EXPECT_EQ(pl__ui_session_count(&s.ss), 3u);
    EXPECT_EQ(s.ss.evicted, 1u);
    EXPECT_FALSE(s.alive(b, 6 * kSec));
    EXPECT_TRUE(s.alive(a, 6 * kSec));
    EXPECT_TRUE(s.alive(c, 6 * kSec));
    EXPECT_TRUE(s.alive(d, 6 * kSec));
    // at 102 s, a (made at 1 s) has expired: it makes the room, nobody alive is dropped
    std::string e = s.make(kKeyA, 102 * kSec);
    EXPECT_EQ(s.ss.evicted, 1u);
    EXPECT_EQ(pl__ui_session_count(&s.ss), 3u);
    EXPECT_FALSE(s.alive(a, 102 * kSec));
    EXPECT_TRUE(s.alive(c, 102 * kSec));
    EXPECT_TRUE(s.alive(d, 102 * kSec));
    EXPECT_TRUE(s.alive(e, 102 * kSec));
  }
  {  // MalformedIdsAreUnknown
    Sessions s(0, 0);
    std::string id = s.make(kKeyA, kSec);
    std::string upper = id;
    for (char &ch : upper) ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
    for (const std::string &bad : {std::string(""), std::string("abc"), id + "0", id.substr(1),
                                   upper == id ? std::string("x") : upper,
                                   std::string(64, 'g')})
      EXPECT_FALSE(s.alive(bad, 2 * kSec)) << bad;
    EXPECT_TRUE(s.alive(id, 2 * kSec));
  }
}

// The session cookie's attributes, form bodies, the login form's CSRF token.
TEST(SiteUiParts, CookieFormAndLoginToken) {
  {  // AttributesOfTheSessionCookie
    char buf[256];
    pl__ui_cookie(buf, sizeof buf, "mcapkit_session", "abc", "/ui", 28800, 0);
    EXPECT_STREQ(buf, "mcapkit_session=abc; Path=/ui; Max-Age=28800; HttpOnly; SameSite=Strict");
    pl__ui_cookie(buf, sizeof buf, "mcapkit_session", "", "/ui", 0, 1);
    EXPECT_STREQ(buf, "mcapkit_session=; Path=/ui; Max-Age=0; HttpOnly; SameSite=Strict; Secure");
  }
  {  // FieldsOfAFormBody
    char out[64];
    std::string body = "csrf=ab12&token=fox%5Fsk+%2Bx&empty=&flag";
    EXPECT_EQ(pl__ui_form_field(body.data(), body.size(), "csrf", out, sizeof out), 1);
    EXPECT_STREQ(out, "ab12");
    EXPECT_EQ(pl__ui_form_field(body.data(), body.size(), "token", out, sizeof out), 1);
    EXPECT_STREQ(out, "fox_sk +x");
    EXPECT_EQ(pl__ui_form_field(body.data(), body.size(), "empty", out, sizeof out), 1);
    EXPECT_STREQ(out, "");
    EXPECT_EQ(pl__ui_form_field(body.data(), body.size(), "flag", out, sizeof out), 1);
    EXPECT_EQ(pl__ui_form_field(body.data(), body.size(), "csr", out, sizeof out), 0);
    EXPECT_EQ(pl__ui_form_field(body.data(), body.size(), "nope", out, sizeof out), 0);
    for (const std::string &bad : {std::string("a=%"), std::string("a=%4"), std::string("a=%zz"),
                                   std::string("a=%00"), std::string("a=") + std::string(64, 'x')})
      EXPECT_EQ(pl__ui_form_field(bad.data(), bad.size(), "a", out, sizeof out), -1) << bad;
  }
  {  // LoginTokenIsBoundToItsNonceAndTheSiteSecret
    pl_error_info err;
    ASSERT_EQ(pl__crypto_load(&err), PL_OK) << err.msg;
    uint8_t secret[32], other[32];
    memset(secret, 7, sizeof secret);
    memset(other, 8, sizeof other);
    std::string n1(64, 'a'), n2(64, 'b');
    char t1[65], t1b[65], t2[65], t3[65];
    ASSERT_EQ(pl__ui_login_token(secret, n1.c_str(), t1), 0);
    ASSERT_EQ(pl__ui_login_token(secret, n1.c_str(), t1b), 0);
    ASSERT_EQ(pl__ui_login_token(secret, n2.c_str(), t2), 0);
    ASSERT_EQ(pl__ui_login_token(other, n1.c_str(), t3), 0);
    EXPECT_TRUE(pl__ui_is_token(t1));
    EXPECT_STREQ(t1, t1b);
    EXPECT_STRNE(t1, t2);
    EXPECT_STRNE(t1, t3);
    EXPECT_NE(std::string(t1), n1);
    EXPECT_EQ(pl__ui_login_token(secret, "short", t1), -1);
    EXPECT_STREQ(t1, "");
    EXPECT_TRUE(pl__ui_same("abc", "abc"));
    EXPECT_FALSE(pl__ui_same("abc", "abd"));
    EXPECT_FALSE(pl__ui_same("abc", "abcd"));
  }
}

// ------------------------------------------------------------------ over HTTP

namespace {

const std::string kKey = "fox_sk_site_ui_test_key_0123456789";

std::string write_keys(const TempDir &tmp) {
  std::string p = tmp.file("keys.json");
  write_file_or_throw(p, "{\"keys\": [{\"token\": \"" + kKey +
                             "\", \"capabilities\": [\"*\"]}, {\"token\": "
                             "\"fox_sk_devices_only_000\", \"capabilities\": [\"devices.list\"]}]}");
  return p;
}

// The value of cookie `name` in the Set-Cookie header ("" when not set there). The test
// client keeps the last of repeated headers: the server sends the session cookie last.
std::string set_cookie(const HttpResponse &r, const std::string &name) {
  std::string sc = r.header("set-cookie");
  std::smatch m;
  std::regex re("(?:^|, )" + name + "=([^;]*)");
  if (std::regex_search(sc, m, re)) return m[1];
  return "";
}

HttpResponse get_with(const std::string &url, const std::string &cookie) {
  HttpRequest q;
  q.url = url;
  if (!cookie.empty()) q.headers.push_back({"Cookie", cookie});
  return http_do(q);
}

HttpResponse post_form(const std::string &url, const std::string &cookie, const std::string &body,
                       const std::string &origin = "") {
  HttpRequest q;
  q.method = "POST";
  q.url = url;
  q.body = body;
  q.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
  if (!cookie.empty()) q.headers.push_back({"Cookie", cookie});
  if (!origin.empty()) q.headers.push_back({"Origin", origin});
  return http_do(q);
}

std::string csrf_in(const std::string &page) {
  std::smatch m;
  std::regex re("name=\"csrf\" value=\"([0-9a-f]{64})\"");
  return std::regex_search(page, m, re) ? std::string(m[1]) : "";
}

// Log in through the form: the session cookie's value ("" on failure).
std::string login(const TestServer &s, const std::string &key, HttpResponse *last = nullptr) {
  HttpResponse f = http_get(s.u("/ui/login"));
  EXPECT_EQ(f.status, 200) << f.body;
  std::string nonce = set_cookie(f, "mcapkit_login"), csrf = csrf_in(f.body);
  EXPECT_EQ(nonce.size(), 64u);
  EXPECT_EQ(csrf.size(), 64u);
  HttpResponse r = post_form(s.u("/ui/login"), "mcapkit_login=" + nonce,
                             "csrf=" + csrf + "&token=" + url_encode(key), s.url());
  if (last) *last = r;
  return set_cookie(r, "mcapkit_session");
}

}  // namespace

TEST(SiteUiHttp, LoginSetsASessionCookieAndLogoutEndsItOnTheServer) {
  TempDir tmp;
  TestServer s(tmp.file("data"), [&](pl_server_options &o) {
    static std::string keys;
    keys = write_keys(tmp);
    o.keys_path = keys.c_str();
  });
  ASSERT_TRUE(s.ok());
  // no session: pages send the browser to the login form
  for (const char *p : {"/ui/recordings", "/ui/devices", "/ui/imports", "/ui/recordings/rec_x"}) {
    HttpResponse r = http_get(s.u(p));
    EXPECT_EQ(r.status, 303) << p;
    EXPECT_EQ(r.header("location"), "/ui/login") << p;
  }
  EXPECT_EQ(http_get(s.u("/")).header("location"), "/ui/recordings");
  // the login form: a nonce cookie, the page's headers
  HttpResponse f = http_get(s.u("/ui/login"));
  ASSERT_EQ(f.status, 200);
  EXPECT_NE(f.header("content-type").find("text/html"), std::string::npos);
  EXPECT_NE(f.header("content-security-policy").find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(f.header("x-frame-options"), "DENY");
  EXPECT_NE(f.header("set-cookie").find("; Path=/ui/login; Max-Age=900; HttpOnly; SameSite=Strict"),
            std::string::npos) << f.header("set-cookie");
  EXPECT_EQ(f.body.find("<script"), std::string::npos);
  // log in
  HttpResponse lr;
  std::string sid = login(s, kKey, &lr);
  ASSERT_EQ(lr.status, 303) << lr.body;
  EXPECT_EQ(lr.header("location"), "/ui/recordings");
  ASSERT_EQ(sid.size(), 64u);
  std::string sc = lr.header("set-cookie");
  EXPECT_NE(sc.find("mcapkit_session=" + sid + "; Path=/ui; Max-Age=28800; HttpOnly; "
                    "SameSite=Strict"), std::string::npos) << sc;
  EXPECT_EQ(sc.find("Secure"), std::string::npos) << sc;  // plain http
  // the key never comes back in a page or a header
  EXPECT_EQ(lr.body.find(kKey), std::string::npos);
  std::string cookie = "mcapkit_session=" + sid;
  HttpResponse page = get_with(s.u("/ui/recordings"), cookie);
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("<h1>Recordings</h1>"), std::string::npos);
  EXPECT_EQ(page.body.find(kKey), std::string::npos);
  std::string csrf = csrf_in(page.body);
  ASSERT_EQ(csrf.size(), 64u);
  // the cookie does not open the JSON API
  HttpResponse api = get_with(s.u("/v1/recordings"), cookie);
  EXPECT_EQ(api.status, 401) << api.body;
  // logout needs the session's CSRF token
  EXPECT_EQ(post_form(s.u("/ui/logout"), cookie, "").status, 403);
  EXPECT_EQ(post_form(s.u("/ui/logout"), cookie, "csrf=" + std::string(64, '0')).status, 403);
  EXPECT_EQ(post_form(s.u("/ui/logout"), cookie, "csrf=" + csrf, "http://evil.example").status,
            403);
  EXPECT_EQ(get_with(s.u("/ui/logout"), cookie).status, 405);
  EXPECT_EQ(get_with(s.u("/ui/recordings"), cookie).status, 200);  // still logged in
  HttpResponse out = post_form(s.u("/ui/logout"), cookie, "csrf=" + csrf, s.url());
  EXPECT_EQ(out.status, 303);
  EXPECT_EQ(out.header("location"), "/ui/login");
  EXPECT_NE(out.header("set-cookie").find("mcapkit_session=; Path=/ui; Max-Age=0"),
            std::string::npos);
  // ended on the server: the old cookie no longer works
  HttpResponse after = get_with(s.u("/ui/recordings"), cookie);
  EXPECT_EQ(after.status, 303);
  EXPECT_EQ(after.header("location"), "/ui/login");
  // logging in again with a session ends the old one
  std::string first = login(s, kKey);
  ASSERT_EQ(first.size(), 64u);
  HttpResponse f2 = http_get(s.u("/ui/login"));
  HttpResponse again = post_form(s.u("/ui/login"),
                                 "mcapkit_login=" + set_cookie(f2, "mcapkit_login") +
                                     "; mcapkit_session=" + first,
                                 "csrf=" + csrf_in(f2.body) + "&token=" + kKey);
  ASSERT_EQ(again.status, 303);
  std::string second = set_cookie(again, "mcapkit_session");
  EXPECT_NE(second, first);
  EXPECT_EQ(get_with(s.u("/ui/recordings"), "mcapkit_session=" + first).status, 303);
  EXPECT_EQ(get_with(s.u("/ui/recordings"), "mcapkit_session=" + second).status, 200);
  // a key without recordings.list logs in but sees only what it may
  std::string dev = login(s, "fox_sk_devices_only_000");
  ASSERT_EQ(dev.size(), 64u);
  EXPECT_EQ(get_with(s.u("/ui/recordings"), "mcapkit_session=" + dev).status, 403);
  EXPECT_EQ(get_with(s.u("/ui/devices"), "mcapkit_session=" + dev).status, 200);
}

TEST(SiteUiHttp, LoginFormRefusesForgedPostsAndWrongKeys) {
  TempDir tmp;
  TestServer s(tmp.file("data"), [&](pl_server_options &o) {
    static std::string keys;
    keys = write_keys(tmp);
    o.keys_path = keys.c_str();
  });
  ASSERT_TRUE(s.ok());
  HttpResponse f = http_get(s.u("/ui/login"));
  std::string nonce = set_cookie(f, "mcapkit_login"), csrf = csrf_in(f.body);
  HttpResponse f2 = http_get(s.u("/ui/login"));
  std::string nonce2 = set_cookie(f2, "mcapkit_login");
  ASSERT_NE(nonce, nonce2);
  std::string body = "csrf=" + csrf + "&token=" + kKey;
  struct Case {
    std::string cookie, body, origin;
    int status;
  } cases[] = {
      {"", body, "", 403},                                   // no nonce cookie (another site's form)
      {"mcapkit_login=" + nonce2, body, "", 403},           // a token of another nonce
      {"mcapkit_login=" + nonce, "token=" + kKey, "", 403}, // no token
      {"mcapkit_login=" + nonce, body, "http://evil.example", 403},  // posted from elsewhere
      {"mcapkit_login=" + nonce, body, "null", 403},  // from a sandboxed frame
      {"mcapkit_login=" + nonce, "csrf=" + csrf + "&token=fox_sk_wrong_key", "", 401},
  };
  for (const Case &c : cases) {
    HttpResponse r = post_form(s.u("/ui/login"), c.cookie, c.body, c.origin);
    EXPECT_EQ(r.status, c.status) << c.cookie << " " << c.body << " " << c.origin;
    EXPECT_EQ(set_cookie(r, "mcapkit_session"), "") << c.body;
  }
  // not a form
  HttpRequest q;
  q.method = "POST";
  q.url = s.u("/ui/login");
  q.body = "{\"token\": \"" + kKey + "\"}";
  q.headers = {{"Content-Type", "application/json"}, {"Cookie", "mcapkit_login=" + nonce}};
  EXPECT_EQ(http_do(q).status, 415);
  // a form body above 4 KiB
  HttpResponse big = post_form(s.u("/ui/login"), "mcapkit_login=" + nonce,
                               body + "&pad=" + std::string(5000, 'x'));
  EXPECT_EQ(big.status, 413);
  // the right nonce, token and key (no Origin header, as some clients send none) work
  HttpResponse ok = post_form(s.u("/ui/login"), "mcapkit_login=" + nonce, body);
  EXPECT_EQ(ok.status, 303) << ok.body;
  EXPECT_EQ(set_cookie(ok, "mcapkit_session").size(), 64u);
}

TEST(SiteUiHttp, SecureCookieBehindAnHttpsPublicUrl) {
  TempDir tmp;
  TestServer s(tmp.file("data"), [&](pl_server_options &o) {
    static std::string keys;
    keys = write_keys(tmp);
    o.keys_path = keys.c_str();
    o.public_url = "https://site.example";
  });
  ASSERT_TRUE(s.ok());
  HttpResponse f = http_get(s.u("/ui/login"));
  EXPECT_NE(f.header("set-cookie").find("; Secure"), std::string::npos);
  HttpResponse lr;
  login(s, kKey, &lr);
  EXPECT_NE(lr.header("set-cookie").find("HttpOnly; SameSite=Strict; Secure"), std::string::npos)
      << lr.header("set-cookie");
}

TEST(SiteUiHttp, OpenPagesOnlyOnLoopback) {
  TempDir tmp;
  pl_server_options o;
  memset(&o, 0, sizeof o);
  std::string data = tmp.file("data");
  o.data_dir = data.c_str();
  o.no_fsync = 1;
  o.ui_open = 1;
  o.listen_host = "0.0.0.0";
  pl_server *srv = nullptr;
  pl_error_info err;
  EXPECT_EQ(pl_server_create(&srv, &o, &err), PL_EINVAL);
  EXPECT_NE(std::string(err.msg).find("loopback"), std::string::npos) << err.msg;
  EXPECT_EQ(srv, nullptr);
  TestServer s(data, [](pl_server_options &so) {
    so.ui_open = 1;
    so.listen_host = "127.0.0.1";
  });
  ASSERT_TRUE(s.ok());
  HttpResponse r = http_get(s.u("/ui/recordings"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("/ui/logout"), std::string::npos);  // nothing to log out of
  EXPECT_EQ(http_get(s.u("/ui/login")).header("location"), "/ui/recordings");
  EXPECT_EQ(http_get(s.u("/v1/recordings")).status, 401);  // the API still needs its key
}

namespace {

// A recording with a hostile topic, metadata and attachment name.
std::string hostile_recording(const TempDir &tmp) {
  std::string path = tmp.file("hostile.mcap");
  mcap_error_info err{};
  mcap_sink sink{};
  EXPECT_EQ(mcap_sink_open_file(&sink, path.c_str(), &err), MCAP_OK);
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  mcap_writer *w = nullptr;
  EXPECT_EQ(mcap_writer_open(&w, &sink, &o), MCAP_OK);
  uint16_t sc = 0, ch = 0;
  EXPECT_EQ(mcap_writer_add_schema(w, mcap_str_c("T"), mcap_str_c("jsonschema"), mcap_bytes{}, &sc),
            MCAP_OK);
  EXPECT_EQ(mcap_writer_add_channel(w, sc, mcap_str_c("<script>alert(1)</script>"),
                                    mcap_str_c("json"), nullptr, 0, &ch),
            MCAP_OK);
  for (uint64_t t = 0; t < 5; t++) {
    mcap_message m{};
    m.channel_id = ch;
    m.log_time = m.publish_time = 1767225600ull * kSec + t * kSec;
    m.data.data = reinterpret_cast<const uint8_t *>("{}");
    m.data.len = 2;
    EXPECT_EQ(mcap_writer_write_message(w, &m), MCAP_OK);
  }
  mcap_attachment at{};
  at.name = mcap_str_c("<img src=x onerror=alert(2)>.txt");
  at.media_type = mcap_str_c("text/html");
  at.data.data = reinterpret_cast<const uint8_t *>("<script>alert(3)</script>");
  at.data.len = 25;
  EXPECT_EQ(mcap_writer_write_attachment(w, &at), MCAP_OK);
  EXPECT_EQ(mcap_writer_close(w), MCAP_OK);
  EXPECT_EQ(mcap_sink_commit(&sink, &err), MCAP_OK);
  mcap_sink_close(&sink, nullptr);
  mcap_writer_free(w);
  return path;
}

}  // namespace

TEST(SiteUiHttp, PagesEscapeRecordingDataFilterAndPage) {
  TempDir tmp;
  TestServer s(tmp.file("data"), [](pl_server_options &o) { o.ui_open = 1; });
  ASSERT_TRUE(s.ok());
  std::string hostile = read_file_or_throw(hostile_recording(tmp));
  std::string tiny = tmp.file("tiny.mcap");
  write_synth(tiny, 3, 1);
  ASSERT_NE(upload(s, "{\"filename\": \"<i>h.mcap\", \"deviceName\": \"dev-1\"}", hostile), "");
  ASSERT_NE(upload(s, "{\"filename\": \"tiny.mcap\", \"deviceName\": \"robot-2\"}",
                   read_file_or_throw(tiny)),
            "");
  ASSERT_TRUE(s.wait_imports(60));
  HttpResponse list = http_get(s.u("/ui/recordings"));
  ASSERT_EQ(list.status, 200);
  EXPECT_NE(list.body.find("2 of 2 recordings match"), std::string::npos);
  EXPECT_NE(list.body.find("&lt;i&gt;h.mcap"), std::string::npos);
  EXPECT_EQ(list.body.find("<i>"), std::string::npos);
  EXPECT_NE(list.body.find("dev-1"), std::string::npos);
  // filters: device, status, time; paging
  EXPECT_NE(http_get(s.u("/ui/recordings?device=robot-2")).body.find("1 of 2 recordings match"),
            std::string::npos);
  EXPECT_NE(http_get(s.u("/ui/recordings?status=failed")).body.find("0 of 2"), std::string::npos);
  EXPECT_NE(http_get(s.u("/ui/recordings?status=complete")).body.find("2 of 2"),
            std::string::npos);
  EXPECT_NE(http_get(s.u("/ui/recordings?start=2026-01-01T00:00:02Z&end=2026-01-01T00:00:03Z"))
                .body.find(">&lt;i&gt;h.mcap<"),
            std::string::npos);
  HttpResponse p1 = http_get(s.u("/ui/recordings?limit=1"));
  EXPECT_NE(p1.body.find("rel=\"next\""), std::string::npos);
  EXPECT_EQ(p1.body.find("rel=\"prev\""), std::string::npos);
  HttpResponse p2 = http_get(s.u("/ui/recordings?limit=1&offset=1"));
  EXPECT_NE(p2.body.find("rel=\"prev\""), std::string::npos);
  EXPECT_EQ(p2.body.find("rel=\"next\""), std::string::npos);
  EXPECT_EQ(http_get(s.u("/ui/recordings?status=bogus")).status, 400);
  EXPECT_EQ(http_get(s.u("/ui/recordings?start=yesterday")).status, 400);
  EXPECT_EQ(http_get(s.u("/ui/recordings?limit=0")).status, 400);
  // one recording: the report's sections, the hostile names as text, a download link
  std::smatch m;
  std::regex re("href=\"/ui/recordings/(rec_[A-Za-z0-9]+)\">&lt;i&gt;h\\.mcap<");
  ASSERT_TRUE(std::regex_search(list.body, m, re)) << list.body.substr(0, 2000);
  HttpResponse one = http_get(s.u("/ui/recordings/" + std::string(m[1])));
  ASSERT_EQ(one.status, 200);
  EXPECT_NE(one.body.find("<svg class=\"timeline\""), std::string::npos);
  EXPECT_NE(one.body.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(one.body.find("<script"), std::string::npos);
  EXPECT_EQ(one.body.find("<img"), std::string::npos);
  std::regex are("href=\"(/ui/attachments/[A-Za-z0-9_]+)\" download>");
  ASSERT_TRUE(std::regex_search(one.body, m, are)) << one.body;
  HttpResponse att = http_get(s.u(m[1]));
  EXPECT_EQ(att.status, 200);
  EXPECT_EQ(att.body, "<script>alert(3)</script>");
  EXPECT_EQ(att.header("content-type"), "application/octet-stream");  // never shown as a page
  EXPECT_EQ(att.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(att.header("content-disposition"), "attachment; filename=\"_img_src_x_onerror_alert_2__.txt\"");
  std::regex lre("href=\"(/ui/lake/rec_[A-Za-z0-9]+/0)\" download>");
  ASSERT_TRUE(std::regex_search(one.body, m, lre));
  HttpResponse lake = http_get(s.u(m[1]));
  EXPECT_EQ(lake.status, 200);
  EXPECT_EQ(lake.body.substr(0, 8), std::string("\x89MCAP0\r\n", 8));
  EXPECT_EQ(http_get(s.u("/ui/recordings/rec_nope")).status, 404);
  EXPECT_EQ(http_get(s.u("/ui/attachments/att_nope")).status, 404);
  EXPECT_EQ(http_get(s.u("/ui/lake/" + std::string(m[1]).substr(9, 20) + "/9")).status, 404);
  // devices and pending imports
  HttpResponse dev = http_get(s.u("/ui/devices"));
  EXPECT_EQ(dev.status, 200);
  EXPECT_NE(dev.body.find("dev-1"), std::string::npos);
  EXPECT_NE(dev.body.find("robot-2"), std::string::npos);
  HttpResponse imp = http_get(s.u("/ui/imports"));
  EXPECT_EQ(imp.status, 200);
  EXPECT_NE(imp.body.find("0 uploads not imported"), std::string::npos);
  // a failed import shows its error
  ASSERT_NE(upload(s, "{\"filename\": \"bad<i>.mcap\", \"deviceName\": \"robot-2\"}",
                   "not an mcap file at all"),
            "");
  ASSERT_TRUE(s.wait_imports(60));
  imp = http_get(s.u("/ui/imports"));
  EXPECT_NE(imp.body.find("1 uploads not imported"), std::string::npos) << imp.body;
  EXPECT_NE(imp.body.find("bad&lt;i&gt;.mcap"), std::string::npos);
  EXPECT_NE(imp.body.find("class=\"st-error\""), std::string::npos);
  // only GET on pages
  EXPECT_EQ(post_form(s.u("/ui/recordings"), "", "x=1").status, 405);
}
