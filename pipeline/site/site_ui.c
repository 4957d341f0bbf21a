/*
 * site_ui.c - the browser pages of the local site: routing of / and /ui/...,
 * who may see them (a session made by the login form from an API key, or an
 * open site on loopback), login and logout with their CSRF checks, and the
 * page frame (style, navigation). The pages themselves are in
 * site_ui_pages.c. Server-side HTML only: no script, nothing loaded from
 * elsewhere (server.c sends a Content-Security-Policy saying so); every value
 * that comes from a recording, an upload or a request is escaped with
 * pl_report_escape.
 *
 * The session cookie never authorises the JSON API (/v1 keeps its Bearer
 * keys): a page that a browser can be tricked into requesting cannot change
 * anything, and the API stays free of cookies and CSRF.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pipeline/report.h"
#include "server_internal.h"
#include "site_ui.h"

/* ------------------------------------------------------------- the page buffer */

void pl__ui_putn(struct ui_buf *b, const char *s, size_t n) {
  if (b->failed || !n) return;
  if (b->len + n + 1 > UI_MAX_PAGE) {
    b->failed = 1;
    return;
  }
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 8192;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->failed = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

void pl__ui_put(struct ui_buf *b, const char *s) {
  pl__ui_putn(b, s, strlen(s));
}

void pl__ui_printf(struct ui_buf *b, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp) {
    b->failed = 1; /* only short, fixed formats go through here */
    return;
  }
  pl__ui_putn(b, tmp, (size_t)n);
}

void pl__ui_text(struct ui_buf *b, const char *s) {
  if (!s || !*s || b->failed) return;
  size_t len = strlen(s);
  size_t need = pl_report_escape(NULL, 0, s, len);
  char *tmp = malloc(need + 1);
  if (!tmp) {
    b->failed = 1;
    return;
  }
  pl_report_escape(tmp, need + 1, s, len);
  pl__ui_putn(b, tmp, need);
  free(tmp);
}

void pl__ui_qval(struct ui_buf *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (; s && *s && !b->failed; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      pl__ui_putn(b, (const char *)&c, 1);
    } else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      pl__ui_putn(b, e, 3);
    }
  }
}

void pl__ui_time(struct ui_buf *b, uint64_t ns) {
  if (!ns) {
    pl__ui_put(b, "<span class=\"muted\">-</span>");
    return;
  }
  char t[40];
  pl_format_time(ns, t);
  /* milliseconds are enough to tell recordings apart on a page */
  char *dot = strchr(t, '.');
  if (dot && strlen(dot) > 5) {
    dot[4] = 'Z';
    dot[5] = 0;
  }
  pl__ui_put(b, "<span class=\"t\">");
  pl__ui_text(b, t);
  pl__ui_put(b, "</span>");
}

void pl__ui_bytes(struct ui_buf *b, uint64_t v) {
  static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (v < 1024) {
    pl__ui_printf(b, "%llu B", (unsigned long long)v);
    return;
  }
  double d = (double)v / 1024;
  int u = 0;
  while (d >= 1024 && u < 3) {
    d /= 1024;
    u++;
  }
  pl__ui_printf(b, "%.1f %s", d, units[u]);
}

/* ------------------------------------------------------------- the frame */

static const char site_css[] =
    ".site{background:#1d2330;color:#fff}"
    ".site nav{max-width:1240px;margin:0 auto;padding:8px 20px;display:flex;flex-wrap:wrap;"
    "gap:4px 18px;align-items:center}"
    ".site a{color:#d6def0;text-decoration:none;padding:4px 0}"
    ".site a.on{color:#fff;border-bottom:2px solid #6d9bf0}"
    ".site .brand{font-weight:700;color:#fff;margin-right:10px}"
    ".site form{margin:0 0 0 auto}"
    ".site button{font:inherit;background:none;border:1px solid #5b6472;color:#d6def0;"
    "border-radius:4px;padding:2px 10px;cursor:pointer}"
    ".report form.filters{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:flex-end;"
    "margin:8px 0 14px}"
    ".report form.filters label{display:flex;flex-direction:column;font-size:12px;color:#5b6472}"
    ".report input,.report select{font:inherit;padding:4px 6px;border:1px solid #c9ced6;"
    "border-radius:4px;min-width:0}"
    ".report button{font:inherit;padding:5px 14px;border:1px solid #2f6fdf;background:#2f6fdf;"
    "color:#fff;border-radius:4px;cursor:pointer}"
    ".report .t{white-space:nowrap;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"
    "monospace;font-size:12px}"
    ".report .pager{display:flex;gap:16px;margin:10px 0;align-items:center}"
    ".report .st-complete{color:#1d7a36;font-weight:600}"
    ".report .st-failed,.report .st-error{color:#c0281c;font-weight:600}"
    ".report .st-importing,.report .st-processing,.report .st-received{color:#a35f00}"
    ".report .login{max-width:420px;margin:40px auto}"
    ".report .login input{width:100%;margin:6px 0 12px}"
    ".report .report{padding:0;max-width:none;margin:0}" /* pl_report's fragment inside */
    ".report .err{background:#fdecea;border-left:3px solid #c0281c;padding:6px 10px;"
    "margin:8px 0}";

int pl__ui_can(const struct ui_ctx *x, const char *cap) {
  return x->open || (x->key && pl__srv_auth_has(x->key, cap));
}

void pl__ui_begin(struct ui_buf *b, const struct ui_ctx *x, const char *title, const char *nav) {
  pl__ui_put(b,
             "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
             "<meta name=\"referrer\" content=\"same-origin\"><title>");
  pl__ui_text(b, title);
  pl__ui_put(b, " - mcapkit site</title><style>");
  pl__ui_put(b, pl_report_css());
  pl__ui_put(b, site_css);
  pl__ui_put(b,
             "</style></head><body><header class=\"site\"><nav>"
             "<span class=\"brand\">mcapkit site</span>");
  if (nav) {
    static const char *const items[][2] = {
        {"recordings", "Recordings"}, {"devices", "Devices"}, {"imports", "Pending imports"}};
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
      pl__ui_printf(b, "<a href=\"/ui/%s\"%s>%s</a>", items[i][0],
                    strcmp(nav, items[i][0]) == 0 ? " class=\"on\"" : "", items[i][1]);
    if (!x->open)
      pl__ui_printf(b,
                    "<form method=\"post\" action=\"/ui/logout\">"
                    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
                    "<button type=\"submit\">Log out</button></form>",
                    x->csrf);
  }
  pl__ui_put(b, "</nav></header><main class=\"report\">");
}

void pl__ui_end(struct ui_buf *b) {
  pl__ui_put(b,
             "<footer>mcapkit local site. Pages without script; nothing is loaded from "
             "elsewhere.</footer></main></body></html>\n");
}

void pl__ui_finish(struct ui_buf *b, struct srv_resp *r, int status) {
  if (b->failed || !b->p) {
    free(b->p);
    memset(b, 0, sizeof *b);
    r->html = 1;
    r->status = 500;
    r->body = pl__srv_strdup(
        "<!DOCTYPE html><title>error</title><p>The page could not be "
        "made (out of memory or too large).</p>");
    r->len = r->body ? strlen(r->body) : 0;
    r->content_type = "text/html; charset=utf-8";
    return;
  }
  r->status = status;
  r->kind = RESP_BUFFER;
  r->body = b->p;
  r->len = b->len;
  r->content_type = "text/html; charset=utf-8";
  r->html = 1;
  memset(b, 0, sizeof *b);
}

void pl__ui_fail(const struct ui_ctx *x, struct srv_resp *r, int status, const char *msg) {
  struct ui_buf b = {0};
  pl__ui_begin(&b, x, "Error", x->open || x->key ? "" : NULL);
  pl__ui_printf(&b, "<h1>%d</h1><p class=\"err\">", status);
  pl__ui_text(&b, msg);
  pl__ui_put(&b, "</p>");
  pl__ui_end(&b);
  pl__ui_finish(&b, r, status);
}

/* ------------------------------------------------------------- login and logout */

static void redirect(struct srv_resp *r, const char *to) {
  r->status = 303;
  r->html = 1;
  r->location = pl__srv_strdup(to);
  r->body = pl__srv_printf("<!DOCTYPE html><title>See other</title><a href=\"%s\">%s</a>", to, to);
  r->len = r->body ? strlen(r->body) : 0;
  r->content_type = "text/html; charset=utf-8";
}

static int secure_cookies(const pl_server *s) {
  return s->opt.public_url && strncasecmp(s->opt.public_url, "https://", 8) == 0;
}

static char *cookie(const pl_server *s, const char *name, const char *value, const char *path,
                    uint64_t max_age) {
  char buf[256];
  pl__ui_cookie(buf, sizeof buf, name, value, path, max_age, secure_cookies(s));
  return pl__srv_strdup(buf);
}

/* A form post must come from a page of this site: an Origin header, when the browser sends
 * one, names the host the request was sent to. */
static int same_origin(const struct srv_ui_req *u) {
  if (!u->origin) return 1;
  const char *p = strstr(u->origin, "://");
  if (!p || !u->host) return 0;
  return strcasecmp(p + 3, u->host) == 0;
}

static int form_body(const struct srv_ui_req *u) {
  const char *ct = u->content_type;
  return ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0 &&
         (ct[33] == 0 || ct[33] == ';');
}

static void login_form(const struct ui_ctx *x, struct srv_resp *r, int status, const char *err) {
  pl_server *s = x->u->srv;
  char nonce[UI_TOKEN_HEX + 1], token[UI_TOKEN_HEX + 1];
  uint8_t rnd[UI_TOKEN_HEX / 2];
  if (pl__srv_random(rnd, sizeof rnd) != 0) {
    pl__ui_fail(x, r, 500, "no random numbers for the login form");
    return;
  }
  pl__srv_hex(rnd, sizeof rnd, nonce);
  nonce[UI_TOKEN_HEX] = 0;
  if (pl__ui_login_token(s->store.secret, nonce, token) != 0) {
    pl__ui_fail(x, r, 500, "cannot make the login form's token (libcrypto)");
    return;
  }
  struct ui_buf b = {0};
  pl__ui_begin(&b, x, "Log in", NULL);
  pl__ui_put(&b, "<div class=\"login\"><h1>Log in</h1>");
  if (err) {
    pl__ui_put(&b, "<p class=\"err\">");
    pl__ui_text(&b, err);
    pl__ui_put(&b, "</p>");
  }
  pl__ui_printf(&b,
                "<p class=\"muted\">Enter an API key of this site (its keys file). The key is "
                "sent once; the browser then keeps a session cookie.</p>"
                "<form method=\"post\" action=\"/ui/login\">"
                "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
                "<label for=\"token\">API key</label>"
                "<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" "
                "required>"
                "<button type=\"submit\">Log in</button></form></div>",
                token);
  pl__ui_end(&b);
  pl__ui_finish(&b, r, status);
  if (r->status == status)
    r->cookies[0] = cookie(s, UI_LOGIN_COOKIE, nonce, "/ui/login", UI_LOGIN_COOKIE_S);
}

static void login_post(const struct ui_ctx *x, struct srv_resp *r) {
  const struct srv_ui_req *u = x->u;
  pl_server *s = u->srv;
  char csrf[UI_TOKEN_HEX + 1], want[UI_TOKEN_HEX + 1], key[512];
  if (!same_origin(u)) {
    pl__ui_fail(x, r, 403, "the login form was posted from another site");
    return;
  }
  if (!form_body(u)) {
    pl__ui_fail(x, r, 415, "the login form must be sent as application/x-www-form-urlencoded");
    return;
  }
  const char *body = u->body ? u->body : "";
  if (pl__ui_form_field(body, u->body_len, "csrf", csrf, sizeof csrf) != 1 || !u->login ||
      pl__ui_login_token(s->store.secret, u->login, want) != 0 || !pl__ui_same(csrf, want)) {
    login_form(x, r, 403, "the login form expired or was not this site's: try again");
    return;
  }
  int kf = pl__ui_form_field(body, u->body_len, "token", key, sizeof key);
  char bearer[520];
  snprintf(bearer, sizeof bearer, "Bearer %s", kf == 1 ? key : "");
  const struct srv_key *k = kf == 1 ? pl__srv_auth_lookup(&s->auth, bearer) : NULL;
  memset(key, 0, sizeof key);
  memset(bearer, 0, sizeof bearer);
  if (!k) {
    pl__srv_log(s, "ui: login refused (invalid API key)");
    login_form(x, r, 401, "invalid API key");
    return;
  }
  char id[UI_TOKEN_HEX + 1], sc[UI_TOKEN_HEX + 1];
  if (u->session) pl__ui_session_end(&s->ui, u->session); /* a new login replaces the old one */
  if (pl__ui_session_new(&s->ui, k, pl__srv_now_ns(), id, sc) != 0) {
    pl__ui_fail(x, r, 500, "cannot make a session");
    return;
  }
  redirect(r, "/ui/recordings");
  r->cookies[0] = cookie(s, UI_LOGIN_COOKIE, "", "/ui/login", 0); /* the nonce is used up */
  r->cookies[1] = cookie(s, UI_SESSION_COOKIE, id, "/ui", s->ui.lifetime_ns / 1000000000u);
  memset(id, 0, sizeof id);
}

static void logout_post(const struct ui_ctx *x, struct srv_resp *r) {
  const struct srv_ui_req *u = x->u;
  char csrf[UI_TOKEN_HEX + 1];
  const char *body = u->body ? u->body : "";
  if (!same_origin(u) || !form_body(u) ||
      pl__ui_form_field(body, u->body_len, "csrf", csrf, sizeof csrf) != 1 ||
      !pl__ui_same(csrf, x->csrf)) {
    pl__ui_fail(x, r, 403, "the logout form was not this session's");
    return;
  }
  pl__ui_session_end(&u->srv->ui, u->session);
  redirect(r, "/ui/login");
  r->cookies[0] = cookie(u->srv, UI_SESSION_COOKIE, "", "/ui", 0);
}

/* ------------------------------------------------------------- routing */

int pl__srv_ui_path(const char *url) {
  return strcmp(url, "/") == 0 || strcmp(url, "/ui") == 0 || strncmp(url, "/ui/", 4) == 0;
}

void pl__srv_ui_handle(const struct srv_ui_req *u, struct srv_resp *r) {
  pl_server *s = u->srv;
  struct ui_ctx x;
  memset(&x, 0, sizeof x);
  x.u = u;
  x.open = s->opt.ui_open;
  int get = strcmp(u->method, "GET") == 0 || strcmp(u->method, "HEAD") == 0;
  int post = strcmp(u->method, "POST") == 0;
  struct srv_req *q = u->q;
  const char *p0 = q->n_seg > 0 ? q->seg[0] : "";
  if (strcmp(u->url, "/") == 0 || strcmp(u->url, "/ui") == 0 || strcmp(u->url, "/ui/") == 0) {
    if (!get) {
      pl__ui_fail(&x, r, 405, "only GET here");
      return;
    }
    redirect(r, "/ui/recordings");
    return;
  }
  int logged_in = !x.open && u->session &&
                  pl__ui_session_get(&s->ui, u->session, pl__srv_now_ns(), &x.key, x.csrf);
  if (strcmp(p0, "login") == 0 && q->n_seg == 1) {
    if (x.open || (logged_in && get)) {
      redirect(r, "/ui/recordings");
    } else if (get) {
      login_form(&x, r, 200, NULL);
    } else if (post) {
      login_post(&x, r);
    } else {
      pl__ui_fail(&x, r, 405, "only GET and POST here");
    }
    return;
  }
  if (!x.open && !logged_in) {
    /* no session: pages send the browser to the login form; anything else is refused */
    if (get) {
      redirect(r, "/ui/login");
      if (u->session) r->cookies[0] = cookie(s, UI_SESSION_COOKIE, "", "/ui", 0);
    } else {
      pl__ui_fail(&x, r, 403, "no session: log in first");
    }
    return;
  }
  if (strcmp(p0, "logout") == 0 && q->n_seg == 1) {
    if (x.open)
      redirect(r, "/ui/recordings");
    else if (post)
      logout_post(&x, r);
    else
      pl__ui_fail(&x, r, 405, "log out with the button (a POST)");
    return;
  }
  if (!get) {
    pl__ui_fail(&x, r, 405, "pages accept only GET");
    return;
  }
  if (strcmp(p0, "recordings") == 0 && q->n_seg == 1)
    pl__ui_page_recordings(&x, r);
  else if (strcmp(p0, "recordings") == 0 && q->n_seg == 2)
    pl__ui_page_recording(&x, q->seg[1], r);
  else if (strcmp(p0, "devices") == 0 && q->n_seg == 1)
    pl__ui_page_devices(&x, r);
  else if (strcmp(p0, "imports") == 0 && q->n_seg == 1)
    pl__ui_page_imports(&x, r);
  else if (strcmp(p0, "attachments") == 0 && q->n_seg == 2)
    pl__ui_get_attachment(&x, q->seg[1], r);
  else if (strcmp(p0, "lake") == 0 && q->n_seg == 3)
    pl__ui_get_lake_file(&x, q->seg[1], q->seg[2], r);
  else
    pl__ui_fail(&x, r, 404, "no such page");
}
