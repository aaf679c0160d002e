/*
 * prism-wal: archive_command and restore_command without a node start when the spool answers.
 *
 *   prism-wal archive-wal %p [--repo R] [--spool-dir D]
 *   prism-wal restore-wal %f %p [--repo R] [--spool-dir D] [--prefetch N]
 *
 * PostgreSQL calls archive_command once per segment, one call after the other, so the time of a
 * call bounds the archiving rate. The background push of `prism pg archive-wal` has usually
 * stored the segment before its call comes (its mark `<area>/<name>.ok`), and the fetch ahead of
 * `prism pg restore-wal` has usually written the segment asked for into the spool. This program
 * answers those calls from the marks in a few milliseconds:
 *
 * - the spool area comes from a pointer file node wrote (src/cli/wal-pointer.ts), used only when
 *   everything it was resolved from is the same now: the flags, the real WAL directory, the
 *   working directory, the config file's identity and the PRISM_* and HOME environment;
 * - archive: the segment's identity (device, inode, size, mtime and ctime in nanoseconds) is the
 *   one the push recorded when it read and stored it, and the record object it names exists in
 *   the pointer's (local) repository;
 * - restore: the spool's copy is the file the fetch recorded; it is renamed into %p and its mark
 *   removed.
 *
 * In every other case — an unknown flag, a missing or changed file, a line too long, a path that
 * is not UTF-8, any error — it replaces itself with `node bin/prism.js pg <the same arguments>`,
 * which does the whole work (PRISM_NODE names the node binary; else the one it was built with;
 * else `node` on PATH). It never answers a call it has a doubt about.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef PRISM_NODE_DEFAULT
#define PRISM_NODE_DEFAULT ""
#endif
#ifndef PRISM_SCRIPT_REL
#define PRISM_SCRIPT_REL "../../../bin/prism.js"
#endif

extern char **environ;

/* Bounds: anything larger is not a call this program answers (node does). */
#define MAX_ARG 4096
#define MAX_POINTER (256 * 1024)
#define MAX_MARK 8192
/* As pg-archive-wal.ts: a call waits this long at most for the push to mark its segment; a push whose heartbeat is older is dead. */
#define PUSH_WAIT_S 120
#define HEARTBEAT_STALE_S 60

static int g_argc;
static char **g_argv;

/* ---- fall back: the whole CLI ---- */

static void fall_back(void) __attribute__((noreturn));
static void fall_back(void) {
  char *exe = realpath("/proc/self/exe", NULL);
  char *script = NULL;
  if (exe) {
    char *slash = strrchr(exe, '/');
    if (slash) {
      slash[1] = '\0';
      size_t n = strlen(exe) + sizeof(PRISM_SCRIPT_REL);
      script = malloc(n);
      if (script) snprintf(script, n, "%s%s", exe, PRISM_SCRIPT_REL);
    }
  }
  if (!script) {
    fprintf(stderr, "prism-wal: cannot find prism's bin/prism.js beside this program (/proc/self/exe); use `prism pg %s` instead\n",
            g_argc > 1 ? g_argv[1] : "archive-wal");
    _exit(1);
  }
  char **args = calloc((size_t)g_argc + 3, sizeof(char *));
  if (!args) _exit(1);
  const char *node = getenv("PRISM_NODE");
  if (!node || !*node) node = NULL;
  args[1] = script;
  args[2] = "pg";
  for (int i = 1; i < g_argc; i++) args[i + 2] = g_argv[i];
  args[g_argc + 2] = NULL;
  /* node keeps the pointer files up to date when this program started it */
  setenv("PRISM_WAL_LAUNCHER", "1", 1);
  if (node) {
    args[0] = (char *)node;
    execv(node, args);
    fprintf(stderr, "prism-wal: cannot start %s (PRISM_NODE): %s\n", node, strerror(errno));
    _exit(127);
  }
  if (PRISM_NODE_DEFAULT[0] && access(PRISM_NODE_DEFAULT, X_OK) == 0) {
    args[0] = PRISM_NODE_DEFAULT;
    execv(PRISM_NODE_DEFAULT, args);
  }
  args[0] = "node";
  execvp("node", args);
  fprintf(stderr, "prism-wal: cannot start node (set PRISM_NODE to its path): %s\n", strerror(errno));
  _exit(127);
}

/* ---- growing strings (every append bounded; failure falls back) ---- */

struct str {
  char *p;
  size_t n, cap;
};

static void s_put(struct str *s, const char *b, size_t n) {
  if (n > MAX_POINTER || s->n + n + 1 > MAX_POINTER * 2) fall_back();
  if (s->n + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 256;
    while (cap < s->n + n + 1) cap *= 2;
    char *p = realloc(s->p, cap);
    if (!p) fall_back();
    s->p = p;
    s->cap = cap;
  }
  memcpy(s->p + s->n, b, n);
  s->n += n;
  s->p[s->n] = '\0';
}

static void s_cat(struct str *s, const char *z) { s_put(s, z, strlen(z)); }

static void s_fmt(struct str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_fmt(struct str *s, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp) fall_back();
  s_put(s, tmp, (size_t)n);
}

/* Percent-encoding of wal-fast-text.ts: 0x21-0x7E but '%' as they are, the others %XX. */
static void s_enc(struct str *s, const char *z) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *c = (const unsigned char *)z; *c; c++) {
    if (*c > 0x20 && *c < 0x7f && *c != '%') {
      s_put(s, (const char *)c, 1);
    } else {
      char e[3] = {'%', hex[*c >> 4], hex[*c & 15]};
      s_put(s, e, 3);
    }
  }
}

static int valid_utf8(const char *z);

/* The inverse; NULL for anything s_enc would not have written, a NUL byte or bytes that are not UTF-8. */
static char *dec(const char *b, size_t n) {
  if (n > MAX_ARG * 3) return NULL;
  char *out = malloc(n + 1);
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)b[i];
    if (c == '%') {
      if (i + 2 >= n) goto bad;
      int v = 0;
      for (int k = 1; k <= 2; k++) {
        char h = b[i + k];
        v = v * 16 + (h >= '0' && h <= '9' ? h - '0' : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1000);
      }
      if (v <= 0) goto bad;
      out[o++] = (char)v;
      i += 2;
    } else if (c > 0x20 && c < 0x7f) {
      out[o++] = (char)c;
    } else {
      goto bad;
    }
  }
  out[o] = '\0';
  if (valid_utf8(out)) return out;
bad:
  free(out);
  return NULL;
}

/* ---- checks ---- */

static int valid_utf8(const char *z) {
  const unsigned char *s = (const unsigned char *)z;
  while (*s) {
    unsigned c = *s;
    int n;
    unsigned min;
    if (c < 0x80) {
      s++;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1, min = 0x80, c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, min = 0x800, c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, min = 0x10000, c &= 0x07;
    } else {
      return 0;
    }
    for (int i = 1; i <= n; i++) {
      if ((s[i] & 0xc0) != 0x80) return 0;
      c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
    s += n + 1;
  }
  return 1;
}

/* An absolute path as node's path.resolve leaves it: no //, no . or .. part, no trailing /. */
static int normal_abs(const char *p) {
  size_t n = strlen(p);
  if (n == 0 || p[0] != '/' || n > MAX_ARG) return 0;
  if (n == 1) return 1;
  if (p[n - 1] == '/') return 0;
  for (const char *c = p; *c; c++) {
    if (*c != '/') continue;
    const char *q = c + 1;
    if (*q == '/') return 0;
    if (q[0] == '.' && (q[1] == '/' || q[1] == '\0')) return 0;
    if (q[0] == '.' && q[1] == '.' && (q[2] == '/' || q[2] == '\0')) return 0;
  }
  return 1;
}

/* A relative or absolute path without empty, . or .. parts (resolve() and the kernel then agree). */
static int plain_path(const char *p) {
  size_t n = strlen(p);
  if (n == 0 || n > MAX_ARG || p[n - 1] == '/') return 0;
  const char *part = p[0] == '/' ? p + 1 : p;
  for (;;) {
    const char *end = strchr(part, '/');
    size_t len = end ? (size_t)(end - part) : strlen(part);
    if (len == 0 || (len == 1 && part[0] == '.') || (len == 2 && part[0] == '.' && part[1] == '.')) return 0;
    if (!end) return 1;
    part = end + 1;
  }
}

static int segment_name(const char *z) {
  if (strlen(z) != 24) return 0;
  for (int i = 0; i < 24; i++)
    if (!((z[i] >= '0' && z[i] <= '9') || (z[i] >= 'A' && z[i] <= 'F'))) return 0;
  return 1;
}

/* A file or folder only this user can change. */
static int private_to_me(const struct stat *st) { return st->st_uid == geteuid() && (st->st_mode & 022) == 0; }

static long long ns(struct timespec t) { return (long long)t.tv_sec * 1000000000LL + t.tv_nsec; }

static void s_identity(struct str *s, const struct stat *st) {
  s_fmt(s, "%llu %llu %lld %lld %lld", (unsigned long long)st->st_dev, (unsigned long long)st->st_ino, (long long)st->st_size, ns(st->st_mtim),
        ns(st->st_ctim));
}

/* The whole of a small private regular file (not followed if a symbolic link), or NULL. */
static char *read_private(const char *path, size_t max, size_t *len) {
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return NULL;
  struct stat st;
  char *buf = NULL;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !private_to_me(&st) || st.st_size < 0 || (size_t)st.st_size > max) goto out;
  buf = malloc((size_t)st.st_size + 1);
  if (!buf) goto out;
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  char extra;
  if (got != (size_t)st.st_size || read(fd, &extra, 1) != 0) {
    free(buf);
    buf = NULL;
    goto out;
  }
  buf[got] = '\0';
  if (memchr(buf, '\0', got)) {
    free(buf);
    buf = NULL;
    goto out;
  }
  *len = got;
out:
  close(fd);
  return buf;
}

/* The next line of `text` starting with `key ` (cursor advanced); its value decoded, or NULL. */
static char *take_line(const char **cur, const char *end, const char *key, int encoded) {
  size_t k = strlen(key);
  const char *nl = memchr(*cur, '\n', (size_t)(end - *cur));
  if (!nl || (size_t)(nl - *cur) < k + 1 || memcmp(*cur, key, k) != 0 || (*cur)[k] != ' ') return NULL;
  const char *v = *cur + k + 1;
  size_t n = (size_t)(nl - v);
  *cur = nl + 1;
  if (encoded) return dec(v, n);
  char *out = malloc(n + 1);
  if (!out) return NULL;
  memcpy(out, v, n);
  out[n] = '\0';
  return out;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* ---- the call ---- */

struct call {
  int restore;
  const char *name; /* the segment */
  const char *path; /* %p */
  const char *repo, *spool_dir;
  int prefetch; /* -1: not given */
};

static void parse_args(struct call *c) {
  if (g_argc < 3) fall_back();
  c->restore = strcmp(g_argv[1], "restore-wal") == 0;
  if (!c->restore && strcmp(g_argv[1], "archive-wal") != 0) fall_back();
  int i = 2;
  if (c->restore) {
    if (g_argc < 4) fall_back();
    c->name = g_argv[2];
    c->path = g_argv[3];
    i = 4;
  } else {
    c->path = g_argv[2];
    const char *slash = strrchr(c->path, '/');
    c->name = slash ? slash + 1 : c->path;
    i = 3;
  }
  c->repo = c->spool_dir = NULL;
  c->prefetch = -1;
  for (; i < g_argc; i += 2) {
    const char *f = g_argv[i];
    if (i + 1 >= g_argc) fall_back();
    const char *v = g_argv[i + 1];
    if (strlen(v) > MAX_ARG || !valid_utf8(v) || v[0] == '-') fall_back();
    if (strcmp(f, "--repo") == 0 && !c->repo) {
      c->repo = v;
    } else if (strcmp(f, "--spool-dir") == 0 && !c->spool_dir) {
      c->spool_dir = v;
    } else if (c->restore && strcmp(f, "--prefetch") == 0 && c->prefetch < 0 && isdigit((unsigned char)v[0]) &&
               (v[1] == '\0' || (isdigit((unsigned char)v[1]) && v[2] == '\0'))) {
      c->prefetch = atoi(v);
    } else {
      fall_back();
    }
  }
  if (!segment_name(c->name) || c->path[0] == '-' || !plain_path(c->path) || !valid_utf8(c->path)) fall_back();
}

/* PRISM_HOME as config/paths.ts resolves it, when that needs nothing but the environment. */
static void prism_home(struct str *home) {
  const char *h = getenv("PRISM_HOME");
  if (h && *h) {
    if (!normal_abs(h) || !valid_utf8(h)) fall_back();
    s_cat(home, h);
    return;
  }
  const char *u = getenv("HOME");
  if (!u || !normal_abs(u) || !valid_utf8(u)) fall_back();
  s_cat(home, strcmp(u, "/") == 0 ? "" : u);
  s_cat(home, "/.prism-gateway");
}

/* The sorted, encoded PRISM_* and HOME environment (wal-pointer.ts pointerEnv). */
static void env_lines(struct str *out) {
  size_t n = 0, cap = 16;
  char **v = malloc(cap * sizeof(char *));
  if (!v) fall_back();
  for (char **e = environ; *e; e++) {
    const char *x = *e;
    if (strncmp(x, "PRISM_", 6) != 0 && strncmp(x, "HOME=", 5) != 0) continue;
    if (!strchr(x, '=')) fall_back();
    if (strncmp(x, "PRISM_WAL_LAUNCHER=", 19) == 0) continue;
    struct str one = {0};
    s_enc(&one, x);
    if (n == cap) {
      cap *= 2;
      char **w = realloc(v, cap * sizeof(char *));
      if (!w) fall_back();
      v = w;
    }
    v[n++] = one.p;
  }
  qsort(v, n, sizeof(char *), cmp_str);
  for (size_t i = 1; i < n; i++) {
    /* the same name twice: node keeps one of them, which one is not this program's guess */
    size_t a = strcspn(v[i - 1], "="), b = strcspn(v[i], "=");
    if (a == b && memcmp(v[i - 1], v[i], a) == 0) fall_back();
  }
  s_fmt(out, "env %zu\n", n);
  for (size_t i = 0; i < n; i++) {
    s_cat(out, v[i]);
    s_cat(out, "\n");
    free(v[i]);
  }
  free(v);
}

static uint64_t fnv1a64(const char *b, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)b[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

/* The area of the pointer node wrote for this call, once everything it was resolved from is the same. */
static char *pointed_area(const struct call *c, char **repo_out) {
  const char *kind = c->restore ? "restore" : "archive";
  struct str flags = {0};
  s_cat(&flags, "");
  if (c->repo) {
    s_cat(&flags, "repo=");
    s_enc(&flags, c->repo);
  }
  if (c->spool_dir) {
    if (flags.n) s_cat(&flags, " ");
    s_cat(&flags, "spool-dir=");
    s_enc(&flags, c->spool_dir);
  }
  if (c->prefetch >= 0) {
    if (flags.n) s_cat(&flags, " ");
    s_fmt(&flags, "prefetch=%d", c->prefetch);
  }

  /* the WAL directory: %p's folder, real path */
  char *cwd = getcwd(NULL, 0);
  if (!cwd || !valid_utf8(cwd)) fall_back();
  struct str dir = {0};
  if (c->path[0] != '/') {
    s_cat(&dir, strcmp(cwd, "/") == 0 ? "" : cwd);
    s_cat(&dir, "/");
  }
  s_cat(&dir, c->path);
  char *slash = strrchr(dir.p, '/');
  if (slash == dir.p) dir.p[1] = '\0';
  else *slash = '\0';
  char *waldir = realpath(dir.p, NULL);
  if (!waldir || !valid_utf8(waldir)) fall_back();

  struct str key = {0};
  s_cat(&key, kind);
  s_put(&key, "", 1);
  s_cat(&key, flags.p);
  s_put(&key, "", 1);
  s_enc(&key, waldir);

  struct str home = {0};
  prism_home(&home);
  struct str config = {0};
  s_cat(&config, home.p);
  s_cat(&config, "/config/backup.json");

  /* what the pointer must say, up to its own part */
  struct str want = {0};
  s_cat(&want, "prism-wal-pointer 1\nkind ");
  s_cat(&want, kind);
  s_cat(&want, "\nflags ");
  s_cat(&want, flags.p);
  s_cat(&want, "\nwaldir ");
  s_enc(&want, waldir);
  s_cat(&want, "\ncwd ");
  s_enc(&want, cwd);
  s_cat(&want, "\nconfig ");
  s_enc(&want, config.p);
  struct stat cst;
  if (stat(config.p, &cst) == 0) {
    s_cat(&want, " ");
    s_identity(&want, &cst);
  } else if (errno == ENOENT) {
    s_cat(&want, " absent");
  } else {
    fall_back();
  }
  s_cat(&want, "\n");
  env_lines(&want);

  struct str file = {0};
  s_cat(&file, home.p);
  s_fmt(&file, "/run/wal-fast/%016llx", (unsigned long long)fnv1a64(key.p, key.n));
  size_t len = 0;
  char *text = read_private(file.p, MAX_POINTER, &len);
  if (!text || len < want.n || memcmp(text, want.p, want.n) != 0) fall_back();

  const char *cur = text + want.n, *end = text + len;
  char *repo = take_line(&cur, end, "repo", 1);
  char *spool = take_line(&cur, end, "spool", 1);
  char *area = take_line(&cur, end, "area", 1);
  if (!repo || !spool || !area || (size_t)(end - cur) != 4 || memcmp(cur, "end\n", 4) != 0) fall_back();
  if (!normal_abs(repo) || !normal_abs(spool) || !normal_abs(area)) fall_back();
  /* the area is one of the spool's: <spool>/pg-<kind>/<16 hex digits> */
  size_t sl = strlen(spool);
  const char *tail = area + sl;
  if (strncmp(area, spool, sl) != 0 || strncmp(tail, c->restore ? "/pg-restore/" : "/pg-archive/", 12) != 0) fall_back();
  tail += 12;
  if (strlen(tail) != 16) fall_back();
  for (int i = 0; i < 16; i++)
    if (!((tail[i] >= '0' && tail[i] <= '9') || (tail[i] >= 'a' && tail[i] <= 'f'))) fall_back();
  struct stat ast;
  if (lstat(area, &ast) != 0 || !S_ISDIR(ast.st_mode) || !private_to_me(&ast)) fall_back();
  *repo_out = repo;
  return area;
}

struct mark {
  char *file;   /* the identity line's value */
  char *record; /* or NULL */
  long long size;
};

/* <area>/<name>.ok as wal-spool.ts formatMark writes it, with the file's identity; else fall back. */
static void read_mark(const char *area, const char *name, struct mark *m) {
  struct str path = {0};
  s_cat(&path, area);
  s_cat(&path, "/");
  s_cat(&path, name);
  s_cat(&path, ".ok");
  size_t len = 0;
  char *text = read_private(path.p, MAX_MARK, &len);
  if (!text) fall_back();
  const char *cur = text, *end = text + len;
  char *head = take_line(&cur, end, "prism-wal-mark", 0);
  char *n = take_line(&cur, end, "name", 0);
  char *size = take_line(&cur, end, "size", 0);
  char *sha = take_line(&cur, end, "sha256", 0);
  m->file = take_line(&cur, end, "file", 0);
  if (!head || strcmp(head, "1") != 0 || !n || strcmp(n, name) != 0 || !size || !sha || strlen(sha) != 64 || !m->file) fall_back();
  char *stop = NULL;
  errno = 0;
  m->size = strtoll(size, &stop, 10);
  if (errno || !stop || *stop || stop == size || m->size <= 0) fall_back();
  m->record = NULL;
  if ((size_t)(end - cur) > 7 && memcmp(cur, "record ", 7) == 0) {
    m->record = take_line(&cur, end, "record", 1);
    if (!m->record) fall_back();
  }
  if ((size_t)(end - cur) != 4 || memcmp(cur, "end\n", 4) != 0) fall_back();
}

/* The file is still the one the mark names (not followed if a symbolic link). */
static void check_identity(const char *path, const struct mark *m) {
  struct stat st;
  if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || (long long)st.st_size != m->size) fall_back();
  struct str id = {0};
  s_identity(&id, &st);
  if (strcmp(id.p, m->file) != 0) fall_back();
}

/*
 * The area's background push runs and will store `name`: worker.json (as wal-spool.ts takeWorker
 * writes it: {"pid":N,"host":"H"} or with ,"skip":"NAME") names this host and a live process, its
 * heartbeat (mtime) is fresh, and it did not leave `name` to its caller.
 */
static int push_running(const char *area, const char *name) {
  struct str path = {0};
  s_cat(&path, area);
  s_cat(&path, "/worker.json");
  size_t len = 0;
  char *w = read_private(path.p, 4096, &len);
  struct stat st;
  struct timespec now;
  char host[256];
  int alive = 0;
  if (!w || stat(path.p, &st) != 0 || clock_gettime(CLOCK_REALTIME, &now) != 0 || now.tv_sec - st.st_mtim.tv_sec > HEARTBEAT_STALE_S) goto out;
  if (gethostname(host, sizeof host) != 0) goto out;
  host[sizeof host - 1] = '\0';
  for (const char *h = host; *h; h++)
    if (!isalnum((unsigned char)*h) && *h != '.' && *h != '-' && *h != '_') goto out;
  const char *p = w;
  if (strncmp(p, "{\"pid\":", 7) != 0) goto out;
  p += 7;
  long pid = 0;
  int digits = 0;
  for (; *p >= '0' && *p <= '9' && digits < 10; p++, digits++) pid = pid * 10 + (*p - '0');
  if (digits == 0 || pid <= 1 || strncmp(p, ",\"host\":\"", 9) != 0) goto out;
  p += 9;
  size_t hl = strlen(host);
  if (strncmp(p, host, hl) != 0 || p[hl] != '"') goto out;
  p += hl + 1;
  if (strcmp(p, "}") != 0) {
    /* ,"skip":"NAME"}: the segment its caller stores itself */
    if (strncmp(p, ",\"skip\":\"", 9) != 0) goto out;
    p += 9;
    const char *q = strchr(p, '"');
    if (!q || strcmp(q, "\"}") != 0 || ((size_t)(q - p) == strlen(name) && strncmp(p, name, (size_t)(q - p)) == 0)) goto out;
  }
  alive = kill((pid_t)pid, 0) == 0 || errno == EPERM;
out:
  free(w);
  free(path.p);
  return alive;
}

/*
 * A call that comes before the push has marked its segment waits for the mark while the push
 * runs (as the node side does), instead of starting node, which would wait the same way. No
 * push, a push that ends or fails on it (`<name>.error`), a segment PostgreSQL no longer has
 * ready: node.
 */
static void wait_for_mark(const struct call *c, const char *area) {
  struct str mark = {0}, error = {0}, ready = {0};
  s_cat(&mark, area);
  s_cat(&mark, "/");
  s_cat(&mark, c->name);
  s_cat(&error, mark.p);
  s_cat(&mark, ".ok");
  s_cat(&error, ".error");
  if (access(mark.p, F_OK) == 0) return;
  if (errno != ENOENT) fall_back();
  size_t dl = strlen(c->path) - strlen(c->name);
  s_put(&ready, c->path, dl);
  s_cat(&ready, "archive_status/");
  s_cat(&ready, c->name);
  s_cat(&ready, ".ready");
  if (access(ready.p, F_OK) != 0) fall_back();
  struct timespec start, now, tick = {0, 10 * 1000 * 1000};
  if (clock_gettime(CLOCK_MONOTONIC, &start) != 0) fall_back();
  for (unsigned i = 0;; i++) {
    if (i % 50 == 0 && !push_running(area, c->name)) fall_back();
    if (access(error.p, F_OK) == 0) fall_back();
    nanosleep(&tick, NULL);
    if (access(mark.p, F_OK) == 0) return;
    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0 || now.tv_sec - start.tv_sec > PUSH_WAIT_S) fall_back();
  }
}

static int archive(const struct call *c) {
  char *repo = NULL;
  char *area = pointed_area(c, &repo);
  wait_for_mark(c, area);
  struct mark m;
  read_mark(area, c->name, &m);
  check_identity(c->path, &m);
  /* the record, in the pointer's repository where LocalBackend keeps it: <repo>/pg/wal/<name>.json */
  struct str want = {0};
  s_cat(&want, repo);
  s_cat(&want, "/pg/wal/");
  s_cat(&want, c->name);
  s_cat(&want, ".json");
  struct stat rst;
  if (!m.record || strcmp(m.record, want.p) != 0 || stat(want.p, &rst) != 0 || !S_ISREG(rst.st_mode)) fall_back();
  return 0;
}

static int restore(const struct call *c) {
  char *repo = NULL;
  char *area = pointed_area(c, &repo);
  struct mark m;
  read_mark(area, c->name, &m);
  struct str copy = {0};
  s_cat(&copy, area);
  s_cat(&copy, "/");
  s_cat(&copy, c->name);
  check_identity(copy.p, &m);
  /* the same file system: renamed whole; any failure (EXDEV too) leaves it to node */
  if (rename(copy.p, c->path) != 0) fall_back();
  struct str ok = {0};
  s_cat(&ok, copy.p);
  s_cat(&ok, ".ok");
  unlink(ok.p);
  return 0;
}

int main(int argc, char **argv) {
  g_argc = argc;
  g_argv = argv;
  struct call c;
  parse_args(&c);
  return c.restore ? restore(&c) : archive(&c);
}
