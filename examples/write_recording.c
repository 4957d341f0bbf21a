/*
 * write_recording.c - libmcap example: write a recording with two topics.
 *
 *   write_recording OUT.mcap
 *
 * Writes 10 JSON messages on /chatter and 10 on /count (schemaless JSON, log
 * times 1 ms apart), zstd-compressed chunks, and the full summary. The file
 * appears only once it is complete (the file sink writes a temporary file and
 * renames it on commit).
 * Build: cc write_recording.c $(pkg-config --cflags --libs mcap)
 */
#include <mcap/mcap.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUT.mcap\n", argv[0]);
    return 2;
  }
  mcap_error_info err = {0};
  mcap_sink sink;
  if (mcap_sink_open_file(&sink, argv[1], &err) != MCAP_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  mcap_writer_options opts;
  mcap_writer_options_init(&opts);
  opts.compression = MCAP_COMPRESSION_ZSTD;
  mcap_writer *w = NULL;
  uint16_t chatter = 0, count = 0;
  int rc = mcap_writer_open(&w, &sink, &opts);
  if (rc == MCAP_OK)
    rc = mcap_writer_add_channel(w, 0, mcap_str_c("/chatter"), mcap_str_c("json"), NULL, 0,
                                 &chatter);
  if (rc == MCAP_OK)
    rc = mcap_writer_add_channel(w, 0, mcap_str_c("/count"), mcap_str_c("json"), NULL, 0, &count);
  for (uint32_t i = 0; rc == MCAP_OK && i < 20; i++) {
    char text[64];
    int n = i % 2 ? snprintf(text, sizeof text, "{\"n\": %u}", i / 2)
                  : snprintf(text, sizeof text, "{\"text\": \"hello %u\"}", i / 2);
    mcap_message m = {0};
    m.channel_id = i % 2 ? count : chatter;
    m.sequence = i / 2;
    m.log_time = m.publish_time = 1000000000ull + i * 1000000ull;
    m.data.data = (const uint8_t *)text;
    m.data.len = (uint64_t)n;
    rc = mcap_writer_write_message(w, &m);
  }
  if (rc == MCAP_OK) rc = mcap_writer_close(w);
  if (rc != MCAP_OK) fprintf(stderr, "%s: %s\n", argv[1], w ? mcap_writer_errmsg(w) : "");
  mcap_writer_free(w);
  if (rc == MCAP_OK && mcap_sink_commit(&sink, &err) != MCAP_OK) {
    fprintf(stderr, "%s\n", err.msg);
    rc = MCAP_EIO;
  }
  mcap_sink_close(&sink, NULL); /* without a commit: discards the temporary file */
  return rc == MCAP_OK ? 0 : 1;
}
