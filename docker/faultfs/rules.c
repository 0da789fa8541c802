/*
 * Error and latency rules: the list the control socket fills and check_rules, which every
 * operation's prologue (RULES_PROLOGUE) consults before it touches LOWER.
 */
#include "faultfs.h"

#include <regex.h>
#include <sys/syscall.h>

struct rule {
	struct rule *next;
	unsigned id;
	int latency;      /* 0: error rule, 1: latency rule */
	int ops;
	int has_re;
	regex_t re;
	int err;
	double prob;
	long count;       /* -1: unlimited */
	uint64_t expires; /* 0: never */
	long us;
};

atomic_int g_nrules;
atomic_long g_injected;

static pthread_mutex_t g_rules_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct rule *g_rules;
static unsigned g_next_rule = 1;

static double rnd(void)
{
	static __thread unsigned short xs[3];
	static __thread int init;
	if (!init) {
		uint64_t s = now_ns() ^ ((uint64_t)syscall(SYS_gettid) << 32);
		xs[0] = (unsigned short)s;
		xs[1] = (unsigned short)(s >> 16);
		xs[2] = (unsigned short)(s >> 32);
		init = 1;
	}
	return erand48(xs);
}

static void rule_free(struct rule *r)
{
	if (r->has_re)
		regfree(&r->re);
	free(r);
}

/* Applies latency and error rules; returns 0 or a positive errno. */
int check_rules(int op, const char *path)
{
	if (atomic_load_explicit(&g_nrules, memory_order_relaxed) == 0)
		return 0;
	const char *r = path ? rel(path) : "";
	/* the canary's own files: it proves faultfs's mechanics, and rules are not for it to count */
	if (is_canary(r))
		return 0;
	long sleep_us = 0;
	int err = 0;
	uint64_t now = now_ns();
	pthread_mutex_lock(&g_rules_mtx);
	for (struct rule **pp = &g_rules; *pp;) {
		struct rule *x = *pp;
		if ((x->expires && now >= x->expires) || x->count == 0) {
			*pp = x->next;
			rule_free(x);
			atomic_fetch_sub(&g_nrules, 1);
			continue;
		}
		pp = &x->next;
		if (!(x->ops & op))
			continue;
		if (x->has_re && regexec(&x->re, r, 0, NULL, 0) != 0)
			continue;
		if (x->latency) {
			sleep_us += x->us;
			continue;
		}
		if (err)
			continue;
		if (x->prob < 1.0 && rnd() >= x->prob)
			continue;
		err = x->err;
		if (x->count > 0)
			x->count--;
	}
	pthread_mutex_unlock(&g_rules_mtx);
	if (err)
		atomic_fetch_add(&g_injected, 1);
	if (sleep_us > 0) {
		struct timespec ts = { sleep_us / 1000000, (sleep_us % 1000000) * 1000 };
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	return err;
}

static int parse_ops(const char *v)
{
	if (!strcmp(v, "read")) return OP_READ;
	if (!strcmp(v, "write")) return OP_WRITE;
	if (!strcmp(v, "fsync")) return OP_FSYNC;
	if (!strcmp(v, "open")) return OP_OPEN;
	if (!strcmp(v, "any")) return OP_ANY;
	return 0;
}

static int parse_errno(const char *v)
{
	if (!strcmp(v, "EIO")) return EIO;
	if (!strcmp(v, "ENOSPC")) return ENOSPC;
	if (!strcmp(v, "EROFS")) return EROFS;
	return 0;
}

static int parse_long(const char *v, long *out)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < 0)
		return -1;
	*out = x;
	return 0;
}

/* The "error" and "latency" commands: parses a rule and adds it last. */
void cmd_rule(char **argv, int argc, int latency, char *reply, size_t rsz)
{
	struct rule *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(reply, rsz, "error out of memory");
		return;
	}
	r->latency = latency;
	r->prob = 1.0;
	r->count = -1;
	int have_errno = 0;
	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq) {
			snprintf(reply, rsz, "error expected key=value, got '%s'", argv[i]);
			goto bad;
		}
		*eq = 0;
		const char *k = argv[i], *v = eq + 1;
		long x;
		if (!strcmp(k, "op")) {
			if (!(r->ops = parse_ops(v)) || (latency && r->ops == OP_OPEN)) {
				snprintf(reply, rsz, "error bad op '%s'", v);
				goto bad;
			}
		} else if (!strcmp(k, "path") && !latency) {
			int e = regcomp(&r->re, v, REG_EXTENDED | REG_NOSUB);
			if (e) {
				char m[128];
				regerror(e, &r->re, m, sizeof(m));
				snprintf(reply, rsz, "error bad path regex: %s", m);
				goto bad;
			}
			r->has_re = 1;
		} else if (!strcmp(k, "errno") && !latency) {
			if (!(r->err = parse_errno(v))) {
				snprintf(reply, rsz, "error bad errno '%s' (EIO, ENOSPC or EROFS)", v);
				goto bad;
			}
			have_errno = 1;
		} else if (!strcmp(k, "prob") && !latency) {
			char *end;
			r->prob = strtod(v, &end);
			if (end == v || *end || r->prob < 0 || r->prob > 1) {
				snprintf(reply, rsz, "error bad prob '%s'", v);
				goto bad;
			}
		} else if (!strcmp(k, "count") && !latency) {
			if (parse_long(v, &x) || x == 0) {
				snprintf(reply, rsz, "error bad count '%s'", v);
				goto bad;
			}
			r->count = x;
		} else if (!strcmp(k, "for_ms")) {
			if (parse_long(v, &x)) {
				snprintf(reply, rsz, "error bad for_ms '%s'", v);
				goto bad;
			}
			r->expires = now_ns() + (uint64_t)x * 1000000ull;
		} else if (!strcmp(k, "us") && latency) {
			if (parse_long(v, &x)) {
				snprintf(reply, rsz, "error bad us '%s'", v);
				goto bad;
			}
			r->us = x;
		} else {
			snprintf(reply, rsz, "error unknown key '%s'", k);
			goto bad;
		}
	}
	if (!r->ops) {
		snprintf(reply, rsz, "error op= is required");
		goto bad;
	}
	if (!latency && !have_errno) {
		snprintf(reply, rsz, "error errno= is required");
		goto bad;
	}
	if (latency && r->us <= 0) {
		snprintf(reply, rsz, "error us= is required");
		goto bad;
	}
	if (latency && r->ops == OP_ANY)
		r->ops = OP_ANY;
	pthread_mutex_lock(&g_rules_mtx);
	r->id = g_next_rule++;
	struct rule **pp = &g_rules;
	while (*pp)
		pp = &(*pp)->next;
	*pp = r;
	atomic_fetch_add(&g_nrules, 1);
	pthread_mutex_unlock(&g_rules_mtx);
	snprintf(reply, rsz, "ok rule %u", r->id);
	return;
bad:
	rule_free(r);
}

/* The "reset" command's part: every rule goes. */
void rules_reset(void)
{
	pthread_mutex_lock(&g_rules_mtx);
	while (g_rules) {
		struct rule *r = g_rules;
		g_rules = r->next;
		rule_free(r);
	}
	atomic_store(&g_nrules, 0);
	pthread_mutex_unlock(&g_rules_mtx);
}

/* Returns 1 if the rule was there (it may have expired or been used up and be gone already). */
int rule_remove(unsigned long id)
{
	int found = 0;
	pthread_mutex_lock(&g_rules_mtx);
	for (struct rule **pp = &g_rules; *pp; pp = &(*pp)->next) {
		if ((*pp)->id != id)
			continue;
		struct rule *x = *pp;
		*pp = x->next;
		rule_free(x);
		atomic_fetch_sub(&g_nrules, 1);
		found = 1;
		break;
	}
	pthread_mutex_unlock(&g_rules_mtx);
	return found;
}

/* Live rules, for "status": expired and used-up ones still in the list are not counted. */
void rules_count(int *nerr, int *nlat)
{
	int ne = 0, nl = 0;
	uint64_t now = now_ns();
	pthread_mutex_lock(&g_rules_mtx);
	for (struct rule *r = g_rules; r; r = r->next) {
		if ((r->expires && now >= r->expires) || r->count == 0)
			continue;
		if (r->latency) nl++; else ne++;
	}
	pthread_mutex_unlock(&g_rules_mtx);
	*nerr = ne;
	*nlat = nl;
}
