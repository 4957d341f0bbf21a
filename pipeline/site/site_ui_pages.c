/*
 * site_ui_pages.c - the browser pages of the local site (site_ui.c routes
 * to them): recordings (filtered by device, time and import status, paged),
 * one recording (its summary, lake files and metadata, then pl_report's
 * timeline and tables as a fragment, attachments linked for download),
 * devices, pending imports with their errors, and the two downloads
 * (attachments, lake files), always as application/octet-stream so that no
 * uploaded content is ever shown by the browser as a page.
 *
 * Each page reads the store under its shared lock and renders while it
 * holds it, except the report fragment: the recording's index is copied
 * (through its JSON) and rendered after the lock is released.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/report.h"
#include "server_internal.h"
#include "site_ui.h"

#define UI_PAGE_ROWS 50
#define UI_MAX_PAGE_ROWS 500

static const char *param(const struct ui_ctx *x, const char *name) {
  const char *v = pl__srv_param(x->u->q, name);
  return v && v[0] ? v : NULL;
}

static const char *rec_name(const struct srv_recording *rec) {
  const char *p = rec->path ? rec->path : rec->id;
  return p;
}

static const char *device_name(struct srv_store *st, const char *id) {
  const struct srv_device *d = id ? pl__srv_device_by_id(st, id) : NULL;
  return d ? d->name : NULL;
}

/* ------------------------------------------------------------- recordings */

static int by_created_desc(const void *a, const void *b, void *ctx) {
  (void)ctx;
  const struct srv_recording *ra = a, *rb = b;
  int c = pl__srv_cmp_u64(ra->created, rb->created);
  return c ? c : pl__srv_cmp_str(ra->id, rb->id);
}

static void filter_link(struct ui_buf *b, const char *device, const char *start, const char *end,
                        const char *status, size_t limit, size_t offset) {
  pl__ui_printf(b, "/ui/recordings?offset=%zu&amp;limit=%zu", offset, limit);
  const char *names[] = {"device", "start", "end", "status"};
  const char *vals[] = {device, start, end, status};
  for (int i = 0; i < 4; i++) {
    if (!vals[i]) continue;
    pl__ui_printf(b, "&amp;%s=", names[i]);
    pl__ui_qval(b, vals[i]);
  }
}

void pl__ui_page_recordings(const struct ui_ctx *x, struct srv_resp *r) {
  if (!pl__ui_can(x, "recordings.list")) {
    pl__ui_fail(x, r, 403, "this API key lacks the 'recordings.list' capability");
    return;
  }
  const char *device = param(x, "device"), *start_s = param(x, "start"), *end_s = param(x, "end"),
             *status = param(x, "status"), *offset_s = param(x, "offset"),
             *limit_s = param(x, "limit");
  uint64_t start = 0, end = UINT64_MAX;
  char msg[160];
  if ((start_s && pl_parse_time(start_s, &start) != PL_OK) ||
      (end_s && pl_parse_time(end_s, &end) != PL_OK)) {
    snprintf(msg, sizeof msg, "'start' and 'end' are RFC 3339 times (2026-01-01T00:00:00Z)");
    pl__ui_fail(x, r, 400, msg);
    return;
  }
  int want_status = -1;
  if (status) {
    if (strcmp(status, "complete") == 0)
      want_status = REC_COMPLETE;
    else if (strcmp(status, "importing") == 0)
      want_status = REC_IMPORTING;
    else if (strcmp(status, "failed") == 0)
      want_status = REC_FAILED;
    else {
      pl__ui_fail(x, r, 400, "'status' is one of complete, importing, failed");
      return;
    }
  }
  size_t offset = 0, limit = UI_PAGE_ROWS;
  char *endp = NULL;
  if (offset_s) {
    errno = 0;
    unsigned long long v = strtoull(offset_s, &endp, 10);
    if (errno || *endp || offset_s[0] == '-' || v > 100000000ull) {
      pl__ui_fail(x, r, 400, "'offset' is a number of rows");
      return;
    }
    offset = (size_t)v;
  }
  if (limit_s) {
    errno = 0;
    unsigned long long v = strtoull(limit_s, &endp, 10);
    if (errno || *endp || v < 1 || v > UI_MAX_PAGE_ROWS) {
      pl__ui_fail(x, r, 400, "'limit' is 1 to 500 rows");
      return;
    }
    limit = (size_t)v;
  }
  struct srv_store *st = &x->u->srv->store;
  struct ui_buf b = {0};
  pl__ui_begin(&b, x, "Recordings", "recordings");
  pthread_rwlock_rdlock(&st->lock);
  const struct srv_device *dev = device ? pl__srv_device_find(st, device) : NULL;
  struct srv_recording **sel = calloc(st->recordings.n ? st->recordings.n : 1, sizeof *sel);
  size_t n = 0;
  for (size_t i = 0; sel && i < st->recordings.n; i++) {
    struct srv_recording *rec = st->recordings.items[i];
    if (device && (!dev || !rec->device_id || strcmp(rec->device_id, dev->id) != 0)) continue;
    if (want_status >= 0 && rec->status != want_status) continue;
    if (start_s || end_s) {
      if (!rec->index || !rec->index->has_messages) continue;
      if (rec->index->end < start || rec->index->start > end) continue;
    }
    sel[n++] = rec;
  }
  if (sel) pl__srv_sort((void **)sel, n, by_created_desc, NULL, 1);
  pl__ui_printf(&b, "<h1>Recordings</h1><p class=\"sub\">%zu of %zu recordings match.</p>", n,
                st->recordings.n);
  /* the filters: a plain GET form */
  pl__ui_put(&b,
             "<form class=\"filters\" method=\"get\" action=\"/ui/recordings\">"
             "<label>device (name or id)<input name=\"device\" value=\"");
  pl__ui_text(&b, device);
  pl__ui_put(&b,
             "\"></label><label>from (UTC)<input name=\"start\" "
             "placeholder=\"2026-01-01T00:00:00Z\" value=\"");
  pl__ui_text(&b, start_s);
  pl__ui_put(&b, "\"></label><label>to (UTC)<input name=\"end\" value=\"");
  pl__ui_text(&b, end_s);
  pl__ui_put(&b, "\"></label><label>import status<select name=\"status\">");
  const char *sts[] = {"", "complete", "importing", "failed"};
  for (int i = 0; i < 4; i++)
    pl__ui_printf(&b, "<option value=\"%s\"%s>%s</option>", sts[i],
                  (status ? strcmp(status, sts[i]) == 0 : i == 0) ? " selected" : "",
                  i ? sts[i] : "any");
  pl__ui_put(&b, "</select></label><button type=\"submit\">Filter</button></form>");
  if (device && !dev) {
    pl__ui_put(&b, "<p class=\"note\">No device is named or has the id '");
    pl__ui_text(&b, device);
    pl__ui_put(&b, "'.</p>");
  }
  pl__ui_put(&b,
             "<div class=\"scroll\"><table><thead><tr><th>file</th><th>device</th>"
             "<th>start</th><th>end</th><th class=\"n\">size</th><th class=\"n\">messages"
             "</th><th>status</th><th>uploaded</th></tr></thead><tbody>");
  size_t shown = 0;
  for (size_t i = offset; sel && i < n && shown < limit; i++, shown++) {
    const struct srv_recording *rec = sel[i];
    pl__ui_printf(&b, "<tr><td class=\"name\"><a href=\"/ui/recordings/%s\">", rec->id);
    pl__ui_text(&b, rec_name(rec));
    pl__ui_put(&b, "</a></td><td>");
    pl__ui_text(&b, device_name(st, rec->device_id));
    pl__ui_put(&b, "</td><td>");
    pl__ui_time(&b, rec->index && rec->index->has_messages ? rec->index->start : 0);
    pl__ui_put(&b, "</td><td>");
    pl__ui_time(&b, rec->index && rec->index->has_messages ? rec->index->end : 0);
    pl__ui_put(&b, "</td><td class=\"n\">");
    pl__ui_bytes(&b, rec->size);
    pl__ui_printf(&b, "</td><td class=\"n\">%llu</td>",
                  (unsigned long long)(rec->index ? rec->index->message_count : 0));
    const char *sn = pl__srv_rec_status_name(rec->status);
    pl__ui_printf(&b, "<td class=\"st-%s\">%s</td><td>", sn, sn);
    pl__ui_time(&b, rec->created);
    pl__ui_put(&b, "</td></tr>");
  }
  if (!shown) pl__ui_put(&b, "<tr><td colspan=\"8\" class=\"muted\">No recordings.</td></tr>");
  pl__ui_put(&b, "</tbody></table></div><p class=\"pager\">");
  if (offset > 0) {
    pl__ui_put(&b, "<a rel=\"prev\" href=\"");
    filter_link(&b, device, start_s, end_s, status, limit, offset > limit ? offset - limit : 0);
    pl__ui_put(&b, "\">&larr; newer</a>");
  }
  if (n)
    pl__ui_printf(&b, "<span class=\"muted\">%zu to %zu of %zu</span>", offset < n ? offset + 1 : n,
                  offset + shown, n);
  if (offset + shown < n) {
    pl__ui_put(&b, "<a rel=\"next\" href=\"");
    filter_link(&b, device, start_s, end_s, status, limit, offset + shown);
    pl__ui_put(&b, "\">older &rarr;</a>");
  }
  pl__ui_put(&b, "</p>");
  pthread_rwlock_unlock(&st->lock);
  free(sel);
  if (!sel) b.failed = 1;
  pl__ui_end(&b);
  pl__ui_finish(&b, r, 200);
}

/* ------------------------------------------------------------- one recording */

struct att_link {
  uint64_t offset;
  char id[SRV_ID_LEN + 1];
};
struct att_links {
  struct att_link *v;
  size_t n;
  const pl_recording_index *ix;
};

/* The download link of the index's attachment i: the stored attachment at the same offset. */
static int att_href(void *ctx, size_t i, char *buf, size_t cap) {
  const struct att_links *l = ctx;
  if (!l->ix || i >= l->ix->n_attachments) return 1;
  for (size_t k = 0; k < l->n; k++)
    if (l->v[k].offset == l->ix->attachments[i].offset) {
      snprintf(buf, cap, "/ui/attachments/%s", l->v[k].id);
      return 0;
    }
  return 1;
}

void pl__ui_page_recording(const struct ui_ctx *x, const char *id, struct srv_resp *r) {
  if (!pl__ui_can(x, "recordings.list")) {
    pl__ui_fail(x, r, 403, "this API key lacks the 'recordings.list' capability");
    return;
  }
  struct srv_store *st = &x->u->srv->store;
  struct ui_buf b = {0};
  char *json = NULL;
  struct att_links links = {0};
  char *dev_copy = NULL;
  pthread_rwlock_rdlock(&st->lock);
  const struct srv_recording *rec = pl__srv_valid_id(id) ? pl__srv_rec_by_id(st, id) : NULL;
  if (!rec) {
    pthread_rwlock_unlock(&st->lock);
    pl__ui_fail(x, r, 404, "no such recording");
    return;
  }
  pl__ui_begin(&b, x, rec_name(rec), "recordings");
  pl__ui_put(&b, "<h1>");
  pl__ui_text(&b, rec_name(rec));
  pl__ui_printf(&b, "</h1><p class=\"sub\">recording %s</p><dl class=\"kv\">", rec->id);
  const char *sn = pl__srv_rec_status_name(rec->status);
  pl__ui_printf(&b, "<dt>import status</dt><dd class=\"st-%s\">%s</dd><dt>device</dt><dd>", sn, sn);
  const char *dn = device_name(st, rec->device_id);
  dev_copy = dn ? pl__srv_strdup(dn) : NULL;
  if (dn) {
    pl__ui_printf(&b, "<a href=\"/ui/recordings?device=%s\">", rec->device_id);
    pl__ui_text(&b, dn);
    pl__ui_put(&b, "</a>");
  }
  pl__ui_put(&b, "</dd><dt>key</dt><dd class=\"mono\">");
  pl__ui_text(&b, rec->key);
  pl__ui_put(&b, "</dd><dt>uploaded size</dt><dd>");
  pl__ui_bytes(&b, rec->size);
  pl__ui_printf(&b, " (%llu bytes)</dd><dt>uploaded</dt><dd>", (unsigned long long)rec->size);
  pl__ui_time(&b, rec->created);
  pl__ui_put(&b, "</dd><dt>imported</dt><dd>");
  pl__ui_time(&b, rec->imported);
  pl__ui_put(&b, "</dd><dt>content hash</dt><dd class=\"mono\">");
  pl__ui_text(&b, rec->content_hash);
  pl__ui_put(&b, "</dd></dl>");
  /* lake files */
  pl__ui_printf(&b, "<section id=\"lake\"><h2>Lake files (%zu)</h2>", rec->n_lake);
  if (rec->n_lake) {
    int can = pl__ui_can(x, "lakeFiles.list");
    pl__ui_put(&b,
               "<div class=\"scroll\"><table><thead><tr><th>file</th><th>topics</th></tr>"
               "</thead><tbody>");
    for (size_t i = 0; i < rec->n_lake; i++) {
      const struct srv_lakefile *f = &rec->lake[i];
      pl__ui_put(&b, "<tr><td class=\"name\">");
      if (can) pl__ui_printf(&b, "<a href=\"/ui/lake/%s/%zu\" download>", rec->id, i);
      pl__ui_text(&b, f->path);
      if (can) pl__ui_put(&b, "</a>");
      pl__ui_put(&b, "</td><td class=\"name\">");
      for (size_t t = 0; t < f->n_topics; t++) {
        if (t) pl__ui_put(&b, ", ");
        pl__ui_text(&b, f->topics[t]);
      }
      pl__ui_put(&b, "</td></tr>");
    }
    pl__ui_put(&b, "</tbody></table></div>");
  } else {
    pl__ui_put(&b, "<p class=\"muted\">None (yet).</p>");
  }
  pl__ui_put(&b, "</section>");
  /* what the report needs, copied out of the lock */
  if (rec->index) {
    pl_error_info e;
    if (pl_index_to_json(rec->index, &json, &e) != PL_OK) json = NULL;
  }
  if (pl__ui_can(x, "recordingAttachments.download") && rec->n_atts) {
    links.v = calloc(rec->n_atts, sizeof *links.v);
    for (size_t i = 0; links.v && i < rec->n_atts; i++) {
      links.v[links.n].offset = rec->atts[i].offset;
      snprintf(links.v[links.n].id, sizeof links.v[0].id, "%s", rec->atts[i].id);
      links.n++;
    }
  }
  pthread_rwlock_unlock(&st->lock);

  pl_recording_index *ix = NULL;
  pl_error_info e;
  if (json && pl_index_from_json(json, strlen(json), &ix, &e) != PL_OK) ix = NULL;
  free(json);
  if (ix) {
    /* the index was made from the inbox file: the page's title names the upload, and the
     * report says it was drawn from a stored index (no path); the site knows the device */
    free(ix->path);
    ix->path = NULL;
    if (!ix->device_name && dev_copy) {
      ix->device_name = dev_copy;
      dev_copy = NULL;
    }
  }
  pl_report *rep = NULL;
  if (ix && pl_report_create(&rep) == PL_REPORT_OK &&
      pl_report_set_index(rep, ix) == PL_REPORT_OK) {
    links.ix = pl_report_index(rep);
    pl_report_render_options ro;
    memset(&ro, 0, sizeof ro);
    ro.fragment = 1;
    ro.attachment_href = att_href;
    ro.href_ctx = &links;
    char *frag = NULL;
    size_t flen = 0;
    if (pl_report_render(rep, PL_REPORT_HTML, &ro, &frag, &flen) == PL_REPORT_OK) {
      pl__ui_putn(&b, frag, flen);
    } else {
      pl__ui_put(&b, "<p class=\"err\">");
      pl__ui_text(&b, pl_report_errmsg(rep));
      pl__ui_put(&b, "</p>");
    }
    free(frag);
  } else {
    if (!rep) pl_recording_index_free(ix);
    pl__ui_put(&b, "<p class=\"muted\">No index: the recording is not imported.</p>");
  }
  pl_report_free(rep);
  free(links.v);
  free(dev_copy);
  pl__ui_end(&b);
  pl__ui_finish(&b, r, 200);
}

/* ------------------------------------------------------------- devices */

void pl__ui_page_devices(const struct ui_ctx *x, struct srv_resp *r) {
  if (!pl__ui_can(x, "devices.list")) {
    pl__ui_fail(x, r, 403, "this API key lacks the 'devices.list' capability");
    return;
  }
  struct srv_store *st = &x->u->srv->store;
  struct ui_buf b = {0};
  pl__ui_begin(&b, x, "Devices", "devices");
  pthread_rwlock_rdlock(&st->lock);
  pl__ui_printf(&b, "<h1>Devices</h1><p class=\"sub\">%zu devices.</p>", st->devices.n);
  pl__ui_put(&b,
             "<div class=\"scroll\"><table><thead><tr><th>name</th><th>id</th>"
             "<th class=\"n\">recordings</th><th>properties</th><th>created</th></tr>"
             "</thead><tbody>");
  for (size_t i = 0; i < st->devices.n; i++) {
    const struct srv_device *d = st->devices.items[i];
    size_t nrec = 0;
    for (size_t k = 0; k < st->recordings.n; k++) {
      const struct srv_recording *rec = st->recordings.items[k];
      if (rec->device_id && strcmp(rec->device_id, d->id) == 0) nrec++;
    }
    pl__ui_printf(&b, "<tr><td class=\"name\"><a href=\"/ui/recordings?device=%s\">", d->id);
    pl__ui_text(&b, d->name);
    pl__ui_printf(&b,
                  "</a></td><td class=\"mono\">%s</td><td class=\"n\">%zu</td>"
                  "<td class=\"mono\">",
                  d->id, nrec);
    if (d->properties && json_object_object_length(d->properties) > 0)
      pl__ui_text(&b, json_object_to_json_string_ext(d->properties, JSON_C_TO_STRING_PLAIN));
    pl__ui_put(&b, "</td><td>");
    pl__ui_time(&b, d->created);
    pl__ui_put(&b, "</td></tr>");
  }
  if (!st->devices.n) pl__ui_put(&b, "<tr><td colspan=\"5\" class=\"muted\">No devices.</td></tr>");
  pthread_rwlock_unlock(&st->lock);
  pl__ui_put(&b, "</tbody></table></div>");
  pl__ui_end(&b);
  pl__ui_finish(&b, r, 200);
}

/* ------------------------------------------------------------- pending imports */

void pl__ui_page_imports(const struct ui_ctx *x, struct srv_resp *r) {
  if (!pl__ui_can(x, "pendingImports.list")) {
    pl__ui_fail(x, r, 403, "this API key lacks the 'pendingImports.list' capability");
    return;
  }
  struct srv_store *st = &x->u->srv->store;
  struct ui_buf b = {0};
  pl__ui_begin(&b, x, "Pending imports", "imports");
  pthread_rwlock_rdlock(&st->lock);
  size_t n = 0;
  for (size_t i = 0; i < st->imports.n; i++) {
    const struct srv_import *m = st->imports.items[i];
    if (m->status != IMP_AWAITING && m->status != IMP_COMPLETE) n++;
  }
  pl__ui_printf(&b,
                "<h1>Pending imports</h1><p class=\"sub\">%zu uploads not imported "
                "(received, processing, or failed with an error).</p>",
                n);
  pl__ui_put(&b,
             "<div class=\"scroll\"><table><thead><tr><th>file</th><th>device</th>"
             "<th>status</th><th>stage</th><th>error</th><th class=\"n\">size</th>"
             "<th>updated</th></tr></thead><tbody>");
  size_t shown = 0;
  for (size_t i = 0; i < st->imports.n && shown < 1000; i++) {
    const struct srv_import *m = st->imports.items[i];
    if (m->status == IMP_AWAITING || m->status == IMP_COMPLETE) continue;
    shown++;
    pl__ui_put(&b, "<tr><td class=\"name\">");
    pl__ui_text(&b, m->filename);
    pl__ui_printf(&b, "<div class=\"muted mono\">%s</div></td><td>", m->request_id);
    pl__ui_text(&b, m->device_name ? m->device_name : device_name(st, m->device_id));
    const char *sn = pl__srv_imp_status_name(m->status);
    pl__ui_printf(&b, "</td><td class=\"st-%s\">", m->status == IMP_ERROR ? "error" : "received");
    pl__ui_text(&b, sn);
    if (m->quarantined) pl__ui_put(&b, " (quarantined)");
    pl__ui_put(&b, "</td><td>");
    pl__ui_text(&b, m->stage);
    pl__ui_put(&b, "</td><td>");
    pl__ui_text(&b, m->error);
    pl__ui_put(&b, "</td><td class=\"n\">");
    pl__ui_bytes(&b, m->size);
    pl__ui_put(&b, "</td><td>");
    pl__ui_time(&b, m->updated);
    pl__ui_put(&b, "</td></tr>");
  }
  if (!shown) pl__ui_put(&b, "<tr><td colspan=\"7\" class=\"muted\">None.</td></tr>");
  pthread_rwlock_unlock(&st->lock);
  pl__ui_put(&b, "</tbody></table></div>");
  pl__ui_end(&b);
  pl__ui_finish(&b, r, 200);
}

/* ------------------------------------------------------------- downloads */

/* A file name for Content-Disposition: [A-Za-z0-9._-], the rest as '_'. */
static void safe_name(const char *in, char *out, size_t cap, const char *dflt) {
  size_t k = 0;
  for (const char *p = in ? in : ""; *p && k + 1 < cap; p++) {
    char c = *p;
    out[k++] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '-' || c == '_')
                   ? c
                   : '_';
  }
  out[k] = 0;
  if (!k || out[0] == '.') snprintf(out, cap, "%s", dflt);
}

static void send_file(const struct ui_ctx *x, struct srv_resp *r, const char *path,
                      const char *name) {
  int fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    if (fd >= 0) close(fd);
    pl__ui_fail(x, r, 404, "the file is not stored (any more)");
    return;
  }
  r->status = 200;
  r->kind = RESP_FILE;
  r->fd = fd;
  r->size = (uint64_t)sb.st_size;
  r->html = 1; /* the page headers (nosniff above all) */
  r->content_type = "application/octet-stream";
  r->disposition = pl__srv_printf("attachment; filename=\"%s\"", name);
}

void pl__ui_get_attachment(const struct ui_ctx *x, const char *id, struct srv_resp *r) {
  if (!pl__ui_can(x, "recordingAttachments.download")) {
    pl__ui_fail(x, r, 403, "this API key lacks the 'recordingAttachments.download' capability");
    return;
  }
  struct srv_store *st = &x->u->srv->store;
  char name[128];
  pthread_rwlock_rdlock(&st->lock);
  struct srv_recording *rec = NULL;
  struct srv_attachment *a = pl__srv_valid_id(id) ? pl__srv_att_find(st, id, &rec) : NULL;
  char *path = a ? pl__srv_att_path(st, rec->id, a->id) : NULL;
  if (a) safe_name(a->name, name, sizeof name, "attachment");
  pthread_rwlock_unlock(&st->lock);
  if (!a) {
    pl__ui_fail(x, r, 404, "no such attachment");
    return;
  }
  send_file(x, r, path, name);
  free(path);
}

void pl__ui_get_lake_file(const struct ui_ctx *x, const char *rec_id, const char *n,
                          struct srv_resp *r) {
  if (!pl__ui_can(x, "lakeFiles.list")) {
    pl__ui_fail(x, r, 403, "this API key lacks the 'lakeFiles.list' capability");
    return;
  }
  char *endp = NULL;
  errno = 0;
  unsigned long long k = strtoull(n, &endp, 10);
  struct srv_store *st = &x->u->srv->store;
  char name[128];
  char *path = NULL;
  pthread_rwlock_rdlock(&st->lock);
  const struct srv_recording *rec = pl__srv_valid_id(rec_id) ? pl__srv_rec_by_id(st, rec_id) : NULL;
  int ok = rec && !errno && n[0] >= '0' && n[0] <= '9' && !*endp && k < rec->n_lake &&
           rec->lake[k].path && !strstr(rec->lake[k].path, "..");
  if (ok) {
    const char *base = strrchr(rec->lake[k].path, '/');
    safe_name(base ? base + 1 : rec->lake[k].path, name, sizeof name, "lake.mcap");
    path = pl__srv_printf("%s/%s", st->lake_dir, rec->lake[k].path);
  }
  pthread_rwlock_unlock(&st->lock);
  if (!ok) {
    pl__ui_fail(x, r, 404, "no such lake file");
    return;
  }
  send_file(x, r, path, name);
  free(path);
}
