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

#include "napi-args.h"

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
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || !to_timespecs(env, argv[1], ts)) return result(env, EINVAL);
  return result(env, futimens(fd, ts) == 0 ? 0 : errno);
}

// lutimens(path: string | Buffer, ns: bigint): errno (0: done); a symlink's own times, never its target's
static napi_value lutimens_js(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct timespec ts[2];
  if (argc < 2 || !to_timespecs(env, argv[1], ts)) return result(env, EINVAL);
  char stack_path[1024];
  char *path = read_path(env, argv[0], stack_path, sizeof stack_path);
  if (!path) return result(env, EINVAL);
  int err = utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
  if (path != stack_path) free(path);
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
