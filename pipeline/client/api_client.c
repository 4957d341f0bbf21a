/*
 * api_client.c - the Foxglove API's resources over a pl_http handle: every
 * list fetched completely (pages of 2000 with limit/offset until a short
 * page, as the API documents it), single resources by key or id, deletes,
 * upload and export links, and the attachment download that follows the
 * 302 to its signed link without the key and checks size and CRC (the CRC
 * of an MCAP Attachment record covers its fields and the data, so it is
 * recomputed from the listed name, media type and times plus the bytes).
 *
 * Paging is by offset, so items added or removed while a long list is read
 * can shift pages; ids seen twice are not filtered here (the API gives no
 * cursor). Lists that do not page (lake files) take one request.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_internal.h"
#include "pipeline/core.h"

const char *pl_api_kind_path(pl_api_kind kind, int *pages) {
  int p = 1;
  const char *path = "/v1/recordings";
  switch (kind) {
    case PL_API_RECORDINGS:
      path = "/v1/recordings";
      break;
    case PL_API_PENDING_IMPORTS:
      path = "/v1/data/pending-imports";
      break;
    case PL_API_ATTACHMENTS:
      path = "/v1/recording-attachments";
      break;
    case PL_API_TOPICS:
      path = "/v1/data/topics";
      break;
    case PL_API_COVERAGE:
      path = "/v1/data/coverage";
      break;
    case PL_API_LAKE_FILES:
      path = "/v1/lake-files";
      p = 0;
      break;
    case PL_API_DEVICES:
      path = "/v1/devices";
      break;
  }
  if (pages) *pages = p;
  return path;
}

int pl_api_list_all(pl_http *h, pl_api_kind kind, const pl_param *params, size_t n_params,
                    size_t max_items, pl_api_list *out, pl_error_info *err) {
  memset(out, 0, sizeof *out);
  out->kind = kind;
  int pages = 0;
  const char *base = pl_api_kind_path(kind, &pages);
  size_t offset = 0;
  for (;;) {
    size_t want = PL_API_PAGE_LIMIT;
    if (max_items && max_items - out->n < want) want = max_items - out->n;
    char *path = pl__build_path(base, params, n_params, pages, pages ? want : 0, offset);
    if (!path) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    pl_http_response r;
    int rc = pl_http_api(h, "GET", path, NULL, 0, &r, err);
    free(path);
    out->pages++;
    if (rc != PL_OK) {
      pl_http_response_dispose(&r);
      return rc;
    }
    size_t got = 0;
    rc = pl__api_parse_page(kind, r.body, r.len, out, &got, err);
    pl_http_response_dispose(&r);
    if (rc != PL_OK) return rc;
    if (!pages || got < want) break;
    if (max_items && out->n >= max_items) break;
    offset += got;
  }
  return PL_OK;
}

/* "/v1/<collection>/<escaped id><suffix>" */
static char *item_path(const char *collection, const char *id, const char *suffix) {
  char *e = pl__url_escape(id);
  if (!e) return NULL;
  size_t n = strlen(collection) + strlen(e) + strlen(suffix) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s%s", collection, e, suffix);
  free(e);
  return p;
}

int pl_api_get_recording(pl_http *h, const char *key_or_id, pl_api_recording **out,
                         pl_error_info *err) {
  *out = NULL;
  if (!key_or_id || !*key_or_id)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "no recording key or id given");
  char *path = item_path("/v1/recordings", key_or_id, "");
  if (!path) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  pl_http_response r;
  int rc = pl_http_api(h, "GET", path, NULL, 0, &r, err);
  free(path);
  if (rc == PL_OK) rc = pl__api_parse_recording(r.body, r.len, out, err);
  pl_http_response_dispose(&r);
  return rc;
}

void pl_api_recording_free(pl_api_recording *r) {
  pl__api_recording_dispose(r);
  free(r);
}

void pl_api_attachment_free(pl_api_attachment *a) {
  pl__api_attachment_dispose(a);
  free(a);
}

void pl_api_device_free(pl_api_device *d) {
  pl__api_device_dispose(d);
  free(d);
}

int pl_api_delete_recording(pl_http *h, const char *key_or_id, char **deleted_id,
                            pl_error_info *err) {
  if (deleted_id) *deleted_id = NULL;
  char *path = item_path("/v1/recordings", key_or_id, "");
  if (!path) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  pl_http_response r;
  int rc = pl_http_api(h, "DELETE", path, NULL, 0, &r, err);
  free(path);
  if (rc == PL_OK && deleted_id && r.body)
    rc = pl__api_parse_string_field(r.body, r.len, "recordingId", deleted_id, err);
  pl_http_response_dispose(&r);
  return rc;
}

int pl_api_get_attachment(pl_http *h, const char *id, pl_api_attachment **out, pl_error_info *err) {
  *out = NULL;
  char *path = item_path("/v1/recording-attachments", id, "");
  if (!path) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  pl_http_response r;
  int rc = pl_http_api(h, "GET", path, NULL, 0, &r, err);
  free(path);
  if (rc == PL_OK) rc = pl__api_parse_attachment(r.body, r.len, out, err);
  pl_http_response_dispose(&r);
  return rc;
}

/* The CRC an MCAP Attachment record stores: CRC-32 over the record's fields
 * before it (log_time, create_time, name, media_type, data length, data), so
 * the download is checked against the record together with the listed fields.
 * The data is read back from `fd` in pieces. */
static void put_le(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static int attachment_crc(int fd, const pl_api_attachment *a, uint32_t *crc, uint64_t *size) {
  struct stat sb;
  if (fstat(fd, &sb) != 0 || lseek(fd, 0, SEEK_SET) < 0) return -1;
  uint64_t n = (uint64_t)sb.st_size;
  const char *name = a->name ? a->name : "", *media = a->media_type ? a->media_type : "";
  uint8_t head[16];
  put_le(head, a->log_time, 8);
  put_le(head + 8, a->create_time, 8);
  uint32_t c = mcap_crc32(0, head, 16);
  put_le(head, strlen(name), 4);
  c = mcap_crc32(c, head, 4);
  c = mcap_crc32(c, name, strlen(name));
  put_le(head, strlen(media), 4);
  c = mcap_crc32(c, head, 4);
  c = mcap_crc32(c, media, strlen(media));
  put_le(head, n, 8);
  c = mcap_crc32(c, head, 8);
  uint8_t buf[1 << 16];
  uint64_t got = 0;
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    c = mcap_crc32(c, buf, (size_t)r);
    got += (uint64_t)r;
  }
  if (got != n) return -1;
  *crc = c;
  *size = n;
  return 0;
}

int pl_api_download_attachment(pl_http *h, const char *id, const char *path, pl_error_info *err) {
  pl_api_attachment *a = NULL;
  int rc = pl_api_get_attachment(h, id, &a, err);
  if (rc != PL_OK) return rc;
  char *api_path = item_path("/v1/recording-attachments", id, "/download");
  if (!api_path) {
    pl_api_attachment_free(a);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  pl_http_response r;
  rc = pl_http_api(h, "GET", api_path, NULL, PL_HTTP_NO_REDIRECT, &r, err);
  free(api_path);
  char *link = NULL;
  if (rc == PL_OK) {
    if (r.status >= 300 && r.status < 400 && r.location) {
      link = r.location;
      r.location = NULL;
    } else if (r.status == 200 && r.body) {
      /* some sites answer with {"link": ...} instead of redirecting */
      pl__api_parse_string_field(r.body, r.len, "link", &link, NULL);
    }
    if (!link)
      rc = pl_error_set(err, PL_EHTTP, UINT64_MAX,
                        "GET /v1/recording-attachments/%s/download: HTTP %ld without a link", id,
                        r.status);
  }
  pl_http_response_dispose(&r);
  if (rc != PL_OK) {
    pl_api_attachment_free(a);
    return rc;
  }
  size_t tl = strlen(path) + 16;
  char *tmp = malloc(tl);
  if (!tmp) {
    free(link);
    pl_api_attachment_free(a);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  snprintf(tmp, tl, "%s.part", path);
  int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    rc = pl_error_set_errno(err, errno, "cannot create '%s'", tmp);
  } else {
    /* the 302's link: followed without the key (pl_http_get_to_fd never sends it) */
    rc = pl_http_get_to_fd(h, link, fd, 1, NULL, NULL, NULL, NULL, err);
    uint32_t crc = 0;
    uint64_t size = 0;
    if (rc == PL_OK && attachment_crc(fd, a, &crc, &size) != 0)
      rc = pl_error_set_errno(err, errno, "cannot read back '%s'", tmp);
    if (rc == PL_OK && size != a->size)
      rc = pl_error_set(err, PL_EVERIFY, UINT64_MAX,
                        "attachment '%s': downloaded %llu bytes, the record says %llu", id,
                        (unsigned long long)size, (unsigned long long)a->size);
    if (rc == PL_OK && a->crc != 0 && crc != a->crc)
      rc = pl_error_set(err, PL_EVERIFY, UINT64_MAX,
                        "attachment '%s': CRC of the download is %u, the record says %u", id, crc,
                        a->crc);
    if (rc == PL_OK && fsync(fd) != 0) rc = pl_error_set_errno(err, errno, "cannot sync '%s'", tmp);
    if (close(fd) != 0 && rc == PL_OK)
      rc = pl_error_set_errno(err, errno, "cannot close '%s'", tmp);
    if (rc == PL_OK && rename(tmp, path) != 0)
      rc = pl_error_set_errno(err, errno, "cannot rename '%s' to '%s'", tmp, path);
    if (rc != PL_OK) unlink(tmp);
  }
  free(tmp);
  free(link);
  pl_api_attachment_free(a);
  return rc;
}

int pl_api_get_device(pl_http *h, const char *name_or_id, pl_api_device **out, pl_error_info *err) {
  *out = NULL;
  char *path = item_path("/v1/devices", name_or_id, "");
  if (!path) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  pl_http_response r;
  int rc = pl_http_api(h, "GET", path, NULL, 0, &r, err);
  free(path);
  if (rc == PL_OK) rc = pl__api_parse_device(r.body, r.len, out, err);
  pl_http_response_dispose(&r);
  return rc;
}

int pl_api_delete_device(pl_http *h, const char *name_or_id, pl_error_info *err) {
  char *path = item_path("/v1/devices", name_or_id, "");
  if (!path) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  pl_http_response r;
  int rc = pl_http_api(h, "DELETE", path, NULL, 0, &r, err);
  free(path);
  pl_http_response_dispose(&r);
  return rc;
}

int pl_api_create_device(pl_http *h, const char *name, char **id, pl_error_info *err) {
  *id = NULL;
  char *body = pl__api_device_body(name);
  if (!body) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  pl_http_response r;
  /* not repeated: a second POST after a lost reply would be a 409 */
  int rc = pl_http_api(h, "POST", "/v1/devices", body, 0, &r, err);
  free(body);
  if (rc == PL_OK) rc = pl__api_parse_string_field(r.body, r.len, "id", id, err);
  pl_http_response_dispose(&r);
  return rc;
}

int pl_api_upload_link(pl_http *h, const char *filename, const char *device_id,
                       const char *device_name, const char *key, char **link, char **request_id,
                       pl_error_info *err) {
  *link = NULL;
  *request_id = NULL;
  char *body = pl__api_upload_body(filename, device_id, device_name, key);
  if (!body) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  pl_http_response r;
  /* with a key, a repeated request cannot create a second recording */
  int rc = pl_http_api(h, "POST", "/v1/data/upload", body, key ? PL_HTTP_RETRY_POST : 0, &r, err);
  free(body);
  if (rc == PL_OK) rc = pl__api_parse_string_field(r.body, r.len, "link", link, err);
  if (rc == PL_OK) rc = pl__api_parse_string_field(r.body, r.len, "requestId", request_id, err);
  if (rc == PL_OK && (!*link || !*request_id))
    rc = pl_error_set(err, PL_EJSON, UINT64_MAX,
                      "POST /v1/data/upload: the response has no 'link' or 'requestId'");
  pl_http_response_dispose(&r);
  if (rc != PL_OK) {
    free(*link);
    free(*request_id);
    *link = *request_id = NULL;
  }
  return rc;
}

int pl_api_stream_link(pl_http *h, const pl_api_stream_request *req, char **link,
                       pl_error_info *err) {
  *link = NULL;
  char *body = pl__api_stream_body(req);
  if (!body) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  pl_http_response r;
  /* creating a link changes nothing on the server: safe to repeat */
  int rc = pl_http_api(h, "POST", "/v1/data/stream", body, PL_HTTP_RETRY_POST, &r, err);
  free(body);
  if (rc == PL_OK) rc = pl__api_parse_string_field(r.body, r.len, "link", link, err);
  if (rc == PL_OK && !*link)
    rc =
        pl_error_set(err, PL_EJSON, UINT64_MAX, "POST /v1/data/stream: the response has no 'link'");
  pl_http_response_dispose(&r);
  return rc;
}
