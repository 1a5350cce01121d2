/*
 * pcapshard: reads a classic pcap file and deals its records out to the flow tables of a
 * replay (src/capture/pcap-shards.ts, src/pipeline/replay.ts), in libuv's thread pool.
 *
 * With several tables, every packet has to reach the one table that holds its flows
 * (assembly/shard.ts: a symmetric hash of the first network layer's addresses). Done by the
 * first table's thread, that meant walking every record a second time after the read, on
 * lines another core had just written, and copying the others' records twice; on a machine
 * of two cores that thread's extra work cost more than the second table saved. Here the
 * thread that read a block places each record while the block is still in its cache: it
 * writes the record, as a batch record (the layout of native/pcapbatch.c), into the chunk
 * slot of the table it belongs to, marked BATCH_OWNED, so that table processes it without a
 * look. A record whose owner cannot be told from its first bytes here (not Ethernet, more
 * than two VLAN tags, IP options, fragments, ...) is written, unmarked, into every table's
 * slot, and each table's own shardOf decides: so the tables get their packets in file
 * order, and the C side only ever decides what the WASM side would decide the same way
 * (test/capture/pcap-shards.test.ts compares them record by record).
 *
 *   shardReaderOpen(fd, position, bigEndian, fracToNs, linkType, shards, maxCaplen) -> reader
 *   shardReaderRead(reader, slots, maxRecords, limitNs) -> Promise<{ records, bytes,
 *       shardBytes, shardRecords, firstTs, nextTs, corrupt, tooBig, tailBytes }>
 *
 * A read fills the slots (one Uint8Array per table) with the records from where the last one
 * stopped, and stops before the record that would not fit in what is left of a slot, the
 * one stamped at or after `limitNs` (a timer tick is due: the caller runs it between the two
 * chunks), after `maxRecords`, before a corrupt header (a captured length over `maxCaplen`) or
 * a record no slot can hold, or at the end of the file. `nextTs` is the stamp of the record it
 * stopped before (-1: none, or a record in error), `corrupt` and `tooBig` that record's
 * captured length when it is the first of the read (-1 otherwise), `tailBytes` the bytes of an incomplete last record at the end of the file.
 * `records` and `bytes` count what was consumed from the file, `shardRecords` and
 * `shardBytes` what each slot received (an undecided record counts in every slot). One read
 * at a time per reader; its buffer goes with the reader object.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "napi-helpers.h"

#define PCAP_HEADER 16
#define BATCH_HEADER 24
/* In a batch record's ifindex word (assembly/flow/feed.ts): the reader placed this record here. */
#define BATCH_OWNED 0x40000000u
#define LINKTYPE_ETHERNET 1
#define MAX_SHARDS 64
/* Bytes per read: a block stays in this core's cache while its records are placed. */
#define READ_BYTES (512u << 10)

typedef struct {
  int fd;
  int64_t pos;      /* file offset of buf[0] */
  uint8_t *buf;
  size_t cap, have, at; /* buf[at, have) not consumed yet */
  bool eof;
  bool busy;
  bool big_endian;
  uint32_t frac_to_ns, link_type, shards, max_caplen;
} reader_t;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref reader_ref, slots_ref;
  reader_t *r;
  uint8_t *slot[MAX_SHARDS];
  size_t slot_len[MAX_SHARDS];
  size_t min_slot;
  uint32_t max_records;
  int64_t limit_ns;
  /* Results. */
  int error;
  uint32_t records;
  uint64_t bytes;
  size_t used[MAX_SHARDS];
  uint32_t count[MAX_SHARDS];
  int64_t first_ts, next_ts, corrupt, too_big;
  size_t tail_bytes;
} read_t;

static uint32_t u32_at(const uint8_t *p, bool big_endian) {
  uint32_t v;
  memcpy(&v, p, 4);
  return big_endian ? __builtin_bswap32(v) : v;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* FNV-1a, as assembly/shard.ts. */
static uint32_t fnv(const uint8_t *p, uint32_t n) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

/*
 * The table of an Ethernet frame whose first network layer is a plain IPv4 or IPv6 header,
 * by the checks of assembly/flow/plain.ts readPlainFrame up to the IP header (so the decoder
 * takes that header as the first network layer, as shardOf would); -1 for any other frame.
 */
static int place(const uint8_t *d, uint32_t caplen, uint32_t shards) {
  if (caplen < 14) return -1;
  uint32_t off = 14;
  uint16_t type = be16(d + 12);
  for (int tags = 0; type == 0x8100 || type == 0x88a8; tags++) {
    if (tags == 2 || off + 4 > caplen) return -1;
    type = be16(d + off + 2);
    off += 4;
  }
  if (off >= caplen) return -1;
  const uint8_t *ip = d + off;
  uint32_t dlen = caplen - off, h;
  if (type == 0x0800) {
    if (dlen < 20) return -1;
    uint32_t length = be16(ip + 2);
    if (ip[0] != 0x45 || length <= 20 || length > dlen || (be16(ip + 6) & 0x3fff) != 0) return -1;
    h = fnv(ip + 12, 4) + fnv(ip + 16, 4);
  } else if (type == 0x86dd) {
    if (dlen < 40) return -1;
    uint32_t length = be16(ip + 4);
    if (ip[6] == 0 || length == 0 || length > dlen - 40) return -1;
    h = fnv(ip + 8, 16) + fnv(ip + 24, 16);
  } else {
    return -1;
  }
  return (int)((h >> 8) % shards);
}

/* Makes buf[at, at + need) hold file bytes; false when the file ends first. */
static bool ensure(reader_t *r, size_t need, int *error) {
  while (r->have - r->at < need) {
    if (r->eof) return false;
    if (r->at > 0) {
      memmove(r->buf, r->buf + r->at, r->have - r->at);
      r->pos += (int64_t)r->at;
      r->have -= r->at;
      r->at = 0;
    }
    size_t want = need > READ_BYTES ? need : READ_BYTES;
    if (want > r->cap) {
      uint8_t *bigger = realloc(r->buf, want);
      if (!bigger) { *error = ENOMEM; return false; }
      r->buf = bigger;
      r->cap = want;
    }
    ssize_t n = pread(r->fd, r->buf + r->have, r->cap - r->have, r->pos + (int64_t)r->have);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = errno;
      return false;
    }
    if (n == 0) r->eof = true;
    r->have += (size_t)n;
  }
  return true;
}

/* Bytes of a batch record of `caplen` captured bytes (its data padded to 8). */
static size_t record_size(uint32_t caplen) {
  return BATCH_HEADER + (((size_t)caplen + 7) & ~(size_t)7);
}

static bool fits(const read_t *t, uint32_t k, uint32_t caplen) {
  return t->used[k] + record_size(caplen) <= t->slot_len[k];
}

/* Appends the record to slot k, where it fits. */
static void put(read_t *t, uint32_t k, const uint8_t *hdr, int64_t ts, uint32_t caplen, uint32_t mark) {
  size_t size = record_size(caplen);
  uint8_t *o = t->slot[k] + t->used[k];
  uint32_t w[4] = { caplen, u32_at(hdr + 12, t->r->big_endian), t->r->link_type, mark };
  memcpy(o, &ts, 8);
  memcpy(o + 8, w, 16);
  memcpy(o + BATCH_HEADER, hdr + PCAP_HEADER, caplen);
  memset(o + BATCH_HEADER + caplen, 0, size - BATCH_HEADER - caplen);
  t->used[k] += size;
  t->count[k]++;
}

static void execute(napi_env env, void *data) {
  (void)env;
  read_t *t = data;
  reader_t *r = t->r;
  uint32_t n = r->shards;
  t->first_ts = t->next_ts = t->corrupt = t->too_big = -1;
  while (ensure(r, PCAP_HEADER, &t->error)) {
    const uint8_t *hdr = r->buf + r->at;
    uint32_t caplen = u32_at(hdr + 8, r->big_endian);
    if (caplen > r->max_caplen) { t->corrupt = caplen; return; }
    int64_t ts = (int64_t)u32_at(hdr, r->big_endian) * 1000000000 + (int64_t)u32_at(hdr + 4, r->big_endian) * r->frac_to_ns;
    /* A record no slot can hold is an error, once the records before it are delivered (and,
     * as with a corrupt header, no tick is taken before it: one table reading would not). */
    if (record_size(caplen) > t->min_slot) {
      if (t->records == 0) t->too_big = caplen;
      return;
    }
    if (t->records == t->max_records || ts >= t->limit_ns) { t->next_ts = ts; return; }
    if (!ensure(r, PCAP_HEADER + (size_t)caplen, &t->error)) break;
    hdr = r->buf + r->at;
    int k = n > 1 && r->link_type == LINKTYPE_ETHERNET ? place(hdr + PCAP_HEADER, caplen, n) : -1;
    bool room = true;
    if (k >= 0) room = fits(t, (uint32_t)k, caplen);
    else for (uint32_t j = 0; j < n; j++) room = room && fits(t, j, caplen);
    if (!room) { t->next_ts = ts; return; }
    if (k >= 0) put(t, (uint32_t)k, hdr, ts, caplen, BATCH_OWNED);
    else for (uint32_t j = 0; j < n; j++) put(t, j, hdr, ts, caplen, n > 1 ? 0 : BATCH_OWNED);
    if (t->records == 0) t->first_ts = ts;
    r->at += PCAP_HEADER + (size_t)caplen;
    t->bytes += PCAP_HEADER + (uint64_t)caplen;
    t->records++;
  }
  /* The end of the file (or a read error): what is left is an incomplete record. */
  if (t->error == 0) t->tail_bytes = r->have - r->at;
}

static void set_bigint(napi_env env, napi_value obj, const char *name, int64_t x) {
  napi_value v;
  napi_create_bigint_int64(env, x, &v);
  napi_set_named_property(env, obj, name, v);
}

static void complete(napi_env env, napi_status status, void *data) {
  read_t *t = data;
  t->r->busy = false;
  if (status != napi_ok || t->error != 0) {
    reject_read(env, t->deferred, status, t->error);
  } else {
    napi_value out, bytes, counts;
    napi_create_object(env, &out);
    set_number(env, out, "records", t->records);
    set_number(env, out, "bytes", (double)t->bytes);
    napi_create_array_with_length(env, t->r->shards, &bytes);
    napi_create_array_with_length(env, t->r->shards, &counts);
    for (uint32_t k = 0; k < t->r->shards; k++) {
      napi_value v;
      napi_create_double(env, (double)t->used[k], &v);
      napi_set_element(env, bytes, k, v);
      napi_create_double(env, t->count[k], &v);
      napi_set_element(env, counts, k, v);
    }
    napi_set_named_property(env, out, "shardBytes", bytes);
    napi_set_named_property(env, out, "shardRecords", counts);
    set_bigint(env, out, "firstTs", t->first_ts);
    set_bigint(env, out, "nextTs", t->next_ts);
    set_number(env, out, "corrupt", (double)t->corrupt);
    set_number(env, out, "tooBig", (double)t->too_big);
    set_number(env, out, "tailBytes", (double)t->tail_bytes);
    napi_resolve_deferred(env, t->deferred, out);
  }
  napi_delete_reference(env, t->reader_ref);
  napi_delete_reference(env, t->slots_ref);
  napi_delete_async_work(env, t->work);
  free(t);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  reader_t *r = data;
  free(r->buf);
  free(r);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 7) {
    return fail(env, "shardReaderOpen(fd, position, bigEndian, fracToNs, linkType, shards, maxCaplen)");
  }
  int32_t fd;
  double position;
  bool big_endian;
  uint32_t frac_to_ns, link_type, shards, max_caplen;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return fail(env, "fd: a file descriptor");
  if (napi_get_value_double(env, argv[1], &position) != napi_ok || position < 0) return fail(env, "position: a file offset");
  if (napi_get_value_bool(env, argv[2], &big_endian) != napi_ok) return fail(env, "bigEndian: a boolean");
  if (napi_get_value_uint32(env, argv[3], &frac_to_ns) != napi_ok) return fail(env, "fracToNs: ns per fraction unit");
  if (napi_get_value_uint32(env, argv[4], &link_type) != napi_ok) return fail(env, "linkType: a link type");
  if (napi_get_value_uint32(env, argv[5], &shards) != napi_ok || shards < 1 || shards > MAX_SHARDS) return fail(env, "shards: 1 to 64");
  if (napi_get_value_uint32(env, argv[6], &max_caplen) != napi_ok) return fail(env, "maxCaplen: a length");
  reader_t *r = calloc(1, sizeof *r);
  if (!r) return fail(env, "out of memory");
  r->fd = fd;
  r->pos = (int64_t)position;
  r->big_endian = big_endian;
  r->frac_to_ns = frac_to_ns;
  r->link_type = link_type;
  r->shards = shards;
  r->max_caplen = max_caplen;
  napi_value out;
  if (napi_create_external(env, r, finalize, NULL, &out) != napi_ok) {
    free(r);
    return fail(env, "out of memory");
  }
  return out;
}

static napi_value js_read(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) {
    return fail(env, "shardReaderRead(reader, slots, maxRecords, limitNs)");
  }
  reader_t *r;
  if (napi_get_value_external(env, argv[0], (void **)&r) != napi_ok || !r) return fail(env, "reader: from shardReaderOpen");
  if (r->busy) return fail(env, "reader: a read is already running");
  uint32_t slots;
  bool is_array;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &slots) != napi_ok || slots != r->shards) {
    return fail(env, "slots: one Uint8Array per shard");
  }
  read_t *t = calloc(1, sizeof *t);
  if (!t) return fail(env, "out of memory");
  for (uint32_t k = 0; k < slots; k++) {
    napi_value v;
    bool typed;
    napi_typedarray_type type;
    void *p;
    if (napi_get_element(env, argv[1], k, &v) != napi_ok || napi_is_typedarray(env, v, &typed) != napi_ok || !typed ||
        napi_get_typedarray_info(env, v, &type, &t->slot_len[k], &p, NULL, NULL) != napi_ok || type != napi_uint8_array) {
      free(t);
      return fail(env, "slots: one Uint8Array per shard");
    }
    t->slot[k] = p;
    if (k == 0 || t->slot_len[k] < t->min_slot) t->min_slot = t->slot_len[k];
  }
  bool lossless;
  if (napi_get_value_uint32(env, argv[2], &t->max_records) != napi_ok || t->max_records < 1) { free(t); return fail(env, "maxRecords: a positive count"); }
  if (napi_get_value_bigint_int64(env, argv[3], &t->limit_ns, &lossless) != napi_ok) { free(t); return fail(env, "limitNs: a bigint"); }
  t->r = r;
  r->busy = true;
  /* The reader and the slots' buffers stay alive until the read completes. */
  napi_create_reference(env, argv[0], 1, &t->reader_ref);
  napi_create_reference(env, argv[1], 1, &t->slots_ref);
  return queue_work(env, "pcapShardRead", execute, complete, t, &t->work, &t->deferred);
}

void pcapshard_register(napi_env env, napi_value exports) {
  export_function(env, exports, "shardReaderOpen", js_open);
  export_function(env, exports, "shardReaderRead", js_read);
}
