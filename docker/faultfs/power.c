/*
 * Power loss and the lost-writes switch: what becomes of un-synced data and un-synced directory
 * entries when the machine "loses power", or when lost-writes mode ends and they become ordinary.
 */
#include "faultfs.h"

atomic_int g_lost;

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
void power_loss(int torn, const char *scope, unsigned short xs[3])
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

/*
 * Lost-writes on or off. While it is on, the kernel keeps no directory entry between lookups
 * (entry_timeout 0, read by libfuse for each reply it makes): a power loss that takes back a
 * created or renamed entry can invalidate the inode behind a path (fuse_invalidate_path) but not
 * the kernel's dentry, which would otherwise stay positive for up to a second. Through such a
 * dentry, open(O_CREAT) of the lost name reaches faultfs as a plain open and fails with ENOENT,
 * mkdir fails with EEXIST, and rename(x, x) reaches libfuse, whose path locking then waits for
 * itself forever.
 */
void set_lost(int on)
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
