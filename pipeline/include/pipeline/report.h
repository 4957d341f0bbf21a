/*
 * report.h - pl_report: pictures of a recording. One self-contained HTML page
 * (inline SVG and CSS; no script, no network, nothing external) or a
 * standalone SVG of the timeline, rendered from what the other libraries
 * compute: the recording index (topics, coverage, attachments, metadata,
 * problems: pipeline.h), message rates over time (observed while the index
 * reads the message indexes or makes its one pass) and where the file's
 * bytes go (chunk and record sizes from the summary, or one raw pass).
 *
 *     pl_report *r;
 *     pl_report_create(&r);
 *     if (pl_report_load_file(r, "in.mcap", &opts) == PL_REPORT_OK)
 *       pl_report_write_file(r, PL_REPORT_HTML, NULL, "report.html");
 *     else puts(pl_report_errmsg(r));
 *     pl_report_free(r);
 *
 * Computing and rendering are separate: the local site fills a report from
 * an index it already has (pl_report_set_index) and renders fragments of it
 * into its own pages (render option `fragment`, pl_report_css()).
 *
 * Cost: a file with a summary and message indexes is reported without
 * decompressing any chunk (pl_report_stats says how many were); a file without
 * one is read in one streamed pass (plus, for the byte breakdown, one pass
 * over its record headers that decompresses nothing). The doctor's full check
 * runs only where the pass reads every chunk anyway, or on request.
 *
 * Everything taken from a recording (names, metadata, media types) is
 * attacker data: every value goes through pl_report_escape(), which is safe
 * for HTML text, HTML attributes, SVG and XML alike. Output size is bounded:
 * the timeline has at most `max_rows` rows (topics beyond that are grouped by
 * name prefix, and the page says so), tables at most `max_table_rows` rows,
 * and the whole document at most `max_bytes`.
 *
 * Conventions: functions return PL_REPORT_OK (0) or a negative
 * pl_report_status; the detail (what, which file, offset or field) is on the
 * handle (pl_report_errmsg). Handles are single-thread objects.
 */
#ifndef PIPELINE_REPORT_H
#define PIPELINE_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/import.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes. Values are pinned: only append. */
typedef enum pl_report_status {
  PL_REPORT_OK = 0,
  PL_REPORT_EINVAL = -1, /* bad argument or option */
  PL_REPORT_ENOMEM = -2, /* allocation failed */
  PL_REPORT_EIO = -3,    /* a file could not be opened, read or written (errno in the message) */
  PL_REPORT_EINPUT = -4, /* the recording could not be indexed at all (not MCAP, unreadable) */
  PL_REPORT_ELIMIT = -5, /* the document would exceed max_bytes */
  PL_REPORT_ESTATE = -6  /* call not valid in the handle's state (render before a load) */
} pl_report_status;

/** Static text for a status ("out of memory", ...). Never NULL. */
const char *pl_report_strerror(int code);

/** The two documents a report renders. */
typedef enum pl_report_format {
  PL_REPORT_HTML = 0, /* the whole page (or its sections, with `fragment`) */
  PL_REPORT_SVG = 1   /* the timeline alone, a standalone SVG document */
} pl_report_format;

/** How a report is computed from a file. All-zero means the defaults. */
typedef struct pl_report_options {
  double tolerance_s; /* coverage gap tolerance in seconds; < 0 = 14 s (as pl_index_options);
                         set it to -1 when zeroing the struct means "not given" */
  int doctor;         /* always run the doctor's full check (decompresses every chunk) */
  int no_doctor;      /* never run it: findings are what indexing met */
  int threads;        /* decompression threads of the index; 0 = 1 */
  int no_hash;        /* skip the content hash (it reads every byte of the file once) */
} pl_report_options;

/** What computing the report cost, and where its data came from. */
typedef struct pl_report_stats {
  uint64_t chunks_decompressed; /* by the index (0 on the summary + message index path) */
  int from_summary;             /* topics, coverage and rates came from the message indexes */
  int storage_from_summary;     /* the byte breakdown came from the summary's indexes */
  int doctor_ran;               /* the doctor's full check ran: its findings are in the index's
                                   problems (0 also for a report made by pl_report_set_index) */
} pl_report_stats;

/** Byte categories of the storage breakdown (file bytes by top-level record kind). */
typedef enum pl_report_kind {
  PL_REPORT_KIND_CHUNK = 0,     /* Chunk records (compressed messages, schemas, channels) */
  PL_REPORT_KIND_MSG_INDEX = 1, /* MessageIndex records */
  PL_REPORT_KIND_ATTACHMENT = 2,
  PL_REPORT_KIND_METADATA = 3,
  PL_REPORT_KIND_SUMMARY = 4,   /* the summary section, footer and closing magic */
  PL_REPORT_KIND_OTHER = 5,     /* magic, header, records outside chunks, DataEnd, padding */
  PL_REPORT_KIND_COUNT = 6
} pl_report_kind;

/** Chunks of one compression ("" is shown as "none"). */
typedef struct pl_report_compression {
  char name[24];         /* as in the file, cut to 23 bytes; "(other)" collects the rest */
  uint64_t chunks;
  uint64_t stored;       /* compressed bytes of the chunks' records */
  uint64_t uncompressed; /* their declared uncompressed size */
} pl_report_compression;

#define PL_REPORT_MAX_COMPRESSIONS 8

/** Where the bytes of the file go (what `mcapkit du` says, in short). */
typedef struct pl_report_storage {
  int available;                            /* 0 = unknown (e.g. a report from an index) */
  int partial;                              /* the raw pass stopped early (damaged file) */
  uint64_t file_size;
  uint64_t kinds[PL_REPORT_KIND_COUNT];     /* bytes per pl_report_kind */
  pl_report_compression comp[PL_REPORT_MAX_COMPRESSIONS];
  size_t n_comp;
  uint64_t chunks;
  uint64_t largest_chunk;                   /* largest declared uncompressed size */
} pl_report_storage;

/** Messages per time bin of one topic (all topics share the bins' origin and width). */
typedef struct pl_report_rate {
  uint64_t origin;        /* start of bin 0, ns since the epoch */
  uint64_t width;         /* ns per bin */
  size_t n_bins;
  const uint32_t *counts; /* messages in each bin (saturating) */
} pl_report_rate;

/** Rendering options. All-zero means the defaults. Pointers are borrowed for the call. */
typedef struct pl_report_render_options {
  int fragment;          /* HTML: only the sections (no <html>, <head> or style): for pages
                            that wrap the report in their own, with pl_report_css() */
  size_t max_rows;       /* timeline rows; 0 = 200; more topics are grouped by name prefix */
  size_t max_table_rows; /* rows per table (topics, attachments, metadata, findings); 0 = 1000 */
  uint64_t max_bytes;    /* document size cap; 0 = 16 MiB (PL_REPORT_ELIMIT beyond) */
  const char *title;     /* NULL = "Recording report" */
  /* Link target for attachment i (of the index's attachments), written into buf (a URL
   * path, escaped by the renderer); return 0 for a link, non-zero for none. NULL = no links. */
  int (*attachment_href)(void *ctx, size_t i, char *buf, size_t cap);
  void *href_ctx;
} pl_report_render_options;

typedef struct pl_report pl_report;

/**
 * Create an empty report.
 * @param[out] out the handle; free with pl_report_free().
 * @return PL_REPORT_OK, PL_REPORT_ENOMEM.
 */
int pl_report_create(pl_report **out);

/** Free a report and everything it holds. Accepts NULL. */
void pl_report_free(pl_report *r);

/** One line saying what went wrong last and where; "" if nothing did. Valid until the next call. */
const char *pl_report_errmsg(const pl_report *r);

/**
 * Compute a report of one recording: index it (pl_index_file, with the rates observed on
 * the way) and measure where its bytes go. Replaces what the report held.
 * @param path a regular file.
 * @param o NULL for the defaults.
 * @return PL_REPORT_OK (also for a damaged file: its problems are findings);
 *         PL_REPORT_EINPUT (not an MCAP file, or not indexable at all), PL_REPORT_EIO,
 *         PL_REPORT_EINVAL, PL_REPORT_ENOMEM.
 */
int pl_report_load_file(pl_report *r, const char *path, const pl_report_options *o);

/**
 * Fill the report from an index computed elsewhere (the local site's index.json): no rates,
 * no storage breakdown. Replaces what the report held.
 * @param ix taken over by the report in every case (freed with it, or at once on error).
 * @return PL_REPORT_OK, PL_REPORT_EINVAL (NULL index).
 */
int pl_report_set_index(pl_report *r, pl_recording_index *ix);

/** The index the report holds (NULL before a load); borrowed, valid until the next load. */
const pl_recording_index *pl_report_index(const pl_report *r);

/** What computing the report cost (zeroed before a load). */
void pl_report_get_stats(const pl_report *r, pl_report_stats *out);

/** The storage breakdown (available == 0 when unknown); borrowed like pl_report_index. */
const pl_report_storage *pl_report_get_storage(const pl_report *r);

/**
 * The rate bins of one topic.
 * @param[out] out filled on success; its counts are borrowed like pl_report_index.
 * @return 1 if the report has rates for `topic`, 0 if not (unknown topic, no rates).
 */
int pl_report_topic_rate(const pl_report *r, const char *topic, pl_report_rate *out);

/**
 * Render a document into memory.
 * @param[out] out malloc'd, NUL-terminated (free() it); *len its length without the NUL.
 * @return PL_REPORT_OK, PL_REPORT_ESTATE (nothing loaded), PL_REPORT_ELIMIT, PL_REPORT_ENOMEM.
 */
int pl_report_render(pl_report *r, pl_report_format fmt, const pl_report_render_options *o,
                     char **out, size_t *len);

/**
 * Render a document into `path` atomically (a temporary file renamed into place on
 * success; on failure nothing is left and an existing file is untouched).
 * @return as pl_report_render, and PL_REPORT_EIO when the file cannot be written.
 */
int pl_report_write_file(pl_report *r, pl_report_format fmt, const pl_report_render_options *o,
                         const char *path);

/** The style sheet the page uses (static storage), for pages that embed fragments. */
const char *pl_report_css(void);

/**
 * Escape text for HTML (text and quoted attributes), SVG and XML: & < > " ' become
 * entities, invalid UTF-8 and characters XML forbids (C0 controls but tab and newline,
 * DEL, C1 controls, U+FFFE/U+FFFF) become U+FFFD. Like snprintf: writes at most
 * cap - 1 bytes and a NUL when cap > 0.
 * @param s the text (NUL bytes in it are replaced too); may be NULL when len is 0.
 * @return the length of the whole escaped text (without the NUL).
 */
size_t pl_report_escape(char *dst, size_t cap, const char *s, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* PIPELINE_REPORT_H */
