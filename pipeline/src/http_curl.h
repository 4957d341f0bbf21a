/*
 * http_curl.h - libcurl, loaded when the HTTP client first needs it
 * (http_curl.c); included by http.c only, right after <curl/curl.h>.
 *
 * Why: linking libcurl made every mcapkit command load it and its ~30
 * dependencies (TLS, LDAP, Kerberos, IDN, ...) at start-up: `mcapkit version`
 * took 12 ms on the 2-core machine where a trivial C program takes 1. Only the
 * commands that talk to an API need it, so the pipeline opens it with dlopen
 * on first use instead, and the binary does not link it.
 *
 * How: the functions http.c calls are pointers in one table, filled once per
 * process (pthread_once) by pl__curl_load(). Each libcurl name used by http.c
 * is redefined below as a call through that table, so http.c reads as plain
 * libcurl code. The table is the one piece of process-wide state: written
 * once, then only read; libcurl itself is never unloaded.
 */
#ifndef PIPELINE_HTTP_CURL_H
#define PIPELINE_HTTP_CURL_H

#include <curl/curl.h>
#include <stddef.h>

#include "pipeline/pipeline.h"

/* The shared object opened: the soname of libcurl's ABI 4 (every libcurl since 7.16). */
#define PL__CURL_SONAME "libcurl.so.4"

struct pl__curl_api {
  __typeof__(curl_global_init) *global_init;
  __typeof__(curl_global_cleanup) *global_cleanup;
  __typeof__(curl_easy_init) *easy_init;
  __typeof__(curl_easy_cleanup) *easy_cleanup;
  __typeof__(curl_easy_reset) *easy_reset;
  __typeof__(curl_easy_perform) *easy_perform;
  __typeof__(curl_easy_strerror) *easy_strerror;
  CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
  CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
  __typeof__(curl_slist_append) *slist_append;
  __typeof__(curl_slist_free_all) *slist_free_all;
  __typeof__(curl_getdate) *getdate;
  __typeof__(curl_free) *memfree;
  __typeof__(curl_url) *url;
  __typeof__(curl_url_cleanup) *url_cleanup;
  __typeof__(curl_url_set) *url_set;
  __typeof__(curl_url_get) *url_get;
};

/* Filled by pl__curl_load(); read only after it returned PL_OK. */
extern struct pl__curl_api pl__curl;

/*
 * Load libcurl once per process (later calls return the first result). @return PL_OK, or
 * PL_EUNAVAILABLE with a message naming the library and why it could not be loaded.
 * Thread-safe.
 */
int pl__curl_load(pl_error_info *err);

/*
 * Open the shared object `soname` and fill `api` from it (no process-wide effect on
 * failure: the object is closed again). @return 0, or -1 with the reason in msg
 * (the loader's message, or the first missing function).
 */
int pl__curl_open(const char *soname, struct pl__curl_api *api, char *msg, size_t cap);

/* From here on, http.c's libcurl calls go through the table (curl.h's type-checking
 * wrappers of the two variadic functions are replaced too: they would name the symbols). */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init (*pl__curl.global_init)
#define curl_global_cleanup (*pl__curl.global_cleanup)
#define curl_easy_init (*pl__curl.easy_init)
#define curl_easy_cleanup (*pl__curl.easy_cleanup)
#define curl_easy_reset (*pl__curl.easy_reset)
#define curl_easy_perform (*pl__curl.easy_perform)
#define curl_easy_strerror (*pl__curl.easy_strerror)
#define curl_easy_setopt (*pl__curl.easy_setopt)
#define curl_easy_getinfo (*pl__curl.easy_getinfo)
#define curl_slist_append (*pl__curl.slist_append)
#define curl_slist_free_all (*pl__curl.slist_free_all)
#define curl_getdate (*pl__curl.getdate)
#define curl_free (*pl__curl.memfree)
#define curl_url (*pl__curl.url)
#define curl_url_cleanup (*pl__curl.url_cleanup)
#define curl_url_set (*pl__curl.url_set)
#define curl_url_get (*pl__curl.url_get)

#endif
