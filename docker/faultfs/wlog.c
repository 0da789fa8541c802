/*
 * The un-synced write log of lost-writes mode: faultfs is the page cache, keeping each file's
 * writes and truncates in memory until an fsync applies them to LOWER (or a power loss drops them).
 */
#include "faultfs.h"

atomic_int g_fsync_clean;
atomic_long g_cached_bytes;
atomic_int g_dirty_files;

pthread_mutex_t g_fs_mtx = PTHREAD_MUTEX_INITIALIZER;
struct fstate *g_fs[FS_BUCKETS];

static unsigned fs_hash(dev_t dev, ino_t ino)
{
	return (unsigned)((ino * 0x9E3779B97F4A7C15ull) ^ dev) % FS_BUCKETS;
}

/* Looks up (and with create, creates) the state of the file open on fd (a LOWER descriptor). */
struct fstate *fs_get(int fd, const char *relpath)
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

struct fstate *fs_find(dev_t dev, ino_t ino)
{
	unsigned h = fs_hash(dev, ino);
	struct fstate *fs;
	for (fs = g_fs[h]; fs; fs = fs->next)
		if (fs->dev == dev && fs->ino == ino)
			return fs;
	return NULL;
}

void fs_unlink_locked(struct fstate *fs)
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
void fs_put(struct fstate *fs)
{
	if (!fs)
		return;
	pthread_mutex_lock(&g_fs_mtx);
	if (--fs->refs <= 0 && atomic_load(&fs->nops) == 0)
		fs_unlink_locked(fs);
	pthread_mutex_unlock(&g_fs_mtx);
}

/* Frees the log. Caller holds fs->mtx. */
void log_clear(struct fstate *fs)
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
int log_add(struct fstate *fs, int fd, int kind, off_t off, const char *data, size_t len)
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

int apply_op(int fd, const struct wop *w, size_t len)
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
int log_flush(struct fstate *fs)
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
ssize_t log_read(struct fstate *fs, int fd, char *buf, size_t size, off_t off)
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

/* Truncates through the cache in lost-writes mode. */
int do_truncate(struct fstate *fs, int fd, off_t size)
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

int do_fsync(struct fstate *fs, int fd, int datasync)
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
void discard_unsynced(struct fstate *fs, const char *path)
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
