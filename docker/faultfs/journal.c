/*
 * The directory-entry journal of lost-writes mode: entries created, removed or renamed since their
 * directory's last fsync, and how to take each back when a power loss comes first.
 */
#include "faultfs.h"

#include <sys/syscall.h>

pthread_mutex_t g_dir_mtx = PTHREAD_MUTEX_INITIALIZER;
struct dirop *g_dirops;
int g_ndirops;

static atomic_uint g_seq;         /* names of hidden files */

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

void dirop_free(struct dirop *d, int drop_hidden)
{
	if (drop_hidden && d->hidden)
		unlinkat(g_lowerfd, d->hidden, 0);
	free(d->path);
	free(d->path2);
	free(d->hidden);
	free(d);
}

struct dirop *dirop_new(int kind, const char *path, const char *path2)
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

void dirop_push(struct dirop *d)
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
char *hide(const char *r)
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
void dirops_synced(dev_t dev, ino_t ino)
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

/* The parent directory of r (a path relative to LOWER) is fsynced, as far as the journal goes. */
void dirops_synced_parent(const char *r)
{
	dev_t dev;
	ino_t ino;
	if (parent_id(r, &dev, &ino) == 0)
		dirops_synced(dev, ino);
}

/*
 * The directory (dev, ino) was removed (its DOP_RMDIR carries token): entries journalled in it can
 * no longer be made durable by its fsync. Its inode number may be reused at once by a new
 * directory, whose fsync must not be taken for the old one's (that would forget, say, the unlink
 * of a file the old directory held, which a power loss that brings the old directory back must
 * bring back). They stay until a power loss undoes them inside the restored directory, or until
 * the removal itself becomes durable (dirops_drop_orphans_locked).
 */
void dirops_parent_gone(dev_t dev, ino_t ino, unsigned long token)
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

void dirop_undo(struct dirop *d)
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
