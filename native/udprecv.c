/*
 * udprecv: the analyzer's flow UDP socket, read many datagrams a system call (recvmmsg), for
 * the thread that receives agents' flows (src/analyzer/udp-receiver.ts).
 *
 * Through node:dgram, each datagram costs the receiving thread a system call, a turn of libuv, a
 * Buffer, an rinfo object and its address string, and an event: 9 microseconds of CPU at 50,000
 * datagrams a second on this project's 2-core test machine, 4 flat out. Here the thread asks for
 * up to SLOTS datagrams at once and gets them packed in one buffer of its own: 5.2 and 2-2.8
 * microseconds (sender on loopback, receiver counting datagrams and naming their senders).
 *
 *   udpOpen(address, port, ipv6, receiveBufferBytes) -> { handle, port, receiveBufferBytes }
 *   udpRecv(handle, out, timeoutMs) -> datagrams written into out
 *   udpClose(handle)
 *
 * `address` is numeric (the caller resolves names). The receive buffer is asked with
 * SO_RCVBUFFORCE, which a privileged process may take beyond net.core.rmem_max, else with
 * SO_RCVBUF (the kernel caps it); `receiveBufferBytes` returns what the kernel granted.
 *
 * udpRecv waits at most `timeoutMs` (0: not at all) for a first datagram, then takes what the
 * socket holds, and writes each datagram into `out` (a Uint8Array) as an entry of
 *
 *   offset 0   length   u32  payload bytes
 *   offset 4   port     u16  sender's port
 *   offset 6   family   u8   4 or 6
 *   offset 7   textLen  u8   bytes of `text`
 *   offset 8   address  16 bytes, the sender's (IPv4: the first 4)
 *   offset 24  text     48 bytes, the address as text (inet_ntop), zero padded
 *   offset 72  payload, zero padded to a multiple of 4
 *
 * in host byte order. Datagrams that do not fit in `out` wait in the handle for the next call.
 * Errors throw an Error whose `code` is the errno name (EADDRINUSE, ...).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "napi-helpers.h"

#define SLOTS 64
/* Largest UDP payload (IPv4: 65,535 less the IP and UDP headers; IPv6 without jumbograms less). */
#define SLOT_BYTES 65536
#define ENTRY_HEADER 72
#define TEXT_BYTES 48

typedef struct {
  int fd;
  struct mmsghdr msgs[SLOTS];
  struct iovec iovs[SLOTS];
  struct sockaddr_storage from[SLOTS];
  uint8_t *slots;
  /* Received, not yet written to an `out`: msgs[next, next + pending). */
  int next;
  int pending;
} udp_t;

static void throw_errno(napi_env env, int err, const char *what) {
  char text[256];
  const char *name = strerrorname_np(err);
  snprintf(text, sizeof text, "%s: %s (%s)", what, strerror(err), name ? name : "?");
  napi_value m, k, e;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, name ? name : "EIO", NAPI_AUTO_LENGTH, &k);
  napi_create_error(env, k, m, &e);
  napi_throw(env, e);
}

static void udp_close(udp_t *u) {
  if (u->fd >= 0) close(u->fd);
  u->fd = -1;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  udp_t *u = data;
  udp_close(u);
  free(u->slots);
  free(u);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  char address[INET6_ADDRSTRLEN + 1];
  size_t address_len;
  uint32_t port, rcvbuf;
  bool ipv6;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) return fail(env, "udpOpen(address, port, ipv6, receiveBufferBytes)");
  if (napi_get_value_string_utf8(env, argv[0], address, sizeof address, &address_len) != napi_ok) return fail(env, "address: a numeric address");
  if (napi_get_value_uint32(env, argv[1], &port) != napi_ok || port > 65535) return fail(env, "port: 0 to 65535");
  if (napi_get_value_bool(env, argv[2], &ipv6) != napi_ok) return fail(env, "ipv6: a boolean");
  if (napi_get_value_uint32(env, argv[3], &rcvbuf) != napi_ok || rcvbuf > (1u << 30)) return fail(env, "receiveBufferBytes: a size up to 1 GiB");

  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t ss_len;
  if (ipv6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, address, &a->sin6_addr) != 1) return fail(env, "address: not a numeric IPv6 address");
    ss_len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &a->sin_addr) != 1) return fail(env, "address: not a numeric IPv4 address");
    ss_len = sizeof *a;
  }

  int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    throw_errno(env, errno, "socket");
    return NULL;
  }
  int size = (int)rcvbuf;
  if (size > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  if (bind(fd, (struct sockaddr *)&ss, ss_len) != 0) {
    int err = errno;
    close(fd);
    char what[INET6_ADDRSTRLEN + 32];
    snprintf(what, sizeof what, ipv6 ? "bind [%s]:%u" : "bind %s:%u", address, port);
    throw_errno(env, err, what);
    return NULL;
  }
  socklen_t len = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &len);
  uint16_t bound = ntohs(ipv6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
  int granted = 0;
  len = sizeof granted;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &len);

  udp_t *u = calloc(1, sizeof *u);
  uint8_t *slots = malloc((size_t)SLOTS * SLOT_BYTES);
  if (!u || !slots) {
    free(u);
    free(slots);
    close(fd);
    return fail(env, "out of memory");
  }
  u->fd = fd;
  u->slots = slots;
  napi_value handle, out;
  if (napi_create_external(env, u, finalize, NULL, &handle) != napi_ok) {
    finalize(env, u, NULL);
    return fail(env, "cannot make the socket's handle");
  }
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "handle", handle);
  set_number(env, out, "port", bound);
  /* Linux reports twice what it counts as payload room (the rest is its bookkeeping). */
  set_number(env, out, "receiveBufferBytes", granted / 2);
  return out;
}

static udp_t *handle_of(napi_env env, napi_value v) {
  void *data = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  return data;
}

/* Receives what the socket holds (after waiting up to timeout_ms for a first datagram); -1: errno. */
static int receive(udp_t *u, int timeout_ms) {
  if (timeout_ms > 0) {
    struct pollfd p = { .fd = u->fd, .events = POLLIN };
    int k;
    do k = poll(&p, 1, timeout_ms); while (k < 0 && errno == EINTR);
    if (k <= 0) return k;
  }
  for (int i = 0; i < SLOTS; i++) {
    u->iovs[i].iov_base = u->slots + (size_t)i * SLOT_BYTES;
    u->iovs[i].iov_len = SLOT_BYTES;
    memset(&u->msgs[i].msg_hdr, 0, sizeof u->msgs[i].msg_hdr);
    u->msgs[i].msg_hdr.msg_iov = &u->iovs[i];
    u->msgs[i].msg_hdr.msg_iovlen = 1;
    u->msgs[i].msg_hdr.msg_name = &u->from[i];
    u->msgs[i].msg_hdr.msg_namelen = sizeof u->from[i];
  }
  int n;
  do n = recvmmsg(u->fd, u->msgs, SLOTS, MSG_DONTWAIT, NULL); while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
  u->next = 0;
  u->pending = n;
  return n;
}

/* Writes received datagram i as an entry at p (room checked by the caller); returns its size. */
static size_t write_entry(udp_t *u, int i, uint8_t *p) {
  uint32_t length = u->msgs[i].msg_len;
  memset(p, 0, ENTRY_HEADER);
  memcpy(p, &length, 4);
  uint16_t port = 0;
  if (u->from[i].ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&u->from[i];
    port = ntohs(a->sin6_port);
    p[6] = 6;
    memcpy(p + 8, &a->sin6_addr, 16);
    inet_ntop(AF_INET6, &a->sin6_addr, (char *)p + 24, TEXT_BYTES);
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&u->from[i];
    port = ntohs(a->sin_port);
    p[6] = 4;
    memcpy(p + 8, &a->sin_addr, 4);
    inet_ntop(AF_INET, &a->sin_addr, (char *)p + 24, TEXT_BYTES);
  }
  memcpy(p + 4, &port, 2);
  p[7] = (uint8_t)strnlen((char *)p + 24, TEXT_BYTES);
  memcpy(p + ENTRY_HEADER, u->slots + (size_t)i * SLOT_BYTES, length);
  size_t size = ENTRY_HEADER + ((length + 3u) & ~3u);
  memset(p + ENTRY_HEADER + length, 0, size - ENTRY_HEADER - length);
  return size;
}

/* The call's `want` arguments into argv, the first a handle; NULL (an exception thrown) when not. */
static udp_t *handle_call(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    fail(env, usage);
    return NULL;
  }
  udp_t *u = handle_of(env, argv[0]);
  if (!u) fail(env, "handle: from udpOpen");
  return u;
}

static napi_value js_recv(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  udp_t *u = handle_call(env, info, 3, argv, "udpRecv(handle, out, timeoutMs)");
  if (!u) return NULL;
  if (u->fd < 0) return fail(env, "handle: the socket is closed");
  bool is_typed;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_is_typedarray(env, argv[1], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    return fail(env, "out: a Uint8Array");
  }
  if (length < ENTRY_HEADER + SLOT_BYTES) return fail(env, "out: at least 65,608 bytes (the largest datagram's entry)");
  int32_t timeout_ms;
  if (napi_get_value_int32(env, argv[2], &timeout_ms) != napi_ok || timeout_ms < 0) return fail(env, "timeoutMs: 0 or more");

  uint8_t *out = data;
  size_t at = 0;
  uint32_t written = 0;
  for (;;) {
    if (u->pending == 0) {
      /* Wait only when nothing was written yet: then hand over what this call has. */
      int n = receive(u, written == 0 ? timeout_ms : 0);
      if (n < 0) {
        throw_errno(env, errno, "recvmmsg");
        return NULL;
      }
      if (n == 0) break;
    }
    while (u->pending > 0) {
      int i = u->next;
      if (at + ENTRY_HEADER + ((u->msgs[i].msg_len + 3u) & ~3u) > length) goto full;
      at += write_entry(u, i, out + at);
      written++;
      u->next++;
      u->pending--;
    }
    /* A full batch: more may wait in the socket. */
    if (u->next < SLOTS) break;
  }
full:;
  napi_value v;
  napi_create_uint32(env, written, &v);
  return v;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  udp_t *u = handle_call(env, info, 1, argv, "udpClose(handle)");
  if (!u) return NULL;
  udp_close(u);
  u->pending = 0;
  return NULL;
}

void udprecv_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"udpOpen", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
    {"udpRecv", NULL, js_recv, NULL, NULL, NULL, napi_default, NULL},
    {"udpClose", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
