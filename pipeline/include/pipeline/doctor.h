/*
 * doctor.h - pl_doctor: one streamed pass over a recording that finds what is
 * wrong with it (prefix pl_doctor_). Conventions of pipeline/core.h.
 */
#ifndef PIPELINE_DOCTOR_H
#define PIPELINE_DOCTOR_H

#include <stddef.h>
#include <stdint.h>

#include "mcap/mcap.h"
#include "pipeline/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------------- doctor */

typedef struct pl_doctor_options {
  int strict;          /* warnings count as errors (exit 3) */
  int max_findings;    /* 0 = 1000; further findings are counted, not kept */
  int structural_only; /* report only the structural codes (pl_doctor_code.structural): what
                          `mcapkit check` shows; the pass and its counts are the same */
  /* Called now and then with the bytes read so far and the input's size
   * (MCAP_SIZE_UNKNOWN for pipes); NULL = none. */
  void (*progress)(void *ctx, uint64_t done, uint64_t total);
  void *progress_ctx;
} pl_doctor_options;

typedef struct pl_doctor_report {
  pl_finding *findings;
  size_t n_findings;
  size_t n_errors, n_warnings, n_infos; /* counts including those not kept */
  uint64_t records; /* every record, those inside chunks included (a Chunk counts too) */
  uint64_t messages, chunks, bytes;
  uint64_t crcs_checked; /* non-zero CRC fields compared (chunks, attachments, DataEnd, Footer) */
  uint64_t crcs_absent;  /* CRC fields written as 0 ("not computed") */
} pl_doctor_report;

/**
 * Check a whole file in one streamed pass (works on pipes): every check of the
 * official `mcap doctor` and more (see pipeline/doctor/doctor.c's header).
 * @param src the input; taken over (closed) in every case.
 * @return PL_OK when the check ran (findings say what is wrong), or an error when
 *         it could not run at all.
 */
int pl_doctor_run(mcap_source *src, const pl_doctor_options *o, pl_doctor_report **out,
                  pl_error_info *err);
void pl_doctor_report_free(pl_doctor_report *r);

/**
 * Whether a report passes: no errors and, when `strict`, no warnings either.
 * @return 1 if it passes, 0 if not (also for NULL).
 */
int pl_doctor_report_ok(const pl_doctor_report *r, int strict);

/** One finding code the doctor can report, with its fixed severity and a short summary. */
typedef struct pl_doctor_code {
  const char *code;
  pl_severity severity;
  const char *summary;
  int structural; /* about reading the bytes (framing, records, CRCs, chunk contents), not
                     about what the file says (indexes, statistics, definitions) */
  int mcap_code;  /* the mcap_error a strict reader meets for a structural error (0 if none) */
} pl_doctor_code;

/** The table of every doctor finding code (static storage); *n gets its length. */
const pl_doctor_code *pl_doctor_codes(size_t *n);

/**
 * pl_doctor_run() taking what chunks it can from `feed` (pl_core's chunk feed, filled by
 * another pass over the same file on another thread; borrowed, NULL: none) instead of
 * decompressing them again; closes the feed when done. pl_import's lake and index passes
 * use it so that each chunk is decompressed once.
 */
int pl_doctor_run_fed(mcap_source *src, const pl_doctor_options *o, pl_feed *feed,
                      pl_doctor_report **out, pl_error_info *err);

#ifdef __cplusplus
}
#endif

#endif /* PIPELINE_DOCTOR_H */
