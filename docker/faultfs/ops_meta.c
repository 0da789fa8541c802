/*
 * FUSE operations on attributes and the file system as a whole: what a stat shows (the write
 * log's size and mtime while a file has un-synced data), modes, owners, times, access.
 */
#include "faultfs.h"

/* fstat of the handle's file, or fstatat of the path. */
static int stat_of(const char *path, struct handle *h, struct stat *st)
{
	if (h)
		return fstat(h->fd, st) == -1 ? -errno : 0;
	return fstatat(g_lowerfd, rel(path), st, AT_SYMLINK_NOFOLLOW) == -1 ? -errno : 0;
}

int ff_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
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

int ff_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n = readlinkat(g_lowerfd, rel(path), buf, size - 1);
	if (n == -1)
		return -errno;
	buf[n] = 0;
	return 0;
}

int ff_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	RULES_PROLOGUE(OP_META, path);
	int r = fi ? fchmod(H(fi)->fd, mode) : fchmodat(g_lowerfd, rel(path), mode, 0);
	return r == -1 ? -errno : 0;
}

int ff_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	RULES_PROLOGUE(OP_META, path);
	int r = fi ? fchown(H(fi)->fd, uid, gid)
		   : fchownat(g_lowerfd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW);
	return r == -1 ? -errno : 0;
}

int ff_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	RULES_PROLOGUE(OP_META, path);
	int r = fi ? futimens(H(fi)->fd, tv) : utimensat(g_lowerfd, rel(path), tv, AT_SYMLINK_NOFOLLOW);
	return r == -1 ? -errno : 0;
}

int ff_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	return fstatvfs(g_lowerfd, st) == -1 ? -errno : 0;
}

int ff_access(const char *path, int mask)
{
	if (is_hidden(path))
		return -ENOENT;
	return faccessat(g_lowerfd, rel(path), mask, 0) == -1 ? -errno : 0;
}
