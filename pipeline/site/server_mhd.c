/*
 * server_mhd.c - opening libmicrohttpd when the local site starts (see
 * server_mhd.h for why): the one place that knows the library's file name and
 * the functions server.c takes from it.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/core.h"
#include "server_mhd.h"

struct pl__mhd_api pl__mhd;

static const struct pl_dl_fn FUNCTIONS[] = {
#define F(sym, field) {#sym, offsetof(struct pl__mhd_api, field)}
    F(MHD_start_daemon, start_daemon),
    F(MHD_stop_daemon, stop_daemon),
    F(MHD_quiesce_daemon, quiesce_daemon),
    F(MHD_get_daemon_info, get_daemon_info),
    F(MHD_get_connection_info, get_connection_info),
    F(MHD_get_connection_values, get_connection_values),
    F(MHD_get_connection_values_n, get_connection_values_n),
    F(MHD_lookup_connection_value, lookup_connection_value),
    F(MHD_queue_response, queue_response),
    F(MHD_create_response_from_buffer, create_response_from_buffer),
    F(MHD_create_response_from_callback, create_response_from_callback),
    F(MHD_create_response_from_fd64, create_response_from_fd64),
    F(MHD_add_response_header, add_response_header),
    F(MHD_destroy_response, destroy_response),
    F(MHD_set_connection_option, set_connection_option),
#undef F
};

int pl__mhd_open(const char *soname, struct pl__mhd_api *api, char *msg, size_t cap) {
  return pl_dl_open_table(soname, FUNCTIONS, sizeof FUNCTIONS / sizeof FUNCTIONS[0], api,
                          sizeof *api, NULL, msg, cap);
}

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_failed;
static char load_msg[200];

static void load(void) {
  load_failed = pl__mhd_open(PL__MHD_SONAME, &pl__mhd, load_msg, sizeof load_msg) != 0;
}

int pl__mhd_load(pl_error_info *err) {
  pthread_once(&load_once, load);
  if (!load_failed) return PL_OK;
  return pl_error_set(err, PL_EUNAVAILABLE, UINT64_MAX,
                      "the local site needs libmicrohttpd, which cannot be loaded (%s); install it "
                      "(Debian: apt install libmicrohttpd12)",
                      load_msg);
}
