/*
 * dlib.c - opening a shared library with dlopen and filling a table of its
 * functions: the one loader behind libcurl (client/http_curl.c),
 * libmicrohttpd (site/server_mhd.c) and libcrypto (site/sha256.c), which the
 * pipeline opens on first use so that commands needing none of them start
 * without mapping them.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/core.h"

int pl_dl_open_table(const char *soname, const struct pl_dl_fn *fns, size_t n, void *table,
                     size_t table_size, const char *hint, char *msg, size_t cap) {
  void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    snprintf(msg, cap, "%s", why ? why : soname);
    return -1;
  }
  unsigned char filled[1024];
  if (table_size > sizeof filled) {
    snprintf(msg, cap, "%s: a table of %zu bytes is too large", soname, table_size);
    dlclose(lib);
    return -1;
  }
  memset(filled, 0, table_size);
  for (size_t i = 0; i < n; i++) {
    if (fns[i].offset > table_size || table_size - fns[i].offset < sizeof(void *)) {
      snprintf(msg, cap, "%s: %s's place is outside the table", soname, fns[i].name);
      dlclose(lib);
      return -1;
    }
    void *p = dlsym(lib, fns[i].name);
    if (!p) {
      snprintf(msg, cap, "%s has no function %s%s", soname, fns[i].name, hint ? hint : "");
      dlclose(lib);
      return -1;
    }
    /* POSIX: a function's address fits in (and comes back from) a data pointer. */
    memcpy(filled + fns[i].offset, &p, sizeof p);
  }
  memcpy(table, filled, table_size);
  return 0; /* `lib` stays open for the life of the process */
}
