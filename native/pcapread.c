/*
 * pcapread: reads a chunk of a classic pcap file and finds its whole records, in libuv's thread
 * pool, for a file replay (src/capture/pcapfile.ts).
 *
 * Finding where the last whole record of a chunk ends means following the record headers
 * one after the other: a chain of dependent loads, each on a line the read has just written.
 * Done by the JavaScript thread, right after another thread's read, each load waited for a
 * line held by the other core: about a tenth of a replay's main thread. Done here, by the
 * thread that read the chunk, the lines are still in its cache, and the main thread only takes
 * the result.
 *
 *   readRecords(fd, dst, position, maxRecords, bigEndian, maxCaplen[, prefix])
 *     -> Promise<{ bytesRead, records, bytes, corrupt }>
 *
 * Reads up to dst.length bytes at `position` into `dst` (a Uint8Array, typically a view of a
 * WebAssembly memory), then counts the whole records at its start: at most `maxRecords`, each
 * a 16-byte header whose captured length (bytes 8-11, in the file's byte order) is followed by
 * as many bytes. `records` and `bytes` are what was found; `corrupt` is the index of the first
 * record whose captured length exceeds `maxCaplen` (-1 when none; counting stops there).
 *
 * `position` -1 reads a stream (a pipe, a FIFO, stdin) in order, after the `prefix` bytes the
 * caller left at the start of `dst` (what the last read gave past its whole records); then
 * `bytesRead` counts them too. A stream is read until `dst` is full, or until a record is whole
 * and the stream has had nothing more for STREAM_WAIT_MS: a slow writer's packets are not held
 * back, a fast one's still come in large chunks. The exported `readRecordsInOrder` (true) says
 * this build can.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "napi-helpers.h"

#define PCAP_RECORD_HEADER 16
/* How long a stream may be silent before the whole records read so far are handed over. */
#define STREAM_WAIT_MS 2

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref dst_ref;
  int fd;
  uint8_t *dst;
  size_t length;
  int64_t position; /* < 0: a stream, read in order */
  size_t prefix;    /* bytes already at the start of dst (a stream) */
  uint32_t max_records;
  int big_endian;
  uint32_t max_caplen;
  /* Results. */
  int error;
  size_t bytes_read;
  uint32_t records;
  size_t bytes;
  int64_t corrupt;
} read_t;

static uint32_t caplen_at(const uint8_t *p, int big_endian) {
  uint32_t v;
  memcpy(&v, p + 8, 4);
  return big_endian ? __builtin_bswap32(v) : v;
}

/* Whether the first `got` bytes of dst hold a whole record, or a corrupt header (no use waiting). */
static int first_record_whole(const read_t *r, size_t got) {
  if (got < PCAP_RECORD_HEADER) return 0;
  uint32_t caplen = caplen_at(r->dst, r->big_endian);
  return caplen > r->max_caplen || PCAP_RECORD_HEADER + (size_t)caplen <= got;
}

/* Waits until fd can be read (or `timeout_ms` passes); > 0 when it can. */
static int wait_readable(int fd, int timeout_ms) {
  struct pollfd p = { .fd = fd, .events = POLLIN };
  int k;
  do k = poll(&p, 1, timeout_ms); while (k < 0 && errno == EINTR);
  return k;
}

/* Fills dst from a stream; returns the bytes dst holds, prefix included, or -1 (r->error set). */
static ssize_t read_stream(read_t *r) {
  size_t got = r->prefix;
  while (got < r->length) {
    ssize_t n = read(r->fd, r->dst + got, r->length - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      /* A descriptor someone left non-blocking: wait for data rather than fail. */
      if (errno == EAGAIN || errno == EWOULDBLOCK) { wait_readable(r->fd, -1); continue; }
      r->error = errno;
      return -1;
    }
    if (n == 0) break;
    got += (size_t)n;
    if (got < r->length && first_record_whole(r, got) && wait_readable(r->fd, STREAM_WAIT_MS) <= 0) break;
  }
  return (ssize_t)got;
}

static void execute(napi_env env, void *data) {
  (void)env;
  read_t *r = data;
  size_t got = 0;
  if (r->position < 0) {
    ssize_t n = read_stream(r);
    if (n < 0) return;
    got = (size_t)n;
  } else {
    while (got < r->length) {
      ssize_t n = pread(r->fd, r->dst + got, r->length - got, r->position + (int64_t)got);
      if (n < 0) {
        if (errno == EINTR) continue;
        r->error = errno;
        return;
      }
      if (n == 0) break;
      got += (size_t)n;
    }
  }
  r->bytes_read = got;
  size_t p = 0;
  uint32_t n = 0;
  r->corrupt = -1;
  while (n < r->max_records && p + PCAP_RECORD_HEADER <= got) {
    uint32_t caplen = caplen_at(r->dst + p, r->big_endian);
    if (caplen > r->max_caplen) {
      r->corrupt = n;
      break;
    }
    size_t next = p + PCAP_RECORD_HEADER + caplen;
    if (next > got) break;
    p = next;
    n++;
  }
  r->records = n;
  r->bytes = p;
}

static void complete(napi_env env, napi_status status, void *data) {
  read_t *r = data;
  if (status != napi_ok || r->error != 0) {
    reject_read(env, r->deferred, status, r->error);
  } else {
    napi_value out;
    napi_create_object(env, &out);
    set_number(env, out, "bytesRead", (double)r->bytes_read);
    set_number(env, out, "records", (double)r->records);
    set_number(env, out, "bytes", (double)r->bytes);
    set_number(env, out, "corrupt", (double)r->corrupt);
    napi_resolve_deferred(env, r->deferred, out);
  }
  napi_delete_reference(env, r->dst_ref);
  napi_delete_async_work(env, r->work);
  free(r);
}

static napi_value js_read_records(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) return fail(env, "readRecords(fd, dst, position, maxRecords, bigEndian, maxCaplen[, prefix])");
  int32_t fd;
  double position;
  uint32_t max_records, max_caplen;
  bool big_endian, is_typed;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return fail(env, "fd: a file descriptor");
  if (napi_is_typedarray(env, argv[1], &is_typed) != napi_ok || !is_typed) return fail(env, "dst: a Uint8Array");
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) return fail(env, "dst: a Uint8Array");
  if (napi_get_value_double(env, argv[2], &position) != napi_ok || (position < 0 && position != -1)) return fail(env, "position: a file offset, or -1 (a stream)");
  if (napi_get_value_uint32(env, argv[3], &max_records) != napi_ok) return fail(env, "maxRecords: a count");
  if (napi_get_value_bool(env, argv[4], &big_endian) != napi_ok) return fail(env, "bigEndian: a boolean");
  if (napi_get_value_uint32(env, argv[5], &max_caplen) != napi_ok) return fail(env, "maxCaplen: a length");
  uint32_t prefix = 0;
  napi_valuetype prefix_type = napi_undefined;
  if (argc > 6 && napi_typeof(env, argv[6], &prefix_type) == napi_ok && prefix_type != napi_undefined) {
    if (napi_get_value_uint32(env, argv[6], &prefix) != napi_ok || prefix > length) return fail(env, "prefix: bytes at the start of dst");
    if (prefix > 0 && position >= 0) return fail(env, "prefix: only with position -1 (a stream)");
  }
  read_t *r = calloc(1, sizeof *r);
  if (!r) return fail(env, "out of memory");
  r->fd = fd;
  r->dst = data;
  r->length = length;
  r->position = (int64_t)position;
  r->prefix = prefix;
  r->max_records = max_records;
  r->big_endian = big_endian;
  r->max_caplen = max_caplen;
  /* Holds dst (and its buffer) until the read completes. */
  napi_create_reference(env, argv[1], 1, &r->dst_ref);
  return queue_work(env, "pcapReadRecords", execute, complete, r, &r->work, &r->deferred);
}

void pcapread_register(napi_env env, napi_value exports) {
  napi_value yes;
  export_function(env, exports, "readRecords", js_read_records);
  napi_get_boolean(env, true, &yes);
  napi_set_named_property(env, exports, "readRecordsInOrder", yes);
}
