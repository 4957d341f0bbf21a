/*
 * server_mhd.h - libmicrohttpd, loaded when the local site first starts
 * (server_mhd.c); included by server.c and server_head.c, right after <microhttpd.h>.
 *
 * Why: like libcurl for the API client (http_curl.h), libmicrohttpd and its
 * GnuTLS dependencies were loaded by every mcapkit command at start-up,
 * though only `mcapkit serve` (and tests that run a site) use them. The
 * pipeline opens the library with dlopen when a server starts instead.
 *
 * How: the MHD functions server.c calls are pointers in one table, filled once
 * per process (pthread_once) by pl__mhd_load(); each name is redefined below
 * as a call through that table, so server.c reads as plain libmicrohttpd
 * code. A function the server starts to use must be added here and in
 * server_mhd.c (else the link fails: the binary does not link the library).
 */
#ifndef PIPELINE_SERVER_MHD_H
#define PIPELINE_SERVER_MHD_H

#include <microhttpd.h>
#include <stddef.h>

#include "pipeline/core.h"

/* The shared object opened: the soname of libmicrohttpd's ABI 12 (0.9.x). */
#define PL__MHD_SONAME "libmicrohttpd.so.12"

struct pl__mhd_api {
  __typeof__(MHD_start_daemon) *start_daemon;
  __typeof__(MHD_stop_daemon) *stop_daemon;
  __typeof__(MHD_quiesce_daemon) *quiesce_daemon;
  __typeof__(MHD_get_daemon_info) *get_daemon_info;
  __typeof__(MHD_get_connection_info) *get_connection_info;
  __typeof__(MHD_get_connection_values) *get_connection_values;
  __typeof__(MHD_get_connection_values_n) *get_connection_values_n;
  __typeof__(MHD_lookup_connection_value) *lookup_connection_value;
  __typeof__(MHD_queue_response) *queue_response;
  __typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
  __typeof__(MHD_create_response_from_callback) *create_response_from_callback;
  __typeof__(MHD_create_response_from_fd64) *create_response_from_fd64;
  __typeof__(MHD_add_response_header) *add_response_header;
  __typeof__(MHD_destroy_response) *destroy_response;
  __typeof__(MHD_set_connection_option) *set_connection_option;
};

/* Filled by pl__mhd_load(); read only after it returned PL_OK. */
extern struct pl__mhd_api pl__mhd;

/*
 * Load libmicrohttpd once per process (later calls return the first result). @return PL_OK,
 * or PL_EUNAVAILABLE with a message naming the library and why it could not be loaded.
 * Thread-safe.
 */
int pl__mhd_load(pl_error_info *err);

/* Open `soname` and fill `api` (closed again on failure). 0, or -1 with the reason in msg. */
int pl__mhd_open(const char *soname, struct pl__mhd_api *api, char *msg, size_t cap);

#define MHD_start_daemon (*pl__mhd.start_daemon)
#define MHD_stop_daemon (*pl__mhd.stop_daemon)
#define MHD_quiesce_daemon (*pl__mhd.quiesce_daemon)
#define MHD_get_daemon_info (*pl__mhd.get_daemon_info)
#define MHD_get_connection_info (*pl__mhd.get_connection_info)
#define MHD_get_connection_values (*pl__mhd.get_connection_values)
#define MHD_get_connection_values_n (*pl__mhd.get_connection_values_n)
#define MHD_lookup_connection_value (*pl__mhd.lookup_connection_value)
#define MHD_queue_response (*pl__mhd.queue_response)
#define MHD_create_response_from_buffer (*pl__mhd.create_response_from_buffer)
#define MHD_create_response_from_callback (*pl__mhd.create_response_from_callback)
#define MHD_create_response_from_fd64 (*pl__mhd.create_response_from_fd64)
#define MHD_add_response_header (*pl__mhd.add_response_header)
#define MHD_destroy_response (*pl__mhd.destroy_response)
#define MHD_set_connection_option (*pl__mhd.set_connection_option)

#endif
