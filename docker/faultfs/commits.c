/*
 * close-commits: an NFS export with the `sync` option, for the paths a regular expression matches
 * (lost-writes mode only). Close-to-open: closing a descriptor of such a file commits its data
 * and its directory entry, as an fsync of the file and one of its parent directory would; and the
 * server makes a directory operation on such a path stable before it replies, as if its parent
 * directories were fsynced right after it.
 */
#include "faultfs.h"

#include <regex.h>

static pthread_mutex_t g_cc_mtx = PTHREAD_MUTEX_INITIALIZER;
static atomic_int g_cc_on;
static regex_t g_cc_re;
static char *g_cc_src; /* the regex as given; NULL when off */

/* Replaces the regex (src NULL: off). Returns 0, or regcomp's error with its message in err. */
static int cc_set(const char *src, char *err, size_t errsz)
{
	regex_t re;
	if (src) {
		int e = regcomp(&re, src, REG_EXTENDED | REG_NOSUB);
		if (e) {
			regerror(e, &re, err, errsz);
			return e;
		}
	}
	char *copy = src ? strdup(src) : NULL;
	if (src && !copy) {
		regfree(&re);
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	pthread_mutex_lock(&g_cc_mtx);
	if (g_cc_src) {
		regfree(&g_cc_re);
		free(g_cc_src);
	}
	g_cc_src = copy;
	if (src)
		g_cc_re = re;
	atomic_store(&g_cc_on, src != NULL);
	pthread_mutex_unlock(&g_cc_mtx);
	return 0;
}

/* The "close-commits REGEX|off" command. */
void cmd_close_commits(char **argv, int argc, char *reply, size_t rsz)
{
	if (argc != 2) {
		snprintf(reply, rsz, "error usage: close-commits REGEX|off");
		return;
	}
	if (!strcmp(argv[1], "off")) {
		cc_set(NULL, NULL, 0);
		snprintf(reply, rsz, "ok close-commits off");
		return;
	}
	char m[128];
	if (cc_set(argv[1], m, sizeof(m))) {
		snprintf(reply, rsz, "error bad close-commits regex: %s", m);
		return;
	}
	TRACE("close-commits %s", argv[1]);
	snprintf(reply, rsz, "ok close-commits");
}

/* The "reset" command's part. */
void cc_reset(void)
{
	cc_set(NULL, NULL, 0);
}

/* For "status": the regex, or "off". */
void cc_describe(char *out, size_t outsz)
{
	pthread_mutex_lock(&g_cc_mtx);
	snprintf(out, outsz, "%s", g_cc_src ? g_cc_src : "off");
	pthread_mutex_unlock(&g_cc_mtx);
}

/* Whether close-commits applies to r (a path relative to the mount): set, lost-writes on, a match. */
static int cc_match(const char *r)
{
	if (!atomic_load_explicit(&g_cc_on, memory_order_relaxed) || !atomic_load(&g_lost) || !r)
		return 0;
	/* the canary proves faultfs's own mechanics: its files keep the plain disk model */
	if (is_canary(r))
		return 0;
	pthread_mutex_lock(&g_cc_mtx);
	int m = g_cc_src && regexec(&g_cc_re, r, 0, NULL, 0) == 0;
	pthread_mutex_unlock(&g_cc_mtx);
	return m;
}

/*
 * A descriptor of the handle is closed (flush: every close(2) of it, dups too, and close waits
 * for it) or the handle is released (the last close; the kernel does not wait for that one). For
 * a handle opened for writing under a matching path (an NFS client flushes on close only a file
 * opened for writing): the file's un-synced data is made durable as an fsync would, and its parent
 * directory's journalled entries as an fsync of that directory would. A handle from before a power
 * loss commits nothing. Returns 0 or the fsync's error.
 */
int cc_close(struct handle *h)
{
	if (!h->writable || dead(h))
		return 0;
	const char *r = rel(h->path);
	if (!cc_match(r))
		return 0;
	int res = 0;
	if (h->fs && atomic_load(&h->fs->nops) > 0)
		res = do_fsync(h->fs, h->fd, 0);
	dirops_synced_parent(r);
	TRACE("close-commit %s res=%d", r, res);
	return res;
}

/*
 * A directory operation on r (and r2, a rename's target) succeeded: when either matches, the
 * parent directories of both are made durable as an fsync of each would.
 */
void cc_dirop(const char *r, const char *r2)
{
	if (!cc_match(r) && !(r2 && cc_match(r2)))
		return;
	dirops_synced_parent(r);
	if (r2)
		dirops_synced_parent(r2);
	TRACE("close-commits dirop %s %s", r, r2 ? r2 : "");
}
