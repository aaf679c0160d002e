// A restored file's system calls in one call from JavaScript: create (never through a symlink, never
// blocking on a FIFO), check it is a regular file, write, size, owner, mode, times, close. Node would
// make each of these its own call through libuv; a restore of many small files spends more time in
// those calls' overhead than in the kernel's work. Built by scripts/build-native.mjs;
// src/source/fs/file-write.ts falls back to node:fs without it.
//
// Result of every function: 0, or (errno << 3) | step, step naming the call that failed:
// 0 open, 1 fstat (errno 0: not a regular file), 2 write, 3 ftruncate, 4 fchown, 5 fchmod,
// 6 futimens, 7 close.
#define NAPI_VERSION 6
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "napi-args.h"

enum { STEP_OPEN, STEP_FSTAT, STEP_WRITE, STEP_TRUNCATE, STEP_CHOWN, STEP_CHMOD, STEP_TIMES, STEP_CLOSE };

static napi_value int_value(napi_env env, int32_t v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

static int32_t failed(int step) { return ((int32_t)errno << 3) | step; }

// owner (uid, gid: -1 leaves it), mode, times, then close; the descriptor is closed whatever fails
static int32_t finish_fd(int fd, int32_t uid, int32_t gid, uint32_t mode, const struct timespec ts[2]) {
  int32_t r = 0;
  if ((uid >= 0 || gid >= 0) && fchown(fd, (uid_t)uid, (gid_t)gid) != 0) r = failed(STEP_CHOWN);
  else if (fchmod(fd, (mode_t)mode) != 0) r = failed(STEP_CHMOD);
  else if (futimens(fd, ts) != 0) r = failed(STEP_TIMES);
  if (close(fd) != 0 && r == 0 && errno != EINTR) r = failed(STEP_CLOSE);
  return r;
}

// open(2) for a restored file, never following a symlink nor waiting on a FIFO, then checked to be a
// regular file: the descriptor, or -1 with *r set
static int create_file(const char *path, int32_t *r) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0) {
    *r = failed(STEP_OPEN);
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) *r = failed(STEP_FSTAT);
  else if (!S_ISREG(st.st_mode)) *r = STEP_FSTAT;
  else return fd;
  close(fd);
  return -1;
}

// writeFile(path: Buffer | string, data: Buffer | null, size: number, mode: number, ns: bigint, uid: number, gid: number): result
// Creates or truncates `path` (O_NOFOLLOW | O_NONBLOCK: a symlink or FIFO there fails), writes
// `data` (null: none, the file is a hole of `size` bytes), sets the size when it differs, then owner
// (unless -1), mode and times.
static napi_value write_file_js(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 7) return int_value(env, (EINVAL << 3) | STEP_OPEN);
  void *data = NULL;
  size_t data_len = 0;
  napi_valuetype data_type;
  napi_typeof(env, argv[1], &data_type);
  if (data_type != napi_null && napi_get_buffer_info(env, argv[1], &data, &data_len) != napi_ok) return int_value(env, (EINVAL << 3) | STEP_OPEN);
  double size;
  uint32_t mode;
  int32_t uid, gid;
  struct timespec ts[2];
  if (napi_get_value_double(env, argv[2], &size) != napi_ok || size < 0 || napi_get_value_uint32(env, argv[3], &mode) != napi_ok ||
      !to_timespecs(env, argv[4], ts) || napi_get_value_int32(env, argv[5], &uid) != napi_ok || napi_get_value_int32(env, argv[6], &gid) != napi_ok)
    return int_value(env, (EINVAL << 3) | STEP_OPEN);
  char stack_path[1024];
  char *path = read_path(env, argv[0], stack_path, sizeof stack_path);
  if (!path) return int_value(env, (EINVAL << 3) | STEP_OPEN);

  int32_t r = 0;
  int fd = create_file(path, &r);
  if (path != stack_path) free(path);
  if (fd < 0) return int_value(env, r);
  for (size_t off = 0; r == 0 && off < data_len;) {
    ssize_t n = write(fd, (const char *)data + off, data_len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) r = n < 0 ? failed(STEP_WRITE) : ((ENOSPC << 3) | STEP_WRITE);
    else off += (size_t)n;
  }
  if (r == 0 && (double)data_len != size && ftruncate(fd, (off_t)size) != 0) r = failed(STEP_TRUNCATE);
  if (r != 0) {
    close(fd);
    return int_value(env, r);
  }
  return int_value(env, finish_fd(fd, uid, gid, mode, ts));
}

// createFile(path: Buffer | string): a descriptor (>= 0), or -result. Opened here, not by node:fs,
// and closed here too (finishFile, closeFile): node:fs keeps a list of the descriptors it opened
// and would take a number reused by another thread for its own.
static napi_value create_file_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char stack_path[1024];
  char *path = argc < 1 ? NULL : read_path(env, argv[0], stack_path, sizeof stack_path);
  if (!path) return int_value(env, -((EINVAL << 3) | STEP_OPEN));
  int32_t r = 0;
  int fd = create_file(path, &r);
  if (path != stack_path) free(path);
  return int_value(env, fd >= 0 ? fd : -r);
}

// closeFile(fd: number): result
static napi_value close_file_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) return int_value(env, (EINVAL << 3) | STEP_CLOSE);
  return int_value(env, close(fd) == 0 || errno == EINTR ? 0 : failed(STEP_CLOSE));
}

// finishFile(fd: number, mode: number, ns: bigint, uid: number, gid: number): result
// Owner (unless -1), mode and times of an open file, then closes it (also when one of them fails).
static napi_value finish_file_js(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd, uid, gid;
  uint32_t mode;
  struct timespec ts[2];
  if (argc < 5 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) return int_value(env, (EINVAL << 3) | STEP_CLOSE);
  if (napi_get_value_uint32(env, argv[1], &mode) != napi_ok || !to_timespecs(env, argv[2], ts) || napi_get_value_int32(env, argv[3], &uid) != napi_ok ||
      napi_get_value_int32(env, argv[4], &gid) != napi_ok) {
    close(fd);
    return int_value(env, (EINVAL << 3) | STEP_CHMOD);
  }
  return int_value(env, finish_fd(fd, uid, gid, mode, ts));
}

NAPI_MODULE_INIT() {
  napi_value f;
  napi_create_function(env, "writeFile", NAPI_AUTO_LENGTH, write_file_js, NULL, &f);
  napi_set_named_property(env, exports, "writeFile", f);
  napi_create_function(env, "finishFile", NAPI_AUTO_LENGTH, finish_file_js, NULL, &f);
  napi_set_named_property(env, exports, "finishFile", f);
  napi_create_function(env, "createFile", NAPI_AUTO_LENGTH, create_file_js, NULL, &f);
  napi_set_named_property(env, exports, "createFile", f);
  napi_create_function(env, "closeFile", NAPI_AUTO_LENGTH, close_file_js, NULL, &f);
  napi_set_named_property(env, exports, "closeFile", f);
  return exports;
}
