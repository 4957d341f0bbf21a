/*
 * server_head.c - strict HTTP: the checks every request passes before it is
 * routed, for what libmicrohttpd (0.9.75) lets through.
 *
 * - The request target (checked as soon as the request line is read, before
 *   libmicrohttpd splits the query): at most SRV_MAX_URI bytes, a query of at
 *   most SRV_MAX_QUERY bytes and SRV_MAX_PARAMS parameters, else 414. A query
 *   with thousands of parameters would exhaust libmicrohttpd's per-connection
 *   memory while it splits them, and it would then close the connection
 *   without any answer; the answer is therefore written here, straight to the
 *   socket, and the connection closed.
 * - A body beyond the endpoint's limit is cut off as it arrives (413), chunked
 *   or not. libmicrohttpd 0.9.75 accepts no response while a body is being
 *   read, so that answer is written straight to the socket too.
 * - The header fields: at most SRV_MAX_HEADERS fields and SRV_MAX_HEADER_BYTES
 *   bytes of names and values (431); names are tokens and values hold no
 *   control characters (NUL included: "Bearer KEY\0junk" is not KEY) (400);
 *   Content-Length is digits, and several must agree (400: two different ones
 *   are how requests are smuggled past a proxy); Transfer-Encoding is exactly
 *   "chunked" and not combined with Content-Length (400; libmicrohttpd would
 *   wait for a body it cannot frame); an HTTP/1.1 request has exactly one Host
 *   (400).
 *
 * A NUL byte inside a header value needs care: libmicrohttpd measures values
 * with strlen(), so "Authorization: Bearer KEY\0junk" reaches us as "Bearer
 * KEY". It parses the header in place, though, in its read buffer, which
 * starts with the method and is REQUEST_HEADER_SIZE bytes long; the bytes
 * between the end of a value and the next field's name may only be what it
 * wrote over line ends (NUL) or trailing blanks. Anything else was hidden by
 * a NUL.
 */
#include <microhttpd.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server_internal.h"
#include "server_mhd.h" /* libmicrohttpd is loaded at run time: its calls go through a table */

/* ------------------------------------------------------------- request target */

int pl__srv_check_target(const char *uri, char *msg, size_t cap) {
  size_t n = strlen(uri);
  if (n > SRV_MAX_URI) {
    snprintf(msg, cap, "the request target is longer than %u bytes", SRV_MAX_URI);
    return 414;
  }
  const char *q = strchr(uri, '?');
  if (!q) return 0;
  q++;
  size_t qn = strlen(q), params = 0;
  if (qn > SRV_MAX_QUERY) {
    snprintf(msg, cap, "the query is longer than %u bytes", SRV_MAX_QUERY);
    return 414;
  }
  for (const char *p = q; *p;) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    if (len) params++;
    if (!amp) break;
    p = amp + 1;
  }
  if (params > SRV_MAX_PARAMS) {
    snprintf(msg, cap, "the query has %zu parameters; at most %u are accepted", params,
             SRV_MAX_PARAMS);
    return 414;
  }
  return 0;
}

void pl__srv_send_raw_error(int fd, int status, const char *reason, const char *json_body,
                            unsigned linger_ms) {
  char head[256];
  size_t blen = strlen(json_body);
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: application/json\r\n"
                   "Cache-Control: no-store\r\nContent-Length: %zu\r\n\r\n",
                   status, reason, blen);
  if (n <= 0 || (size_t)n >= sizeof head) return;
  /* a fresh connection's send buffer takes this at once; nothing waits on a stuck client */
  (void)send(fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)send(fd, json_body, blen, MSG_NOSIGNAL | MSG_DONTWAIT);
  shutdown(fd, SHUT_WR);
  /* Closing a socket with unread bytes resets the connection, and a reset can make the
   * client drop the answer before it reads it: read what keeps coming for a moment. */
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  char sink[16384];
  uint64_t drained = 0;
  while (linger_ms && drained < SRV_LINGER_BYTES) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    long spent = (long)(now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
    if (spent >= (long)linger_ms) break;
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, (int)((long)linger_ms - spent)) <= 0) break;
    ssize_t got = recv(fd, sink, sizeof sink, MSG_DONTWAIT);
    if (got <= 0) break;
    drained += (uint64_t)got;
  }
}

/* ------------------------------------------------------------- header fields */

struct head_field {
  const char *key, *value;
  size_t value_size;
};

struct head_scan {
  struct head_field fields[SRV_MAX_HEADERS];
  unsigned count;
  size_t bytes;
  int status;
  char msg[200];
  int n_cl, n_te, n_host;
  uint64_t cl;
  int cl_conflict, cl_bad;
  int te_bad;
};

static int tchar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Printable name for a message: a token, else a placeholder (never raw bytes). */
static const char *shown(const char *key, size_t n) {
  if (n == 0 || n > 64) return "(a header)";
  for (size_t i = 0; i < n; i++)
    if (!tchar((unsigned char)key[i])) return "(a header)";
  return key;
}

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size) {
  struct head_scan *h = cls;
  (void)kind;
  if (h->status) return MHD_NO;
  h->count++;
  h->bytes += key_size + value_size;
  if (h->count > SRV_MAX_HEADERS) {
    h->status = 431;
    snprintf(h->msg, sizeof h->msg, "more than %u header fields", SRV_MAX_HEADERS);
    return MHD_NO;
  }
  if (h->bytes > SRV_MAX_HEADER_BYTES) {
    h->status = 431;
    snprintf(h->msg, sizeof h->msg, "the header fields hold more than %u bytes",
             SRV_MAX_HEADER_BYTES);
    return MHD_NO;
  }
  for (size_t i = 0; i < key_size; i++)
    if (!tchar((unsigned char)key[i])) {
      h->status = 400;
      snprintf(h->msg, sizeof h->msg, "a header field name holds a character that is not "
                                      "allowed in a token");
      return MHD_NO;
    }
  if (key_size == 0) {
    h->status = 400;
    snprintf(h->msg, sizeof h->msg, "a header field without a name");
    return MHD_NO;
  }
  h->fields[h->count - 1].key = key;
  h->fields[h->count - 1].value = value;
  h->fields[h->count - 1].value_size = value_size;
  for (size_t i = 0; value && i < value_size; i++) {
    unsigned char c = (unsigned char)value[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      h->status = 400;
      snprintf(h->msg, sizeof h->msg, "header '%s' holds a control character (byte %zu of its "
                                      "value)",
               shown(key, key_size), i);
      return MHD_NO;
    }
  }
  const char *v = value ? value : "";
  if (strcasecmp(key, "Content-Length") == 0) {
    uint64_t n = 0;
    int ok = value_size > 0 && value_size <= 19;
    for (size_t i = 0; ok && i < value_size; i++) {
      if (v[i] < '0' || v[i] > '9') ok = 0;
      n = n * 10 + (uint64_t)(v[i] - '0');
    }
    if (!ok) h->cl_bad = 1;
    if (h->n_cl && n != h->cl) h->cl_conflict = 1;
    h->cl = n;
    h->n_cl++;
  } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
    h->n_te++;
    if (strcasecmp(v, "chunked") != 0) h->te_bad = 1;
  } else if (strcasecmp(key, "Host") == 0) {
    h->n_host++;
  }
  return MHD_YES;
}

/* The bytes libmicrohttpd left between a value's end and `stop` (see the top). */
static int only_line_ends(const char *p, const char *stop) {
  for (; p < stop; p++)
    if (*p != 0 && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') return 0;
  return 1;
}

static void find_hidden_bytes(struct MHD_Connection *c, const char *method, struct head_scan *h) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
  if (!ci || !method || !h->count) return;
  const char *start = method, *end = method + ci->header_size;
  for (unsigned i = 0; i < h->count; i++) {
    const struct head_field *f = &h->fields[i];
    const char *stop = i + 1 < h->count ? h->fields[i + 1].key : end;
    /* only where the values sit in the buffer, in order (an empty value may not) */
    if (!f->value || f->value < start || f->value + f->value_size > stop || stop > end) continue;
    if (!only_line_ends(f->value + f->value_size, stop)) {
      h->status = 400;
      snprintf(h->msg, sizeof h->msg, "header '%s' holds a NUL character",
               shown(f->key, strlen(f->key)));
      return;
    }
  }
}

int pl__srv_check_head(struct MHD_Connection *c, const char *method, const char *version,
                       char *msg, size_t cap) {
  struct head_scan h;
  memset(&h, 0, sizeof h);
  MHD_get_connection_values_n(c, MHD_HEADER_KIND, scan_header, &h);
  if (!h.status) find_hidden_bytes(c, method, &h);
  if (!h.status) {
    if (h.cl_bad) {
      h.status = 400;
      snprintf(h.msg, sizeof h.msg, "Content-Length is not a number of bytes");
    } else if (h.cl_conflict) {
      h.status = 400;
      snprintf(h.msg, sizeof h.msg, "conflicting Content-Length headers");
    } else if (h.n_te > 1 || h.te_bad) {
      h.status = 400;
      snprintf(h.msg, sizeof h.msg, "unsupported Transfer-Encoding (only 'chunked' is accepted)");
    } else if (h.n_te && h.n_cl) {
      h.status = 400;
      snprintf(h.msg, sizeof h.msg, "Transfer-Encoding and Content-Length together");
    } else if (h.n_host > 1) {
      h.status = 400;
      snprintf(h.msg, sizeof h.msg, "more than one Host header");
    } else if (h.n_host == 0 && version && strcmp(version, MHD_HTTP_VERSION_1_1) == 0) {
      h.status = 400;
      snprintf(h.msg, sizeof h.msg, "an HTTP/1.1 request needs a Host header");
    }
  }
  if (h.status) snprintf(msg, cap, "%s", h.msg);
  return h.status;
}
