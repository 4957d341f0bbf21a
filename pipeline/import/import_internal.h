/*
 * import_internal.h - declarations shared by pl_import's own files (pl__
 * prefix): coverage range sets (coverage.c), the record walker and the index
 * builder (topic_index.c), the lake's JSON (index_json.c, the only json-c user
 * of the import) and the lake layout shared by lake_writer.c, lake_verify.c
 * and export.c. Not installed.
 *
 * Invariants:
 * - pl__rangeset: r[0..n) sorted by start, disjoint, and any two neighbours
 *   are more than `tol` apart (r[i+1].start - r[i].end > tol), so the set is
 *   the coverage of every point added, whatever the order they came in.
 * - pl__walk_file: callbacks see records in file order; a callback returning
 *   non-zero stops the walk and pl__walk_file returns that value.
 */
#ifndef PIPELINE_IMPORT_INTERNAL_H
#define PIPELINE_IMPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core.h"
#include "pipeline/import.h"

/* --------------------------------------------------------- coverage.c */

typedef struct pl__rangeset {
  pl_range *r;
  size_t n, cap;
  uint64_t tol;
} pl__rangeset;

/* Add [start, end] (start <= end). 0 or PL_ENOMEM. */
int pl__rangeset_add(pl__rangeset *s, uint64_t start, uint64_t end);
void pl__rangeset_dispose(pl__rangeset *s);
/* Tolerance in seconds to ns (< 0: the 14 s default; NaN is invalid). 0 or PL_EINVAL. */
int pl__tolerance_ns(double seconds, uint64_t *ns);

#define PL_DEFAULT_TOLERANCE_NS (UINT64_C(14) * 1000000000u)

/* ------------------------------------------------------ topic_index.c */

/* Callbacks of the record walker; any may be NULL. A non-zero return stops the walk. */
typedef struct pl__walk_cb {
  void *ctx;
  int (*header)(void *ctx, const mcap_header *h);
  int (*schema)(void *ctx, const mcap_schema *s);
  int (*channel)(void *ctx, const mcap_channel *c);
  int (*message)(void *ctx, const mcap_message *m);
  /* fields->data is empty; the data follows in attachment_data pieces */
  int (*attachment_begin)(void *ctx, const mcap_attachment *fields, uint64_t offset);
  int (*attachment_data)(void *ctx, const uint8_t *p, size_t n);
  /* stored = the record's crc field, computed = CRC over the record (0 if stored is 0) */
  int (*attachment_end)(void *ctx, uint32_t stored, uint32_t computed);
  int (*metadata)(void *ctx, const mcap_metadata *m, uint64_t offset);
  /* a problem met on the way (the walk goes on where it can) */
  int (*problem)(void *ctx, pl_severity sev, const char *code, uint64_t offset, const char *msg);
  /* where each chunk goes once decompressed, CRC-checked and walked (NULL: nowhere) */
  pl_feed *feed;
  /* after DataEnd, also pass on the summary's Schema and Channel records that the data
   * section did not define (topics without messages that rosbag2 writes there only);
   * a channel whose schema the file never defines is left out */
  int summary_defs;
  /* called now and then with the bytes walked so far and the source's size; NULL = none */
  void (*progress)(void *progress_ctx, uint64_t done, uint64_t total);
  void *progress_ctx;
} pl__walk_cb;

typedef struct pl__walk_stats {
  uint64_t chunks; /* Chunk records met */
  uint64_t chunks_decompressed;
  int partial;  /* some data could not be read */
  int complete; /* reached DataEnd or the Footer */
} pl__walk_stats;

/*
 * Walk a seekable source's data section record by record (the summary only for
 * cb->summary_defs):
 * chunks are decompressed once (unless skip_chunks) and their records passed
 * on; a bad chunk is reported and skipped; attachments are passed on in pieces
 * (memory independent of their size). The source is borrowed.
 * @return PL_OK (problems go to the callback), PL_EMCAP when the start of the
 *         file is not MCAP, PL_ENOMEM, PL_EIO, or a callback's return value.
 */
int pl__walk_file(mcap_source *src, int skip_chunks, const pl__walk_cb *cb, pl__walk_stats *st,
                  pl_error_info *err);

/* Put the doctor's findings in front of an index's problems (or, when the doctor could not
 * run, a warning saying so); the index must not be added to afterwards. 0 or PL_ENOMEM. */
int pl__index_add_doctor(pl_recording_index *ix, int doctor_rc, const pl_doctor_report *rep,
                         const pl_error_info *derr);

/* ------------------------------------------------------- index_json.c */

/* lake.json: the lake-files endpoint's [{path, topics}] list. *json malloc'd. */
int pl__lake_json(const pl_lake_file *files, size_t n, char **json, pl_error_info *err);
int pl__lake_json_parse(const char *json, size_t len, pl_lake_file **files, size_t *n,
                        pl_error_info *err);
const char *pl__severity_name(pl_severity s);

/* --------------------------------------------------------- the lake */

#define PL_LAKE_RECORDING_FILE "_recording.mcap"
#define PL_LAKE_JSON "lake.json"
#define PL_LAKE_INDEX_JSON "index.json"

/* Read a whole (small) file into a NUL-terminated malloc'd buffer. */
int pl__read_small_file(const char *path, size_t max, char **out, size_t *len, pl_error_info *err);
/* Write a small file atomically (temp file + fsync + rename). */
int pl__write_file_atomic(const char *path, const void *data, size_t len, pl_error_info *err);
/* A path component made safe: [A-Za-z0-9._-], no leading '.', never "" / "tmp". */
char *pl__safe_component(const char *s);
/* Where pl_lake_write puts a recording by default: "<device>/<key>" (malloc'd). */
char *pl__lake_recording_dir(const pl_recording_index *ix, const char *device, const char *key);
void pl__lake_files_free(pl_lake_file *files, size_t n);

#endif /* PIPELINE_IMPORT_INTERNAL_H */
