/*
 * FUSE operations on directories and their entries. In lost-writes mode each change of an entry
 * is journalled (journal.c) so that a power loss before the directory's fsync can take it back.
 */
#include "faultfs.h"

#include <sys/syscall.h>

int ff_opendir(const char *path, struct fuse_file_info *fi)
{
	RULES_PROLOGUE(OP_OPEN, path);
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

int ff_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
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

int ff_releasedir(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	struct dhandle *dh = (struct dhandle *)(uintptr_t)fi->fh;
	closedir(dh->dp);
	free(dh->path);
	free(dh);
	return 0;
}

int ff_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	struct dhandle *dh = (struct dhandle *)(uintptr_t)fi->fh;
	RULES_PROLOGUE(OP_FSYNC, PATH_OF(path, dh));
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

/*
 * The end of an operation that removed or renamed an entry, given what its call returned (errno
 * still its own): on failure the journal entry made for it beforehand is dropped; on success it
 * goes into the directory journal (d is NULL when nothing is journalled).
 */
static int entry_removed(struct dirop *d, int done, const char *r, const char *r2)
{
	if (done == -1) {
		int e = errno;
		if (d)
			dirop_free(d, 1);
		return -e;
	}
	dirop_push(d);
	cc_dirop(r, r2);
	return 0;
}

/*
 * What mknod, mkdir, symlink and link do once the entry r exists, given what the call that made
 * it returned (errno still its own). A new inode belongs to the caller, not to faultfs (root); a
 * hard link makes none, and chowning it would change the owner of the file it links to. In
 * lost-writes mode the entry is journalled: until its directory is fsynced, a power loss may take
 * it back.
 */
static int entry_made(const char *r, int made, int new_inode)
{
	if (made == -1)
		return -errno;
	if (new_inode)
		chown_caller(r);
	if (atomic_load(&g_lost)) {
		dirop_push(dirop_new(DOP_CREATE, r, NULL));
		cc_dirop(r, NULL);
	}
	return 0;
}

int ff_mknod(const char *path, mode_t mode, dev_t rdev)
{
	RULES_PROLOGUE(OP_META, path);
	const char *r = rel(path);
	return entry_made(r, mknodat(g_lowerfd, r, masked(mode), rdev), 1);
}

int ff_mkdir(const char *path, mode_t mode)
{
	RULES_PROLOGUE(OP_META, path);
	const char *r = rel(path);
	return entry_made(r, mkdirat(g_lowerfd, r, masked(mode)), 1);
}

int ff_unlink(const char *path)
{
	TRACE("unlink %s", path);
	RULES_PROLOGUE(OP_META, path);
	const char *r = rel(path);
	struct dirop *d = NULL;
	if (atomic_load(&g_lost)) {
		d = dirop_new(DOP_UNLINK, r, NULL);
		if (d)
			d->hidden = hide(r);
	}
	return entry_removed(d, unlinkat(g_lowerfd, r, 0), r, NULL);
}

int ff_rmdir(const char *path)
{
	RULES_PROLOGUE(OP_META, path);
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
	cc_dirop(r, NULL);
	return 0;
}

int ff_symlink(const char *from, const char *to)
{
	RULES_PROLOGUE(OP_META, to);
	const char *r = rel(to);
	return entry_made(r, symlinkat(from, g_lowerfd, r), 1);
}

int ff_rename(const char *from, const char *to, unsigned int flags)
{
	RULES_PROLOGUE(OP_META, from);
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
	return entry_removed(d, r, rf, rt);
}

int ff_link(const char *from, const char *to)
{
	RULES_PROLOGUE(OP_META, to);
	const char *r = rel(to);
	return entry_made(r, linkat(g_lowerfd, rel(from), g_lowerfd, r, 0), 0);
}
