/*
 * read_topic.c - libmcap example: print the messages of one topic in log-time order.
 *
 *   read_topic FILE.mcap TOPIC
 *
 * Opens the file by its summary (or, without one, by one scan), queries the
 * topic and prints "log_time sequence size data" per message (data as text
 * when it is printable). Only the chunks that hold the topic are read.
 * Build: cc read_topic.c $(pkg-config --cflags --libs mcap)
 */
#include <mcap/mcap.h>

#include <inttypes.h>
#include <stdio.h>

static int printable(mcap_bytes b) {
  for (uint64_t i = 0; i < b.len; i++)
    if (b.data[i] < 0x20 || b.data[i] > 0x7e) return 0;
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s FILE.mcap TOPIC\n", argv[0]);
    return 2;
  }
  mcap_error_info err = {0};
  mcap_source src;
  if (mcap_source_open_file(&src, argv[1], &err) != MCAP_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  mcap_reader *r = NULL;
  if (mcap_reader_open(&r, &src, NULL, &err) != MCAP_OK) { /* takes the source */
    fprintf(stderr, "%s: %s\n", argv[1], err.msg);
    return 1;
  }
  const char *topics[] = {argv[2]};
  mcap_query q = {0};
  q.topics = topics;
  q.n_topics = 1;
  q.order = MCAP_ORDER_LOG_TIME;
  mcap_message_iter *it = NULL;
  int rc = mcap_reader_query(r, &q, &it);
  uint64_t n = 0;
  mcap_message_view v;
  while (rc == MCAP_OK && (rc = mcap_message_iter_next(it, &v)) == MCAP_OK) {
    const mcap_message *m = &v.message;
    printf("%" PRIu64 " %" PRIu32 " %" PRIu64 " ", m->log_time, m->sequence, m->data.len);
    if (printable(m->data))
      printf("%.*s\n", (int)m->data.len, (const char *)m->data.data);
    else
      printf("(binary)\n");
    n++;
  }
  if (rc != MCAP_ITEROVER) fprintf(stderr, "%s: %s\n", argv[1], mcap_reader_errmsg(r));
  else fprintf(stderr, "%" PRIu64 " messages on %s\n", n, argv[2]);
  mcap_message_iter_free(it);
  mcap_reader_free(r);
  return rc == MCAP_ITEROVER ? 0 : 1;
}
