/*
 * faultfs: a fault-injecting pass-through FUSE file system (libfuse3, high-level API).
 *
 *   faultfs LOWER MOUNTPOINT [-o ctl=PATH] [fuse options]
 *
 * Every operation is passed through to the directory LOWER (through *at system calls on an O_PATH
 * descriptor of LOWER). A control socket (see README.md) adds error and latency rules, a
 * "lost-writes" mode in which un-fsynced data and un-fsynced directory entries are kept apart so
 * that a simulated power loss can drop them, and a self-check ("canary").
 */
#define FUSE_USE_VERSION 312
#define _GNU_SOURCE

#include <fuse.h>
#include <fuse_lowlevel.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HIDDEN_DIR ".faultfs"
#define CANARY_PREFIX ".faultfs-canary-"

/* ------------------------------------------------------------------------------------------ */
/* Global state                                                                                */

static int g_lowerfd = -1;        /* O_PATH descriptor of LOWER */
static char g_lower[PATH_MAX];    /* absolute path of LOWER */
static char g_mnt[PATH_MAX];      /* absolute path of the mount point (the canary goes through it) */
static char *g_ctl_path;          /* control socket path */
static struct fuse *g_fuse;       /* for cache invalidations */
static struct fuse_config *g_cfg; /* libfuse's own configuration (entry_timeout), see set_lost() */

static atomic_int g_lost;         /* lost-writes mode */
static atomic_int g_fsync_clean;  /* discard un-synced data when an fsync fails by rule */
static atomic_int g_nrules;       /* error rules + latency rules: fast path when zero */
static atomic_long g_injected;    /* calls failed by an error rule, since start */
static atomic_uint_fast64_t g_gen = 1;        /* handle generation: bumped by power-loss */
static atomic_uint_fast64_t g_dead_before;    /* handles with gen < this return EIO */
static atomic_long g_cached_bytes;
static atomic_int g_dirty_files;  /* files with un-synced data */
static atomic_uint g_seq;         /* names of hidden files */

enum { OP_READ = 1, OP_WRITE = 2, OP_FSYNC = 4, OP_OPEN = 8, OP_META = 16, OP_ANY = 31 };

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double rnd(void)
{
	static __thread unsigned short xs[3];
	static __thread int init;
	if (!init) {
		uint64_t s = now_ns() ^ ((uint64_t)syscall(SYS_gettid) << 32);
		xs[0] = (unsigned short)s;
		xs[1] = (unsigned short)(s >> 16);
		xs[2] = (unsigned short)(s >> 32);
		init = 1;
	}
	return erand48(xs);
}

/*
 * Optional trace of every data operation, for finding where data went: FAULTFS_TRACE=FILE in
 * faultfs's environment appends one line per open, read, write, fsync, truncate, fallocate, rename,
 * unlink and release (time in microseconds, thread, path, offsets, and a checksum of the data).
 */
static FILE *g_trace;
static pthread_mutex_t g_trace_mtx = PTHREAD_MUTEX_INITIALIZER;
static void trace(const char *fmt, ...)
{
	if (!g_trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&g_trace_mtx);
	fprintf(g_trace, "%llu %ld ", (unsigned long long)(now_ns() / 1000), (long)syscall(SYS_gettid));
	vfprintf(g_trace, fmt, ap);
	fputc('\n', g_trace);
	fflush(g_trace);
	pthread_mutex_unlock(&g_trace_mtx);
	va_end(ap);
}
/* The arguments (checksums of the data) are computed only when tracing. */
#define TRACE(...) do { if (g_trace) trace(__VA_ARGS__); } while (0)

static unsigned sum(const char *b, size_t n)
{
	unsigned h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)b[i]) * 16777619u;
	return h;
}
static int allzero(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* Path relative to LOWER: "/a/b" -> "a/b", "/" -> ".". */
static const char *rel(const char *path)
{
	if (!path)
		return ".";
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

static int is_hidden(const char *path)
{
	const char *r = rel(path);
	size_t n = strlen(HIDDEN_DIR);
	return strncmp(r, HIDDEN_DIR, n) == 0 && (r[n] == 0 || r[n] == '/');
}

/* ------------------------------------------------------------------------------------------ */
/* Rules                                                                                       */

struct rule {
	struct rule *next;
	unsigned id;
	int latency;      /* 0: error rule, 1: latency rule */
	int ops;
	int has_re;
	regex_t re;
	int err;
	double prob;
	long count;       /* -1: unlimited */
	uint64_t expires; /* 0: never */
	long us;
};

static pthread_mutex_t g_rules_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct rule *g_rules;
static unsigned g_next_rule = 1;

static void rule_free(struct rule *r)
{
	if (r->has_re)
		regfree(&r->re);
	free(r);
}

/* Applies latency and error rules; returns 0 or a positive errno. */
static int check_rules(int op, const char *path)
{
	if (atomic_load_explicit(&g_nrules, memory_order_relaxed) == 0)
		return 0;
	const char *r = path ? rel(path) : "";
	/* the canary's own files: it proves faultfs's mechanics, and rules are not for it to count */
	if (strncmp(r, CANARY_PREFIX, strlen(CANARY_PREFIX)) == 0 || strstr(r, "/" CANARY_PREFIX))
		return 0;
	long sleep_us = 0;
	int err = 0;
	uint64_t now = now_ns();
	pthread_mutex_lock(&g_rules_mtx);
	for (struct rule **pp = &g_rules; *pp;) {
		struct rule *x = *pp;
		if ((x->expires && now >= x->expires) || x->count == 0) {
			*pp = x->next;
			rule_free(x);
			atomic_fetch_sub(&g_nrules, 1);
			continue;
		}
		pp = &x->next;
		if (!(x->ops & op))
			continue;
		if (x->has_re && regexec(&x->re, r, 0, NULL, 0) != 0)
			continue;
		if (x->latency) {
			sleep_us += x->us;
			continue;
		}
		if (err)
			continue;
		if (x->prob < 1.0 && rnd() >= x->prob)
			continue;
		err = x->err;
		if (x->count > 0)
			x->count--;
	}
	pthread_mutex_unlock(&g_rules_mtx);
	if (err)
		atomic_fetch_add(&g_injected, 1);
	if (sleep_us > 0) {
		struct timespec ts = { sleep_us / 1000000, (sleep_us % 1000000) * 1000 };
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	return err;
}

/* ------------------------------------------------------------------------------------------ */
/* Per-file state: the lost-writes cache                                                       */

enum { WOP_WRITE, WOP_TRUNC };

struct wop {
	int kind;
	off_t off;   /* write offset, or new size */
	size_t len;
	char *data;
};

struct fstate {
	struct fstate *next;
	dev_t dev;
	ino_t ino;
	int refs;         /* open handles + internal users */
	int wfd;          /* O_RDWR descriptor on LOWER used to apply the log */
	char *path;       /* relative path when first seen (for invalidation and canary scoping) */
	pthread_mutex_t mtx;
	atomic_int nops;  /* un-synced operations */
	struct wop *ops;
	int cap;
	off_t size;       /* logical size while nops > 0 */
	struct timespec mtime; /* time of the last cached change (what a real file system shows as mtime) */
};

#define FS_BUCKETS 1024
static pthread_mutex_t g_fs_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct fstate *g_fs[FS_BUCKETS];

static unsigned fs_hash(dev_t dev, ino_t ino)
{
	return (unsigned)((ino * 0x9E3779B97F4A7C15ull) ^ dev) % FS_BUCKETS;
}

/* Looks up (and with create, creates) the state of the file open on fd (a LOWER descriptor). */
static struct fstate *fs_get(int fd, const char *relpath)
{
	struct stat st;
	if (fstat(fd, &st) == -1)
		return NULL;
	unsigned h = fs_hash(st.st_dev, st.st_ino);
	pthread_mutex_lock(&g_fs_mtx);
	struct fstate *fs;
	for (fs = g_fs[h]; fs; fs = fs->next)
		if (fs->dev == st.st_dev && fs->ino == st.st_ino)
			break;
	if (!fs) {
		fs = calloc(1, sizeof(*fs));
		if (!fs) {
			pthread_mutex_unlock(&g_fs_mtx);
			return NULL;
		}
		fs->dev = st.st_dev;
		fs->ino = st.st_ino;
		fs->wfd = -1; /* opened when the first operation is cached */
		fs->path = strdup(relpath ? relpath : "");
		pthread_mutex_init(&fs->mtx, NULL);
		fs->next = g_fs[h];
		g_fs[h] = fs;
	}
	fs->refs++;
	pthread_mutex_unlock(&g_fs_mtx);
	return fs;
}

static struct fstate *fs_find(dev_t dev, ino_t ino)
{
	unsigned h = fs_hash(dev, ino);
	struct fstate *fs;
	for (fs = g_fs[h]; fs; fs = fs->next)
		if (fs->dev == dev && fs->ino == ino)
			return fs;
	return NULL;
}

static void fs_unlink_locked(struct fstate *fs)
{
	unsigned h = fs_hash(fs->dev, fs->ino);
	for (struct fstate **pp = &g_fs[h]; *pp; pp = &(*pp)->next)
		if (*pp == fs) {
			*pp = fs->next;
			break;
		}
	if (fs->wfd >= 0)
		close(fs->wfd);
	pthread_mutex_destroy(&fs->mtx);
	free(fs->path);
	free(fs);
}

/* Drops a reference; a state with un-synced data stays (the table holds it) until synced. */
static void fs_put(struct fstate *fs)
{
	if (!fs)
		return;
	pthread_mutex_lock(&g_fs_mtx);
	if (--fs->refs <= 0 && atomic_load(&fs->nops) == 0)
		fs_unlink_locked(fs);
	pthread_mutex_unlock(&g_fs_mtx);
}

/* Frees the log. Caller holds fs->mtx. */
static void log_clear(struct fstate *fs)
{
	int n = atomic_load(&fs->nops);
	for (int i = 0; i < n; i++) {
		atomic_fetch_sub(&g_cached_bytes, (long)fs->ops[i].len);
		free(fs->ops[i].data);
	}
	free(fs->ops);
	fs->ops = NULL;
	fs->cap = 0;
	if (n > 0)
		atomic_fetch_sub(&g_dirty_files, 1);
	atomic_store(&fs->nops, 0);
}

/* The read-write descriptor the log is applied through, opened from fd (any descriptor of the file). */
static int fs_wfd(struct fstate *fs, int fd)
{
	if (fs->wfd >= 0)
		return 0;
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	fs->wfd = open(proc, O_RDWR | O_CLOEXEC);
	if (fs->wfd == -1)
		fs->wfd = dup(fd);
	return fs->wfd == -1 ? -errno : 0;
}

/* Appends an operation. Caller holds fs->mtx. Copies data. */
static int log_add(struct fstate *fs, int fd, int kind, off_t off, const char *data, size_t len)
{
	int n = atomic_load(&fs->nops);
	int e = fs_wfd(fs, fd);
	if (e)
		return e;
	if (n == 0) {
		struct stat st;
		if (fstat(fs->wfd, &st) == -1)
			return -errno;
		fs->size = st.st_size;
	}
	if (n == fs->cap) {
		int cap = fs->cap ? fs->cap * 2 : 16;
		struct wop *ops = realloc(fs->ops, sizeof(*ops) * (size_t)cap);
		if (!ops)
			return -ENOMEM;
		fs->ops = ops;
		fs->cap = cap;
	}
	struct wop *w = &fs->ops[n];
	clock_gettime(CLOCK_REALTIME, &fs->mtime);
	w->kind = kind;
	w->off = off;
	w->len = 0;
	w->data = NULL;
	if (kind == WOP_WRITE) {
		w->data = malloc(len ? len : 1);
		if (!w->data)
			return -ENOMEM;
		memcpy(w->data, data, len);
		w->len = len;
		atomic_fetch_add(&g_cached_bytes, (long)len);
		if (off + (off_t)len > fs->size)
			fs->size = off + (off_t)len;
	} else {
		fs->size = off;
	}
	if (n == 0)
		atomic_fetch_add(&g_dirty_files, 1);
	atomic_store(&fs->nops, n + 1);
	return 0;
}

static int apply_op(int fd, const struct wop *w, size_t len)
{
	if (w->kind == WOP_TRUNC)
		return ftruncate(fd, w->off) == -1 ? -errno : 0;
	size_t done = 0;
	while (done < len) {
		ssize_t r = pwrite(fd, w->data + done, len - done, w->off + (off_t)done);
		if (r == -1)
			return -errno;
		done += (size_t)r;
	}
	return 0;
}

/* Writes the log to LOWER (no fsync). Caller holds fs->mtx. */
static int log_flush(struct fstate *fs)
{
	int n = atomic_load(&fs->nops);
	for (int i = 0; i < n; i++) {
		int r = apply_op(fs->wfd, &fs->ops[i], fs->ops[i].len);
		if (r)
			return r;
	}
	log_clear(fs);
	return 0;
}

/* Reads through the cache. Caller holds fs->mtx. */
static ssize_t log_read(struct fstate *fs, int fd, char *buf, size_t size, off_t off)
{
	if (off >= fs->size)
		return 0;
	size_t n = size;
	if ((off_t)n > fs->size - off)
		n = (size_t)(fs->size - off);
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, off + (off_t)got);
		if (r == -1)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got < n)
		memset(buf + got, 0, n - got);
	int nops = atomic_load(&fs->nops);
	off_t end = off + (off_t)n;
	for (int i = 0; i < nops; i++) {
		struct wop *w = &fs->ops[i];
		if (w->kind == WOP_TRUNC) {
			if (w->off < end) {
				off_t from = w->off > off ? w->off : off;
				memset(buf + (from - off), 0, (size_t)(end - from));
			}
			continue;
		}
		off_t ws = w->off, we = w->off + (off_t)w->len;
		off_t s = ws > off ? ws : off, e = we < end ? we : end;
		if (s < e)
			memcpy(buf + (s - off), w->data + (s - ws), (size_t)(e - s));
	}
	return (ssize_t)n;
}

/* ------------------------------------------------------------------------------------------ */
/* Directory-entry journal (lost-writes mode)                                                  */

enum { DOP_CREATE, DOP_UNLINK, DOP_RENAME, DOP_RMDIR };

struct dirop {
	struct dirop *next;  /* newest first */
	int kind;
	int exchange;
	char *path;          /* created / unlinked path, rename source */
	char *path2;         /* rename target */
	char *hidden;        /* hidden copy of the unlinked file or displaced rename target */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int ndirs;
	dev_t dev[2];
	ino_t ino[2];
	int synced[2];
	unsigned long gone[2]; /* the parent was removed: the token of its DOP_RMDIR (see dirops_parent_gone) */
	unsigned long token;   /* DOP_RMDIR: names the removed directory for the entries it held */
};

static pthread_mutex_t g_dir_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct dirop *g_dirops;
static int g_ndirops;

static void parent_of(const char *r, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", r);
	char *slash = strrchr(out, '/');
	if (slash)
		*slash = 0;
	else
		snprintf(out, outsz, ".");
}

static int parent_id(const char *r, dev_t *dev, ino_t *ino)
{
	char p[PATH_MAX];
	struct stat st;
	parent_of(r, p, sizeof(p));
	if (fstatat(g_lowerfd, p, &st, 0) == -1)
		return -errno;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

static void dirop_free(struct dirop *d, int drop_hidden)
{
	if (drop_hidden && d->hidden)
		unlinkat(g_lowerfd, d->hidden, 0);
	free(d->path);
	free(d->path2);
	free(d->hidden);
	free(d);
}

static struct dirop *dirop_new(int kind, const char *path, const char *path2)
{
	struct dirop *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->kind = kind;
	d->path = strdup(path);
	d->path2 = path2 ? strdup(path2) : NULL;
	if (parent_id(path, &d->dev[0], &d->ino[0]) == 0)
		d->ndirs = 1;
	if (path2 && parent_id(path2, &d->dev[d->ndirs], &d->ino[d->ndirs]) == 0)
		d->ndirs++;
	return d;
}

static void dirop_push(struct dirop *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&g_dir_mtx);
	d->next = g_dirops;
	g_dirops = d;
	g_ndirops++;
	pthread_mutex_unlock(&g_dir_mtx);
}

/* Makes a hidden hard link of r (if it exists and is not a directory); returns its name. */
static char *hide(const char *r)
{
	struct stat st;
	if (fstatat(g_lowerfd, r, &st, AT_SYMLINK_NOFOLLOW) == -1 || S_ISDIR(st.st_mode))
		return NULL;
	mkdirat(g_lowerfd, HIDDEN_DIR, 0700);
	char name[64];
	snprintf(name, sizeof(name), HIDDEN_DIR "/u%d-%u", (int)getpid(), atomic_fetch_add(&g_seq, 1));
	if (linkat(g_lowerfd, r, g_lowerfd, name, 0) == -1)
		return NULL;
	return strdup(name);
}

/*
 * The removal of the directory named by token became durable: what was journalled in it can no
 * longer be taken back (a power loss must not undo it, by path, into a new directory of the same
 * name), and the same holds, in turn, for directories removed from it. Caller holds g_dir_mtx.
 */
static void dirops_drop_orphans_locked(unsigned long token)
{
	for (struct dirop **pp = &g_dirops; *pp;) {
		struct dirop *d = *pp;
		int orphan = 0;
		for (int i = 0; i < d->ndirs; i++)
			orphan |= d->gone[i] == token;
		if (!orphan) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		g_ndirops--;
		unsigned long inner = d->kind == DOP_RMDIR ? d->token : 0;
		dirop_free(d, 1);
		if (inner) {
			dirops_drop_orphans_locked(inner);
			pp = &g_dirops; /* the list changed behind us */
		}
	}
}

/* fsyncdir of the directory (dev, ino): its entries become durable. */
static void dirops_synced(dev_t dev, ino_t ino)
{
	pthread_mutex_lock(&g_dir_mtx);
	for (struct dirop **pp = &g_dirops; *pp;) {
		struct dirop *d = *pp;
		int all = 1;
		for (int i = 0; i < d->ndirs; i++) {
			if (d->dev[i] == dev && d->ino[i] == ino)
				d->synced[i] = 1;
			all &= d->synced[i];
		}
		if (all) {
			*pp = d->next;
			g_ndirops--;
			unsigned long removed = d->kind == DOP_RMDIR ? d->token : 0;
			dirop_free(d, 1);
			if (removed) {
				dirops_drop_orphans_locked(removed);
				pp = &g_dirops;
			}
		} else {
			pp = &d->next;
		}
	}
	pthread_mutex_unlock(&g_dir_mtx);
}

/*
 * The directory (dev, ino) was removed (its DOP_RMDIR carries token): entries journalled in it can
 * no longer be made durable by its fsync. Its inode number may be reused at once by a new
 * directory, whose fsync must not be taken for the old one's (that would forget, say, the unlink
 * of a file the old directory held, which a power loss that brings the old directory back must
 * bring back). They stay until a power loss undoes them inside the restored directory, or until
 * the removal itself becomes durable (dirops_drop_orphans_locked).
 */
static void dirops_parent_gone(dev_t dev, ino_t ino, unsigned long token)
{
	pthread_mutex_lock(&g_dir_mtx);
	for (struct dirop *d = g_dirops; d; d = d->next) {
		for (int i = 0; i < d->ndirs; i++) {
			if (!d->synced[i] && d->dev[i] == dev && d->ino[i] == ino) {
				d->dev[i] = 0;
				d->ino[i] = 0; /* no directory has inode 0 */
				d->gone[i] = token;
			}
		}
	}
	pthread_mutex_unlock(&g_dir_mtx);
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p) == -1 ? 0 : 0;
}

static void rm_rf(const char *r)
{
	char abs[PATH_MAX * 2];
	/* through the descriptor, not g_lower: the mount may be on top of LOWER */
	snprintf(abs, sizeof(abs), "/proc/self/fd/%d/%s", g_lowerfd, r);
	nftw(abs, rm_cb, 32, FTW_DEPTH | FTW_PHYS);
}

static void invalidate(const char *r)
{
	if (!g_fuse || !r)
		return;
	char p[PATH_MAX + 2];
	snprintf(p, sizeof(p), "/%s", strcmp(r, ".") == 0 ? "" : r);
	fuse_invalidate_path(g_fuse, p);
	char parent[PATH_MAX];
	parent_of(r, parent, sizeof(parent));
	snprintf(p, sizeof(p), "/%s", strcmp(parent, ".") == 0 ? "" : parent);
	fuse_invalidate_path(g_fuse, p);
}

static void dirop_undo(struct dirop *d)
{
	switch (d->kind) {
	case DOP_CREATE:
		if (unlinkat(g_lowerfd, d->path, 0) == -1 && (errno == EISDIR || errno == EPERM))
			rm_rf(d->path);
		break;
	case DOP_UNLINK:
		if (d->hidden && renameat(g_lowerfd, d->hidden, g_lowerfd, d->path) == 0) {
			free(d->hidden);
			d->hidden = NULL;
		}
		break;
	case DOP_RMDIR:
		if (mkdirat(g_lowerfd, d->path, d->mode) == 0)
			fchownat(g_lowerfd, d->path, d->uid, d->gid, AT_SYMLINK_NOFOLLOW);
		break;
	case DOP_RENAME:
		if (d->exchange) {
			syscall(SYS_renameat2, g_lowerfd, d->path2, g_lowerfd, d->path, RENAME_EXCHANGE);
		} else {
			renameat(g_lowerfd, d->path2, g_lowerfd, d->path);
			if (d->hidden && renameat(g_lowerfd, d->hidden, g_lowerfd, d->path2) == 0) {
				free(d->hidden);
				d->hidden = NULL;
			}
		}
		invalidate(d->path2);
		break;
	}
	invalidate(d->path);
}

static int under(const char *path, const char *prefix)
{
	if (!prefix)
		return 1;
	size_t n = strlen(prefix);
	return path && strncmp(path, prefix, n) == 0 && (path[n] == '/' || path[n] == 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Power loss                                                                                  */

enum { TORN_NONE, TORN_SEQ, TORN_OP };

/*
 * Where a torn write can be cut: a 512-byte-aligned length c (0 < c < len) such that the write's
 * first c bytes and the rest both differ from what LOWER holds there, so that what the tear leaves
 * is neither the old data nor the new (bytes beyond LOWER's end differ from anything). Returns 0
 * when no such cut exists (the write changes only one sector, or nothing): it can only land whole
 * or not at all.
 */
static size_t tear_cut(int fd, const struct wop *w, unsigned short xs[3])
{
	if (w->kind != WOP_WRITE || w->len <= 512)
		return 0;
	char *old = malloc(w->len);
	if (!old)
		return 0;
	ssize_t got = pread(fd, old, w->len, w->off);
	size_t have = got > 0 ? (size_t)got : 0;
	size_t first = w->len, last = 0;
	for (size_t i = 0; i < w->len; i++) {
		if (i >= have || old[i] != w->data[i]) {
			if (first == w->len)
				first = i;
			last = i;
		}
	}
	free(old);
	if (first == w->len)
		return 0;
	size_t lo = (first / 512 + 1) * 512, hi = (last / 512) * 512;
	if (lo > hi)
		return 0;
	return lo + 512 * (size_t)(erand48(xs) * (double)((hi - lo) / 512 + 1));
}

/*
 * Drops un-synced data and entries; scope limits it to paths under a prefix (canary). torn=seq
 * applies a random prefix of each file's log first; torn=op applies a random prefix and then tears
 * the next write that can be torn (see tear_cut), applying the writes it passes over whole.
 * xs seeds the choices, so the same log and seed tear the same way (NULL with TORN_NONE).
 */
static void power_loss(int torn, const char *scope, unsigned short xs[3])
{
	char **inval = NULL;
	size_t ninval = 0, capinval = 0;
	pthread_mutex_lock(&g_fs_mtx);
	for (int b = 0; b < FS_BUCKETS; b++) {
		for (struct fstate *fs = g_fs[b], *next; fs; fs = next) {
			next = fs->next;
			if (!under(fs->path, scope))
				continue;
			pthread_mutex_lock(&fs->mtx);
			int n = atomic_load(&fs->nops);
			if (n > 0) {
				if (torn != TORN_NONE) {
					int keep = (int)(erand48(xs) * (torn == TORN_OP ? n : n + 1));
					if (keep > n)
						keep = n;
					for (int i = 0; i < keep; i++)
						apply_op(fs->wfd, &fs->ops[i], fs->ops[i].len);
					for (int i = keep; torn == TORN_OP && i < n; i++) {
						size_t cut = tear_cut(fs->wfd, &fs->ops[i], xs);
						apply_op(fs->wfd, &fs->ops[i], cut ? cut : fs->ops[i].len);
						if (cut)
							break;
					}
				}
				log_clear(fs);
				if (ninval == capinval) {
					capinval = capinval ? capinval * 2 : 16;
					inval = realloc(inval, capinval * sizeof(*inval));
				}
				if (inval)
					inval[ninval++] = strdup(fs->path);
			}
			pthread_mutex_unlock(&fs->mtx);
			if (fs->refs <= 0)
				fs_unlink_locked(fs);
		}
	}
	pthread_mutex_unlock(&g_fs_mtx);

	pthread_mutex_lock(&g_dir_mtx);
	for (struct dirop **pp = &g_dirops; *pp;) {
		struct dirop *d = *pp;
		if (!under(d->path, scope) && !(d->path2 && under(d->path2, scope))) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		g_ndirops--;
		dirop_undo(d);
		dirop_free(d, 1);
	}
	pthread_mutex_unlock(&g_dir_mtx);

	for (size_t i = 0; i < ninval; i++) {
		invalidate(inval[i]);
		free(inval[i]);
	}
	free(inval);
}

/* Writes all cached data to LOWER and forgets the directory journal (lost-writes off). */
static void flush_all(void)
{
	pthread_mutex_lock(&g_fs_mtx);
	for (int b = 0; b < FS_BUCKETS; b++) {
		for (struct fstate *fs = g_fs[b], *next; fs; fs = next) {
			next = fs->next;
			pthread_mutex_lock(&fs->mtx);
			log_flush(fs);
			pthread_mutex_unlock(&fs->mtx);
			if (fs->refs <= 0)
				fs_unlink_locked(fs);
		}
	}
	pthread_mutex_unlock(&g_fs_mtx);
	pthread_mutex_lock(&g_dir_mtx);
	while (g_dirops) {
		struct dirop *d = g_dirops;
		g_dirops = d->next;
		dirop_free(d, 1);
	}
	g_ndirops = 0;
	pthread_mutex_unlock(&g_dir_mtx);
}

/* ------------------------------------------------------------------------------------------ */
/* File handles                                                                                */

struct handle {
	int fd;
	uint64_t gen;
	struct fstate *fs;
	char *path; /* the path it was opened under, for rules (read/write/fsync get no path) */
};

struct dhandle {
	DIR *dp;
	char *path;
};

#define PATH_OF(p, h) ((p) ? (p) : (h)->path)

static inline struct handle *H(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

static inline int dead(struct handle *h)
{
	return h->gen < atomic_load_explicit(&g_dead_before, memory_order_relaxed);
}

static void chown_caller(const char *r)
{
	struct fuse_context *c = fuse_get_context();
	if (c && fchownat(g_lowerfd, r, c->uid, c->gid, AT_SYMLINK_NOFOLLOW) == -1) {
		/* best effort */
	}
}

static mode_t masked(mode_t mode)
{
	struct fuse_context *c = fuse_get_context();
	return c ? mode & ~c->umask : mode;
}

static void *ff_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->use_ino = 1;
	cfg->nullpath_ok = 1;
	cfg->hard_remove = 1;
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->negative_timeout = 0;
	if (conn->max_write < 1048576)
		conn->max_write = 1048576;
	conn->max_readahead = 1048576;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
	g_fuse = fuse_get_context()->fuse;
	g_cfg = cfg;
	if (atomic_load(&g_lost))
		cfg->entry_timeout = 0;
	return NULL;
}

/* fstat of the handle's file, or fstatat of the path. */
static int stat_of(const char *path, struct handle *h, struct stat *st)
{
	if (h)
		return fstat(h->fd, st) == -1 ? -errno : 0;
	return fstatat(g_lowerfd, rel(path), st, AT_SYMLINK_NOFOLLOW) == -1 ? -errno : 0;
}

static int ff_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct handle *h = fi ? H(fi) : NULL;
	if (h && dead(h))
		return -EIO;
	if (!h && is_hidden(path))
		return -ENOENT;
	int e = stat_of(path, h, st);
	if (e || !S_ISREG(st->st_mode))
		return e;
	if (!atomic_load(&g_lost) && atomic_load(&g_dirty_files) == 0)
		return 0;
	/*
	 * A file with state (open, or with un-synced data): its size is read under the file's lock, so
	 * that an fsync applying the log between the stat of LOWER and the look at the log cannot make
	 * it report LOWER's old, smaller size (the kernel would believe it and cut the file short for
	 * its readers, and a database sizing a table by it would extend over data it already wrote).
	 */
	pthread_mutex_lock(&g_fs_mtx);
	struct fstate *fs = fs_find(st->st_dev, st->st_ino);
	if (fs)
		fs->refs++;
	pthread_mutex_unlock(&g_fs_mtx);
	if (!fs)
		return 0;
	pthread_mutex_lock(&fs->mtx);
	e = stat_of(path, h, st);
	if (!e && atomic_load(&fs->nops) > 0) {
		st->st_size = fs->size;
		st->st_blocks = (fs->size + 511) / 512;
		if (fs->mtime.tv_sec > st->st_mtim.tv_sec ||
		    (fs->mtime.tv_sec == st->st_mtim.tv_sec && fs->mtime.tv_nsec > st->st_mtim.tv_nsec))
			st->st_mtim = st->st_ctim = fs->mtime;
	}
	pthread_mutex_unlock(&fs->mtx);
	fs_put(fs);
	return e;
}

static int ff_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n = readlinkat(g_lowerfd, rel(path), buf, size - 1);
	if (n == -1)
		return -errno;
	buf[n] = 0;
	return 0;
}

static int ff_opendir(const char *path, struct fuse_file_info *fi)
{
	int err = check_rules(OP_OPEN, path);
	if (err)
		return -err;
	int fd = openat(g_lowerfd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	DIR *dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return -errno;
	}
	struct dhandle *dh = malloc(sizeof(*dh));
	if (!dh) {
		closedir(dp);
		return -ENOMEM;
	}
	dh->dp = dp;
	dh->path = strdup(path ? path : "/");
	fi->fh = (uint64_t)(uintptr_t)dh;
	return 0;
}

static int ff_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off; (void)flags;
	struct dhandle *dh = (struct dhandle *)(uintptr_t)fi->fh;
	DIR *dp = dh->dp;
	int root = strcmp(rel(path ? path : dh->path), ".") == 0;
	rewinddir(dp);
	struct dirent *de;
	errno = 0;
	while ((de = readdir(dp))) {
		if (root && strcmp(de->d_name, HIDDEN_DIR) == 0)
			continue;
		struct stat st;
		memset(&st, 0, sizeof(st));
		st.st_ino = de->d_ino;
		st.st_mode = (mode_t)DTTOIF(de->d_type);
		if (filler(buf, de->d_name, &st, 0, 0))
			break;
	}
	return 0;
}

static int ff_releasedir(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	struct dhandle *dh = (struct dhandle *)(uintptr_t)fi->fh;
	closedir(dh->dp);
	free(dh->path);
	free(dh);
	return 0;
}

static int ff_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	struct dhandle *dh = (struct dhandle *)(uintptr_t)fi->fh;
	int err = check_rules(OP_FSYNC, PATH_OF(path, dh));
	if (err)
		return -err;
	int fd = dirfd(dh->dp);
	if (fsync(fd) == -1)
		return -errno;
	if (atomic_load(&g_ndirops) > 0 || g_dirops) {
		struct stat st;
		if (fstat(fd, &st) == 0)
			dirops_synced(st.st_dev, st.st_ino);
	}
	return 0;
}

static int ff_mknod(const char *path, mode_t mode, dev_t rdev)
{
	int err = check_rules(OP_META, path);
	if (err)
		return -err;
	const char *r = rel(path);
	if (mknodat(g_lowerfd, r, masked(mode), rdev) == -1)
		return -errno;
	chown_caller(r);
	if (atomic_load(&g_lost))
		dirop_push(dirop_new(DOP_CREATE, r, NULL));
	return 0;
}

static int ff_mkdir(const char *path, mode_t mode)
{
	int err = check_rules(OP_META, path);
	if (err)
		return -err;
	const char *r = rel(path);
	if (mkdirat(g_lowerfd, r, masked(mode)) == -1)
		return -errno;
	chown_caller(r);
	if (atomic_load(&g_lost))
		dirop_push(dirop_new(DOP_CREATE, r, NULL));
	return 0;
}

static int ff_unlink(const char *path)
{
	TRACE("unlink %s", path);
	int err = check_rules(OP_META, path);
	if (err)
		return -err;
	const char *r = rel(path);
	struct dirop *d = NULL;
	if (atomic_load(&g_lost)) {
		d = dirop_new(DOP_UNLINK, r, NULL);
		if (d)
			d->hidden = hide(r);
	}
	if (unlinkat(g_lowerfd, r, 0) == -1) {
		int e = errno;
		if (d)
			dirop_free(d, 1);
		return -e;
	}
	dirop_push(d);
	return 0;
}

static int ff_rmdir(const char *path)
{
	int err = check_rules(OP_META, path);
	if (err)
		return -err;
	const char *r = rel(path);
	struct dirop *d = NULL;
	struct stat st;
	int journal = atomic_load(&g_lost) || atomic_load(&g_ndirops) > 0;
	int known = journal && fstatat(g_lowerfd, r, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (known && atomic_load(&g_lost)) {
		d = dirop_new(DOP_RMDIR, r, NULL);
		if (d) {
			static atomic_ulong tokens;
			d->mode = st.st_mode & 07777;
			d->uid = st.st_uid;
			d->gid = st.st_gid;
			d->token = atomic_fetch_add(&tokens, 1) + 1;
		}
	}
	if (unlinkat(g_lowerfd, r, AT_REMOVEDIR) == -1) {
		int e = errno;
		if (d)
			dirop_free(d, 0);
		return -e;
	}
	if (known)
		dirops_parent_gone(st.st_dev, st.st_ino, d ? d->token : 0);
	dirop_push(d);
	return 0;
}

static int ff_symlink(const char *from, const char *to)
{
	int err = check_rules(OP_META, to);
	if (err)
		return -err;
	const char *r = rel(to);
	if (symlinkat(from, g_lowerfd, r) == -1)
		return -errno;
	chown_caller(r);
	if (atomic_load(&g_lost))
		dirop_push(dirop_new(DOP_CREATE, r, NULL));
	return 0;
}

static int ff_rename(const char *from, const char *to, unsigned int flags)
{
	int err = check_rules(OP_META, from);
	if (err)
		return -err;
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	const char *rf = rel(from), *rt = rel(to);
	TRACE("rename %s %s flags=%u", rf, rt, flags);
	struct dirop *d = NULL;
	if (atomic_load(&g_lost)) {
		d = dirop_new(DOP_RENAME, rf, rt);
		if (d) {
			d->exchange = (flags & RENAME_EXCHANGE) != 0;
			if (!flags)
				d->hidden = hide(rt);
		}
	}
	int r = flags ? (int)syscall(SYS_renameat2, g_lowerfd, rf, g_lowerfd, rt, flags)
		      : renameat(g_lowerfd, rf, g_lowerfd, rt);
	if (r == -1) {
		int e = errno;
		if (d)
			dirop_free(d, 1);
		return -e;
	}
	dirop_push(d);
	return 0;
}

static int ff_link(const char *from, const char *to)
{
	int err = check_rules(OP_META, to);
	if (err)
		return -err;
	const char *r = rel(to);
	if (linkat(g_lowerfd, rel(from), g_lowerfd, r, 0) == -1)
		return -errno;
	if (atomic_load(&g_lost))
		dirop_push(dirop_new(DOP_CREATE, r, NULL));
	return 0;
}

static int ff_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int err = check_rules(OP_META, path);
	if (err)
		return -err;
	int r = fi ? fchmod(H(fi)->fd, mode) : fchmodat(g_lowerfd, rel(path), mode, 0);
	return r == -1 ? -errno : 0;
}

static int ff_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	int err = check_rules(OP_META, path);
	if (err)
		return -err;
	int r = fi ? fchown(H(fi)->fd, uid, gid)
		   : fchownat(g_lowerfd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW);
	return r == -1 ? -errno : 0;
}

/* Truncates through the cache in lost-writes mode. */
static int do_truncate(struct fstate *fs, int fd, off_t size)
{
	TRACE("truncate fd=%d fs=%p size=%ld path=%s", fd, (void*)fs, (long)size, fs ? fs->path : "-");
	if (fs && (atomic_load(&g_lost) || atomic_load(&fs->nops) > 0)) {
		pthread_mutex_lock(&fs->mtx);
		int r = log_add(fs, fd, WOP_TRUNC, size, NULL, 0);
		pthread_mutex_unlock(&fs->mtx);
		return r;
	}
	return ftruncate(fd, size) == -1 ? -errno : 0;
}

static int ff_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	int err = check_rules(OP_WRITE, fi ? PATH_OF(path, H(fi)) : path);
	if (err)
		return -err;
	if (fi) {
		struct handle *h = H(fi);
		if (dead(h))
			return -EIO;
		return do_truncate(h->fs, h->fd, size);
	}
	int fd = openat(g_lowerfd, rel(path), O_WRONLY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	int r;
	if (atomic_load(&g_lost) || atomic_load(&g_dirty_files) > 0) {
		struct fstate *fs = fs_get(fd, rel(path));
		r = do_truncate(fs, fd, size);
		fs_put(fs);
	} else {
		r = ftruncate(fd, size) == -1 ? -errno : 0;
	}
	close(fd);
	return r;
}

static int ff_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	int err = check_rules(OP_META, path);
	if (err)
		return -err;
	int r = fi ? futimens(H(fi)->fd, tv) : utimensat(g_lowerfd, rel(path), tv, AT_SYMLINK_NOFOLLOW);
	return r == -1 ? -errno : 0;
}

static int open_common(const char *path, int fd, struct fuse_file_info *fi)
{
	struct handle *h = malloc(sizeof(*h));
	if (!h) {
		close(fd);
		return -ENOMEM;
	}
	h->fd = fd;
	h->gen = atomic_load(&g_gen);
	h->fs = fs_get(fd, rel(path));
	h->path = strdup(path ? path : "");
	fi->fh = (uint64_t)(uintptr_t)h;
	/* The kernel page cache is kept across opens unless cached writes may be dropped (power-loss and
	 * fsync-clean also invalidate the files they change). */
	fi->keep_cache = !atomic_load(&g_lost) && atomic_load(&g_dirty_files) == 0;
	/*
	 * In lost-writes mode faultfs is the page cache: the kernel's must not hold a second copy. With
	 * it, a read could be answered from a page filled while a write to it was still on its way to
	 * faultfs (the kernel drops a page it has copied a write into when it invalidates, and a read
	 * sent then may be served before the write), and nothing would drop that stale page again: a
	 * WAL sender read zeros where its server had written and flushed records.
	 */
	if ((fi->flags & O_DIRECT) || atomic_load(&g_lost))
		fi->direct_io = 1;
	if (g_trace) {
		struct stat tst;
		fstat(fd, &tst);
		trace("open %s fd=%d ino=%lu flags=%o fs=%p size=%ld", h->path, fd, (unsigned long)tst.st_ino, fi->flags, (void *)h->fs, (long)tst.st_size);
	}
	return 0;
}

static int ff_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int err = check_rules(OP_OPEN, path);
	if (err)
		return -err;
	const char *r = rel(path);
	int lost = atomic_load(&g_lost);
	/* O_TRUNC on an existing file goes through the cache in lost-writes mode */
	int flags = fi->flags | O_CREAT | O_CLOEXEC;
	int trunc = lost && (flags & O_TRUNC);
	struct stat st;
	int existed = fstatat(g_lowerfd, r, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (trunc)
		flags &= ~O_TRUNC;
	int fd = openat(g_lowerfd, r, flags & ~O_DIRECT, masked(mode));
	if (fd == -1)
		return -errno;
	if (!existed) {
		chown_caller(r);
		if (lost)
			dirop_push(dirop_new(DOP_CREATE, r, NULL));
	}
	int res = open_common(path, fd, fi);
	if (res == 0 && trunc && existed)
		do_truncate(H(fi)->fs, fd, 0);
	return res;
}

static int ff_open(const char *path, struct fuse_file_info *fi)
{
	int err = check_rules(OP_OPEN, path);
	if (err)
		return -err;
	int flags = fi->flags | O_CLOEXEC;
	int trunc = (flags & O_TRUNC) && atomic_load(&g_lost);
	if (trunc)
		flags &= ~O_TRUNC;
	int fd = openat(g_lowerfd, rel(path), flags & ~(O_DIRECT | O_CREAT | O_EXCL), 0);
	if (fd == -1)
		return -errno;
	int res = open_common(path, fd, fi);
	if (res == 0 && trunc)
		do_truncate(H(fi)->fs, fd, 0);
	return res;
}

static int ff_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	if (dead(h))
		return -EIO;
	int err = check_rules(OP_READ, PATH_OF(path, h));
	if (err)
		return -err;
	struct fstate *fs = h->fs;
	if (fs && atomic_load_explicit(&fs->nops, memory_order_acquire) > 0) {
		pthread_mutex_lock(&fs->mtx);
		ssize_t r;
		if (atomic_load(&fs->nops) > 0) {
			r = log_read(fs, h->fd, buf, size, off);
			TRACE("read-log %s off=%ld size=%zu ret=%zd nops=%d fsize=%ld zero=%d sum=%08x", h->path, (long)off, size, r, atomic_load(&fs->nops), (long)fs->size, r > 0 ? allzero(buf, r) : -1, r > 0 ? sum(buf, r) : 0);
			pthread_mutex_unlock(&fs->mtx);
			return (int)r;
		}
		pthread_mutex_unlock(&fs->mtx);
	}
	ssize_t r = pread(h->fd, buf, size, off);
	TRACE("read %s off=%ld size=%zu ret=%zd zero=%d sum=%08x", h->path, (long)off, size, r, r > 0 ? allzero(buf, r) : -1, r > 0 ? sum(buf, r) : 0);
	return r == -1 ? -errno : (int)r;
}

static int do_fsync(struct fstate *fs, int fd, int datasync);

static int ff_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	if (dead(h))
		return -EIO;
	int err = check_rules(OP_WRITE, PATH_OF(path, h));
	if (err)
		return -err;
	struct fstate *fs = h->fs;
	if (fs && (atomic_load_explicit(&g_lost, memory_order_relaxed) ||
		   atomic_load_explicit(&fs->nops, memory_order_relaxed) > 0)) {
		pthread_mutex_lock(&fs->mtx);
		if (atomic_load(&g_lost) || atomic_load(&fs->nops) > 0) {
			if (fi->flags & O_APPEND)
				off = atomic_load(&fs->nops) > 0 ? fs->size : lseek(h->fd, 0, SEEK_END);
			int r = log_add(fs, h->fd, WOP_WRITE, off, buf, size);
			TRACE("write-log %s off=%ld size=%zu r=%d nops=%d fsize=%ld zero=%d sum=%08x", h->path, (long)off, size, r, atomic_load(&fs->nops), (long)fs->size, allzero(buf, size), sum(buf, size));
			pthread_mutex_unlock(&fs->mtx);
			/*
			 * O_DSYNC/O_SYNC (or RWF_DSYNC): durable when it returns. The kernel follows a
			 * buffered write with an fsync, but not a write through a direct_io handle
			 * (O_DIRECT), so the write itself applies the log (fi->flags are the write's).
			 */
			if (!r && (fi->flags & O_DSYNC))
				r = do_fsync(fs, h->fd, (fi->flags & O_SYNC) != O_SYNC);
			return r ? r : (int)size;
		}
		pthread_mutex_unlock(&fs->mtx);
	}
	ssize_t r = pwrite(h->fd, buf, size, off);
	TRACE("write %s off=%ld size=%zu ret=%zd zero=%d sum=%08x", h->path, (long)off, size, r, allzero(buf, size), sum(buf, size));
	return r == -1 ? -errno : (int)r;
}

static int ff_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	return fstatvfs(g_lowerfd, st) == -1 ? -errno : 0;
}

static int ff_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	struct handle *h = H(fi);
	if (dead(h))
		return -EIO;
	/* like close(dup(fd)): reports errors of the lower file system's flush */
	int fd = dup(h->fd);
	if (fd == -1)
		return -errno;
	return close(fd) == -1 ? -errno : 0;
}

static int ff_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	struct handle *h = H(fi);
	TRACE("release %s fd=%d", h->path, h->fd);
	close(h->fd);
	fs_put(h->fs);
	free(h->path);
	free(h);
	return 0;
}

struct inval_arg {
	char *path;
};

static void *inval_thread(void *arg)
{
	struct inval_arg *a = arg;
	invalidate(a->path);
	free(a->path);
	free(a);
	return NULL;
}

/* fsync-clean: the failed fsync's un-synced data is discarded. */
static void discard_unsynced(struct fstate *fs, const char *path)
{
	pthread_mutex_lock(&fs->mtx);
	log_clear(fs);
	pthread_mutex_unlock(&fs->mtx);
	struct inval_arg *a = malloc(sizeof(*a));
	if (!a)
		return;
	a->path = strdup(path ? rel(path) : fs->path);
	pthread_t t;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, inval_thread, a) != 0) {
		free(a->path);
		free(a);
	}
	pthread_attr_destroy(&at);
}

static int do_fsync(struct fstate *fs, int fd, int datasync)
{
	TRACE("fsync fd=%d fs=%p nops=%d path=%s", fd, (void*)fs, fs ? atomic_load(&fs->nops) : -1, fs ? fs->path : "-");
	if (fs && atomic_load(&fs->nops) > 0) {
		pthread_mutex_lock(&fs->mtx);
		int r = log_flush(fs);
		pthread_mutex_unlock(&fs->mtx);
		if (r)
			return r;
	}
	int r = datasync ? fdatasync(fd) : fsync(fd);
	return r == -1 ? -errno : 0;
}

static int ff_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	if (dead(h))
		return -EIO;
	int err = check_rules(OP_FSYNC, PATH_OF(path, h));
	if (err) {
		if (atomic_load(&g_fsync_clean) && h->fs && atomic_load(&h->fs->nops) > 0)
			discard_unsynced(h->fs, PATH_OF(path, h));
		return -err;
	}
	return do_fsync(h->fs, h->fd, datasync);
}

static int ff_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	if (dead(h))
		return -EIO;
	int err = check_rules(OP_WRITE, PATH_OF(path, h));
	if (err)
		return -err;
	struct fstate *fs = h->fs;
	TRACE("fallocate %s mode=%d off=%ld len=%ld", h->path, mode, (long)off, (long)len);
	if (fs && (atomic_load(&g_lost) || atomic_load(&fs->nops) > 0)) {
		/* the space is allocated on LOWER; a size change is cached like a truncate */
		if (mode & ~FALLOC_FL_KEEP_SIZE)
			return -EOPNOTSUPP;
		if (fallocate(h->fd, mode | FALLOC_FL_KEEP_SIZE, off, len) == -1)
			return -errno;
		pthread_mutex_lock(&fs->mtx);
		int r = 0;
		struct stat st;
		off_t cur = atomic_load(&fs->nops) > 0 ? fs->size : (fstat(h->fd, &st) == 0 ? st.st_size : 0);
		if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > cur)
			r = log_add(fs, h->fd, WOP_TRUNC, off + len, NULL, 0);
		pthread_mutex_unlock(&fs->mtx);
		return r;
	}
	return fallocate(h->fd, mode, off, len) == -1 ? -errno : 0;
}

static int ff_access(const char *path, int mask)
{
	if (is_hidden(path))
		return -ENOENT;
	return faccessat(g_lowerfd, rel(path), mask, 0) == -1 ? -errno : 0;
}

static ssize_t ff_copy_file_range(const char *pin, struct fuse_file_info *fin, off_t oin,
				  const char *pout, struct fuse_file_info *fout, off_t oout,
				  size_t len, int flags)
{
	struct handle *hi = H(fin), *ho = H(fout);
	if (dead(hi) || dead(ho))
		return -EIO;
	/* through the cache, copying is not pass-through: let the kernel fall back to read/write */
	if (atomic_load(&g_lost) || atomic_load(&g_dirty_files) > 0 || atomic_load(&g_nrules) > 0)
		return -EOPNOTSUPP;
	(void)pin; (void)pout;
	ssize_t r = copy_file_range(hi->fd, &oin, ho->fd, &oout, len, (unsigned)flags);
	return r == -1 ? -errno : r;
}

static off_t ff_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi)
{
	(void)path;
	struct handle *h = H(fi);
	if (dead(h))
		return -EIO;
	if (h->fs && atomic_load(&h->fs->nops) > 0 && (whence == SEEK_DATA || whence == SEEK_HOLE)) {
		pthread_mutex_lock(&h->fs->mtx);
		off_t size = h->fs->size;
		pthread_mutex_unlock(&h->fs->mtx);
		if (off >= size)
			return -ENXIO;
		return whence == SEEK_DATA ? off : size;
	}
	off_t r = lseek(h->fd, off, whence);
	return r == -1 ? -errno : r;
}

/* ------------------------------------------------------------------------------------------ */
/* Canary                                                                                      */

static int read_all_at(const char *r, char *buf, size_t size, ssize_t *got)
{
	int fd = openat(g_lowerfd, r, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	*got = pread(fd, buf, size, 0);
	close(fd);
	return 0;
}

/*
 * The canary's check through the mount, on file C of its scratch directory: C is opened through
 * the mount point twice (the path a server's I/O takes: VFS, page cache, FUSE, a request-serving
 * thread, faultfs's handles and cache), written through one descriptor, read back and sized through
 * the other, fsynced through the other (the cache is per file, not per handle), and read on LOWER.
 * It runs in a forked child, never in a thread that serves FUSE requests (the control thread that
 * asked serves none, and -s's loop thread stays free): the parent waits with a deadline, so a
 * wedged mount gives a reason instead of a hung control connection, and SIGKILL ends a FUSE
 * request where a thread could not be stopped. Being a fork of a multi-threaded process, the
 * child makes system calls only, and it closes every descriptor but LOWER's and its pipe (no copy
 * of /dev/fuse keeps the connection up should the daemon die meanwhile).
 */
enum {
	MC_OK, MC_OPEN, MC_OPEN2, MC_WRITE, MC_READ, MC_SIZE, MC_EARLY, MC_FSYNC, MC_NOTONDISK,
	MC_SIZE_AFTER, MC_CLOSE
};
static const char *const mc_reasons[] = {
	[MC_OPEN] = "mount-open-failed",
	[MC_OPEN2] = "mount-open-failed (second descriptor)",
	[MC_WRITE] = "mount-write-failed",
	[MC_READ] = "mount-read-mismatch (second descriptor)",
	[MC_SIZE] = "mount-size-mismatch (before fsync)",
	[MC_EARLY] = "mount-unsynced-data-reached-disk",
	[MC_FSYNC] = "mount-fsync-failed",
	[MC_NOTONDISK] = "mount-fsynced-data-not-on-disk",
	[MC_SIZE_AFTER] = "mount-size-mismatch (after fsync)",
	[MC_CLOSE] = "mount-close-failed",
};
#define MC_LEN 5000 /* a page and a partial one */
#define MC_TIMEOUT_MS 10000

struct mc_result {
	int reason;
	int err;
};

static void mount_check_child(int wfd, const char *mpath, const char *lpath, const char *data, int lost)
{
	static char back[MC_LEN + 1];
	struct mc_result res = { MC_OK, 0 };
	struct stat st;
	int keep_lo = wfd < g_lowerfd ? wfd : g_lowerfd, keep_hi = wfd < g_lowerfd ? g_lowerfd : wfd;
	close_range(3, (unsigned)keep_lo - 1, 0);
	close_range((unsigned)keep_lo + 1, (unsigned)keep_hi - 1, 0);
	close_range((unsigned)keep_hi + 1, ~0U, 0);
	int fd1 = -1, fd2 = -1, lf = -1;
#define MC_FAIL(r) do { res.reason = (r); res.err = errno; goto done; } while (0)
	if ((fd1 = open(mpath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1)
		MC_FAIL(MC_OPEN);
	if ((fd2 = open(mpath, O_RDONLY | O_CLOEXEC)) == -1)
		MC_FAIL(MC_OPEN2);
	errno = 0;
	if (pwrite(fd1, data, MC_LEN, 0) != MC_LEN)
		MC_FAIL(MC_WRITE);
	errno = 0;
	if (pread(fd2, back, MC_LEN + 1, 0) != MC_LEN || memcmp(back, data, MC_LEN) != 0)
		MC_FAIL(MC_READ);
	errno = 0;
	if (fstat(fd2, &st) == -1 || st.st_size != MC_LEN)
		MC_FAIL(MC_SIZE);
	if (lost) {
		errno = 0;
		if ((lf = openat(g_lowerfd, lpath, O_RDONLY | O_CLOEXEC)) == -1 || fstat(lf, &st) == -1 || st.st_size != 0)
			MC_FAIL(MC_EARLY);
		close(lf);
		lf = -1;
	}
	if (fsync(fd2) == -1)
		MC_FAIL(MC_FSYNC);
	errno = 0;
	if ((lf = openat(g_lowerfd, lpath, O_RDONLY | O_CLOEXEC)) == -1 || pread(lf, back, MC_LEN + 1, 0) != MC_LEN ||
	    memcmp(back, data, MC_LEN) != 0)
		MC_FAIL(MC_NOTONDISK);
	errno = 0;
	if (fstat(fd2, &st) == -1 || st.st_size != MC_LEN)
		MC_FAIL(MC_SIZE_AFTER);
	int c1 = close(fd1), c2 = close(fd2);
	fd1 = fd2 = -1;
	if (c1 == -1 || c2 == -1)
		MC_FAIL(MC_CLOSE);
#undef MC_FAIL
done:
	if (write(wfd, &res, sizeof(res)) < 0) {}
	_exit(0);
}

/* Runs the check through the mount on DIR/C (DIR relative to LOWER); NULL when it passed. */
static const char *mount_check(const char *d, char *why, size_t wsz)
{
	static char data[MC_LEN];
	char mpath[PATH_MAX * 2 + 8], lpath[PATH_MAX + 8];
	for (size_t i = 0; i < MC_LEN; i++)
		data[i] = (char)('a' + (i * 7 + i / 4096) % 26);
	snprintf(mpath, sizeof(mpath), "%s/%s/C", strcmp(g_mnt, "/") == 0 ? "" : g_mnt, d);
	snprintf(lpath, sizeof(lpath), "%s/C", d);
	int lost = atomic_load(&g_lost);
	int p[2];
	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(why, wsz, "mount-check-not-started: %s", strerror(errno));
		return why;
	}
	pid_t pid = fork();
	if (pid == -1) {
		snprintf(why, wsz, "mount-check-not-started: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return why;
	}
	if (pid == 0)
		mount_check_child(p[1], mpath, lpath, data, lost);
	close(p[1]);
	struct mc_result res = { -1, 0 };
	struct pollfd pf = { .fd = p[0], .events = POLLIN };
	int n;
	while ((n = poll(&pf, 1, MC_TIMEOUT_MS)) == -1 && errno == EINTR)
		;
	if (n == 1 && read(p[0], &res, sizeof(res)) != (ssize_t)sizeof(res))
		res.reason = -1;
	if (n != 1)
		kill(pid, SIGKILL);
	close(p[0]);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	if (n != 1) {
		snprintf(why, wsz, "mount-no-answer (%d s)", MC_TIMEOUT_MS / 1000);
		return why;
	}
	if (res.reason == MC_OK)
		return NULL;
	if (res.reason < 0 || res.reason > MC_CLOSE) {
		snprintf(why, wsz, "mount-check-ended-early");
		return why;
	}
	if (res.err)
		snprintf(why, wsz, "%s: %s", mc_reasons[res.reason], strerror(res.err));
	else
		snprintf(why, wsz, "%s", mc_reasons[res.reason]);
	return why;
}

static void canary(const char *dir, char *reply, size_t rsz)
{
	static atomic_uint n;
	const char *rd = rel(dir);
	struct stat st;
	if (fstatat(g_lowerfd, rd, &st, 0) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(reply, rsz, "error canary no such directory %s", dir);
		return;
	}
	char d[PATH_MAX], a[PATH_MAX + 16], b[PATH_MAX + 16], why[256];
	/* no "./" prefix: paths that come through the mount (C's) have none, and scoping compares them */
	if (strcmp(rd, ".") == 0)
		snprintf(d, sizeof(d), CANARY_PREFIX "%d-%u", (int)getpid(), atomic_fetch_add(&n, 1));
	else
		snprintf(d, sizeof(d), "%s/" CANARY_PREFIX "%d-%u", rd, (int)getpid(), atomic_fetch_add(&n, 1));
	snprintf(a, sizeof(a), "%s/A", d);
	snprintf(b, sizeof(b), "%s/B", d);
	const char da[] = "faultfs canary: fsynced data\n";
	const char db[] = "faultfs canary: unsynced data\n";
	char buf[128];
	ssize_t got = 0;
	const char *fail = NULL;
	int fda = -1, fdb = -1, fdd = -1;
	struct fstate *fa = NULL, *fb = NULL;

	if (mkdirat(g_lowerfd, d, 0700) == -1) {
		snprintf(reply, rsz, "error canary cannot create its directory in %s: %s", dir, strerror(errno));
		return;
	}
	fdd = openat(g_lowerfd, d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* A: created, written, fsynced; then the directory is fsynced */
	fda = openat(g_lowerfd, a, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fda == -1 || fdd == -1) {
		fail = "cannot-create-files";
		goto out;
	}
	dirop_push(dirop_new(DOP_CREATE, a, NULL));
	fa = fs_get(fda, a);
	if (!fa) {
		fail = "no-cache-state";
		goto out;
	}
	pthread_mutex_lock(&fa->mtx);
	log_add(fa, fda, WOP_WRITE, 0, da, sizeof(da) - 1);
	pthread_mutex_unlock(&fa->mtx);
	if (do_fsync(fa, fda, 0) != 0) {
		fail = "fsync-failed";
		goto out;
	}
	if (fsync(fdd) == -1) {
		fail = "fsyncdir-failed";
		goto out;
	}
	if (fstat(fdd, &st) == 0)
		dirops_synced(st.st_dev, st.st_ino);
	/* B: created and written, not fsynced; the directory is not fsynced again */
	fdb = openat(g_lowerfd, b, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fdb == -1) {
		fail = "cannot-create-files";
		goto out;
	}
	dirop_push(dirop_new(DOP_CREATE, b, NULL));
	fb = fs_get(fdb, b);
	if (!fb) {
		fail = "no-cache-state";
		goto out;
	}
	pthread_mutex_lock(&fb->mtx);
	log_add(fb, fdb, WOP_WRITE, 0, db, sizeof(db) - 1);
	ssize_t rb = log_read(fb, fdb, buf, sizeof(buf), 0);
	pthread_mutex_unlock(&fb->mtx);
	if (rb != (ssize_t)(sizeof(db) - 1) || memcmp(buf, db, sizeof(db) - 1) != 0) {
		fail = "cache-read-mismatch";
		goto out;
	}
	if (fstat(fdb, &st) == 0 && st.st_size != 0) {
		fail = "unsynced-data-reached-disk";
		goto out;
	}

	power_loss(TORN_NONE, d, NULL);

	if (read_all_at(a, buf, sizeof(buf), &got) != 0) {
		fail = "fsynced-lost (file A missing)";
		goto out;
	}
	if (got != (ssize_t)(sizeof(da) - 1) || memcmp(buf, da, sizeof(da) - 1) != 0) {
		fail = "fsynced-lost (file A content)";
		goto out;
	}
	if (fstatat(g_lowerfd, b, &st, 0) == 0) {
		fail = st.st_size > 0 ? "unsynced-survived (file B data)" : "unsynced-survived (file B entry)";
		goto out;
	}
	/* C: the same through the mount, as a server's I/O goes (no faultfs lock is held here) */
	fail = mount_check(d, why, sizeof(why));
out:
	if (fa)
		fs_put(fa);
	if (fb)
		fs_put(fb);
	if (fda >= 0)
		close(fda);
	if (fdb >= 0)
		close(fdb);
	if (fdd >= 0)
		close(fdd);
	/* forget whatever is left of the canary's own state, then remove its files */
	power_loss(TORN_NONE, d, NULL);
	rm_rf(d);
	invalidate(d); /* the kernel saw d and C through the mount */
	if (fail)
		snprintf(reply, rsz, "error canary %s", fail);
	else
		snprintf(reply, rsz, "ok canary fsynced-survived unsynced-lost");
}

/*
 * Lost-writes on or off. While it is on, the kernel keeps no directory entry between lookups
 * (entry_timeout 0, read by libfuse for each reply it makes): a power loss that takes back a
 * created or renamed entry can invalidate the inode behind a path (fuse_invalidate_path) but not
 * the kernel's dentry, which would otherwise stay positive for up to a second. Through such a
 * dentry, open(O_CREAT) of the lost name reaches faultfs as a plain open and fails with ENOENT,
 * mkdir fails with EEXIST, and rename(x, x) reaches libfuse, whose path locking then waits for
 * itself forever.
 */
static void set_lost(int on)
{
	if (on) {
		atomic_store(&g_lost, 1);
		if (g_cfg)
			g_cfg->entry_timeout = 0;
	} else {
		atomic_store(&g_lost, 0);
		if (g_cfg)
			g_cfg->entry_timeout = 1.0;
		flush_all();
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Control socket                                                                              */

static int parse_ops(const char *v)
{
	if (!strcmp(v, "read")) return OP_READ;
	if (!strcmp(v, "write")) return OP_WRITE;
	if (!strcmp(v, "fsync")) return OP_FSYNC;
	if (!strcmp(v, "open")) return OP_OPEN;
	if (!strcmp(v, "any")) return OP_ANY;
	return 0;
}

static int parse_errno(const char *v)
{
	if (!strcmp(v, "EIO")) return EIO;
	if (!strcmp(v, "ENOSPC")) return ENOSPC;
	if (!strcmp(v, "EROFS")) return EROFS;
	return 0;
}

static int parse_long(const char *v, long *out)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < 0)
		return -1;
	*out = x;
	return 0;
}

static void cmd_rule(char **argv, int argc, int latency, char *reply, size_t rsz)
{
	struct rule *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(reply, rsz, "error out of memory");
		return;
	}
	r->latency = latency;
	r->prob = 1.0;
	r->count = -1;
	int have_errno = 0;
	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq) {
			snprintf(reply, rsz, "error expected key=value, got '%s'", argv[i]);
			goto bad;
		}
		*eq = 0;
		const char *k = argv[i], *v = eq + 1;
		long x;
		if (!strcmp(k, "op")) {
			if (!(r->ops = parse_ops(v)) || (latency && r->ops == OP_OPEN)) {
				snprintf(reply, rsz, "error bad op '%s'", v);
				goto bad;
			}
		} else if (!strcmp(k, "path") && !latency) {
			int e = regcomp(&r->re, v, REG_EXTENDED | REG_NOSUB);
			if (e) {
				char m[128];
				regerror(e, &r->re, m, sizeof(m));
				snprintf(reply, rsz, "error bad path regex: %s", m);
				goto bad;
			}
			r->has_re = 1;
		} else if (!strcmp(k, "errno") && !latency) {
			if (!(r->err = parse_errno(v))) {
				snprintf(reply, rsz, "error bad errno '%s' (EIO, ENOSPC or EROFS)", v);
				goto bad;
			}
			have_errno = 1;
		} else if (!strcmp(k, "prob") && !latency) {
			char *end;
			r->prob = strtod(v, &end);
			if (end == v || *end || r->prob < 0 || r->prob > 1) {
				snprintf(reply, rsz, "error bad prob '%s'", v);
				goto bad;
			}
		} else if (!strcmp(k, "count") && !latency) {
			if (parse_long(v, &x) || x == 0) {
				snprintf(reply, rsz, "error bad count '%s'", v);
				goto bad;
			}
			r->count = x;
		} else if (!strcmp(k, "for_ms")) {
			if (parse_long(v, &x)) {
				snprintf(reply, rsz, "error bad for_ms '%s'", v);
				goto bad;
			}
			r->expires = now_ns() + (uint64_t)x * 1000000ull;
		} else if (!strcmp(k, "us") && latency) {
			if (parse_long(v, &x)) {
				snprintf(reply, rsz, "error bad us '%s'", v);
				goto bad;
			}
			r->us = x;
		} else {
			snprintf(reply, rsz, "error unknown key '%s'", k);
			goto bad;
		}
	}
	if (!r->ops) {
		snprintf(reply, rsz, "error op= is required");
		goto bad;
	}
	if (!latency && !have_errno) {
		snprintf(reply, rsz, "error errno= is required");
		goto bad;
	}
	if (latency && r->us <= 0) {
		snprintf(reply, rsz, "error us= is required");
		goto bad;
	}
	if (latency && r->ops == OP_ANY)
		r->ops = OP_ANY;
	pthread_mutex_lock(&g_rules_mtx);
	r->id = g_next_rule++;
	struct rule **pp = &g_rules;
	while (*pp)
		pp = &(*pp)->next;
	*pp = r;
	atomic_fetch_add(&g_nrules, 1);
	pthread_mutex_unlock(&g_rules_mtx);
	snprintf(reply, rsz, "ok rule %u", r->id);
	return;
bad:
	rule_free(r);
}

static int onoff(const char *v)
{
	if (v && !strcmp(v, "on")) return 1;
	if (v && !strcmp(v, "off")) return 0;
	return -1;
}

static void command(char *line, char *reply, size_t rsz)
{
	char *argv[32];
	int argc = 0;
	char *save = NULL;
	for (char *s = strtok_r(line, " \t\r\n", &save); s && argc < 32; s = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = s;
	if (argc == 0) {
		snprintf(reply, rsz, "error empty command");
		return;
	}
	const char *c = argv[0];
	if (!strcmp(c, "error")) {
		cmd_rule(argv, argc, 0, reply, rsz);
	} else if (!strcmp(c, "latency")) {
		cmd_rule(argv, argc, 1, reply, rsz);
	} else if (!strcmp(c, "fsync-clean")) {
		int v = onoff(argc > 1 ? argv[1] : NULL);
		if (v < 0 || argc != 2) {
			snprintf(reply, rsz, "error usage: fsync-clean on|off");
			return;
		}
		atomic_store(&g_fsync_clean, v);
		snprintf(reply, rsz, "ok fsync-clean %s", v ? "on" : "off");
	} else if (!strcmp(c, "lost-writes")) {
		int v = onoff(argc > 1 ? argv[1] : NULL);
		if (v < 0 || argc != 2) {
			snprintf(reply, rsz, "error usage: lost-writes on|off");
			return;
		}
		TRACE("lost-writes %d", v);
		set_lost(v);
		snprintf(reply, rsz, "ok lost-writes %s", v ? "on" : "off");
	} else if (!strcmp(c, "power-loss")) {
		int torn = TORN_NONE, seeded = 0;
		unsigned long long seed = 0;
		for (int i = 1; i < argc; i++) {
			if (!strcmp(argv[i], "torn=none")) torn = TORN_NONE;
			else if (!strcmp(argv[i], "torn=seq")) torn = TORN_SEQ;
			else if (!strcmp(argv[i], "torn=op")) torn = TORN_OP;
			else if (!strncmp(argv[i], "seed=", 5) && argv[i][5]) {
				char *end;
				unsigned long long v = strtoull(argv[i] + 5, &end, 10);
				if (*end) {
					snprintf(reply, rsz, "error usage: power-loss [torn=none|seq|op] [seed=N]");
					return;
				}
				seed = v;
				seeded = 1;
			} else {
				snprintf(reply, rsz, "error usage: power-loss [torn=none|seq|op] [seed=N]");
				return;
			}
		}
		uint64_t g = atomic_fetch_add(&g_gen, 1) + 1;
		atomic_store(&g_dead_before, g);
		if (!seeded)
			seed = now_ns();
		unsigned short xs[3] = { (unsigned short)seed, (unsigned short)(seed >> 16), (unsigned short)(seed >> 32) };
		power_loss(torn, NULL, xs);
		snprintf(reply, rsz, "ok power-loss torn=%s",
			 torn == TORN_NONE ? "none" : torn == TORN_SEQ ? "seq" : "op");
	} else if (!strcmp(c, "reset")) {
		pthread_mutex_lock(&g_rules_mtx);
		while (g_rules) {
			struct rule *r = g_rules;
			g_rules = r->next;
			rule_free(r);
		}
		atomic_store(&g_nrules, 0);
		pthread_mutex_unlock(&g_rules_mtx);
		atomic_store(&g_dead_before, 0);
		snprintf(reply, rsz, "ok reset");
	} else if (!strcmp(c, "remove")) {
		char *end = NULL;
		unsigned long id = argc == 2 ? strtoul(argv[1], &end, 10) : 0;
		if (argc != 2 || !end || *end || id == 0) {
			snprintf(reply, rsz, "error usage: remove RULE-ID");
			return;
		}
		int found = 0;
		pthread_mutex_lock(&g_rules_mtx);
		for (struct rule **pp = &g_rules; *pp; pp = &(*pp)->next) {
			if ((*pp)->id != id)
				continue;
			struct rule *x = *pp;
			*pp = x->next;
			rule_free(x);
			atomic_fetch_sub(&g_nrules, 1);
			found = 1;
			break;
		}
		pthread_mutex_unlock(&g_rules_mtx);
		snprintf(reply, rsz, found ? "ok removed rule %lu" : "ok no rule %lu (expired or used up)", id);
	} else if (!strcmp(c, "status")) {
		int nerr = 0, nlat = 0;
		uint64_t now = now_ns();
		pthread_mutex_lock(&g_rules_mtx);
		for (struct rule *r = g_rules; r; r = r->next) {
			if ((r->expires && now >= r->expires) || r->count == 0)
				continue;
			if (r->latency) nlat++; else nerr++;
		}
		pthread_mutex_unlock(&g_rules_mtx);
		pthread_mutex_lock(&g_dir_mtx);
		int nd = g_ndirops;
		pthread_mutex_unlock(&g_dir_mtx);
		snprintf(reply, rsz,
			 "ok rules=%d error_rules=%d latency_rules=%d cached_bytes=%ld dirty_files=%d "
			 "pending_dir_entries=%d lost_writes=%s fsync_clean=%s power_lost=%s errors_injected=%ld",
			 nerr + nlat, nerr, nlat, atomic_load(&g_cached_bytes), atomic_load(&g_dirty_files),
			 nd, atomic_load(&g_lost) ? "on" : "off", atomic_load(&g_fsync_clean) ? "on" : "off",
			 atomic_load(&g_dead_before) ? "yes" : "no", atomic_load(&g_injected));
	} else if (!strcmp(c, "canary")) {
		if (argc != 2) {
			snprintf(reply, rsz, "error usage: canary DIR");
			return;
		}
		canary(argv[1], reply, rsz);
	} else {
		snprintf(reply, rsz, "error unknown command '%s'", c);
	}
}

static void *ctl_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char line[4096];
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, line + len, sizeof(line) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		char *nl;
		while ((nl = memchr(line, '\n', len))) {
			*nl = 0;
			char reply[512];
			command(line, reply, sizeof(reply));
			size_t rl = strlen(reply);
			reply[rl++] = '\n';
			if (send(fd, reply, rl, MSG_NOSIGNAL) != (ssize_t)rl)
				goto done;
			size_t used = (size_t)(nl + 1 - line);
			memmove(line, nl + 1, len - used);
			len -= used;
		}
		if (len == sizeof(line) - 1) {
			const char m[] = "error line too long\n";
			if (send(fd, m, sizeof(m) - 1, MSG_NOSIGNAL) < 0) {}
			break;
		}
	}
done:
	close(fd);
	return NULL;
}

static void *ctl_thread(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			usleep(100000);
			continue;
		}
		pthread_t t;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, ctl_conn, (void *)(intptr_t)fd) != 0)
			close(fd);
		pthread_attr_destroy(&at);
	}
	return NULL;
}

static int ctl_listen(const char *path)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "faultfs: control socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(fd, 16) == -1) {
		fprintf(stderr, "faultfs: cannot listen on %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	chmod(path, 0600);
	return fd;
}

/* ------------------------------------------------------------------------------------------ */

static const struct fuse_operations ff_ops = {
	.init = ff_init,
	.getattr = ff_getattr,
	.readlink = ff_readlink,
	.mknod = ff_mknod,
	.mkdir = ff_mkdir,
	.unlink = ff_unlink,
	.rmdir = ff_rmdir,
	.symlink = ff_symlink,
	.rename = ff_rename,
	.link = ff_link,
	.chmod = ff_chmod,
	.chown = ff_chown,
	.truncate = ff_truncate,
	.open = ff_open,
	.read = ff_read,
	.write = ff_write,
	.statfs = ff_statfs,
	.flush = ff_flush,
	.release = ff_release,
	.fsync = ff_fsync,
	.opendir = ff_opendir,
	.readdir = ff_readdir,
	.releasedir = ff_releasedir,
	.fsyncdir = ff_fsyncdir,
	.access = ff_access,
	.create = ff_create,
	.utimens = ff_utimens,
	.fallocate = ff_fallocate,
	.copy_file_range = ff_copy_file_range,
	.lseek = ff_lseek,
};

struct ff_opts {
	char *ctl;
	char *lower;
};

static const struct fuse_opt ff_optspec[] = {
	{ "ctl=%s", offsetof(struct ff_opts, ctl), 0 },
	FUSE_OPT_END
};

static int ff_optproc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	(void)outargs;
	struct ff_opts *o = data;
	if (key == FUSE_OPT_KEY_NONOPT && !o->lower) {
		o->lower = strdup(arg);
		return 0;
	}
	return 1;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct ff_opts o = { 0 };
	if (fuse_opt_parse(&args, &o, ff_optspec, ff_optproc) == -1)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("faultfs (libfuse %s)\n", fuse_pkgversion());
			return 0;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: %s LOWER MOUNTPOINT [-o ctl=PATH] [fuse options]\n", argv[0]);
			return 0;
		}
	}
	if (!o.lower) {
		fprintf(stderr, "usage: %s LOWER MOUNTPOINT [-o ctl=PATH] [fuse options]\n", argv[0]);
		return 1;
	}
	if (!realpath(o.lower, g_lower)) {
		fprintf(stderr, "faultfs: %s: %s\n", o.lower, strerror(errno));
		return 1;
	}
	g_lowerfd = open(g_lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (g_lowerfd == -1) {
		fprintf(stderr, "faultfs: %s: %s\n", g_lower, strerror(errno));
		return 1;
	}
	g_ctl_path = o.ctl ? o.ctl : "/run/faultfs.sock";
	if (getenv("FAULTFS_TRACE"))
		g_trace = fopen(getenv("FAULTFS_TRACE"), "a");
	umask(0);
	fuse_opt_add_arg(&args, "-oallow_other,default_permissions,fsname=faultfs,subtype=faultfs");
	if (geteuid() == 0)
		fuse_opt_add_arg(&args, "-odev,suid");

	/* Like fuse_main, but with the control socket started after daemonizing. */
	struct fuse_cmdline_opts co;
	if (fuse_parse_cmdline(&args, &co) != 0)
		return 1;
	if (co.show_help || co.show_version || !co.mountpoint) {
		if (co.show_version)
			printf("faultfs (libfuse %s)\n", fuse_pkgversion());
		else
			fprintf(stderr, "usage: %s LOWER MOUNTPOINT [-o ctl=PATH] [fuse options]\n", argv[0]);
		return co.mountpoint ? 0 : 1;
	}
	if (!realpath(co.mountpoint, g_mnt))
		snprintf(g_mnt, sizeof(g_mnt), "%s", co.mountpoint);
	struct fuse *f = fuse_new(&args, &ff_ops, sizeof(ff_ops), NULL);
	if (!f)
		return 1;
	if (fuse_mount(f, co.mountpoint) != 0) {
		fuse_destroy(f);
		return 1;
	}
	if (fuse_daemonize(co.foreground) != 0) {
		fuse_unmount(f);
		fuse_destroy(f);
		return 1;
	}
	g_fuse = f;
	int lfd = ctl_listen(g_ctl_path);
	if (lfd == -1) {
		fuse_unmount(f);
		fuse_destroy(f);
		return 1;
	}
	pthread_t t;
	pthread_create(&t, NULL, ctl_thread, (void *)(intptr_t)lfd);
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0) {
		fuse_unmount(f);
		fuse_destroy(f);
		return 1;
	}
	int res;
	if (co.singlethread) {
		res = fuse_loop(f);
	} else {
		struct fuse_loop_config *lc = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(lc, (unsigned)co.clone_fd);
		fuse_loop_cfg_set_idle_threads(lc, co.max_idle_threads > 0 ? co.max_idle_threads : 16);
		fuse_loop_cfg_set_max_threads(lc, co.max_threads > 0 ? co.max_threads : 64);
		res = fuse_loop_mt(f, lc);
		fuse_loop_cfg_destroy(lc);
	}
	fuse_remove_signal_handlers(fuse_get_session(f));
	fuse_unmount(f);
	fuse_destroy(f);
	unlink(g_ctl_path);
	free(co.mountpoint);
	fuse_opt_free_args(&args);
	return res ? 1 : 0;
}
