/*
 * make_convert_corpus.c - writes the seed corpus of fuzz_convert_bag (small ROS 1
 * bags made by the test bag writer, tests/support/ros_writers.cc) into OUTDIR.
 *
 *   mcapkit-make-convert-corpus tests/fuzz/corpus/convert_bag
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ros_writers.h"

int main(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') {
    fprintf(stderr, "usage: mcapkit-make-convert-corpus OUTDIR\n");
    return 2;
  }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", argv[1]);
  for (char *p = dir + 1; *p; p++) /* mkdir -p */
    if (*p == '/') {
      *p = '\0';
      mkdir(dir, 0777);
      *p = '/';
    }
  mkdir(dir, 0777);
  return mcapkit_gen_ros1_seeds(argv[1]) == 0 ? 0 : 1;
}
