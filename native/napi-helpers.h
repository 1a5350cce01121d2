/*
 * Small N-API helpers shared by the addon's files: argument errors, number properties, exported
 * functions, and work queued to libuv's thread pool behind a promise (and its rejection).
 */
#ifndef NAPI_HELPERS_H
#define NAPI_HELPERS_H

#include <node_api.h>
#include <string.h>

/* Throws a TypeError (code ERR_INVALID_ARG) saying what an argument should be; returns NULL. */
static inline napi_value fail(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG", msg);
  return NULL;
}

static inline void set_number(napi_env env, napi_value obj, const char *name, double x) {
  napi_value v;
  napi_create_double(env, x, &v);
  napi_set_named_property(env, obj, name, v);
}

/* Rejects `deferred` with an ERR_PCAP_READ error: the work was cancelled, or failed with `error`. */
static inline void reject_read(napi_env env, napi_deferred deferred, napi_status status, int error) {
  napi_value msg, code, err;
  napi_create_string_utf8(env, status != napi_ok ? "the read was cancelled" : strerror(error), NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, "ERR_PCAP_READ", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &err);
  napi_reject_deferred(env, deferred, err);
}

/* Queues `execute` (thread pool) then `complete` (JS thread) on `data`; returns the promise `deferred` settles. */
static inline napi_value queue_work(napi_env env, const char *name, napi_async_execute_callback execute,
                                    napi_async_complete_callback complete, void *data, napi_async_work *work,
                                    napi_deferred *deferred) {
  napi_value promise, resource;
  napi_create_promise(env, deferred, &promise);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
  napi_create_async_work(env, NULL, resource, execute, complete, data, work);
  napi_queue_async_work(env, *work);
  return promise;
}

static inline void export_function(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f);
  napi_set_named_property(env, exports, name, f);
}

#endif
