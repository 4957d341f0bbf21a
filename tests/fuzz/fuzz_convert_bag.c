/*
 * fuzz_convert_bag.c - fuzz target for the ROS 1 bag reader of pl_convert: the
 * input is a whole bag file (served from a memfd, as the converter reads files),
 * converted into a capped memory sink with small limits. Whatever the record
 * lengths, index and chunk sizes claim, nothing may crash, hang, leak or
 * allocate beyond the limits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mcap/mcap.h"
#include "pipeline/convert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("fuzz.bag", MFD_CLOEXEC);
  if (fd < 0) return 0;
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) break;
    done += (size_t)n;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  pl_convert_options o;
  memset(&o, 0, sizeof o);
  o.max_chunk_size = (uint64_t)16 << 20;
  o.memory_budget = 4096;
  o.writer.compression = MCAP_COMPRESSION_NONE;
  pl_convert *c = NULL;
  if (pl_convert_new(&c, &o) == PL_CONVERT_OK) {
    mcap_sink sink;
    if (mcap_sink_memory(&sink, (uint64_t)64 << 20) == MCAP_OK) {
      const char *in[] = {path};
      (void)pl_convert_run(c, in, 1, &sink);
      const pl_convert_report *r = pl_convert_get_report(c);
      for (size_t i = 0; i < r->n_problems; i++) (void)strlen(r->problems[i].message);
      (void)strlen(pl_convert_errmsg(c));
      mcap_sink_close(&sink, NULL);
    }
    pl_convert_free(c);
  }
  close(fd);
  return 0;
}
