/*
 * FUSE operations on open files: handles, and data going through the write log or straight to
 * LOWER. A handle opened before a power loss fails with EIO, as a descriptor would after a reboot.
 */
#include "faultfs.h"

atomic_uint_fast64_t g_gen = 1;
atomic_uint_fast64_t g_dead_before;

/* For the trace: what a read or write carried, in a few characters. */
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

int ff_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	RULES_PROLOGUE(OP_WRITE, fi ? PATH_OF(path, H(fi)) : path);
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
	h->writable = (fi->flags & O_ACCMODE) != O_RDONLY;
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

int ff_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	RULES_PROLOGUE(OP_OPEN, path);
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
		if (lost) {
			dirop_push(dirop_new(DOP_CREATE, r, NULL));
			cc_dirop(r, NULL);
		}
	}
	int res = open_common(path, fd, fi);
	if (res == 0 && trunc && existed)
		do_truncate(H(fi)->fs, fd, 0);
	return res;
}

int ff_open(const char *path, struct fuse_file_info *fi)
{
	RULES_PROLOGUE(OP_OPEN, path);
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

int ff_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	if (dead(h))
		return -EIO;
	RULES_PROLOGUE(OP_READ, PATH_OF(path, h));
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

int ff_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	if (dead(h))
		return -EIO;
	RULES_PROLOGUE(OP_WRITE, PATH_OF(path, h));
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

int ff_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	struct handle *h = H(fi);
	if (dead(h))
		return -EIO;
	/* like close(dup(fd)): reports errors of the lower file system's flush */
	int fd = dup(h->fd);
	if (fd == -1)
		return -errno;
	int r = close(fd) == -1 ? -errno : 0;
	/* close-commits: close(2) waits for flush (not for release), so the commit is made here */
	int c = cc_close(h);
	return r ? r : c;
}

int ff_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	struct handle *h = H(fi);
	TRACE("release %s fd=%d", h->path, h->fd);
	cc_close(h); /* what was written after the last flush (through a mapping, say) */
	close(h->fd);
	fs_put(h->fs);
	free(h->path);
	free(h);
	return 0;
}

int ff_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	if (dead(h))
		return -EIO;
	/* not RULES_PROLOGUE: an fsync failed by a rule has more to do while fsync-clean is on */
	int err = check_rules(OP_FSYNC, PATH_OF(path, h));
	if (err) {
		if (atomic_load(&g_fsync_clean) && h->fs && atomic_load(&h->fs->nops) > 0)
			discard_unsynced(h->fs, PATH_OF(path, h));
		return -err;
	}
	return do_fsync(h->fs, h->fd, datasync);
}

int ff_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	if (dead(h))
		return -EIO;
	RULES_PROLOGUE(OP_WRITE, PATH_OF(path, h));
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

ssize_t ff_copy_file_range(const char *pin, struct fuse_file_info *fin, off_t oin,
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

off_t ff_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi)
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
