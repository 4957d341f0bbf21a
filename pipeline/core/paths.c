/*
 * paths.c - what file an output path names (pl_output_target): the commands
 * write `-o LINK` through a symbolic link, as a shell redirection would,
 * instead of replacing the link with the atomic sink's rename.
 */
#include <stdlib.h>
#include <sys/stat.h>

#include "pipeline/core.h"

char *pl_output_target(const char *path) {
  struct stat st;
  if (!path) return NULL;
  /* Only a link to something that exists is followed: realpath() needs the target, and a
   * dangling link keeps the sink's behaviour (the link is replaced by the new file). */
  if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && stat(path, &st) == 0) {
    char *real = realpath(path, NULL);
    if (real) return real;
  }
  return pl_strdup(path);
}
