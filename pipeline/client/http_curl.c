/*
 * http_curl.c - opening libcurl on first use (see http_curl.h for why): the
 * one place that knows the library's file name and the functions http.c
 * takes from it.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "http_curl.h"
#include "pipeline/core.h"

struct pl__curl_api pl__curl;

static const struct pl_dl_fn FUNCTIONS[] = {
#define F(sym, field) {#sym, offsetof(struct pl__curl_api, field)}
    F(curl_global_init, global_init),
    F(curl_global_cleanup, global_cleanup),
    F(curl_easy_init, easy_init),
    F(curl_easy_cleanup, easy_cleanup),
    F(curl_easy_reset, easy_reset),
    F(curl_easy_perform, easy_perform),
    F(curl_easy_strerror, easy_strerror),
    F(curl_easy_setopt, easy_setopt),
    F(curl_easy_getinfo, easy_getinfo),
    F(curl_slist_append, slist_append),
    F(curl_slist_free_all, slist_free_all),
    F(curl_getdate, getdate),
    F(curl_free, memfree),
    F(curl_url, url),
    F(curl_url_cleanup, url_cleanup),
    F(curl_url_set, url_set),
    F(curl_url_get, url_get),
#undef F
};

int pl__curl_open(const char *soname, struct pl__curl_api *api, char *msg, size_t cap) {
  return pl_dl_open_table(soname, FUNCTIONS, sizeof FUNCTIONS / sizeof FUNCTIONS[0], api,
                          sizeof *api, " (libcurl 7.62 or later is needed)", msg, cap);
}

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_failed;
static char load_msg[200];

static void load(void) {
  load_failed = pl__curl_open(PL__CURL_SONAME, &pl__curl, load_msg, sizeof load_msg) != 0;
}

int pl__curl_load(pl_error_info *err) {
  pthread_once(&load_once, load);
  if (!load_failed) return PL_OK;
  return pl_error_set(err, PL_EUNAVAILABLE, UINT64_MAX,
                      "the network needs libcurl, which cannot be loaded (%s); install it (Debian: "
                      "apt install libcurl4)",
                      load_msg);
}
