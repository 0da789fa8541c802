/*
 * faultfs: a fault-injecting pass-through FUSE file system (libfuse3, high-level API).
 *
 *   faultfs LOWER MOUNTPOINT [-o ctl=PATH] [fuse options]
 *
 * Every operation is passed through to the directory LOWER (through *at system calls on an O_PATH
 * descriptor of LOWER). A control socket (see README.md) adds error and latency rules, a
 * "lost-writes" mode in which un-fsynced data and un-fsynced directory entries are kept apart so
 * that a simulated power loss can drop them, and a self-check ("canary").
 *
 * This header is what the parts share: the state one part keeps and another reads, and the
 * functions they call across files. Every .c file includes it first (it sets the feature macros).
 */
#ifndef FAULTFS_H
#define FAULTFS_H

#define FUSE_USE_VERSION 312
#define _GNU_SOURCE

#include <fuse.h>
#include <fuse_lowlevel.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define HIDDEN_DIR ".faultfs"
#define CANARY_PREFIX ".faultfs-canary-"

/* ------------------------------------------------------------------------------------------ */
/* Process-wide configuration (main.c)                                                         */

extern int g_lowerfd;             /* O_PATH descriptor of LOWER */
extern char g_lower[PATH_MAX];    /* absolute path of LOWER */
extern char g_mnt[PATH_MAX];      /* absolute path of the mount point (the canary goes through it) */
extern char *g_ctl_path;          /* control socket path */
extern struct fuse *g_fuse;       /* for cache invalidations */
extern struct fuse_config *g_cfg; /* libfuse's own configuration (entry_timeout), see set_lost() */

/* ------------------------------------------------------------------------------------------ */
/* Helpers (util.c)                                                                            */

uint64_t now_ns(void);

/*
 * Optional trace of every data operation, for finding where data went: FAULTFS_TRACE=FILE in
 * faultfs's environment appends one line per open, read, write, fsync, truncate, fallocate, rename,
 * unlink and release (time in microseconds, thread, path, offsets, and a checksum of the data).
 */
extern FILE *g_trace;
void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The arguments (checksums of the data) are computed only when tracing. */
#define TRACE(...) do { if (g_trace) trace(__VA_ARGS__); } while (0)

const char *rel(const char *path);
int is_hidden(const char *path);
int is_canary(const char *r);
void parent_of(const char *r, char *out, size_t outsz);
int under(const char *path, const char *prefix);
void rm_rf(const char *r);
void invalidate(const char *r);
void chown_caller(const char *r);
mode_t masked(mode_t mode);

/* ------------------------------------------------------------------------------------------ */
/* Rules (rules.c)                                                                             */

enum { OP_READ = 1, OP_WRITE = 2, OP_FSYNC = 4, OP_OPEN = 8, OP_META = 16, OP_ANY = 31 };

extern atomic_int g_nrules;       /* error rules + latency rules: fast path when zero */
extern atomic_long g_injected;    /* calls failed by an error rule, since start */

int check_rules(int op, const char *path);

/*
 * The prologue of every operation that rules apply to: a call an error rule fails does nothing
 * and returns the rule's errno (check_rules has already counted it and slept any latency). A
 * macro because it returns from the operation.
 */
#define RULES_PROLOGUE(op, path)                                    \
	do {                                                        \
		int rules_err_ = check_rules((op), (path));         \
		if (rules_err_)                                     \
			return -rules_err_;                         \
	} while (0)

void cmd_rule(char **argv, int argc, int latency, char *reply, size_t rsz);
void rules_reset(void);
int rule_remove(unsigned long id);
void rules_count(int *nerr, int *nlat);

/* ------------------------------------------------------------------------------------------ */
/* Per-file state: the un-synced write log of lost-writes mode (wlog.c)                        */

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
extern pthread_mutex_t g_fs_mtx;
extern struct fstate *g_fs[FS_BUCKETS];

extern atomic_int g_fsync_clean;  /* discard un-synced data when an fsync fails by rule */
extern atomic_long g_cached_bytes;
extern atomic_int g_dirty_files;  /* files with un-synced data */

struct fstate *fs_get(int fd, const char *relpath);
struct fstate *fs_find(dev_t dev, ino_t ino);
void fs_unlink_locked(struct fstate *fs);
void fs_put(struct fstate *fs);
void log_clear(struct fstate *fs);
int log_add(struct fstate *fs, int fd, int kind, off_t off, const char *data, size_t len);
int apply_op(int fd, const struct wop *w, size_t len);
int log_flush(struct fstate *fs);
ssize_t log_read(struct fstate *fs, int fd, char *buf, size_t size, off_t off);
int do_truncate(struct fstate *fs, int fd, off_t size);
int do_fsync(struct fstate *fs, int fd, int datasync);
void discard_unsynced(struct fstate *fs, const char *path);

/* ------------------------------------------------------------------------------------------ */
/* Directory-entry journal of lost-writes mode (journal.c)                                     */

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

extern pthread_mutex_t g_dir_mtx;
extern struct dirop *g_dirops;
extern int g_ndirops;

void dirop_free(struct dirop *d, int drop_hidden);
struct dirop *dirop_new(int kind, const char *path, const char *path2);
void dirop_push(struct dirop *d);
char *hide(const char *r);
void dirops_synced(dev_t dev, ino_t ino);
void dirops_synced_parent(const char *r);
void dirops_parent_gone(dev_t dev, ino_t ino, unsigned long token);
void dirop_undo(struct dirop *d);

/* ------------------------------------------------------------------------------------------ */
/* Power loss and the lost-writes switch (power.c)                                             */

enum { TORN_NONE, TORN_SEQ, TORN_OP };

extern atomic_int g_lost;         /* lost-writes mode */

void power_loss(int torn, const char *scope, unsigned short xs[3]);
void set_lost(int on);

/* ------------------------------------------------------------------------------------------ */
/* File handles (ops_file.c)                                                                   */

struct handle {
	int fd;
	uint64_t gen;
	struct fstate *fs;
	char *path; /* the path it was opened under, for rules (read/write/fsync get no path) */
	int writable; /* opened for writing (close-commits commits only such a handle's close) */
};

struct dhandle {
	DIR *dp;
	char *path;
};

extern atomic_uint_fast64_t g_gen;         /* handle generation: bumped by power-loss */
extern atomic_uint_fast64_t g_dead_before; /* handles with gen < this return EIO */

#define PATH_OF(p, h) ((p) ? (p) : (h)->path)

static inline struct handle *H(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

static inline int dead(struct handle *h)
{
	return h->gen < atomic_load_explicit(&g_dead_before, memory_order_relaxed);
}

/* ------------------------------------------------------------------------------------------ */
/* FUSE operations (ops_file.c, ops_dir.c, ops_meta.c)                                         */

int ff_truncate(const char *path, off_t size, struct fuse_file_info *fi);
int ff_create(const char *path, mode_t mode, struct fuse_file_info *fi);
int ff_open(const char *path, struct fuse_file_info *fi);
int ff_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi);
int ff_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi);
int ff_flush(const char *path, struct fuse_file_info *fi);
int ff_release(const char *path, struct fuse_file_info *fi);
int ff_fsync(const char *path, int datasync, struct fuse_file_info *fi);
int ff_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi);
ssize_t ff_copy_file_range(const char *pin, struct fuse_file_info *fin, off_t oin,
			   const char *pout, struct fuse_file_info *fout, off_t oout,
			   size_t len, int flags);
off_t ff_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi);

int ff_opendir(const char *path, struct fuse_file_info *fi);
int ff_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
	       struct fuse_file_info *fi, enum fuse_readdir_flags flags);
int ff_releasedir(const char *path, struct fuse_file_info *fi);
int ff_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi);
int ff_mknod(const char *path, mode_t mode, dev_t rdev);
int ff_mkdir(const char *path, mode_t mode);
int ff_unlink(const char *path);
int ff_rmdir(const char *path);
int ff_symlink(const char *from, const char *to);
int ff_rename(const char *from, const char *to, unsigned int flags);
int ff_link(const char *from, const char *to);

int ff_getattr(const char *path, struct stat *st, struct fuse_file_info *fi);
int ff_readlink(const char *path, char *buf, size_t size);
int ff_chmod(const char *path, mode_t mode, struct fuse_file_info *fi);
int ff_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi);
int ff_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi);
int ff_statfs(const char *path, struct statvfs *st);
int ff_access(const char *path, int mask);

/* ------------------------------------------------------------------------------------------ */
/* close-commits: an NFS export with `sync` for matching paths (commits.c)                     */

void cmd_close_commits(char **argv, int argc, char *reply, size_t rsz);
void cc_reset(void);
void cc_describe(char *out, size_t outsz);
int cc_close(struct handle *h);
void cc_dirop(const char *r, const char *r2);

/* ------------------------------------------------------------------------------------------ */
/* Canary (canary.c) and control socket (ctl.c)                                                */

void canary(const char *dir, char *reply, size_t rsz);
int ctl_listen(const char *path);
void *ctl_thread(void *arg);

#endif
