/*
 * convert_libs.c - SQLite, libyaml and libbz2, opened with dlopen when a
 * conversion first needs them (a rosbag2 database, its metadata.yaml, a bz2
 * chunk of a ROS 1 bag), so that the many commands that never read a bag
 * start without mapping them. The one place that knows their file names and
 * the functions the converter takes from them.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#include "convert_internal.h"
#include "pipeline/core.h"

struct pl__cv_sqlite_api pl__cv_sqlite;
struct pl__cv_yaml_api pl__cv_yaml;
struct pl__cv_bz2_api pl__cv_bz2;

#define F(api, sym, field) {#sym, offsetof(struct api, field)}
static const struct pl_dl_fn SQLITE_FNS[] = {
    F(pl__cv_sqlite_api, sqlite3_open_v2, open_v2),
    F(pl__cv_sqlite_api, sqlite3_close, close),
    F(pl__cv_sqlite_api, sqlite3_exec, exec),
    F(pl__cv_sqlite_api, sqlite3_errmsg, errmsg),
    F(pl__cv_sqlite_api, sqlite3_prepare_v2, prepare_v2),
    F(pl__cv_sqlite_api, sqlite3_bind_text, bind_text),
    F(pl__cv_sqlite_api, sqlite3_step, step),
    F(pl__cv_sqlite_api, sqlite3_finalize, finalize),
    F(pl__cv_sqlite_api, sqlite3_column_blob, column_blob),
    F(pl__cv_sqlite_api, sqlite3_column_bytes, column_bytes),
    F(pl__cv_sqlite_api, sqlite3_column_int64, column_int64),
    F(pl__cv_sqlite_api, sqlite3_column_text, column_text),
    F(pl__cv_sqlite_api, sqlite3_column_type, column_type),
};
static const struct pl_dl_fn YAML_FNS[] = {
    F(pl__cv_yaml_api, yaml_parser_initialize, parser_initialize),
    F(pl__cv_yaml_api, yaml_parser_set_input_string, parser_set_input_string),
    F(pl__cv_yaml_api, yaml_parser_load, parser_load),
    F(pl__cv_yaml_api, yaml_parser_delete, parser_delete),
    F(pl__cv_yaml_api, yaml_document_get_root_node, document_get_root_node),
    F(pl__cv_yaml_api, yaml_document_get_node, document_get_node),
    F(pl__cv_yaml_api, yaml_document_delete, document_delete),
};
static const struct pl_dl_fn BZ2_FNS[] = {
    F(pl__cv_bz2_api, BZ2_bzDecompressInit, decompress_init),
    F(pl__cv_bz2_api, BZ2_bzDecompress, decompress),
    F(pl__cv_bz2_api, BZ2_bzDecompressEnd, decompress_end),
};
#undef F

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* One library: its name, table, the Debian package to name when it is missing, and the
 * outcome of the one attempt to open it. */
struct lib {
  pthread_once_t once;
  const char *soname, *package, *what;
  const struct pl_dl_fn *fns;
  size_t n;
  void *table;
  size_t table_size;
  int failed;
  char msg[200];
};

static struct lib SQLITE = {PTHREAD_ONCE_INIT, "libsqlite3.so.0", "libsqlite3-0",
                            "reading a rosbag2 database", SQLITE_FNS, N(SQLITE_FNS),
                            &pl__cv_sqlite, sizeof pl__cv_sqlite, 0, ""};
static struct lib YAML = {PTHREAD_ONCE_INIT, "libyaml-0.so.2", "libyaml-0-2",
                          "reading a rosbag2 metadata.yaml", YAML_FNS, N(YAML_FNS),
                          &pl__cv_yaml, sizeof pl__cv_yaml, 0, ""};
static struct lib BZ2 = {PTHREAD_ONCE_INIT, "libbz2.so.1.0", "libbz2-1.0",
                         "reading a bz2-compressed ROS 1 bag chunk", BZ2_FNS, N(BZ2_FNS),
                         &pl__cv_bz2, sizeof pl__cv_bz2, 0, ""};

static void open_lib(struct lib *l) {
  l->failed = pl_dl_open_table(l->soname, l->fns, l->n, l->table, l->table_size, NULL, l->msg,
                               sizeof l->msg) != 0;
}
static void open_sqlite(void) { open_lib(&SQLITE); }
static void open_yaml(void) { open_lib(&YAML); }
static void open_bz2(void) { open_lib(&BZ2); }

static int load(struct pl_convert *c, struct lib *l, void (*opener)(void)) {
  pthread_once(&l->once, opener);
  if (!l->failed) return PL_CONVERT_OK;
  return cv_fail(c, PL_CONVERT_EUNSUPPORTED,
                 "%s needs %s, which cannot be loaded (%s); install it (Debian: apt install %s)",
                 l->what, l->soname, l->msg, l->package);
}

int pl__cv_load_sqlite(struct pl_convert *c) { return load(c, &SQLITE, open_sqlite); }
int pl__cv_load_yaml(struct pl_convert *c) { return load(c, &YAML, open_yaml); }
int pl__cv_load_bz2(struct pl_convert *c) { return load(c, &BZ2, open_bz2); }
