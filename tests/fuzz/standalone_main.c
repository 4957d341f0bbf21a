/*
 * standalone_main.c - replay driver for the fuzz targets when libFuzzer is not
 * used (MCAPKIT_FUZZ=OFF, any compiler): runs LLVMFuzzerTestOneInput once on
 * an empty input and once on every file found in the files and directories
 * given as arguments (recursively, in sorted order, skipping dot files).
 * Arguments starting with '-' are libFuzzer flags and are ignored, so one
 * command line works for both builds. Exit status 0 when every input ran;
 * a crash is reported by the sanitizers or the signal, not by us.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs above this are not fuzz inputs; refuse rather than exhaust memory. */
#define MAX_INPUT_SIZE ((size_t)64 << 20)

struct replay {
  unsigned long inputs;
  int failed;
};

static void run_file(struct replay *r, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: cannot open '%s': %s\n", path, strerror(errno));
    r->failed = 1;
    return;
  }
  uint8_t *buf = NULL;
  size_t len = 0;
  size_t cap = 0;
  for (;;) {
    if (len == cap) {
      if (cap >= MAX_INPUT_SIZE) {
        fprintf(stderr, "replay: '%s' is larger than %zu bytes\n", path, MAX_INPUT_SIZE);
        r->failed = 1;
        goto out;
      }
      size_t ncap = cap ? cap * 2 : 4096;
      uint8_t *nbuf = realloc(buf, ncap);
      if (!nbuf) {
        fprintf(stderr, "replay: out of memory reading '%s'\n", path);
        r->failed = 1;
        goto out;
      }
      buf = nbuf;
      cap = ncap;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  if (ferror(f)) {
    fprintf(stderr, "replay: cannot read '%s'\n", path);
    r->failed = 1;
    goto out;
  }
  /* Named before running, so a crash report can be tied to its input. */
  fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
  /* Give the target an exactly sized heap copy so ASan sees reads past the end. */
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact) {
    fprintf(stderr, "replay: out of memory for '%s'\n", path);
    r->failed = 1;
    goto out;
  }
  if (len) memcpy(exact, buf, len);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  r->inputs++;
out:
  free(buf);
  fclose(f);
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static void run_path(struct replay *r, const char *path, int depth);

static void run_dir(struct replay *r, const char *path, int depth) {
  struct dirent **entries = NULL;
  int n = scandir(path, &entries, NULL, by_name);
  if (n < 0) {
    fprintf(stderr, "replay: cannot list '%s': %s\n", path, strerror(errno));
    r->failed = 1;
    return;
  }
  for (int i = 0; i < n; i++) {
    const char *name = entries[i]->d_name;
    if (name[0] != '.') {
      size_t need = strlen(path) + 1 + strlen(name) + 1;
      char *child = malloc(need);
      if (!child) {
        r->failed = 1;
      } else {
        snprintf(child, need, "%s/%s", path, name);
        run_path(r, child, depth + 1);
        free(child);
      }
    }
    free(entries[i]);
  }
  free(entries);
}

static void run_path(struct replay *r, const char *path, int depth) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "replay: cannot stat '%s': %s\n", path, strerror(errno));
    r->failed = 1;
  } else if (S_ISDIR(st.st_mode)) {
    if (depth < 8) run_dir(r, path, depth);
  } else if (S_ISREG(st.st_mode)) {
    run_file(r, path);
  }
}

int main(int argc, char **argv) {
  struct replay r = {0, 0};
  /* The empty input is always worth one run. */
  LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
  r.inputs++;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-') continue;
    run_path(&r, argv[i], 0);
  }
  printf("replay: %lu inputs ran%s\n", r.inputs, r.failed ? "; some inputs could not be read" : "");
  return r.failed ? 1 : 0;
}
