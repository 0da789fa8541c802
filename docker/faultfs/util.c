/*
 * Small helpers every part uses: the clock, the optional trace, paths relative to LOWER, and
 * telling the kernel that what it cached for a path changed behind its back.
 */
#include "faultfs.h"

#include <ftw.h>
#include <stdarg.h>
#include <sys/syscall.h>

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

FILE *g_trace;
static pthread_mutex_t g_trace_mtx = PTHREAD_MUTEX_INITIALIZER;
void trace(const char *fmt, ...)
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

/* Path relative to LOWER: "/a/b" -> "a/b", "/" -> ".". */
const char *rel(const char *path)
{
	if (!path)
		return ".";
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

int is_hidden(const char *path)
{
	const char *r = rel(path);
	size_t n = strlen(HIDDEN_DIR);
	return strncmp(r, HIDDEN_DIR, n) == 0 && (r[n] == 0 || r[n] == '/');
}

/* A path of the canary's own files (relative to the mount). */
int is_canary(const char *r)
{
	return strncmp(r, CANARY_PREFIX, strlen(CANARY_PREFIX)) == 0 || strstr(r, "/" CANARY_PREFIX) != NULL;
}

void parent_of(const char *r, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", r);
	char *slash = strrchr(out, '/');
	if (slash)
		*slash = 0;
	else
		snprintf(out, outsz, ".");
}

int under(const char *path, const char *prefix)
{
	if (!prefix)
		return 1;
	size_t n = strlen(prefix);
	return path && strncmp(path, prefix, n) == 0 && (path[n] == '/' || path[n] == 0);
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p) == -1 ? 0 : 0;
}

void rm_rf(const char *r)
{
	char abs[PATH_MAX * 2];
	/* through the descriptor, not g_lower: the mount may be on top of LOWER */
	snprintf(abs, sizeof(abs), "/proc/self/fd/%d/%s", g_lowerfd, r);
	nftw(abs, rm_cb, 32, FTW_DEPTH | FTW_PHYS);
}

void invalidate(const char *r)
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

void chown_caller(const char *r)
{
	struct fuse_context *c = fuse_get_context();
	if (c && fchownat(g_lowerfd, r, c->uid, c->gid, AT_SYMLINK_NOFOLLOW) == -1) {
		/* best effort */
	}
}

mode_t masked(mode_t mode)
{
	struct fuse_context *c = fuse_get_context();
	return c ? mode & ~c->umask : mode;
}
