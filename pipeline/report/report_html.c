/*
 * report_html.c - the report page: summary, timeline, topics, attachments,
 * metadata, storage and findings as server-side HTML with inline SVG and
 * CSS. No script, no external resource: the file opens from disk anywhere.
 * Tables are capped (the page says how many rows it leaves out), every value
 * from the recording is escaped, and wide content scrolls inside its box so
 * the page stays usable on a phone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

#define CSS_MONO "ui-monospace,SFMono-Regular,Menlo,Consolas,monospace"

static const char page_css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',"
    "Arial,sans-serif;color:#1d2330;background:#fff}"
    ".report{max-width:1240px;margin:0 auto;padding:16px 20px 40px}"
    ".report h1{font-size:22px;margin:6px 0 2px}"
    ".report h2{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid "
    "#d9dde3}"
    ".report h3{font-size:14px;margin:16px 0 6px;overflow-wrap:anywhere}"
    ".report .sub{color:#5b6472;margin:0 0 14px;overflow-wrap:anywhere}"
    ".report dl.kv{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:3px 18px;"
    "margin:0}"
    ".report dl.kv dt{color:#5b6472}"
    ".report dl.kv dd{margin:0;overflow-wrap:anywhere}"
    ".report .scroll{overflow-x:auto}"
    ".report table{border-collapse:collapse;width:100%;font-size:13px}"
    ".report th,.report td{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e6eb;"
    "vertical-align:top}"
    ".report th{font-weight:600;color:#3d4552;background:#f5f7fa}"
    ".report td.n,.report th.n{text-align:right;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}"
    ".report td.name{overflow-wrap:anywhere;min-width:12em;font-family:" CSS_MONO
    ";font-size:12px}"
    ".report .mono{font-family:" CSS_MONO ";font-size:12px;overflow-wrap:anywhere}"
    /* times in table cells stay on one line: the table scrolls sideways on a narrow screen
     * rather than breaking a time one character per line */
    ".report td.t{white-space:nowrap;overflow-wrap:normal}"
    ".report .note{background:#fff8e1;border-left:3px solid #f0b400;padding:6px 10px;"
    "margin:8px 0}"
    ".report .muted{color:#5b6472}"
    ".report .ok{color:#1d7a36;font-weight:600}"
    ".report .sev-error{color:#c0281c;font-weight:600}"
    ".report .sev-warning{color:#a35f00;font-weight:600}"
    ".report .sev-info{color:#5b6472}"
    ".report svg.timeline{display:block;width:100%;min-width:760px;height:auto}"
    ".report svg.bytes{display:block;width:100%;height:28px}"
    ".report .bar{background:#e6e9ee;height:10px;min-width:80px}"
    ".report .bar span{display:block;height:10px;background:#2f6fdf}"
    ".report .sw{display:inline-block;width:10px;height:10px;margin-right:6px;"
    "vertical-align:-1px}"
    ".report footer{margin-top:32px;color:#7a8291;font-size:12px}"
    "@media (max-width:640px){.report{padding:10px 12px 30px}"
    ".report dl.kv{grid-template-columns:minmax(0,1fr)}.report dl.kv dt{margin-top:6px}"
    ".report h1{font-size:19px}}" PL_REPORT_TIMELINE_CSS;

const char *pl_report_css(void) { return page_css; }

static const char *const kind_names[PL_REPORT_KIND_COUNT] = {
    "chunks", "message indexes", "attachments", "metadata", "summary and footer",
    "other records"};
static const char *const kind_colors[PL_REPORT_KIND_COUNT] = {"#2f6fdf", "#f0a020", "#2aa876",
                                                              "#9b59b6", "#7a8291", "#c9ced6"};

static const char *base_name(const char *path) {
  if (!path) return "";
  const char *s = strrchr(path, '/');
  return s && s[1] ? s + 1 : path;
}

/* <dt>name</dt><dd>escaped value or a dash</dd> */
static void kv(struct rb *b, const char *name, const char *value) {
  pl__rb_printf(b, "<dt>%s</dt><dd>", name);
  if (value && value[0])
    pl__rb_textz(b, value);
  else
    pl__rb_put(b, "<span class=\"muted\">-</span>");
  pl__rb_put(b, "</dd>");
}

static void section_summary(struct rb *b, const pl_report *r) {
  const pl_recording_index *ix = r->ix;
  pl__rb_put(b, "<section id=\"summary\"><h2>Summary</h2><dl class=\"kv\">");
  kv(b, "file", base_name(ix->path));
  kv(b, "device", ix->device_name);
  if (ix->device_id) kv(b, "device id", ix->device_id);
  if (ix->key) kv(b, "key", ix->key);
  pl__rb_put(b, "<dt>start</dt><dd>");
  if (ix->has_messages) pl__rb_time(b, ix->start);
  else pl__rb_put(b, "<span class=\"muted\">no messages</span>");
  pl__rb_put(b, "</dd><dt>end</dt><dd>");
  if (ix->has_messages) pl__rb_time(b, ix->end);
  else pl__rb_put(b, "<span class=\"muted\">-</span>");
  pl__rb_put(b, "</dd><dt>duration</dt><dd>");
  if (ix->has_messages) pl__rb_duration(b, ix->end - ix->start);
  else pl__rb_put(b, "-");
  pl__rb_put(b, "</dd><dt>size</dt><dd>");
  pl__rb_bytes(b, ix->size);
  pl__rb_put(b, " (");
  pl__rb_count(b, ix->size);
  pl__rb_put(b, " bytes)</dd><dt>messages</dt><dd>");
  pl__rb_count(b, ix->message_count);
  pl__rb_printf(b, " on %zu topic%s</dd>", ix->n_topics, ix->n_topics == 1 ? "" : "s");
  pl__rb_printf(b, "<dt>coverage</dt><dd>%zu range%s at a tolerance of ", ix->n_coverage,
                ix->n_coverage == 1 ? "" : "s");
  pl__rb_duration(b, ix->tolerance_ns);
  pl__rb_put(b, "</dd>");
  kv(b, "library", ix->library);
  kv(b, "profile", ix->profile);
  pl__rb_put(b, "<dt>content hash</dt><dd class=\"mono\">");
  if (ix->content_hash[0]) {
    pl__rb_put(b, "xxh128 ");
    pl__rb_textz(b, ix->content_hash);
  } else {
    pl__rb_put(b, "<span class=\"muted\">not computed</span>");
  }
  pl__rb_printf(b, "</dd><dt>attachments</dt><dd>%zu</dd><dt>metadata</dt><dd>%zu</dd>",
                ix->n_attachments, ix->n_metadata);
  if (r->storage.available) {
    pl__rb_put(b, "<dt>chunks</dt><dd>");
    pl__rb_count(b, r->storage.chunks);
    pl__rb_put(b, "</dd>");
  }
  pl__rb_put(b, "<dt>read from</dt><dd>");
  if (r->stats.from_summary)
    pl__rb_put(b, "the summary and message indexes (no chunk decompressed)");
  else if (r->ix->path && r->stats.chunks_decompressed)
    pl__rb_put(b, "one streamed pass (every chunk decompressed once)");
  else if (!r->ix->path)
    pl__rb_put(b, "a stored index");
  else
    pl__rb_put(b, "one streamed pass");
  pl__rb_put(b, "</dd></dl>");
  if (ix->partial)
    pl__rb_put(b,
               "<p class=\"note\">The file is damaged: it was indexed as far as its data allows. "
               "See the findings.</p>");
  pl__rb_put(b, "</section>");
}

static void section_timeline(struct rb *b, const pl_report *r, const struct timeline *tl) {
  pl__rb_put(b, "<section id=\"timeline\"><h2>Timeline</h2>");
  pl__rb_put(b, "<p class=\"muted\">One row per topic: where it has messages (blue), gaps "
                "longer than the coverage tolerance (red)");
  if (tl->has_rates) pl__rb_put(b, " and its message rate over time (light blue, each row scaled "
                                   "to its own peak, given on the right)");
  pl__rb_put(b, ". Times in UTC.</p>");
  if (!tl->has_rates && r->ix->has_messages)
    pl__rb_put(b, "<p class=\"note\">Message rates are not available for this view.</p>");
  pl__timeline_note(b, tl);
  pl__rb_put(b, "<div class=\"scroll\">");
  pl__timeline_svg(b, r, tl, 0);
  pl__rb_put(b, "</div></section>");
}

/* "Showing N of M": when a table is cut. */
static void cut_note(struct rb *b, size_t shown, size_t total, const char *what) {
  if (shown >= total) return;
  pl__rb_put(b, "<p class=\"note\">Showing the first ");
  pl__rb_count(b, shown);
  pl__rb_put(b, " of ");
  pl__rb_count(b, total);
  pl__rb_printf(b, " %s; `mcapkit index --json` lists them all.</p>", what);
}

static int cmp_tcov(const void *a, const void *b) {
  return strcmp((*(const pl_topic_coverage *const *)a)->topic,
                (*(const pl_topic_coverage *const *)b)->topic);
}

/* Ranges of a topic, looked up in the coverage list sorted by name. */
static size_t topic_ranges(const pl_topic_coverage *const *sorted, size_t n, const char *topic) {
  pl_topic_coverage key;
  const pl_topic_coverage *kp = &key;
  key.topic = (char *)topic;
  const pl_topic_coverage *const *hit = n ? bsearch(&kp, sorted, n, sizeof *sorted, cmp_tcov)
                                          : NULL;
  return hit ? (*hit)->n_ranges : 0;
}

static void section_topics(struct rb *b, const pl_report *r, size_t max) {
  const pl_recording_index *ix = r->ix;
  size_t n = ix->n_topics < max ? ix->n_topics : max;
  pl__rb_printf(b, "<section id=\"topics\"><h2>Topics (%zu)</h2>", ix->n_topics);
  if (!ix->n_topics) {
    pl__rb_put(b, "<p class=\"muted\">No topics.</p></section>");
    return;
  }
  cut_note(b, n, ix->n_topics, "topics");
  const pl_topic_coverage **sorted = malloc((ix->n_topic_coverage + 1) * sizeof *sorted);
  if (!sorted) {
    b->status = PL_REPORT_ENOMEM;
    return;
  }
  for (size_t i = 0; i < ix->n_topic_coverage; i++) sorted[i] = &ix->topic_coverage[i];
  qsort(sorted, ix->n_topic_coverage, sizeof *sorted, cmp_tcov);
  pl__rb_put(b,
             "<div class=\"scroll\"><table><thead><tr><th>topic</th><th class=\"n\">messages</th>"
             "<th class=\"n\">bytes</th><th class=\"n\">rate</th><th class=\"n\">ranges</th>"
             "<th>first</th><th>last</th><th>schema</th><th>encoding</th></tr></thead><tbody>");
  for (size_t i = 0; i < n && !b->status; i++) {
    const pl_topic *t = &ix->topics[i];
    pl__rb_put(b, "<tr><td class=\"name\">");
    pl__rb_textz(b, t->topic);
    pl__rb_put(b, "</td><td class=\"n\">");
    pl__rb_count(b, t->message_count);
    pl__rb_put(b, "</td><td class=\"n\">");
    pl__rb_bytes(b, t->bytes);
    pl__rb_put(b, "</td><td class=\"n\">");
    pl__rb_hz(b, t->frequency);
    pl__rb_printf(b, "</td><td class=\"n\">%zu</td><td class=\"mono t\">",
                  topic_ranges(sorted, ix->n_topic_coverage, t->topic));
    if (t->message_count) pl__rb_time(b, t->first_log_time);
    pl__rb_put(b, "</td><td class=\"mono t\">");
    if (t->message_count) pl__rb_time(b, t->last_log_time);
    pl__rb_put(b, "</td><td class=\"name\">");
    if (t->schema_name && t->schema_name[0]) {
      pl__rb_textz(b, t->schema_name);
      pl__rb_put(b, " <span class=\"muted\">(");
      pl__rb_textz(b, t->schema_encoding);
      pl__rb_put(b, ")</span>");
    } else {
      pl__rb_put(b, "<span class=\"muted\">no schema</span>");
    }
    pl__rb_put(b, "</td><td>");
    pl__rb_textz(b, t->encoding);
    pl__rb_put(b, "</td></tr>");
  }
  free(sorted);
  pl__rb_put(b, "</tbody></table></div></section>");
}

static void section_attachments(struct rb *b, const pl_report *r,
                                const pl_report_render_options *o, size_t max) {
  const pl_recording_index *ix = r->ix;
  size_t n = ix->n_attachments < max ? ix->n_attachments : max;
  pl__rb_printf(b, "<section id=\"attachments\"><h2>Attachments (%zu)</h2>", ix->n_attachments);
  if (!ix->n_attachments) {
    pl__rb_put(b, "<p class=\"muted\">No attachments.</p></section>");
    return;
  }
  cut_note(b, n, ix->n_attachments, "attachments");
  pl__rb_put(b,
             "<div class=\"scroll\"><table><thead><tr><th>name</th><th>media type</th>"
             "<th class=\"n\">size</th><th>log time</th><th>created</th><th>CRC</th>"
             "<th>fingerprint</th></tr></thead><tbody>");
  char href[1024];
  for (size_t i = 0; i < n && !b->status; i++) {
    const pl_attachment_info *a = &ix->attachments[i];
    pl__rb_put(b, "<tr><td class=\"name\">");
    int link = o->attachment_href && o->attachment_href(o->href_ctx, i, href, sizeof href) == 0;
    if (link) {
      href[sizeof href - 1] = '\0';
      pl__rb_put(b, "<a href=\"");
      pl__rb_textz(b, href);
      pl__rb_put(b, "\" download>");
    }
    if (a->name && a->name[0]) pl__rb_textz(b, a->name);
    else pl__rb_put(b, "(no name)");
    if (link) pl__rb_put(b, "</a>");
    pl__rb_put(b, "</td><td>");
    pl__rb_textz(b, a->media_type);
    pl__rb_put(b, "</td><td class=\"n\">");
    pl__rb_bytes(b, a->size);
    pl__rb_put(b, "</td><td class=\"mono t\">");
    pl__rb_time(b, a->log_time);
    pl__rb_put(b, "</td><td class=\"mono t\">");
    pl__rb_time(b, a->create_time);
    pl__rb_printf(b, "</td><td class=\"mono\">%08x</td><td class=\"mono\">", a->crc);
    pl__rb_textz(b, a->fingerprint);
    pl__rb_put(b, "</td></tr>");
  }
  pl__rb_put(b, "</tbody></table></div></section>");
}

static void section_metadata(struct rb *b, const pl_report *r, size_t max) {
  const pl_recording_index *ix = r->ix;
  pl__rb_printf(b, "<section id=\"metadata\"><h2>Metadata (%zu)</h2>", ix->n_metadata);
  if (!ix->n_metadata) {
    pl__rb_put(b, "<p class=\"muted\">No metadata.</p></section>");
    return;
  }
  size_t shown = 0, total = 0;
  for (size_t i = 0; i < ix->n_metadata; i++) total += ix->metadata[i].n_entries;
  for (size_t i = 0; i < ix->n_metadata && shown < max && !b->status; i++) {
    const pl_metadata_info *m = &ix->metadata[i];
    pl__rb_put(b, "<h3>");
    if (m->name && m->name[0]) pl__rb_textz(b, m->name);
    else pl__rb_put(b, "(no name)");
    pl__rb_printf(b, " <span class=\"muted\">(%zu entr%s)</span></h3>", m->n_entries,
                  m->n_entries == 1 ? "y" : "ies");
    if (!m->n_entries) continue;
    pl__rb_put(b, "<div class=\"scroll\"><table><tbody>");
    for (size_t k = 0; k < m->n_entries && shown < max; k++, shown++) {
      pl__rb_put(b, "<tr><td class=\"name\">");
      pl__rb_text_cut(b, m->entries[k].key, 200);
      pl__rb_put(b, "</td><td class=\"mono\">");
      pl__rb_text_cut(b, m->entries[k].value, 600);
      pl__rb_put(b, "</td></tr>");
    }
    pl__rb_put(b, "</tbody></table></div>");
  }
  if (shown < total) {
    pl__rb_put(b, "<p class=\"note\">Showing ");
    pl__rb_count(b, shown);
    pl__rb_put(b, " of ");
    pl__rb_count(b, total);
    pl__rb_put(b, " metadata entries.</p>");
  }
  pl__rb_put(b, "</section>");
}

static void section_storage(struct rb *b, const pl_report *r) {
  const pl_report_storage *st = &r->storage;
  pl__rb_put(b, "<section id=\"storage\"><h2>Storage</h2>");
  if (!st->available) {
    pl__rb_put(b, "<p class=\"muted\">Not measured for this view.</p></section>");
    return;
  }
  uint64_t total = 0;
  for (int k = 0; k < PL_REPORT_KIND_COUNT; k++) total += st->kinds[k];
  if (!total) total = 1;
  pl__rb_put(b, "<p class=\"muted\">Where the file's bytes go, by record kind");
  pl__rb_put(b, st->partial ? " (the file ends early or is damaged: measured up to there)"
                            : (r->stats.storage_from_summary ? " (from the summary's indexes)"
                                                             : " (one pass over the records)"));
  pl__rb_put(b, ".</p><svg class=\"bytes\" viewBox=\"0 0 1000 28\" preserveAspectRatio=\"none\" "
                "role=\"img\" aria-label=\"bytes by record kind\">");
  double x = 0;
  for (int k = 0; k < PL_REPORT_KIND_COUNT; k++) {
    if (!st->kinds[k]) continue;
    double w = (double)st->kinds[k] / (double)total * 1000.0;
    pl__rb_printf(b, "<rect x=\"%.2f\" y=\"0\" width=\"%.2f\" height=\"28\" fill=\"%s\"><title>%s",
                  x, w, kind_colors[k], kind_names[k]);
    pl__rb_put(b, ": ");
    pl__rb_bytes(b, st->kinds[k]);
    pl__rb_put(b, "</title></rect>");
    x += w;
  }
  pl__rb_put(b, "</svg><div class=\"scroll\"><table><thead><tr><th>kind</th>"
                "<th class=\"n\">bytes</th><th class=\"n\">share</th></tr></thead><tbody>");
  for (int k = 0; k < PL_REPORT_KIND_COUNT; k++) {
    pl__rb_printf(b, "<tr><td><span class=\"sw\" style=\"background:%s\"></span>%s</td>"
                     "<td class=\"n\">",
                  kind_colors[k], kind_names[k]);
    pl__rb_bytes(b, st->kinds[k]);
    pl__rb_printf(b, "</td><td class=\"n\">%.1f %%</td></tr>",
                  (double)st->kinds[k] / (double)total * 100.0);
  }
  pl__rb_put(b, "</tbody></table></div>");
  pl__rb_put(b, "<h3>Chunks by compression</h3>");
  if (!st->n_comp) {
    pl__rb_put(b, "<p class=\"muted\">No chunks.</p></section>");
    return;
  }
  uint64_t widest = 1;
  for (size_t i = 0; i < st->n_comp; i++)
    if (st->comp[i].uncompressed > widest) widest = st->comp[i].uncompressed;
  pl__rb_put(b, "<div class=\"scroll\"><table><thead><tr><th>compression</th>"
                "<th class=\"n\">chunks</th><th class=\"n\">stored</th>"
                "<th class=\"n\">uncompressed</th><th class=\"n\">ratio</th>"
                "<th style=\"width:35%\">stored / uncompressed</th></tr></thead><tbody>");
  for (size_t i = 0; i < st->n_comp; i++) {
    const pl_report_compression *c = &st->comp[i];
    pl__rb_put(b, "<tr><td class=\"mono\">");
    if (c->name[0]) pl__rb_textz(b, c->name);
    else pl__rb_put(b, "none");
    pl__rb_put(b, "</td><td class=\"n\">");
    pl__rb_count(b, c->chunks);
    pl__rb_put(b, "</td><td class=\"n\">");
    pl__rb_bytes(b, c->stored);
    pl__rb_put(b, "</td><td class=\"n\">");
    pl__rb_bytes(b, c->uncompressed);
    if (c->stored)
      pl__rb_printf(b, "</td><td class=\"n\">%.2f\xC3\x97", (double)c->uncompressed /
                                                               (double)c->stored);
    else
      pl__rb_put(b, "</td><td class=\"n\">-");
    double ws = (double)c->stored / (double)widest * 100.0,
           wu = (double)c->uncompressed / (double)widest * 100.0;
    if (ws > 100) ws = 100;
    pl__rb_printf(b,
                  "</td><td><div class=\"bar\" title=\"stored\"><span style=\"width:%.1f%%\">"
                  "</span></div><div class=\"bar\" title=\"uncompressed\" style=\"margin-top:2px\">"
                  "<span style=\"width:%.1f%%;background:#9dbcf2\"></span></div></td></tr>",
                  ws, wu);
  }
  pl__rb_put(b, "</tbody></table></div><p class=\"muted\">Largest chunk: ");
  pl__rb_bytes(b, st->largest_chunk);
  pl__rb_put(b, " uncompressed.</p></section>");
}

static void section_findings(struct rb *b, const pl_report *r, size_t max) {
  const pl_recording_index *ix = r->ix;
  size_t errors = 0, warnings = 0;
  for (size_t i = 0; i < ix->n_problems; i++) {
    errors += ix->problems[i].severity == PL_SEV_ERROR;
    warnings += ix->problems[i].severity == PL_SEV_WARNING;
  }
  pl__rb_printf(b, "<section id=\"findings\"><h2>Findings (%zu)</h2>", ix->n_problems);
  if (r->ix->path && !r->stats.doctor_ran)
    pl__rb_put(b, "<p class=\"muted\">The doctor's full check did not run (the report read only "
                  "the summary and indexes); <code>mcapkit report --doctor</code> or "
                  "<code>mcapkit doctor</code> checks every chunk.</p>");
  if (!ix->n_problems) {
    pl__rb_put(b, r->stats.doctor_ran || !r->ix->path
                      ? "<p class=\"ok\">No problems found.</p></section>"
                      : "<p class=\"ok\">Indexing found no problems.</p></section>");
    return;
  }
  pl__rb_printf(b, "<p>%zu error%s, %zu warning%s.</p>", errors, errors == 1 ? "" : "s",
                warnings, warnings == 1 ? "" : "s");
  size_t n = ix->n_problems < max ? ix->n_problems : max;
  if (n < ix->n_problems) {
    pl__rb_put(b, "<p class=\"note\">Showing the first ");
    pl__rb_count(b, n);
    pl__rb_put(b, " findings.</p>");
  }
  pl__rb_put(b, "<div class=\"scroll\"><table><thead><tr><th>severity</th><th>code</th>"
                "<th class=\"n\">offset</th><th>message</th></tr></thead><tbody>");
  for (size_t i = 0; i < n && !b->status; i++) {
    const pl_finding *f = &ix->problems[i];
    const char *sev = pl_severity_name(f->severity);
    pl__rb_printf(b, "<tr><td class=\"sev-%s\">%s</td><td class=\"mono\">", sev, sev);
    pl__rb_text(b, f->code, strnlen(f->code, sizeof f->code));
    pl__rb_put(b, "</td><td class=\"n\">");
    if (f->offset != UINT64_MAX) pl__rb_count(b, f->offset);
    pl__rb_put(b, "</td><td>");
    pl__rb_text(b, f->message, strnlen(f->message, sizeof f->message));
    pl__rb_put(b, "</td></tr>");
  }
  pl__rb_put(b, "</tbody></table></div></section>");
}

void pl__report_html(struct rb *b, const pl_report *r, const pl_report_render_options *o,
                     const struct timeline *tl) {
  size_t max = o->max_table_rows ? o->max_table_rows : 1000;
  const char *title = o->title ? o->title : "Recording report";
  if (!o->fragment) {
    pl__rb_put(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                  "<meta name=\"generator\" content=\"mcapkit report\"><title>");
    pl__rb_textz(b, title);
    pl__rb_put(b, ": ");
    pl__rb_textz(b, base_name(r->ix->path));
    pl__rb_put(b, "</title><style>");
    pl__rb_put(b, page_css);
    pl__rb_put(b, "</style></head><body><main class=\"report\"><header><h1>");
    pl__rb_textz(b, title);
    pl__rb_put(b, "</h1><p class=\"sub\">");
    pl__rb_textz(b, r->ix->path);
    pl__rb_put(b, "</p></header>");
  } else {
    pl__rb_put(b, "<div class=\"report\">");
  }
  section_summary(b, r);
  section_timeline(b, r, tl);
  section_topics(b, r, max);
  section_attachments(b, r, o, max);
  section_metadata(b, r, max);
  section_storage(b, r);
  section_findings(b, r, max);
  if (!o->fragment) {
    pl__rb_printf(b, "<footer>Made by mcapkit (libmcap %s). Self-contained: no script, nothing "
                     "loaded from elsewhere.</footer></main></body></html>\n",
                  mcap_version_string());
  } else {
    pl__rb_put(b, "</div>");
  }
}
