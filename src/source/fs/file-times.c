// Sets a file's access and modification times to the nanosecond (futimens / utimensat), which
// Node's utimes cannot: it takes seconds as a double, and libuv cuts them to microseconds.
// Built by scripts/build-native.mjs; src/source/fs/file-times.ts falls back to utimes without it.
#define NAPI_VERSION 6
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

// ns since the epoch (a BigInt) -> timespec; 0 when it is not a BigInt that fits 64 bits
static int to_timespec(napi_env env, napi_value v, struct timespec *ts) {
  int64_t ns;
  bool lossless;
  if (napi_get_value_bigint_int64(env, v, &ns, &lossless) != napi_ok || !lossless) return 0;
  int64_t sec = ns / 1000000000, nsec = ns % 1000000000;
  if (nsec < 0) {
    nsec += 1000000000;
    sec -= 1;
  }
  ts->tv_sec = (time_t)sec;
  ts->tv_nsec = (long)nsec;
  return 1;
}

static napi_value result(napi_env env, int err) {
  napi_value out;
  napi_create_int32(env, err, &out);
  return out;
}

// futimens(fd: number, ns: bigint): errno (0: done); atime and mtime both set to ns
static napi_value futimens_js(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  struct timespec ts[2];
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || !to_timespec(env, argv[1], &ts[0])) return result(env, EINVAL);
  ts[1] = ts[0];
  return result(env, futimens(fd, ts) == 0 ? 0 : errno);
}

// lutimens(path: string | Buffer, ns: bigint): errno (0: done); a symlink's own times, never its target's
static napi_value lutimens_js(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct timespec ts[2];
  if (argc < 2 || !to_timespec(env, argv[1], &ts[0])) return result(env, EINVAL);
  ts[1] = ts[0];
  bool is_buffer = false;
  napi_is_buffer(env, argv[0], &is_buffer);
  char *path;
  size_t len;
  if (is_buffer) {
    void *data;
    if (napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok) return result(env, EINVAL);
    path = malloc(len + 1);
    if (!path) return result(env, ENOMEM);
    memcpy(path, data, len);
  } else {
    if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok) return result(env, EINVAL);
    path = malloc(len + 1);
    if (!path) return result(env, ENOMEM);
    napi_get_value_string_utf8(env, argv[0], path, len + 1, &len);
  }
  path[len] = '\0';
  int err = memchr(path, '\0', len) != NULL ? EINVAL : utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
  free(path);
  return result(env, err);
}

NAPI_MODULE_INIT() {
  napi_value f;
  napi_create_function(env, "futimens", NAPI_AUTO_LENGTH, futimens_js, NULL, &f);
  napi_set_named_property(env, exports, "futimens", f);
  napi_create_function(env, "lutimens", NAPI_AUTO_LENGTH, lutimens_js, NULL, &f);
  napi_set_named_property(env, exports, "lutimens", f);
  return exports;
}
