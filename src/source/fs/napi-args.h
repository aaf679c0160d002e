// Arguments of the file-system addons (file-times.c, file-write.c), read from JavaScript values.
#ifndef PRISM_NAPI_ARGS_H
#define PRISM_NAPI_ARGS_H
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// ns since the epoch (a BigInt) -> atime and mtime, both that time; 0 when it is not a BigInt that fits 64 bits
static inline int to_timespecs(napi_env env, napi_value v, struct timespec ts[2]) {
  int64_t ns;
  bool lossless;
  if (napi_get_value_bigint_int64(env, v, &ns, &lossless) != napi_ok || !lossless) return 0;
  int64_t sec = ns / 1000000000, nsec = ns % 1000000000;
  if (nsec < 0) {
    nsec += 1000000000;
    sec -= 1;
  }
  ts[0].tv_sec = (time_t)sec;
  ts[0].tv_nsec = (long)nsec;
  ts[1] = ts[0];
  return 1;
}

// `v` (a Buffer of the path's bytes, or a string) as a C string in `stack` or, when longer, in
// malloc'd memory; NULL when it is neither or holds a NUL
static inline char *read_path(napi_env env, napi_value v, char *stack, size_t stack_size) {
  bool is_buffer = false;
  napi_is_buffer(env, v, &is_buffer);
  void *bytes = NULL;
  size_t len;
  if (is_buffer) {
    if (napi_get_buffer_info(env, v, &bytes, &len) != napi_ok) return NULL;
  } else if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    return NULL;
  }
  char *path = len < stack_size ? stack : malloc(len + 1);
  if (!path) return NULL;
  if (is_buffer) memcpy(path, bytes, len);
  else napi_get_value_string_utf8(env, v, path, len + 1, &len);
  path[len] = '\0';
  if (memchr(path, '\0', len) != NULL) {
    if (path != stack) free(path);
    return NULL;
  }
  return path;
}

#endif
