// test_cli_site_ui.cc - the local site's browser pages in a real browser. The test starts
// 'mcapkit serve' on a free loopback port, uploads two recordings with 'mcapkit upload' (one
// with a topic named <script>alert(1)</script> and an attachment), then drives Debian's
// chromium, headless, through the DevTools protocol over a pipe (--remote-debugging-pipe:
// NUL-separated JSON on file descriptors 3 and 4, no WebSocket needed): a page without a
// session lands on the login form, the form is filled in and submitted like a user does,
// the cookie the browser keeps is HttpOnly and SameSite=Strict, the recordings page lists
// both recordings, a link leads to one recording whose hostile topic shows as text with no
// script element, an attachment downloads with its bytes intact, a browser without the
// session is sent to the login form, and logging out ends the session.
// Also: 'serve --ui-open' refused off loopback (exit 2).
//
// The browser test needs chromium (scripts/bootstrap installs it). Without it the test is
// skipped with a message, except under CI (CI=true), where it fails. With
// MCAPKIT_SCREENS_DIR set (scripts/screens), it also saves screenshots of the pages.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "fake_http.h"
#include "http_client.h"
#include "mcap/mcap.h"
#include "run.h"
#include "tmpdir.h"

using namespace mcapkit_test;

namespace {

constexpr uint64_t kSec = 1000000000ull;
const std::string kKey = "fox_sk_site_ui_browser_test_0123456789";
const char kHostile[] = "<script>alert(1)</script>";
const std::string kAttachment = "calibration: {fx: 1.5}\n\x01\x02\xff binary tail";

std::string find_chromium() {
  if (const char *e = getenv("MCAPKIT_CHROMIUM")) return e;
  for (const char *p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (access(p, X_OK) == 0) return p;
  return "";
}

bool in_ci() {
  const char *ci = getenv("CI");
  return ci && std::string(ci) == "true";
}

std::string jstr(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string hex(const std::string &s) {
  static const char d[] = "0123456789abcdef";
  std::string o;
  for (unsigned char c : s) {
    o += d[c >> 4];
    o += d[c & 15];
  }
  return o;
}

std::string base64_decode(const std::string &in) {
  std::string out;
  int val = 0, bits = -8;
  for (unsigned char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else break;
    val = (val << 6) | v;
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xff);
      bits -= 8;
    }
  }
  return out;
}

// A recording with the hostile topic, a normal one, and an attachment.
void write_hostile(const std::string &path) {
  mcap_error_info err{};
  mcap_sink sink{};
  ASSERT_EQ(mcap_sink_open_file(&sink, path.c_str(), &err), MCAP_OK) << err.msg;
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.library = "mcapkit-test";
  mcap_writer *w = nullptr;
  ASSERT_EQ(mcap_writer_open(&w, &sink, &o), MCAP_OK);
  uint16_t s = 0, a = 0, h = 0;
  ASSERT_EQ(mcap_writer_add_schema(w, mcap_str_c("T"), mcap_str_c("jsonschema"), mcap_bytes{}, &s),
            MCAP_OK);
  ASSERT_EQ(mcap_writer_add_channel(w, s, mcap_str_c("/imu"), mcap_str_c("json"), nullptr, 0, &a),
            MCAP_OK);
  ASSERT_EQ(mcap_writer_add_channel(w, s, mcap_str_c(kHostile), mcap_str_c("json"), nullptr, 0, &h),
            MCAP_OK);
  for (uint64_t t = 0; t < 20; t++) {
    mcap_message m{};
    m.channel_id = (t % 4 == 0) ? h : a;
    m.log_time = m.publish_time = 1767225600ull * kSec + t * kSec / 2;
    m.data.data = reinterpret_cast<const uint8_t *>("{}");
    m.data.len = 2;
    ASSERT_EQ(mcap_writer_write_message(w, &m), MCAP_OK);
  }
  mcap_attachment at{};
  at.log_time = at.create_time = 1767225600ull * kSec;
  at.name = mcap_str_c("calib.yaml");
  at.media_type = mcap_str_c("text/html");
  at.data.data = reinterpret_cast<const uint8_t *>(kAttachment.data());
  at.data.len = kAttachment.size();
  ASSERT_EQ(mcap_writer_write_attachment(w, &at), MCAP_OK);
  ASSERT_EQ(mcap_writer_close(w), MCAP_OK);
  ASSERT_EQ(mcap_sink_commit(&sink, &err), MCAP_OK) << err.msg;
  mcap_sink_close(&sink, nullptr);
  mcap_writer_free(w);
}

// Headless chromium driven through the DevTools protocol over a pipe.
class Browser {
 public:
  Browser(const std::string &chromium, const std::string &profile, const std::string &log) {
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);  // its own process group: the test ends the browser and its helpers at once
      // the browser reads commands on fd 3 and writes answers on fd 4
      int r = fcntl(to[0], F_DUPFD, 10), wfd = fcntl(from[1], F_DUPFD, 10);
      dup2(r, 3);
      dup2(wfd, 4);
      int null = open("/dev/null", O_RDONLY);
      int lg = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(null, 0);
      dup2(lg, 1);
      dup2(lg, 2);
      std::vector<std::string> args = {
          chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
          "--no-first-run", "--disable-background-networking", "--disable-component-update",
          "--disable-sync", "--hide-scrollbars", "--remote-debugging-pipe",
          "--user-data-dir=" + profile, "about:blank"};
      std::vector<char *> argv;
      for (auto &s : args) argv.push_back(const_cast<char *>(s.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(to[0]);
    close(from[1]);
    wfd_ = to[1];
    rfd_ = from[0];
  }
  ~Browser() {
    if (pid_ > 0) {
      // nothing of the profile is kept, so there is nothing to shut down cleanly
      kill(-pid_, SIGKILL);
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (wfd_ >= 0) close(wfd_);
    if (rfd_ >= 0) close(rfd_);
  }
  bool ok() const { return pid_ > 0; }

  // Send a command and wait for its answer (events in between are dropped). Throws on a
  // protocol error or a timeout.
  Json call(const std::string &method, const std::string &params, const std::string &session = "",
            double timeout_s = 30) {
    int id = ++next_id_;
    std::string msg = "{\"id\":" + std::to_string(id) + ",\"method\":" + jstr(method) +
                      ",\"params\":" + params;
    if (!session.empty()) msg += ",\"sessionId\":" + jstr(session);
    msg += "}";
    msg.push_back('\0');
    for (size_t off = 0; off < msg.size();) {
      ssize_t n = write(wfd_, msg.data() + off, msg.size() - off);
      if (n <= 0) throw std::runtime_error("cannot write to the browser");
      off += static_cast<size_t>(n);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
      size_t z;
      while ((z = buf_.find('\0')) != std::string::npos) {
        std::string one = buf_.substr(0, z);
        buf_.erase(0, z + 1);
        Json j = Json::parse(one);
        if (j.has("id") && j["id"].u64() == static_cast<uint64_t>(id)) {
          if (j.has("error"))
            throw std::runtime_error(method + ": " + j["error"]["message"].str());
          return j["result"];
        }
      }
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      if (left <= 0) throw std::runtime_error(method + ": no answer from the browser");
      pollfd p{rfd_, POLLIN, 0};
      if (poll(&p, 1, left) <= 0) continue;
      char tmp[65536];
      ssize_t n = read(rfd_, tmp, sizeof tmp);
      if (n <= 0) throw std::runtime_error(method + ": the browser closed the pipe");
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

  // A new tab (in its own browser context when `isolated`: no cookies shared); its session.
  std::string open_tab(bool isolated = false) {
    std::string params = "{\"url\":\"about:blank\"";
    if (isolated) {
      Json c = call("Target.createBrowserContext", "{}");
      params += ",\"browserContextId\":" + jstr(c["browserContextId"].str());
    }
    Json t = call("Target.createTarget", params + "}");
    Json a = call("Target.attachToTarget",
                  "{\"targetId\":" + jstr(t["targetId"].str()) + ",\"flatten\":true}");
    return a["sessionId"].str();
  }

  // Evaluate a JavaScript expression in the page; its value (promises awaited).
  Json eval(const std::string &session, const std::string &expr) {
    Json r = call("Runtime.evaluate",
                  "{\"expression\":" + jstr(expr) + ",\"returnByValue\":true,\"awaitPromise\":true}",
                  session);
    if (r.has("exceptionDetails"))
      throw std::runtime_error("script error in: " + expr);
    return r["result"].has("value") ? r["result"]["value"] : Json();
  }
  std::string eval_str(const std::string &session, const std::string &expr) {
    Json v = eval(session, expr);
    return v.type() == Json::kString ? v.str() : "";
  }

  // Wait until the page at `path` (the start of location.pathname) is loaded.
  bool wait_page(const std::string &session, const std::string &path, double timeout_s = 20) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      std::string s;
      try {
        s = eval_str(session, "location.pathname + '|' + document.readyState");
      } catch (const std::exception &) {
        // the page is being replaced: ask again
      }
      if (s.rfind(path, 0) == 0 && s.size() > 9 && s.substr(s.size() - 9) == "|complete")
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }

  void navigate(const std::string &session, const std::string &url) {
    call("Page.navigate", "{\"url\":" + jstr(url) + "}", session);
  }

  // Screenshots at a desktop and a narrow width (scripts/screens).
  void screens(const std::string &session, const std::string &name) {
    const char *dir = getenv("MCAPKIT_SCREENS_DIR");
    if (!dir) return;
    struct {
      const char *tag;
      int w, h;
      bool mobile;
    } sizes[] = {{"desktop", 1366, 900, false}, {"narrow", 390, 844, true}};
    for (auto &sz : sizes) {
      call("Emulation.setDeviceMetricsOverride",
           "{\"width\":" + std::to_string(sz.w) + ",\"height\":" + std::to_string(sz.h) +
               ",\"deviceScaleFactor\":1,\"mobile\":" + (sz.mobile ? "true" : "false") + "}",
           session);
      // the whole page, down to 4000 px
      double h = eval(session, "document.documentElement.scrollHeight").num();
      if (h > 4000) h = 4000;
      Json shot = call("Page.captureScreenshot",
                       "{\"format\":\"png\",\"captureBeyondViewport\":true,\"clip\":{\"x\":0,"
                       "\"y\":0,\"width\":" + std::to_string(sz.w) + ",\"height\":" +
                           std::to_string(static_cast<int>(h)) + ",\"scale\":1}}",
                       session);
      std::ofstream(std::string(dir) + "/site-" + name + "-" + sz.tag + ".png", std::ios::binary)
          << base64_decode(shot["data"].str());
    }
    call("Emulation.clearDeviceMetricsOverride", "{}", session);
  }

 private:
  pid_t pid_ = -1;
  int wfd_ = -1, rfd_ = -1;
  int next_id_ = 0;
  std::string buf_;
};

// The first regular file in `dir` that is not a partial download, waited for.
std::string wait_download(const std::string &dir, double timeout_s = 20) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    DIR *d = opendir(dir.c_str());
    std::string found;
    bool partial = false;
    for (dirent *e; d && (e = readdir(d));) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      if (n.find(".crdownload") != std::string::npos) partial = true;
      else found = dir + "/" + n;
    }
    if (d) closedir(d);
    if (!found.empty() && !partial) return found;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return "";
}

}  // namespace

TEST(CliSiteUi, UiOpenIsRefusedOffLoopback) {
  TempDir tmp;
  RunOptions ro;
  ro.timeout_seconds = 30;
  RunResult r = run_mcapkit({"serve", "--data", tmp.file("data"), "--listen", "0.0.0.0:0",
                             "--ui-open"},
                            ro);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--ui-open"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("loopback"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(CliSiteUiBrowser, LoginListFollowDownloadRefuseAndLogout) {
  std::string chromium = find_chromium();
  if (chromium.empty()) {
    if (in_ci()) FAIL() << "chromium is not installed (scripts/bootstrap installs it)";
    GTEST_SKIP() << "chromium is not installed: the browser test is skipped (scripts/bootstrap "
                    "installs it; under CI=true this fails)";
  }
  TempDir tmp;
  ServeProcess serve(tmp.file("data"), {}, kKey);
  ASSERT_TRUE(serve.ok()) << serve.log();
  std::string base = serve.url();
  // two recordings, uploaded as a user does
  std::string hostile = tmp.file("hostile.mcap"), tiny = tmp.file("tiny.mcap");
  write_hostile(hostile);
  ASSERT_EQ(run_mcapkit({"synth", "-o", tiny, "--profile", "tiny", "--duration", "1", "--seed", "4"})
                .exit_code,
            0);
  std::string key_file = tmp.file("api.key");
  write_file_or_throw(key_file, kKey + "\n");
  chmod(key_file.c_str(), 0600);
  RunResult up = run_mcapkit({"upload", hostile, tiny, "--device-name", "robot-1", "--no-journal",
                              "--api-url", base, "--api-key-file", key_file});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;

  std::string profile = tmp.file("profile"), downloads = tmp.file("downloads");
  ASSERT_EQ(mkdir(profile.c_str(), 0700), 0);
  ASSERT_EQ(mkdir(downloads.c_str(), 0700), 0);
  Browser b(chromium, profile, tmp.file("chromium.log"));
  ASSERT_TRUE(b.ok());
  try {
    std::string tab = b.open_tab();
    // without a session: the login form
    b.navigate(tab, base + "/ui/recordings");
    ASSERT_TRUE(b.wait_page(tab, "/ui/login")) << b.eval_str(tab, "location.href");
    b.screens(tab, "login");
    // log in as a user does: type the key, press the button
    b.eval(tab, "document.getElementById('token').value = " + jstr(kKey) +
                    "; document.querySelector('form[action=\"/ui/login\"] button').click(); 1");
    ASSERT_TRUE(b.wait_page(tab, "/ui/recordings"))
        << b.eval_str(tab, "location.href + ': ' + document.body.innerText");
    // the cookie: HttpOnly (not visible to scripts), SameSite=Strict, for /ui only
    Json cookies = b.call("Network.getCookies", "{\"urls\":[" + jstr(base + "/ui/recordings") + "]}",
                          tab)["cookies"];
    bool seen = false;
    for (size_t i = 0; i < cookies.size(); i++) {
      if (cookies[i]["name"].str() != "mcapkit_session") continue;
      seen = true;
      EXPECT_TRUE(cookies[i]["httpOnly"].boolean());
      EXPECT_EQ(cookies[i]["sameSite"].str(), "Strict");
      EXPECT_EQ(cookies[i]["path"].str(), "/ui");
      EXPECT_EQ(cookies[i]["value"].str().size(), 64u);
      EXPECT_EQ(cookies[i]["value"].str().find(kKey), std::string::npos);
    }
    EXPECT_TRUE(seen);
    EXPECT_EQ(b.eval_str(tab, "document.cookie").find("mcapkit_session"), std::string::npos);
    // the recordings page lists both
    EXPECT_EQ(b.eval(tab, "document.querySelectorAll('a[href^=\"/ui/recordings/rec_\"]').length")
                  .num(),
              2);
    std::string text = b.eval_str(tab, "document.body.innerText");
    EXPECT_NE(text.find("hostile.mcap"), std::string::npos) << text;
    EXPECT_NE(text.find("tiny.mcap"), std::string::npos) << text;
    EXPECT_NE(text.find("robot-1"), std::string::npos) << text;
    b.screens(tab, "recordings");
    // follow the link to the hostile recording
    b.eval(tab, "Array.from(document.querySelectorAll('a')).find(a => a.textContent === "
                "'hostile.mcap').click(); 1");
    ASSERT_TRUE(b.wait_page(tab, "/ui/recordings/rec_")) << b.eval_str(tab, "location.href");
    EXPECT_EQ(b.eval(tab, "document.querySelectorAll('script').length").num(), 0);
    EXPECT_EQ(b.eval(tab, "document.querySelectorAll('g.row').length").num(), 2);
    EXPECT_TRUE(b.eval(tab, "Array.from(document.querySelectorAll('td')).some(td => "
                            "td.textContent === " + jstr(kHostile) + ")")
                    .boolean());
    EXPECT_TRUE(b.eval(tab, "document.body.textContent.includes(" + jstr(kHostile) + ")").boolean());
    b.screens(tab, "recording");
    // download the attachment through its link: the bytes arrive intact
    b.call("Browser.setDownloadBehavior",
           "{\"behavior\":\"allow\",\"downloadPath\":" + jstr(downloads) + "}");
    std::string href = b.eval_str(tab, "document.querySelector('a[href^=\"/ui/attachments/\"]')"
                                       ".getAttribute('href')");
    ASSERT_EQ(href.rfind("/ui/attachments/att_", 0), 0u) << href;
    b.eval(tab, "document.querySelector('a[href^=\"/ui/attachments/\"]').click(); 1");
    std::string got = wait_download(downloads);
    ASSERT_FALSE(got.empty()) << "no download arrived";
    EXPECT_EQ(got.substr(got.rfind('/') + 1), "calib.yaml");
    EXPECT_EQ(hex(read_file_or_throw(got)), hex(kAttachment));
    // the other pages
    b.navigate(tab, base + "/ui/devices");
    ASSERT_TRUE(b.wait_page(tab, "/ui/devices"));
    EXPECT_NE(b.eval_str(tab, "document.body.innerText").find("robot-1"), std::string::npos);
    b.screens(tab, "devices");
    b.navigate(tab, base + "/ui/imports");
    ASSERT_TRUE(b.wait_page(tab, "/ui/imports"));
    b.screens(tab, "imports");
    // a browser without the session (another context: no cookies) is sent to the login form
    std::string other = b.open_tab(true);
    b.navigate(other, base + "/ui/recordings");
    EXPECT_TRUE(b.wait_page(other, "/ui/login")) << b.eval_str(other, "location.href");
    EXPECT_EQ(b.eval_str(other, "document.body.innerText").find("hostile.mcap"), std::string::npos);
    // and so is a download without it
    HttpResponse anon = http_get(base + href);
    EXPECT_EQ(anon.status, 303);
    EXPECT_EQ(anon.header("location"), "/ui/login");
    EXPECT_EQ(anon.body.find("calibration"), std::string::npos);
    // log out: the session ends on the server, the pages are closed again
    b.eval(tab, "document.querySelector('form[action=\"/ui/logout\"] button').click(); 1");
    ASSERT_TRUE(b.wait_page(tab, "/ui/login"));
    b.navigate(tab, base + "/ui/recordings");
    EXPECT_TRUE(b.wait_page(tab, "/ui/login"));
  } catch (const std::exception &e) {
    FAIL() << e.what() << "\nchromium: " << read_file_or_throw(tmp.file("chromium.log")).substr(0, 2000);
  }
}
