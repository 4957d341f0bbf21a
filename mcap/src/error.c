/*
 * error.c - status code texts and the helpers that fill mcap_error_info.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *mcap_strerror(int code) {
  switch (code) {
    case MCAP_OK: return "success";
    case MCAP_ITEROVER: return "end of iteration";
    case MCAP_EINVAL: return "invalid argument";
    case MCAP_ENOMEM: return "out of memory";
    case MCAP_EIO: return "I/O error";
    case MCAP_EMAGIC: return "bad magic";
    case MCAP_ETRUNCATED: return "truncated input";
    case MCAP_ERECORD: return "malformed record";
    case MCAP_EOPCODE: return "unexpected opcode";
    case MCAP_ECRC: return "CRC mismatch";
    case MCAP_ECOMPRESSION: return "unsupported compression";
    case MCAP_EDECOMPRESS: return "decompression failed";
    case MCAP_EDECOMPRESS_SIZE: return "decompressed size mismatch";
    case MCAP_ELIMIT: return "safety limit exceeded";
    case MCAP_ESCHEMA_ID: return "bad schema id";
    case MCAP_ECHANNEL_ID: return "bad channel id";
    case MCAP_EFOOTER: return "bad or missing footer";
    case MCAP_ESTATE: return "call not valid in this state";
    case MCAP_EUNSUPPORTED: return "operation not supported";
    case MCAP_ECHUNK_OFFSET: return "index points at the wrong place";
    case MCAP_ECOMPRESS: return "compression failed";
    case MCAP_EINDEX: return "index inconsistent with data";
    default: return "unknown error";
  }
}

int mcap__verr(mcap_error_info *err, int code, uint64_t offset, const char *fmt, va_list ap) {
  if (err) {
    err->code = code;
    err->offset = offset;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  }
  return code;
}

int mcap__err(mcap_error_info *err, int code, uint64_t offset, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mcap__verr(err, code, offset, fmt, ap);
  va_end(ap);
  return code;
}
