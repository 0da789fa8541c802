/*
 * The canary: faultfs proving its own mechanics on demand (fsynced data survives a power loss,
 * un-synced data and entries do not), directly and then through the mount as a server's I/O goes.
 */
#include "faultfs.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

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

void canary(const char *dir, char *reply, size_t rsz)
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
