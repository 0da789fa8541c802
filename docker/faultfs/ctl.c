/*
 * The control socket: one command per line, one reply line each, connections served
 * concurrently (the protocol is in README.md).
 */
#include "faultfs.h"

#include <sys/socket.h>
#include <sys/un.h>

#define LINE_MAX_CTL 4096 /* a command line, its newline included */

static int onoff(const char *v)
{
	if (v && !strcmp(v, "on")) return 1;
	if (v && !strcmp(v, "off")) return 0;
	return -1;
}

static void command(char *line, char *reply, size_t rsz)
{
	char *argv[32];
	int argc = 0;
	char *save = NULL;
	for (char *s = strtok_r(line, " \t\r\n", &save); s && argc < 32; s = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = s;
	if (argc == 0) {
		snprintf(reply, rsz, "error empty command");
		return;
	}
	const char *c = argv[0];
	if (!strcmp(c, "error")) {
		cmd_rule(argv, argc, 0, reply, rsz);
	} else if (!strcmp(c, "latency")) {
		cmd_rule(argv, argc, 1, reply, rsz);
	} else if (!strcmp(c, "fsync-clean")) {
		int v = onoff(argc > 1 ? argv[1] : NULL);
		if (v < 0 || argc != 2) {
			snprintf(reply, rsz, "error usage: fsync-clean on|off");
			return;
		}
		atomic_store(&g_fsync_clean, v);
		snprintf(reply, rsz, "ok fsync-clean %s", v ? "on" : "off");
	} else if (!strcmp(c, "lost-writes")) {
		int v = onoff(argc > 1 ? argv[1] : NULL);
		if (v < 0 || argc != 2) {
			snprintf(reply, rsz, "error usage: lost-writes on|off");
			return;
		}
		TRACE("lost-writes %d", v);
		set_lost(v);
		snprintf(reply, rsz, "ok lost-writes %s", v ? "on" : "off");
	} else if (!strcmp(c, "power-loss")) {
		int torn = TORN_NONE, seeded = 0;
		unsigned long long seed = 0;
		for (int i = 1; i < argc; i++) {
			if (!strcmp(argv[i], "torn=none")) torn = TORN_NONE;
			else if (!strcmp(argv[i], "torn=seq")) torn = TORN_SEQ;
			else if (!strcmp(argv[i], "torn=op")) torn = TORN_OP;
			else if (!strncmp(argv[i], "seed=", 5) && argv[i][5]) {
				char *end;
				unsigned long long v = strtoull(argv[i] + 5, &end, 10);
				if (*end) {
					snprintf(reply, rsz, "error usage: power-loss [torn=none|seq|op] [seed=N]");
					return;
				}
				seed = v;
				seeded = 1;
			} else {
				snprintf(reply, rsz, "error usage: power-loss [torn=none|seq|op] [seed=N]");
				return;
			}
		}
		uint64_t g = atomic_fetch_add(&g_gen, 1) + 1;
		atomic_store(&g_dead_before, g);
		if (!seeded)
			seed = now_ns();
		unsigned short xs[3] = { (unsigned short)seed, (unsigned short)(seed >> 16), (unsigned short)(seed >> 32) };
		power_loss(torn, NULL, xs);
		snprintf(reply, rsz, "ok power-loss torn=%s",
			 torn == TORN_NONE ? "none" : torn == TORN_SEQ ? "seq" : "op");
	} else if (!strcmp(c, "close-commits")) {
		cmd_close_commits(argv, argc, reply, rsz);
	} else if (!strcmp(c, "reset")) {
		rules_reset();
		cc_reset();
		atomic_store(&g_dead_before, 0);
		snprintf(reply, rsz, "ok reset");
	} else if (!strcmp(c, "remove")) {
		char *end = NULL;
		unsigned long id = argc == 2 ? strtoul(argv[1], &end, 10) : 0;
		if (argc != 2 || !end || *end || id == 0) {
			snprintf(reply, rsz, "error usage: remove RULE-ID");
			return;
		}
		int found = rule_remove(id);
		snprintf(reply, rsz, found ? "ok removed rule %lu" : "ok no rule %lu (expired or used up)", id);
	} else if (!strcmp(c, "status")) {
		int nerr, nlat;
		rules_count(&nerr, &nlat);
		pthread_mutex_lock(&g_dir_mtx);
		int nd = g_ndirops;
		pthread_mutex_unlock(&g_dir_mtx);
		char cc[LINE_MAX_CTL];
		cc_describe(cc, sizeof(cc));
		snprintf(reply, rsz,
			 "ok rules=%d error_rules=%d latency_rules=%d cached_bytes=%ld dirty_files=%d "
			 "pending_dir_entries=%d lost_writes=%s fsync_clean=%s power_lost=%s errors_injected=%ld "
			 "close_commits=%s",
			 nerr + nlat, nerr, nlat, atomic_load(&g_cached_bytes), atomic_load(&g_dirty_files),
			 nd, atomic_load(&g_lost) ? "on" : "off", atomic_load(&g_fsync_clean) ? "on" : "off",
			 atomic_load(&g_dead_before) ? "yes" : "no", atomic_load(&g_injected), cc);
	} else if (!strcmp(c, "canary")) {
		if (argc != 2) {
			snprintf(reply, rsz, "error usage: canary DIR");
			return;
		}
		canary(argv[1], reply, rsz);
	} else {
		snprintf(reply, rsz, "error unknown command '%s'", c);
	}
}

static void *ctl_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char line[LINE_MAX_CTL];
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, line + len, sizeof(line) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		char *nl;
		while ((nl = memchr(line, '\n', len))) {
			*nl = 0;
			/* room for a reply that quotes a whole command line (status shows close-commits) */
			char reply[LINE_MAX_CTL + 512];
			command(line, reply, sizeof(reply));
			size_t rl = strlen(reply);
			reply[rl++] = '\n';
			if (send(fd, reply, rl, MSG_NOSIGNAL) != (ssize_t)rl)
				goto done;
			size_t used = (size_t)(nl + 1 - line);
			memmove(line, nl + 1, len - used);
			len -= used;
		}
		if (len == sizeof(line) - 1) {
			const char m[] = "error line too long\n";
			if (send(fd, m, sizeof(m) - 1, MSG_NOSIGNAL) < 0) {}
			break;
		}
	}
done:
	close(fd);
	return NULL;
}

void *ctl_thread(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			usleep(100000);
			continue;
		}
		pthread_t t;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, ctl_conn, (void *)(intptr_t)fd) != 0)
			close(fd);
		pthread_attr_destroy(&at);
	}
	return NULL;
}

int ctl_listen(const char *path)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "faultfs: control socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(fd, 16) == -1) {
		fprintf(stderr, "faultfs: cannot listen on %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	chmod(path, 0600);
	return fd;
}
