/*
 * fuzz_report.c - fuzz target for pl_report's renderers (the report page, its
 * fragment in the local site's pages, the SVG timeline) fed hostile data. The
 * first byte picks the input:
 *   'J'  the rest is a recording index as JSON (what the site keeps in
 *        DATA/state/recordings/<id>.index.json): pl_index_from_json, then
 *        pl_report_set_index and every renderer;
 *   'M'  the rest is an MCAP file (summary, indexes, attachments, metadata):
 *        pl_report_load_file, then every renderer;
 *   else the rest is text for pl_report_escape.
 * Nothing may crash, hang or read past the input, and no output may hold an
 * element that came from the data: no "<script", "<img", "<iframe" or
 * "<svg" beyond the renderer's own two, and escaped text never holds < > " ' or &
 * that does not start an entity.
 *
 * Seeds (corpus/report/): mcap_tiny.bin is 'M' + `mcapkit synth -p tiny -d 1 --attachments 1
 * --seed 1`; index_plain.bin is 'J' + `mcapkit index --json` of that file; index_hostile.bin
 * is the same with a path, library, topic, schema, attachment and metadata names made of
 * markup; escape_hostile.bin is 'E' + markup, ill-formed UTF-8 and control characters.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pipeline/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_ci(const char *s, size_t len, const char *needle) {
  size_t n = strlen(needle), k = 0;
  for (size_t i = 0; i + n <= len; i++)
    if (strncasecmp(s + i, needle, n) == 0) k++;
  return k;
}

/* An attachment link with a hostile text in it: the renderer must escape it. */
static int href(void *ctx, size_t i, char *buf, size_t cap) {
  (void)ctx;
  snprintf(buf, cap, "/ui/attachments/\"><script>x%zu</script>", i);
  return 0;
}

static void render_all(pl_report *r) {
  for (int mode = 0; mode < 3; mode++) {
    pl_report_render_options o;
    memset(&o, 0, sizeof o);
    o.fragment = mode == 1;
    o.max_rows = 8; /* small caps: the grouping and the cut tables run too */
    o.max_table_rows = mode == 1 ? 3 : 0;
    o.max_bytes = 4u << 20;
    o.attachment_href = mode == 1 ? href : NULL;
    char *out = NULL;
    size_t len = 0;
    int rc = pl_report_render(r, mode == 2 ? PL_REPORT_SVG : PL_REPORT_HTML, &o, &out, &len);
    if (rc == PL_REPORT_OK) {
      if (!out || strlen(out) != len) abort();
      if (count_ci(out, len, "<script") || count_ci(out, len, "<img") ||
          count_ci(out, len, "<iframe"))
        abort();
      /* the renderer draws two <svg> elements at most (the timeline, the bytes bar); a name
       * with "<svg" in it must not add one */
      if (count_ci(out, len, "<svg") > 2) abort();
    } else if (rc != PL_REPORT_ELIMIT && rc != PL_REPORT_ENOMEM) {
      abort();
    }
    free(out);
  }
}

static void check_escape(const uint8_t *data, size_t size) {
  size_t need = pl_report_escape(NULL, 0, (const char *)data, size);
  char *out = malloc(need + 1);
  if (!out) return;
  if (pl_report_escape(out, need + 1, (const char *)data, size) != need) abort();
  for (size_t i = 0; i < need; i++) {
    char c = out[i];
    if (c == '<' || c == '>' || c == '"' || c == '\'' || c == 0) abort();
    if (c == '&' && !memchr(out + i, ';', need - i < 8 ? need - i : 8)) abort();
  }
  /* a small buffer cuts, never overruns, and stays NUL-terminated */
  char small[7];
  pl_report_escape(small, sizeof small, (const char *)data, size);
  if (memchr(small, 0, sizeof small) == NULL) abort();
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t kind = data[0];
  data++;
  size--;
  if (kind == 'J') {
    char *text = malloc(size ? size : 1);
    if (!text) return 0;
    if (size) memcpy(text, data, size);
    pl_recording_index *ix = NULL;
    pl_error_info err;
    if (pl_index_from_json(text, size, &ix, &err) == PL_OK) {
      pl_report *r = NULL;
      if (pl_report_create(&r) == PL_REPORT_OK) {
        if (pl_report_set_index(r, ix) == PL_REPORT_OK) render_all(r);
        pl_report_free(r);
      } else {
        pl_recording_index_free(ix);
      }
    }
    free(text);
  } else if (kind == 'M') {
    int fd = memfd_create("fuzz_report", MFD_CLOEXEC);
    if (fd < 0) return 0;
    if (size && write(fd, data, size) != (ssize_t)size) {
      close(fd);
      return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    pl_report *r = NULL;
    if (pl_report_create(&r) == PL_REPORT_OK) {
      pl_report_options o;
      memset(&o, 0, sizeof o);
      o.tolerance_s = 1;
      o.threads = 1;
      o.no_hash = 1;
      if (pl_report_load_file(r, path, &o) == PL_REPORT_OK) render_all(r);
      pl_report_free(r);
    }
    close(fd);
  } else {
    check_escape(data, size);
  }
  return 0;
}
