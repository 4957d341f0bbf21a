/*
 * make_convert_corpus.c - writes the seed corpus of fuzz_convert_bag (small ROS 1
 * bags made by the test bag writer, tests/support/ros_writers.cc) into OUTDIR.
 *
 *   mcapkit-make-convert-corpus tests/fuzz/corpus/convert_bag
 */
#include <stdio.h>
#include <sys/stat.h>

#include "ros_writers.h"

int main(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') {
    fprintf(stderr, "usage: mcapkit-make-convert-corpus OUTDIR\n");
    return 2;
  }
  mkdir(argv[1], 0777);
  return mcapkit_gen_ros1_seeds(argv[1]) == 0 ? 0 : 1;
}
