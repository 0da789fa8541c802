/*
 * faultfs-exec [-C DIR] [-c SOCKET] [-t SECONDS]
 *
 * Executes file-system operations read from stdin, one per line, and prints one result line per
 * operation, in input order. It is the test driver of faultfs's model-based test: each operation
 * names a "process", and every process is a forked child with its own descriptor table, so reads
 * and writes go through different descriptors of different processes, as a database's backends do.
 *
 *   P OP ARGS...   an operation of process P (0-15), run in lockstep: it ends before the next starts
 *   batch          starts a concurrent phase: the operations up to "end" are handed to their
 *   end            processes, which then run them at the same time (each its own in order); their
 *                  results are printed in input order once all have finished
 *   ctl COMMAND    sends COMMAND to faultfs's control socket (-c) and prints "ctl REPLY"
 *   # ...          a comment (so are empty lines); prints nothing
 *
 * Operations (SLOT is a process's own descriptor number, 0-63; paths are relative to -C DIR):
 *   open SLOT PATH FLAGS          FLAGS: comma-separated rdonly|wronly|rdwr|creat|trunc|excl|append|
 *                                 direct|dsync (mode 0644)
 *   close SLOT
 *   pwrite SLOT OFF LEN SEED      LEN bytes of the data stream SEED (see fill) at OFF: "ok WRITTEN"
 *   pread SLOT OFF LEN            "ok N HASHES": N bytes read, FNV-1a (32-bit) of each 4096 bytes
 *                                 from OFF, comma-separated ("-" when N is 0)
 *   hex SLOT OFF LEN              "ok N HEX": the bytes read, for a human
 *   ftruncate SLOT SIZE
 *   fallocate SLOT MODE OFF LEN   MODE: 0 or keep (FALLOC_FL_KEEP_SIZE)
 *   fsync SLOT | fdatasync SLOT
 *   fstat SLOT                    "ok SIZE"
 *   stat PATH                     "ok SIZE", or "ok dir" for a directory
 *   rename FROM TO | unlink PATH | mkdir PATH | rmdir PATH
 *   fsyncdir PATH                 opens the directory, fsyncs it, closes it
 *
 * A failed operation prints its errno name (ENOENT, EIO, ...). A line the executor cannot run
 * prints "error REASON". I/O buffers are aligned to 4096 bytes (posix_memalign), as O_DIRECT needs.
 * Exit status: 0 when stdin was read to its end, 2 on a usage error, 3 on an internal failure or
 * when one operation or phase took longer than -t SECONDS (default 60).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl-reply.h"

#define MAXPROC 16
#define MAXSLOT 64
#define MAXLEN (1 << 20)
#define LINE 4096

/* ------------------------------------------------------------------------------------------ */
/* What a process runs                                                                         */

static int g_fds[MAXSLOT];
static char *g_buf; /* aligned I/O buffer */

/* The data stream SEED: a 32-bit LCG whose top byte is each byte (the model computes the same). */
static void fill(char *b, size_t n, uint32_t seed)
{
	uint32_t s = seed;
	for (size_t i = 0; i < n; i++) {
		s = s * 1664525u + 1013904223u;
		b[i] = (char)(s >> 24);
	}
}

static uint32_t fnv(const char *b, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)b[i]) * 16777619u;
	return h;
}

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EIO: return "EIO";
	case EBADF: return "EBADF";
	case EACCES: return "EACCES";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EXDEV: return "EXDEV";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case EFBIG: return "EFBIG";
	case ENOSPC: return "ENOSPC";
	case EROFS: return "EROFS";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOTEMPTY: return "ENOTEMPTY";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOSYS: return "ENOSYS";
	case ENXIO: return "ENXIO";
	case ESTALE: return "ESTALE";
	case EINTR: return "EINTR";
	case ENOTCONN: return "ENOTCONN";
	default: return NULL;
	}
}

static void put_errno(char *out, size_t osz, int e)
{
	const char *n = errname(e);
	if (n)
		snprintf(out, osz, "%s", n);
	else
		snprintf(out, osz, "E%d", e);
}

static int parse_num(const char *s, long long *out)
{
	char *end;
	if (!s || !*s)
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < 0)
		return -1;
	*out = v;
	return 0;
}

static int parse_flags(const char *s, int *out)
{
	int f = 0, acc = O_RDONLY;
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s", s);
	char *save = NULL;
	for (char *w = strtok_r(tmp, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (!strcmp(w, "rdonly")) acc = O_RDONLY;
		else if (!strcmp(w, "wronly")) acc = O_WRONLY;
		else if (!strcmp(w, "rdwr")) acc = O_RDWR;
		else if (!strcmp(w, "creat")) f |= O_CREAT;
		else if (!strcmp(w, "trunc")) f |= O_TRUNC;
		else if (!strcmp(w, "excl")) f |= O_EXCL;
		else if (!strcmp(w, "append")) f |= O_APPEND;
		else if (!strcmp(w, "direct")) f |= O_DIRECT;
		else if (!strcmp(w, "dsync")) f |= O_DSYNC;
		else return -1;
	}
	*out = f | acc | O_CLOEXEC;
	return 0;
}

/* The descriptor in slot argv[i], or -1 with a reply. */
static int slot_fd(char **argv, int argc, int i, char *out, size_t osz)
{
	long long s;
	if (i >= argc || parse_num(argv[i], &s) || s >= MAXSLOT) {
		snprintf(out, osz, "error bad slot");
		return -1;
	}
	if (g_fds[s] < 0) {
		snprintf(out, osz, "error slot %lld is not open", s);
		return -1;
	}
	return g_fds[s];
}

/* Runs one operation (argv[0] is its name) in this process; writes the result line to out. */
static void run_op(char **argv, int argc, char *out, size_t osz)
{
	const char *op = argv[0];
	long long a = 0, b = 0, c = 0;
	int fd, r;
#define NEED(n) do { if (argc != (n)) { snprintf(out, osz, "error %s takes %d arguments", op, (n) - 1); return; } } while (0)
#define NUM(i, v) do { if (parse_num(argv[i], &(v))) { snprintf(out, osz, "error bad number '%s'", argv[i]); return; } } while (0)
#define SLOT(i) do { if ((fd = slot_fd(argv, argc, (i), out, osz)) < 0) return; } while (0)
#define RESULT(call) do { if ((call) == -1) put_errno(out, osz, errno); else snprintf(out, osz, "ok"); } while (0)
	if (!strcmp(op, "open")) {
		NEED(4);
		NUM(1, a);
		int flags;
		if (a >= MAXSLOT) {
			snprintf(out, osz, "error bad slot");
			return;
		}
		if (g_fds[a] >= 0) {
			snprintf(out, osz, "error slot %lld is open", a);
			return;
		}
		if (parse_flags(argv[3], &flags)) {
			snprintf(out, osz, "error bad flags '%s'", argv[3]);
			return;
		}
		fd = open(argv[2], flags, 0644);
		if (fd == -1) {
			put_errno(out, osz, errno);
			return;
		}
		g_fds[a] = fd;
		snprintf(out, osz, "ok");
	} else if (!strcmp(op, "close")) {
		NEED(2);
		SLOT(1);
		g_fds[atoi(argv[1])] = -1;
		RESULT(close(fd));
	} else if (!strcmp(op, "pwrite")) {
		NEED(5);
		SLOT(1);
		NUM(2, a);
		NUM(3, b);
		NUM(4, c);
		if (b > MAXLEN) {
			snprintf(out, osz, "error length over %d", MAXLEN);
			return;
		}
		fill(g_buf, (size_t)b, (uint32_t)c);
		ssize_t n = pwrite(fd, g_buf, (size_t)b, (off_t)a);
		if (n == -1)
			put_errno(out, osz, errno);
		else
			snprintf(out, osz, "ok %zd", n);
	} else if (!strcmp(op, "pread") || !strcmp(op, "hex")) {
		NEED(4);
		SLOT(1);
		NUM(2, a);
		NUM(3, b);
		if (b > MAXLEN || (op[0] == 'h' && b > 2048)) {
			snprintf(out, osz, "error length too long");
			return;
		}
		ssize_t n = pread(fd, g_buf, (size_t)b, (off_t)a);
		if (n == -1) {
			put_errno(out, osz, errno);
			return;
		}
		size_t used = (size_t)snprintf(out, osz, "ok %zd ", n);
		if (n == 0) {
			snprintf(out + used, osz - used, "-");
		} else if (op[0] == 'h') {
			for (ssize_t i = 0; i < n && used + 3 < osz; i++)
				used += (size_t)snprintf(out + used, osz - used, "%02x", (unsigned char)g_buf[i]);
		} else {
			for (ssize_t i = 0; i < n && used + 10 < osz; i += 4096) {
				size_t k = (size_t)(n - i) < 4096 ? (size_t)(n - i) : 4096;
				used += (size_t)snprintf(out + used, osz - used, "%s%08x", i ? "," : "", fnv(g_buf + i, k));
			}
		}
	} else if (!strcmp(op, "ftruncate")) {
		NEED(3);
		SLOT(1);
		NUM(2, a);
		RESULT(ftruncate(fd, (off_t)a));
	} else if (!strcmp(op, "fallocate")) {
		NEED(5);
		SLOT(1);
		int mode;
		if (!strcmp(argv[2], "0"))
			mode = 0;
		else if (!strcmp(argv[2], "keep"))
			mode = FALLOC_FL_KEEP_SIZE;
		else {
			snprintf(out, osz, "error bad fallocate mode '%s' (0 or keep)", argv[2]);
			return;
		}
		NUM(3, a);
		NUM(4, b);
		RESULT(fallocate(fd, mode, (off_t)a, (off_t)b));
	} else if (!strcmp(op, "fsync")) {
		NEED(2);
		SLOT(1);
		RESULT(fsync(fd));
	} else if (!strcmp(op, "fdatasync")) {
		NEED(2);
		SLOT(1);
		RESULT(fdatasync(fd));
	} else if (!strcmp(op, "fstat") || !strcmp(op, "stat")) {
		NEED(2);
		struct stat st;
		if (op[0] == 'f') {
			SLOT(1);
			r = fstat(fd, &st);
		} else {
			r = stat(argv[1], &st);
		}
		if (r == -1)
			put_errno(out, osz, errno);
		else if (S_ISDIR(st.st_mode))
			snprintf(out, osz, "ok dir");
		else
			snprintf(out, osz, "ok %lld", (long long)st.st_size);
	} else if (!strcmp(op, "rename")) {
		NEED(3);
		RESULT(rename(argv[1], argv[2]));
	} else if (!strcmp(op, "unlink")) {
		NEED(2);
		RESULT(unlink(argv[1]));
	} else if (!strcmp(op, "mkdir")) {
		NEED(2);
		RESULT(mkdir(argv[1], 0755));
	} else if (!strcmp(op, "rmdir")) {
		NEED(2);
		RESULT(rmdir(argv[1]));
	} else if (!strcmp(op, "fsyncdir")) {
		NEED(2);
		int dfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd == -1) {
			put_errno(out, osz, errno);
			return;
		}
		r = fsync(dfd);
		int e = errno;
		close(dfd);
		errno = e;
		RESULT(r);
	} else {
		snprintf(out, osz, "error unknown operation '%s'", op);
	}
#undef NEED
#undef NUM
#undef SLOT
#undef RESULT
}

static int split(char *line, char **argv, int max)
{
	int argc = 0;
	char *save = NULL;
	for (char *s = strtok_r(line, " \t\r\n", &save); s && argc < max; s = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = s;
	return argc;
}

/*
 * A child: reads operations until "go", then runs them in order and writes one result line each.
 * Buffering the whole list first lets every process of a phase start at the same moment.
 */
static void child_main(FILE *in, FILE *out)
{
	for (int i = 0; i < MAXSLOT; i++)
		g_fds[i] = -1;
	char **ops = NULL;
	size_t nops = 0, cap = 0;
	char line[LINE];
	char reply[LINE * 2 + 64];
	while (fgets(line, sizeof(line), in)) {
		if (strcmp(line, "go\n") != 0) {
			if (nops == cap) {
				cap = cap ? cap * 2 : 64;
				ops = realloc(ops, cap * sizeof(*ops));
				if (!ops)
					_exit(3);
			}
			ops[nops++] = strdup(line);
			continue;
		}
		for (size_t i = 0; i < nops; i++) {
			char *argv[16];
			int argc = split(ops[i], argv, 16);
			if (argc == 0)
				snprintf(reply, sizeof(reply), "error empty operation");
			else
				run_op(argv, argc, reply, sizeof(reply));
			fprintf(out, "%s\n", reply);
			free(ops[i]);
		}
		fflush(out);
		nops = 0;
	}
	_exit(0);
}

/* ------------------------------------------------------------------------------------------ */
/* The parent: reads stdin, hands operations to processes, prints results in order             */

struct proc {
	pid_t pid;
	FILE *to;
	FILE *from;
};

static struct proc g_procs[MAXPROC];
static const char *g_ctl;
static int g_timeout = 60;

static void on_alarm(int sig)
{
	(void)sig;
	static const char m[] = "faultfs-exec: an operation or phase took longer than the time limit (-t)\n";
	if (write(2, m, sizeof(m) - 1) < 0) {}
	for (int i = 0; i < MAXPROC; i++)
		if (g_procs[i].pid > 0)
			kill(g_procs[i].pid, SIGKILL);
	_exit(3);
}

static struct proc *proc_get(int id)
{
	struct proc *p = &g_procs[id];
	if (p->pid > 0)
		return p;
	int down[2], up[2];
	if (pipe2(down, O_CLOEXEC) == -1 || pipe2(up, O_CLOEXEC) == -1) {
		perror("faultfs-exec: pipe");
		exit(3);
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == -1) {
		perror("faultfs-exec: fork");
		exit(3);
	}
	if (pid == 0) {
		/* only this process's own pipe ends stay open: no other process's descriptors */
		for (int i = 0; i < MAXPROC; i++) {
			if (g_procs[i].pid > 0) {
				/* close, not fclose: the parent's unsent buffer must not be sent twice */
				close(fileno(g_procs[i].to));
				close(fileno(g_procs[i].from));
			}
		}
		close(down[1]);
		close(up[0]);
		signal(SIGALRM, SIG_DFL);
		child_main(fdopen(down[0], "r"), fdopen(up[1], "w"));
	}
	close(down[0]);
	close(up[1]);
	p->pid = pid;
	p->to = fdopen(down[1], "w");
	p->from = fdopen(up[0], "r");
	return p;
}

static void ctl(const char *command, char *out, size_t osz)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (!g_ctl || strlen(g_ctl) >= sizeof(sa.sun_path)) {
		snprintf(out, osz, "ctl error no control socket (-c SOCKET)");
		return;
	}
	strcpy(sa.sun_path, g_ctl);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		snprintf(out, osz, "ctl error cannot reach %s: %s", g_ctl, strerror(errno));
		if (fd != -1)
			close(fd);
		return;
	}
	char line[LINE + 2];
	int n = snprintf(line, sizeof(line), "%s\n", command);
	if (write(fd, line, (size_t)n) != n) {
		snprintf(out, osz, "ctl error write: %s", strerror(errno));
		close(fd);
		return;
	}
	char reply[LINE];
	size_t got = read_reply(fd, reply, sizeof(reply));
	close(fd);
	char *nl = strchr(reply, '\n');
	if (nl)
		*nl = 0;
	snprintf(out, osz, "ctl %s", got ? reply : "error no reply");
}

struct pending {
	int proc;      /* -1: a line answered by the parent (reply holds it) */
	char *reply;
};

/*
 * Runs a phase: hands each operation to its process, starts them all, and prints the results in
 * input order. A phase of one operation is a lockstep step.
 */
static void run_phase(char **lines, size_t n);

/* Runs the batch gathered so far as one phase and empties it. */
static void end_batch(char **batch, size_t *nbatch)
{
	run_phase(batch, *nbatch);
	for (size_t i = 0; i < *nbatch; i++)
		free(batch[i]);
	*nbatch = 0;
}

static void run_phase(char **lines, size_t n)
{
	struct pending *pend = calloc(n ? n : 1, sizeof(*pend));
	int used[MAXPROC] = { 0 };
	if (!pend)
		exit(3);
	for (size_t i = 0; i < n; i++) {
		char copy[LINE];
		snprintf(copy, sizeof(copy), "%s", lines[i]);
		char *argv[16];
		int argc = split(copy, argv, 16);
		long long id;
		pend[i].proc = -1;
		if (argc < 2 || parse_num(argv[0], &id) || id >= MAXPROC) {
			pend[i].reply = strdup("error expected 'PROCESS OPERATION ARGS...'");
			continue;
		}
		struct proc *p = proc_get((int)id);
		/* the operation without its process id */
		const char *rest = lines[i];
		while (*rest == ' ' || *rest == '\t')
			rest++;
		rest += strlen(argv[0]);
		fprintf(p->to, "%s", rest);
		if (!strchr(rest, '\n'))
			fputc('\n', p->to);
		pend[i].proc = (int)id;
		used[id] = 1;
	}
	alarm((unsigned)g_timeout);
	for (int id = 0; id < MAXPROC; id++) {
		if (!used[id])
			continue;
		fputs("go\n", g_procs[id].to);
		fflush(g_procs[id].to);
	}
	for (size_t i = 0; i < n; i++) {
		if (pend[i].proc < 0)
			continue;
		char line[LINE * 2 + 64];
		if (!fgets(line, sizeof(line), g_procs[pend[i].proc].from)) {
			fprintf(stderr, "faultfs-exec: process %d ended unexpectedly\n", pend[i].proc);
			exit(3);
		}
		line[strcspn(line, "\n")] = 0;
		pend[i].reply = strdup(line);
	}
	alarm(0);
	for (size_t i = 0; i < n; i++) {
		printf("%s\n", pend[i].reply);
		free(pend[i].reply);
	}
	fflush(stdout);
	free(pend);
}

int main(int argc, char *argv[])
{
	int opt;
	while ((opt = getopt(argc, argv, "C:c:t:h")) != -1) {
		switch (opt) {
		case 'C':
			if (chdir(optarg) == -1) {
				fprintf(stderr, "faultfs-exec: %s: %s\n", optarg, strerror(errno));
				return 2;
			}
			break;
		case 'c':
			g_ctl = optarg;
			break;
		case 't':
			g_timeout = atoi(optarg);
			if (g_timeout <= 0) {
				fprintf(stderr, "faultfs-exec: -t must be a whole number of seconds, 1 or more: got '%s'\n", optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: %s [-C DIR] [-c SOCKET] [-t SECONDS] <OPERATIONS\n", argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: %s [-C DIR] [-c SOCKET] [-t SECONDS] <OPERATIONS\n", argv[0]);
		return 2;
	}
	if (posix_memalign((void **)&g_buf, 4096, MAXLEN) != 0)
		return 3;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);

	char line[LINE];
	char **batch = NULL;
	size_t nbatch = 0, cap = 0;
	int in_batch = 0;
	while (fgets(line, sizeof(line), stdin)) {
		char copy[LINE];
		snprintf(copy, sizeof(copy), "%s", line);
		char *words[2];
		int nw = split(copy, words, 2);
		if (nw == 0 || words[0][0] == '#')
			continue;
		if (!strcmp(words[0], "batch")) {
			if (in_batch)
				end_batch(batch, &nbatch);
			in_batch = 1;
			continue;
		}
		if (!strcmp(words[0], "end")) {
			end_batch(batch, &nbatch);
			in_batch = 0;
			continue;
		}
		if (!strcmp(words[0], "ctl")) {
			if (in_batch) {
				printf("error ctl inside a batch\n");
				continue;
			}
			char reply[LINE + 16];
			const char *cmd = line + strspn(line, " \t") + 3;
			cmd += strspn(cmd, " \t");
			char c2[LINE];
			snprintf(c2, sizeof(c2), "%s", cmd);
			c2[strcspn(c2, "\r\n")] = 0;
			alarm((unsigned)g_timeout);
			ctl(c2, reply, sizeof(reply));
			alarm(0);
			printf("%s\n", reply);
			fflush(stdout);
			continue;
		}
		if (in_batch) {
			if (nbatch == cap) {
				cap = cap ? cap * 2 : 64;
				batch = realloc(batch, cap * sizeof(*batch));
				if (!batch)
					return 3;
			}
			batch[nbatch++] = strdup(line);
			continue;
		}
		char *one[1] = { line };
		run_phase(one, 1);
	}
	if (in_batch)
		run_phase(batch, nbatch);
	for (int i = 0; i < MAXPROC; i++) {
		if (g_procs[i].pid > 0) {
			fclose(g_procs[i].to);
			fclose(g_procs[i].from);
			waitpid(g_procs[i].pid, NULL, 0);
		}
	}
	return 0;
}
