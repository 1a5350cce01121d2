/*
 * pcapbatch: live libpcap capture on a thread of its own, handing packets to JavaScript one
 * batch at a time.
 *
 * The caller gives a SharedArrayBuffer cut into `batches` slots of `batchSize` bytes. The
 * capture thread writes packets into a free slot as batch records (the layout the WASM core
 * reads, see src/capture/pcapfile.ts):
 *
 *   offset 0   ts_ns     i64   nanoseconds since the Unix epoch
 *   offset 8   caplen    u32   captured bytes that follow
 *   offset 12  wirelen   u32   length on the wire
 *   offset 16  linktype  u32   LINKTYPE_* of the interface
 *   offset 20  ifindex   u32   kernel index of the interface (in its namespace)
 *   offset 24  data[caplen], zero padding up to the next 8-byte boundary
 *
 * A slot is handed over (through a thread-safe function) when the next record does not fit, or
 * when the thread has caught up with the kernel and the slot has waited `LINGER_NS`; JavaScript
 * gives it back with release(). Slot states: FREE -> FILLING (capture thread) -> HANDED (JS)
 * -> FREE. When no slot is free the thread first waits up to STALL_MS (the kernel buffer keeps
 * filling meanwhile), then reads on and drops, counting every packet it could not store: the
 * ring never grows and the kernel side is never left unread for long.
 *
 * The thread also opens the capture: it enters the network namespace given as a path
 * (setns), activates the handle there (the socket belongs to that namespace from then on),
 * goes back to its first namespace, and reports the outcome to open(), which waits for it.
 * The JavaScript thread never changes namespace.
 *
 * close() stops the thread through an eventfd it polls, joins it, then closes the handle, so
 * no packet is written after close() returns. An environment cleanup hook does the same when
 * the process exits with a capture still open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <node_api.h>
#include <pcap/pcap.h>

#define RECORD_HEADER 24
/* How long a partly filled slot may wait for more packets once the kernel ring is empty. */
#define LINGER_NS 2000000LL
/*
 * How long the thread waits for JS to give a slot back before it reads on and drops. Meanwhile
 * the kernel buffer absorbs the traffic (and counts its own drops once full), so a short stall
 * of the JS thread loses nothing; a longer one empties the kernel buffer into the drop count.
 */
#define STALL_MS 1000
/* Largest snap length libpcap accepts on Linux. */
#define MAX_SNAPLEN 262144
#define MAX_BATCHES 1024
#define ERRLEN 1024

enum slot_state { SLOT_FREE = 0, SLOT_FILLING = 1, SLOT_HANDED = 2 };
enum open_state { OPEN_PENDING = 0, OPEN_OK = 1, OPEN_FAILED = 2 };

typedef struct capture {
  /* Options, fixed at open. */
  char *device;
  char *netns;
  char *filter;
  int snaplen;
  int promisc;
  int buffer_size;
  int timeout_ms;
  int immediate;
  int want_nano;

  /* The ring: `nslots` slots of `slot_size` bytes in a SharedArrayBuffer held by `ring_ref`. */
  uint8_t *ring;
  size_t slot_size;
  int nslots;
  napi_ref ring_ref;
  uint8_t *state;      /* slot_state per slot, guarded by mu */
  uint32_t *fill;      /* bytes used per slot */
  uint32_t *npackets;  /* records per slot */

  /* The capture thread's current slot (thread only). */
  int cur;
  uint32_t cur_off;
  uint32_t cur_packets;
  uint64_t cur_wire;    /* wire bytes of its packets */
  int64_t cur_started;  /* monotonic ns of its first packet */
  /* The packet that found no free slot: kept aside while the thread waits for one. */
  struct pcap_pkthdr stash_hdr;
  uint8_t *stash;
  int has_stash;
  int dropping;         /* the wait ran out: drop until a slot is free again */

  pcap_t *pcap;
  int linktype;
  uint32_t ifindex;
  int nano;             /* timestamps are in ns (else µs) */

  pthread_t thread;
  int thread_started;
  int stop_fd;          /* eventfd: written by close() */
  atomic_int stopping;
  pthread_mutex_t mu;
  pthread_cond_t cv;    /* open result, slot released, stop */
  int open_state;
  int open_code;        /* PCAP_ERROR_* or a negated errno */
  char open_kind[32];   /* error code name for JS */
  char errbuf[ERRLEN];  /* open error or capture error text */

  /* Counters written by the capture thread. */
  atomic_uint_fast64_t delivered_packets;
  atomic_uint_fast64_t delivered_bytes;  /* wire bytes of delivered packets */
  atomic_uint_fast64_t ring_dropped;
  atomic_uint_fast64_t batches;

  /* pcap_stats, read under stats_mu; kept after close. */
  pthread_mutex_t stats_mu;
  struct pcap_stat last_stats;
  int have_stats;

  napi_threadsafe_function tsfn;
  napi_env env;
  int closed;
  int cleanup_hook;
  atomic_int refs;  /* the JS handle and the thread-safe function */
} capture_t;

/* Message for call_js: slot + 1, or ERROR_MSG for a capture error (text in errbuf). */
#define ERROR_MSG ((uintptr_t)0)

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void capture_free(capture_t *c) {
  free(c->device);
  free(c->netns);
  free(c->filter);
  free(c->state);
  free(c->fill);
  free(c->npackets);
  free(c->stash);
  if (c->stop_fd >= 0) close(c->stop_fd);
  pthread_mutex_destroy(&c->mu);
  pthread_mutex_destroy(&c->stats_mu);
  pthread_cond_destroy(&c->cv);
  free(c);
}

static void capture_unref(capture_t *c) {
  if (atomic_fetch_sub(&c->refs, 1) == 1) capture_free(c);
}

/* ------------------------------------------------------------------------------------------ */
/* Capture thread */

/* Hands the current slot to JS (thread only). */
static void publish(capture_t *c) {
  int slot = c->cur;
  if (slot < 0) return;
  c->cur = -1;
  if (c->cur_packets == 0) {
    pthread_mutex_lock(&c->mu);
    c->state[slot] = SLOT_FREE;
    pthread_mutex_unlock(&c->mu);
    return;
  }
  c->fill[slot] = c->cur_off;
  c->npackets[slot] = c->cur_packets;
  pthread_mutex_lock(&c->mu);
  c->state[slot] = SLOT_HANDED;
  pthread_mutex_unlock(&c->mu);
  atomic_fetch_add(&c->batches, 1);
  /* At most nslots messages are ever queued, the queue's own bound. */
  if (napi_call_threadsafe_function(c->tsfn, (void *)(uintptr_t)(slot + 1), napi_tsfn_nonblocking) != napi_ok) {
    /* Closing (or, never expected, a full queue): the batch is lost, and counted as dropped. */
    atomic_fetch_sub(&c->delivered_packets, c->npackets[slot]);
    atomic_fetch_sub(&c->delivered_bytes, c->cur_wire);
    atomic_fetch_add(&c->ring_dropped, c->npackets[slot]);
    atomic_fetch_sub(&c->batches, 1);
    pthread_mutex_lock(&c->mu);
    c->state[slot] = SLOT_FREE;
    pthread_mutex_unlock(&c->mu);
  }
}

/* Takes a free slot for filling, or returns -1 (thread only). */
static int take_slot(capture_t *c) {
  int found = -1;
  pthread_mutex_lock(&c->mu);
  for (int i = 0; i < c->nslots; i++) {
    if (c->state[i] == SLOT_FREE) { c->state[i] = SLOT_FILLING; found = i; break; }
  }
  pthread_mutex_unlock(&c->mu);
  if (found >= 0) {
    c->cur = found;
    c->cur_off = 0;
    c->cur_packets = 0;
    c->cur_wire = 0;
    c->dropping = 0;
  }
  return found;
}

static int any_free(capture_t *c) {
  for (int i = 0; i < c->nslots; i++) if (c->state[i] == SLOT_FREE) return 1;
  return 0;
}

/* Appends one record to the current slot, which has room for it (thread only). */
static void put_record(capture_t *c, const struct pcap_pkthdr *h, const u_char *bytes, uint32_t caplen, uint32_t need) {
  if (c->cur_packets == 0) c->cur_started = mono_ns();
  uint8_t *rec = c->ring + (size_t)c->cur * c->slot_size + c->cur_off;
  int64_t ts = (int64_t)h->ts.tv_sec * 1000000000LL + (int64_t)h->ts.tv_usec * (c->nano ? 1 : 1000);
  uint32_t wire = h->len;
  uint32_t lt = (uint32_t)c->linktype;
  memcpy(rec, &ts, 8);  /* little-endian hosts only (x86-64, arm64) */
  memcpy(rec + 8, &caplen, 4);
  memcpy(rec + 12, &wire, 4);
  memcpy(rec + 16, &lt, 4);
  memcpy(rec + 20, &c->ifindex, 4);
  memcpy(rec + RECORD_HEADER, bytes, caplen);
  uint32_t end = RECORD_HEADER + caplen;
  if (need > end) memset(rec + end, 0, need - end);
  c->cur_off += need;
  c->cur_packets++;
  c->cur_wire += h->len;
  atomic_fetch_add_explicit(&c->delivered_packets, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&c->delivered_bytes, h->len, memory_order_relaxed);
}

/*
 * Stores one packet. With no free slot, the packet is kept aside and the dispatch stops, so the
 * rest stays in the kernel buffer while the main loop waits for JS; once that wait has run out
 * (`dropping`), packets are dropped and counted instead.
 */
static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
  capture_t *c = (capture_t *)user;
  uint32_t caplen = h->caplen;
  if (caplen > (uint32_t)c->snaplen) caplen = (uint32_t)c->snaplen;
  if (caplen > c->slot_size - RECORD_HEADER) caplen = (uint32_t)(c->slot_size - RECORD_HEADER);
  uint32_t need = (RECORD_HEADER + caplen + 7) & ~7u;
  if (c->cur >= 0 && c->cur_off + need > c->slot_size) publish(c);
  if (c->cur < 0 && take_slot(c) < 0) {
    if (c->dropping || c->has_stash) {
      atomic_fetch_add_explicit(&c->ring_dropped, 1, memory_order_relaxed);
      return;
    }
    c->stash_hdr = *h;
    c->stash_hdr.caplen = caplen;
    memcpy(c->stash, bytes, caplen);
    c->has_stash = 1;
    pcap_breakloop(c->pcap);
    return;
  }
  put_record(c, h, bytes, caplen, need);
}

/* DLT_* values that differ from the LINKTYPE_* written in capture files. */
static int dlt_to_linktype(int dlt) {
  if (dlt == DLT_RAW) return 101;
#ifdef DLT_ATM_RFC1483
  if (dlt == DLT_ATM_RFC1483) return 100;
#endif
  return dlt;
}

static void open_fail(capture_t *c, int code, const char *kind, const char *fmt, const char *a, const char *b) {
  c->open_code = code;
  snprintf(c->open_kind, sizeof c->open_kind, "%s", kind);
  snprintf(c->errbuf, sizeof c->errbuf, fmt, a, b);
}

/* Opens the capture (in the capture thread). Returns 0, or -1 with open_* set. */
static int open_capture(capture_t *c) {
  char err[PCAP_ERRBUF_SIZE] = "";
  int home = -1;
  if (c->netns) {
    int ns = open(c->netns, O_RDONLY | O_CLOEXEC);
    if (ns < 0) {
      open_fail(c, -errno, "ERR_NETNS", "network namespace %s: %s", c->netns, strerror(errno));
      return -1;
    }
    home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0) {
      open_fail(c, -errno, "ERR_NETNS", "cannot remember the current network namespace: %s%s", strerror(errno), "");
      close(ns);
      return -1;
    }
    if (setns(ns, CLONE_NEWNET) != 0) {
      int e = errno;
      open_fail(c, -e, "ERR_NETNS", "cannot enter network namespace %s: %s", c->netns,
                e == EINVAL ? "not a network namespace" : strerror(e));
      close(ns);
      close(home);
      return -1;
    }
    close(ns);
  }

  int rc = 0;
  pcap_t *p = pcap_create(c->device, err);
  if (!p) {
    open_fail(c, PCAP_ERROR, "ERR_PCAP", "%s: %s", c->device, err);
    rc = -1;
    goto back;
  }
  pcap_set_snaplen(p, c->snaplen);
  pcap_set_promisc(p, c->promisc);
  pcap_set_timeout(p, c->timeout_ms);
  if (c->buffer_size > 0) pcap_set_buffer_size(p, c->buffer_size);
  if (c->immediate) pcap_set_immediate_mode(p, 1);
  if (c->want_nano) pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);  /* may be unsupported: then µs */

  int act = pcap_activate(p);
  if (act < 0) {
    const char *kind = act == PCAP_ERROR_NO_SUCH_DEVICE ? "ERR_PCAP_NO_SUCH_DEVICE"
                     : (act == PCAP_ERROR_PERM_DENIED || act == PCAP_ERROR_PROMISC_PERM_DENIED) ? "ERR_PCAP_PERM_DENIED"
                     : act == PCAP_ERROR_IFACE_NOT_UP ? "ERR_PCAP_IFACE_NOT_UP" : "ERR_PCAP";
    /* libpcap's detail text, unless it is empty or only repeats the status text. */
    const char *status = pcap_statustostr(act);
    const char *detail = pcap_geterr(p);
    int same = !detail || !*detail || strcmp(detail, status) == 0;
    char msg[ERRLEN / 2];
    snprintf(msg, sizeof msg, "%s%s%s", status, same ? "" : ": ", same ? "" : detail);
    open_fail(c, act, kind, "cannot capture on %s: %s", c->device, msg);
    pcap_close(p);
    rc = -1;
    goto back;
  }
  c->nano = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
  c->linktype = dlt_to_linktype(pcap_datalink(p));
  c->ifindex = if_nametoindex(c->device);  /* 0 for "any" */

  if (c->filter && *c->filter) {
    struct bpf_program prog;
    if (pcap_compile(p, &prog, c->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
      open_fail(c, PCAP_ERROR, "ERR_PCAP_FILTER", "bad BPF filter \"%s\": %s", c->filter, pcap_geterr(p));
      pcap_close(p);
      rc = -1;
      goto back;
    }
    int set = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (set != 0) {
      open_fail(c, PCAP_ERROR, "ERR_PCAP_FILTER", "cannot set BPF filter \"%s\": %s", c->filter, pcap_geterr(p));
      pcap_close(p);
      rc = -1;
      goto back;
    }
  }
  if (pcap_setnonblock(p, 1, err) != 0) {
    open_fail(c, PCAP_ERROR, "ERR_PCAP", "%s: cannot make the capture non-blocking: %s", c->device, err);
    pcap_close(p);
    rc = -1;
    goto back;
  }
  c->pcap = p;

back:
  if (home >= 0) {
    if (setns(home, CLONE_NEWNET) != 0) {
      /* Only this thread is affected, and it ends if the capture failed anyway. */
      if (rc == 0) {
        open_fail(c, -errno, "ERR_NETNS", "cannot return from network namespace %s: %s", c->netns, strerror(errno));
        pcap_close(c->pcap);
        c->pcap = NULL;
        rc = -1;
      }
    }
    close(home);
  }
  return rc;
}

static void capture_error(capture_t *c, const char *what) {
  pthread_mutex_lock(&c->mu);
  snprintf(c->errbuf, sizeof c->errbuf, "capture on %s failed: %s", c->device, what);
  pthread_mutex_unlock(&c->mu);
  napi_call_threadsafe_function(c->tsfn, (void *)ERROR_MSG, napi_tsfn_nonblocking);
}

static void *capture_main(void *arg) {
  capture_t *c = (capture_t *)arg;
  int ok = open_capture(c) == 0;
  pthread_mutex_lock(&c->mu);
  c->open_state = ok ? OPEN_OK : OPEN_FAILED;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
  if (!ok) return NULL;

  struct pollfd fds[2];
  fds[0].fd = pcap_get_selectable_fd(c->pcap);
  fds[0].events = POLLIN;
  fds[1].fd = c->stop_fd;
  fds[1].events = POLLIN;
  int idle_errors = 0;

  while (!atomic_load(&c->stopping)) {
    if (c->cur < 0 && c->has_stash) {
      /* JS is behind: give it STALL_MS to release a slot before reading on and dropping. */
      pthread_mutex_lock(&c->mu);
      if (!any_free(c) && !atomic_load(&c->stopping)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long long ns = until.tv_nsec + (long long)STALL_MS * 1000000LL;
        until.tv_sec += ns / 1000000000LL;
        until.tv_nsec = ns % 1000000000LL;
        while (!any_free(c) && !atomic_load(&c->stopping) &&
               pthread_cond_timedwait(&c->cv, &c->mu, &until) != ETIMEDOUT) {
        }
      }
      pthread_mutex_unlock(&c->mu);
      if (atomic_load(&c->stopping)) break;
      uint32_t need = (RECORD_HEADER + c->stash_hdr.caplen + 7) & ~7u;
      if (take_slot(c) >= 0) {
        put_record(c, &c->stash_hdr, c->stash, c->stash_hdr.caplen, need);
      } else {
        atomic_fetch_add_explicit(&c->ring_dropped, 1, memory_order_relaxed);
        c->dropping = 1;
      }
      c->has_stash = 0;
    }
    int n = pcap_dispatch(c->pcap, -1, on_packet, (u_char *)c);
    if (n == PCAP_ERROR_BREAK) continue;  /* no free slot: see the top of the loop */
    if (n < 0) {
      publish(c);
      capture_error(c, pcap_geterr(c->pcap));
      break;
    }
    if (n > 0) { idle_errors = 0; continue; }
    /* Caught up with the kernel. */
    int wait_ms = -1;
    if (c->cur >= 0 && c->cur_packets > 0) {
      int64_t age = mono_ns() - c->cur_started;
      if (c->immediate || age >= LINGER_NS) publish(c);
      else wait_ms = (int)((LINGER_NS - age + 999999) / 1000000);
    }
    /* Idle: data and close() wake the poll; the timeout only bounds how late an interface
       that went down and was then deleted is noticed (libpcap checks on each dispatch). */
    if (wait_ms < 0) wait_ms = 250;
    int pr = poll(fds, 2, wait_ms);
    if (pr < 0 && errno != EINTR) {
      publish(c);
      capture_error(c, strerror(errno));
      break;
    }
    if (pr > 0 && (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL))) {
      /* pcap_dispatch reports the socket error; if it does not, do not spin on it. */
      if (++idle_errors > 100) {
        publish(c);
        capture_error(c, "the capture socket reports an error");
        break;
      }
    }
  }
  publish(c);
  return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* JS side */

static void throw_error(napi_env env, const char *code, const char *msg) {
  napi_value m, k, e;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &k);
  napi_create_error(env, k, m, &e);
  napi_throw(env, e);
}

#define CHECK(call)                                                               \
  do {                                                                            \
    if ((call) != napi_ok) {                                                      \
      bool pending = false;                                                       \
      napi_is_exception_pending(env, &pending);                                   \
      if (!pending) throw_error(env, "ERR_PCAPBATCH", "internal N-API failure: " #call); \
      return NULL;                                                                \
    }                                                                             \
  } while (0)

static void take_stats(capture_t *c) {
  struct pcap_stat st;
  pthread_mutex_lock(&c->stats_mu);
  if (c->pcap && pcap_stats(c->pcap, &st) == 0) {
    c->last_stats = st;
    c->have_stats = 1;
  }
  pthread_mutex_unlock(&c->stats_mu);
}

/* Stops the thread and closes the handle; safe to call twice. */
static void stop_capture(capture_t *c) {
  if (c->closed) return;
  c->closed = 1;
  atomic_store(&c->stopping, 1);
  uint64_t one = 1;
  if (write(c->stop_fd, &one, sizeof one) < 0) { /* the flag alone stops it within one timeout */ }
  pthread_mutex_lock(&c->mu);
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
  if (c->thread_started) pthread_join(c->thread, NULL);
  c->thread_started = 0;
  take_stats(c);
  pthread_mutex_lock(&c->stats_mu);
  if (c->pcap) pcap_close(c->pcap);
  c->pcap = NULL;
  pthread_mutex_unlock(&c->stats_mu);
  if (c->tsfn) napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
  c->tsfn = NULL;
}

static void release_ring(capture_t *c) {
  if (c->ring_ref) {
    napi_delete_reference(c->env, c->ring_ref);
    c->ring_ref = NULL;
  }
  c->ring = NULL;
}

static void cleanup_hook(void *arg) {
  capture_t *c = (capture_t *)arg;
  c->cleanup_hook = 0;
  stop_capture(c);
  release_ring(c);
}

static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  capture_t *c = (capture_t *)data;
  if (c->cleanup_hook) {
    napi_remove_env_cleanup_hook(env, cleanup_hook, c);
    c->cleanup_hook = 0;
  }
  stop_capture(c);
  release_ring(c);
  capture_unref(c);
}

static void tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  capture_unref((capture_t *)data);
}

static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  if (env == NULL || cb == NULL) return;  /* closing: drop the message */
  capture_t *c = (capture_t *)context;
  uintptr_t msg = (uintptr_t)data;
  napi_value argv[4], undef;
  napi_get_undefined(env, &undef);
  if (msg == ERROR_MSG) {
    napi_value m, k;
    pthread_mutex_lock(&c->mu);
    napi_create_string_utf8(env, c->errbuf, NAPI_AUTO_LENGTH, &m);
    pthread_mutex_unlock(&c->mu);
    napi_create_string_utf8(env, "ERR_PCAP_CAPTURE", NAPI_AUTO_LENGTH, &k);
    napi_create_error(env, k, m, &argv[0]);
    napi_call_function(env, undef, cb, 1, argv, NULL);
    return;
  }
  int slot = (int)(msg - 1);
  napi_get_null(env, &argv[0]);
  napi_create_int32(env, slot, &argv[1]);
  napi_create_uint32(env, c->fill[slot], &argv[2]);
  napi_create_uint32(env, c->npackets[slot], &argv[3]);
  napi_call_function(env, undef, cb, 4, argv, NULL);
}

static int get_prop(napi_env env, napi_value obj, const char *name, napi_value *out, napi_valuetype *type) {
  bool has = false;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, name, out) != napi_ok) return 0;
  napi_typeof(env, *out, type);
  return *type != napi_undefined;
}

static char *get_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (!s) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  if (strlen(s) != len) { free(s); return NULL; }  /* embedded NUL */
  return s;
}

/*
 * open(options, ring: Uint8Array over a SharedArrayBuffer, callback) -> handle
 * options: { device, netns?, filter?, snaplen, promisc, bufferSize, timeoutMs, immediate,
 *            nano, batchSize, batches } (validated by the TypeScript wrapper, checked again here)
 * callback(err, slot, bytes, packets)
 */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) { throw_error(env, "ERR_INVALID_ARG", "open(options, ring, callback)"); return NULL; }
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t != napi_object) { throw_error(env, "ERR_INVALID_ARG", "options must be an object"); return NULL; }
  napi_typeof(env, argv[2], &t);
  if (t != napi_function) { throw_error(env, "ERR_INVALID_ARG", "callback must be a function"); return NULL; }

  capture_t *c = calloc(1, sizeof *c);
  if (!c) { throw_error(env, "ERR_PCAPBATCH", "out of memory"); return NULL; }
  c->stop_fd = -1;
  c->cur = -1;
  c->env = env;
  pthread_mutex_init(&c->mu, NULL);
  pthread_mutex_init(&c->stats_mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  atomic_init(&c->refs, 1);

  napi_value v;
  const char *bad = NULL;
  if (get_prop(env, argv[0], "device", &v, &t) && t == napi_string) c->device = get_string(env, v);
  if (!c->device || !*c->device) bad = "options.device must be a non-empty string";
  if (!bad && get_prop(env, argv[0], "netns", &v, &t)) {
    if (t != napi_string || !(c->netns = get_string(env, v)) || !*c->netns) bad = "options.netns must be a path";
  }
  if (!bad && get_prop(env, argv[0], "filter", &v, &t)) {
    if (t != napi_string || !(c->filter = get_string(env, v))) bad = "options.filter must be a string";
  }
  struct { const char *name; int *dst; int min, max; } ints[] = {
    {"snaplen", &c->snaplen, 1, MAX_SNAPLEN}, {"bufferSize", &c->buffer_size, 0, 1 << 30},
    {"timeoutMs", &c->timeout_ms, 1, 60000}, {"batches", &c->nslots, 1, MAX_BATCHES},
  };
  char msg[128];
  for (size_t i = 0; !bad && i < sizeof ints / sizeof ints[0]; i++) {
    int32_t x = 0;
    if (!get_prop(env, argv[0], ints[i].name, &v, &t) || t != napi_number || napi_get_value_int32(env, v, &x) != napi_ok ||
        x < ints[i].min || x > ints[i].max) {
      snprintf(msg, sizeof msg, "options.%s must be an integer in [%d, %d]", ints[i].name, ints[i].min, ints[i].max);
      bad = msg;
    }
    *ints[i].dst = x;
  }
  int64_t batch_size = 0;
  if (!bad && (!get_prop(env, argv[0], "batchSize", &v, &t) || t != napi_number ||
               napi_get_value_int64(env, v, &batch_size) != napi_ok || batch_size % 8 != 0 ||
               batch_size < ((RECORD_HEADER + c->snaplen + 7) & ~7) || batch_size > (1LL << 30))) {
    bad = "options.batchSize must be a multiple of 8 that holds one record of snaplen bytes";
  }
  struct { const char *name; int *dst; } bools[] = {
    {"promisc", &c->promisc}, {"immediate", &c->immediate}, {"nano", &c->want_nano},
  };
  for (size_t i = 0; !bad && i < sizeof bools / sizeof bools[0]; i++) {
    bool b = false;
    if (get_prop(env, argv[0], bools[i].name, &v, &t) && t == napi_boolean) napi_get_value_bool(env, v, &b);
    *bools[i].dst = b;
  }
  c->slot_size = (size_t)batch_size;

  if (!bad) {
    bool is_ta = false;
    napi_is_typedarray(env, argv[1], &is_ta);
    napi_typedarray_type tat;
    size_t len = 0;
    void *data = NULL;
    if (!is_ta || napi_get_typedarray_info(env, argv[1], &tat, &len, &data, NULL, NULL) != napi_ok ||
        tat != napi_uint8_array || data == NULL || len < c->slot_size * (size_t)c->nslots ||
        ((uintptr_t)data & 7) != 0) {
      bad = "ring must be an 8-byte aligned Uint8Array of batches * batchSize bytes";
    } else {
      c->ring = data;
    }
  }
  if (!bad) {
    c->state = calloc(c->nslots, 1);
    c->fill = calloc(c->nslots, sizeof *c->fill);
    c->npackets = calloc(c->nslots, sizeof *c->npackets);
    c->stash = malloc((size_t)c->snaplen);
    c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!c->state || !c->fill || !c->npackets || !c->stash || c->stop_fd < 0) bad = "out of memory or file descriptors";
  }
  if (bad) {
    throw_error(env, "ERR_INVALID_ARG", bad);
    capture_free(c);
    return NULL;
  }

  napi_value name;
  napi_create_string_utf8(env, "pcapbatch", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, argv[1], 1, &c->ring_ref) != napi_ok ||
      napi_create_threadsafe_function(env, argv[2], NULL, name, (size_t)c->nslots + 1, 1, c, tsfn_finalize, c, call_js,
                                      &c->tsfn) != napi_ok) {
    if (c->ring_ref) napi_delete_reference(env, c->ring_ref);
    throw_error(env, "ERR_PCAPBATCH", "cannot set up the capture's callback");
    capture_free(c);
    return NULL;
  }
  atomic_fetch_add(&c->refs, 1);  /* held by the thread-safe function until its finalizer */

  int e = pthread_create(&c->thread, NULL, capture_main, c);
  if (e != 0) {
    throw_error(env, "ERR_PCAPBATCH", "cannot start the capture thread");
    c->closed = 1;
    napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
    release_ring(c);
    capture_unref(c);
    return NULL;
  }
  c->thread_started = 1;

  pthread_mutex_lock(&c->mu);
  while (c->open_state == OPEN_PENDING) pthread_cond_wait(&c->cv, &c->mu);
  int opened = c->open_state == OPEN_OK;
  pthread_mutex_unlock(&c->mu);
  if (!opened) {
    pthread_join(c->thread, NULL);
    c->thread_started = 0;
    throw_error(env, c->open_kind, c->errbuf);
    c->closed = 1;
    napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
    c->tsfn = NULL;
    release_ring(c);
    capture_unref(c);
    return NULL;
  }

  napi_value handle;
  if (napi_create_external(env, c, handle_finalize, NULL, &handle) != napi_ok) {
    stop_capture(c);
    release_ring(c);
    capture_unref(c);
    throw_error(env, "ERR_PCAPBATCH", "cannot create the capture handle");
    return NULL;
  }
  napi_add_env_cleanup_hook(env, cleanup_hook, c);
  c->cleanup_hook = 1;

  napi_value out, x;
  CHECK(napi_create_object(env, &out));
  napi_set_named_property(env, out, "handle", handle);
  napi_create_int32(env, c->linktype, &x);
  napi_set_named_property(env, out, "linkType", x);
  napi_create_uint32(env, c->ifindex, &x);
  napi_set_named_property(env, out, "ifIndex", x);
  napi_get_boolean(env, c->nano, &x);
  napi_set_named_property(env, out, "nanosecond", x);
  napi_create_int32(env, pcap_snapshot(c->pcap), &x);
  napi_set_named_property(env, out, "snaplen", x);
  return out;
}

static capture_t *get_capture(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok || !p) {
    throw_error(env, "ERR_INVALID_ARG", "not a capture handle");
    return NULL;
  }
  return (capture_t *)p;
}

/* release(handle, slot): gives a handed-over slot back to the ring. */
static napi_value js_release(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  capture_t *c = argc >= 1 ? get_capture(env, argv[0]) : NULL;
  if (!c) return NULL;
  int32_t slot = -1;
  if (argc < 2 || napi_get_value_int32(env, argv[1], &slot) != napi_ok || slot < 0 || slot >= c->nslots) {
    throw_error(env, "ERR_INVALID_ARG", "release: bad batch slot");
    return NULL;
  }
  pthread_mutex_lock(&c->mu);
  if (c->state[slot] == SLOT_HANDED) c->state[slot] = SLOT_FREE;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

static void set_u64(napi_env env, napi_value obj, const char *name, uint64_t x) {
  napi_value v;
  napi_create_double(env, (double)x, &v);
  napi_set_named_property(env, obj, name, v);
}

/* stats(handle) -> { recv, drop, ifdrop, ringDropped, packets, bytes, batches } */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  capture_t *c = argc >= 1 ? get_capture(env, argv[0]) : NULL;
  if (!c) return NULL;
  if (!c->closed) take_stats(c);
  pthread_mutex_lock(&c->stats_mu);
  struct pcap_stat st = c->last_stats;
  pthread_mutex_unlock(&c->stats_mu);
  napi_value out;
  CHECK(napi_create_object(env, &out));
  set_u64(env, out, "recv", st.ps_recv);
  set_u64(env, out, "drop", st.ps_drop);
  set_u64(env, out, "ifdrop", st.ps_ifdrop);
  set_u64(env, out, "ringDropped", atomic_load(&c->ring_dropped));
  set_u64(env, out, "packets", atomic_load(&c->delivered_packets));
  set_u64(env, out, "bytes", atomic_load(&c->delivered_bytes));
  set_u64(env, out, "batches", atomic_load(&c->batches));
  return out;
}

/* close(handle): stops the thread, closes the handle; later batches are never delivered. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  capture_t *c = argc >= 1 ? get_capture(env, argv[0]) : NULL;
  if (!c) return NULL;
  stop_capture(c);
  release_ring(c);
  if (c->cleanup_hook) {
    napi_remove_env_cleanup_hook(env, cleanup_hook, c);
    c->cleanup_hook = 0;
  }
  return NULL;
}

static napi_value js_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_string_utf8(env, pcap_lib_version(), NAPI_AUTO_LENGTH, &v);
  return v;
}

/* pcapread.c: readRecords; udprecv.c: udpOpen, udpRecv, udpClose. */
void pcapread_register(napi_env env, napi_value exports);
void udprecv_register(napi_env env, napi_value exports);
void pcapshard_register(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
    {"release", NULL, js_release, NULL, NULL, NULL, napi_default, NULL},
    {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
    {"libVersion", NULL, js_version, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  pcapread_register(env, exports);
  udprecv_register(env, exports);
  pcapshard_register(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
