/*
 * site_ui.h - private to pl_site: the browser pages of the local site
 * (site_ui.c, site_ui_pages.c) and their sessions (site_ui_session.c).
 * Kept apart from server_internal.h so that the unit tests (C++) can use the
 * session store, the cookie and the CSRF tokens without the server's types.
 *
 * Sessions (docs/serve.md, "Browser pages"):
 * - A session is made by the login form from an API key; its id (256 random bits, hex) is
 *   the value of an HttpOnly, SameSite=Strict cookie (Secure when the public URL is
 *   https), valid for a fixed lifetime from the login, never extended.
 * - Each session has its own CSRF token (256 random bits) that the logout form posts back;
 *   the login form, made before any session exists, is protected by a double submit: a
 *   random nonce in a short-lived cookie and HMAC(site secret, nonce) in the form.
 * - At most `max` sessions live in memory: a login beyond that drops the expired ones,
 *   then the least recently used. A restart ends every session.
 * - Ids and tokens are compared in constant time.
 */
#ifndef PIPELINE_SITE_UI_H
#define PIPELINE_SITE_UI_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UI_SESSION_COOKIE "mcapkit_session"
#define UI_LOGIN_COOKIE "mcapkit_login"
#define UI_TOKEN_HEX 64                   /* hex characters of ids, nonces and tokens */
#define UI_DEFAULT_SESSION_S (8u * 3600u) /* session lifetime */
#define UI_DEFAULT_MAX_SESSIONS 1000u
#define UI_LOGIN_COOKIE_S 900u /* the login form's nonce cookie */
#define UI_MAX_FORM 4096u      /* bytes of a form body */

struct srv_key;

struct ui_session {
  char id[UI_TOKEN_HEX + 1];
  char csrf[UI_TOKEN_HEX + 1];
  const struct srv_key *key;       /* NULL for sessions of an open site (never made) */
  uint64_t created, expires, used; /* ns */
};

struct ui_sessions {
  pthread_mutex_t mu;
  struct ui_session *v;
  size_t n, max;
  uint64_t lifetime_ns;
  uint64_t evicted; /* dropped alive to make room (for tests and the log) */
};

/* max 0 = UI_DEFAULT_MAX_SESSIONS, lifetime_s 0 = UI_DEFAULT_SESSION_S. 0 or -1. */
int pl__ui_sessions_init(struct ui_sessions *ss, size_t max, uint64_t lifetime_s);
void pl__ui_sessions_dispose(struct ui_sessions *ss);

/* A new session for `key` at time now_ns: its id and CSRF token (hex, NUL-terminated).
 * 0, or -1 when no random numbers or memory. */
int pl__ui_session_new(struct ui_sessions *ss, const struct srv_key *key, uint64_t now_ns,
                       char id[UI_TOKEN_HEX + 1], char csrf[UI_TOKEN_HEX + 1]);

/* Look a session up by the cookie's value. 1 when it is alive (*key and csrf copied out;
 * either may be NULL), 0 when unknown, malformed or expired (an expired one is dropped). */
int pl__ui_session_get(struct ui_sessions *ss, const char *id, uint64_t now_ns,
                       const struct srv_key **key, char csrf[UI_TOKEN_HEX + 1]);

/* End a session (logout). 1 when it existed. */
int pl__ui_session_end(struct ui_sessions *ss, const char *id);

size_t pl__ui_session_count(struct ui_sessions *ss);

/* A Set-Cookie value: "NAME=VALUE; Path=PATH; Max-Age=N; HttpOnly; SameSite=Strict" and
 * "; Secure" when secure. Max-Age 0 deletes the cookie. Like snprintf. */
size_t pl__ui_cookie(char *buf, size_t cap, const char *name, const char *value, const char *path,
                     uint64_t max_age_s, int secure);

/* The login form's token for a nonce: hex HMAC-SHA256(secret, "mcapkit-ui-login:" nonce).
 * 0, or -1 when libcrypto fails (out is then ""). */
int pl__ui_login_token(const uint8_t secret[32], const char *nonce, char out[UI_TOKEN_HEX + 1]);

/* 1 when a and b are equal NUL-terminated strings (time independent of where they differ). */
int pl__ui_same(const char *a, const char *b);

/* 1 when `s` is exactly UI_TOKEN_HEX lower-case hex digits. */
int pl__ui_is_token(const char *s);

/* The value of form field `name` in an application/x-www-form-urlencoded body, decoded into
 * out (cap bytes). 1 found, 0 absent, -1 malformed or too long. */
int pl__ui_form_field(const char *body, size_t len, const char *name, char *out, size_t cap);

/* ------------------------------------------------------------- pages (site_ui*.c) */

/* A growable page; sticky failure (out of memory or over UI_MAX_PAGE): appends become no-ops. */
#define UI_MAX_PAGE (32u << 20)
struct ui_buf {
  char *p;
  size_t len, cap;
  int failed;
};
void pl__ui_putn(struct ui_buf *b, const char *s, size_t n);
void pl__ui_put(struct ui_buf *b, const char *s);
void pl__ui_printf(struct ui_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text from anywhere (recordings, uploads, requests): escaped by pl_report_escape. NULL = "". */
void pl__ui_text(struct ui_buf *b, const char *s);
/* A query value: percent-encoded (then safe in an attribute as it is). */
void pl__ui_qval(struct ui_buf *b, const char *s);
/* A time as RFC 3339 to the millisecond, kept on one line, or a dash for 0. */
void pl__ui_time(struct ui_buf *b, uint64_t ns);
/* Bytes in binary units ("4.7 KiB"). */
void pl__ui_bytes(struct ui_buf *b, uint64_t v);

struct srv_ui_req;
struct srv_resp;

/* Who asks: a session's key, or an open site. */
struct ui_ctx {
  const struct srv_ui_req *u;
  const struct srv_key *key; /* NULL when open */
  int open;
  char csrf[UI_TOKEN_HEX + 1]; /* the session's (for the logout form); "" when open */
};

/* 1 when the asker may use what `cap` (an API capability) allows. */
int pl__ui_can(const struct ui_ctx *x, const char *cap);
/* The page's head, style and navigation (`nav`: "recordings", "devices", "imports"). */
void pl__ui_begin(struct ui_buf *b, const struct ui_ctx *x, const char *title, const char *nav);
void pl__ui_end(struct ui_buf *b);
/* Hand the page to the response (text/html), or a 500 when the page failed. */
void pl__ui_finish(struct ui_buf *b, struct srv_resp *r, int status);
/* A short error page. */
void pl__ui_fail(const struct ui_ctx *x, struct srv_resp *r, int status, const char *msg);

/* site_ui_pages.c */
void pl__ui_page_recordings(const struct ui_ctx *x, struct srv_resp *r);
void pl__ui_page_recording(const struct ui_ctx *x, const char *id, struct srv_resp *r);
void pl__ui_page_devices(const struct ui_ctx *x, struct srv_resp *r);
void pl__ui_page_imports(const struct ui_ctx *x, struct srv_resp *r);
void pl__ui_get_attachment(const struct ui_ctx *x, const char *id, struct srv_resp *r);
void pl__ui_get_lake_file(const struct ui_ctx *x, const char *rec_id, const char *n,
                          struct srv_resp *r);

#ifdef __cplusplus
}
#endif

#endif /* PIPELINE_SITE_UI_H */
