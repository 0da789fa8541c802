/*
 * faultfs's entry point: option parsing, the mount's configuration (ff_init), the table of
 * operations, and a fuse_main of its own so that the control socket starts after daemonizing.
 */
#include "faultfs.h"

int g_lowerfd = -1;
char g_lower[PATH_MAX];
char g_mnt[PATH_MAX];
char *g_ctl_path;
struct fuse *g_fuse;
struct fuse_config *g_cfg;

static void *ff_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->use_ino = 1;
	cfg->nullpath_ok = 1;
	cfg->hard_remove = 1;
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->negative_timeout = 0;
	if (conn->max_write < 1048576)
		conn->max_write = 1048576;
	conn->max_readahead = 1048576;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
#ifdef FUSE_CAP_DIRECT_IO_ALLOW_MMAP
	/*
	 * In lost-writes mode every file is opened direct_io (open_common), and without this the kernel
	 * refuses a shared mapping of it (ENODEV): etcd, which maps its database, could not start. The
	 * kernel keeps mapped pages in its page cache and drops a range before each direct write to it;
	 * a power loss invalidates the files it changes (libfuse 3.16 and Linux 6.6 or later).
	 */
	if (conn->capable & FUSE_CAP_DIRECT_IO_ALLOW_MMAP)
		conn->want |= FUSE_CAP_DIRECT_IO_ALLOW_MMAP;
#endif
	g_fuse = fuse_get_context()->fuse;
	g_cfg = cfg;
	if (atomic_load(&g_lost))
		cfg->entry_timeout = 0;
	return NULL;
}

static const struct fuse_operations ff_ops = {
	.init = ff_init,
	.getattr = ff_getattr,
	.readlink = ff_readlink,
	.mknod = ff_mknod,
	.mkdir = ff_mkdir,
	.unlink = ff_unlink,
	.rmdir = ff_rmdir,
	.symlink = ff_symlink,
	.rename = ff_rename,
	.link = ff_link,
	.chmod = ff_chmod,
	.chown = ff_chown,
	.truncate = ff_truncate,
	.open = ff_open,
	.read = ff_read,
	.write = ff_write,
	.statfs = ff_statfs,
	.flush = ff_flush,
	.release = ff_release,
	.fsync = ff_fsync,
	.opendir = ff_opendir,
	.readdir = ff_readdir,
	.releasedir = ff_releasedir,
	.fsyncdir = ff_fsyncdir,
	.access = ff_access,
	.create = ff_create,
	.utimens = ff_utimens,
	.fallocate = ff_fallocate,
	.copy_file_range = ff_copy_file_range,
	.lseek = ff_lseek,
};

struct ff_opts {
	char *ctl;
	char *lower;
};

static const struct fuse_opt ff_optspec[] = {
	{ "ctl=%s", offsetof(struct ff_opts, ctl), 0 },
	FUSE_OPT_END
};

static int ff_optproc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	(void)outargs;
	struct ff_opts *o = data;
	if (key == FUSE_OPT_KEY_NONOPT && !o->lower) {
		o->lower = strdup(arg);
		return 0;
	}
	return 1;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct ff_opts o = { 0 };
	if (fuse_opt_parse(&args, &o, ff_optspec, ff_optproc) == -1)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("faultfs (libfuse %s)\n", fuse_pkgversion());
			return 0;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: %s LOWER MOUNTPOINT [-o ctl=PATH] [fuse options]\n", argv[0]);
			return 0;
		}
	}
	if (!o.lower) {
		fprintf(stderr, "usage: %s LOWER MOUNTPOINT [-o ctl=PATH] [fuse options]\n", argv[0]);
		return 1;
	}
	if (!realpath(o.lower, g_lower)) {
		fprintf(stderr, "faultfs: %s: %s\n", o.lower, strerror(errno));
		return 1;
	}
	g_lowerfd = open(g_lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (g_lowerfd == -1) {
		fprintf(stderr, "faultfs: %s: %s\n", g_lower, strerror(errno));
		return 1;
	}
	g_ctl_path = o.ctl ? o.ctl : "/run/faultfs.sock";
	if (getenv("FAULTFS_TRACE"))
		g_trace = fopen(getenv("FAULTFS_TRACE"), "a");
	umask(0);
	fuse_opt_add_arg(&args, "-oallow_other,default_permissions,fsname=faultfs,subtype=faultfs");
	if (geteuid() == 0)
		fuse_opt_add_arg(&args, "-odev,suid");

	/* Like fuse_main, but with the control socket started after daemonizing. */
	struct fuse_cmdline_opts co;
	if (fuse_parse_cmdline(&args, &co) != 0)
		return 1;
	if (co.show_help || co.show_version || !co.mountpoint) {
		if (co.show_version)
			printf("faultfs (libfuse %s)\n", fuse_pkgversion());
		else
			fprintf(stderr, "usage: %s LOWER MOUNTPOINT [-o ctl=PATH] [fuse options]\n", argv[0]);
		return co.mountpoint ? 0 : 1;
	}
	if (!realpath(co.mountpoint, g_mnt))
		snprintf(g_mnt, sizeof(g_mnt), "%s", co.mountpoint);
	struct fuse *f = fuse_new(&args, &ff_ops, sizeof(ff_ops), NULL);
	if (!f)
		return 1;
	if (fuse_mount(f, co.mountpoint) != 0) {
		fuse_destroy(f);
		return 1;
	}
	if (fuse_daemonize(co.foreground) != 0) {
		fuse_unmount(f);
		fuse_destroy(f);
		return 1;
	}
	g_fuse = f;
	int lfd = ctl_listen(g_ctl_path);
	if (lfd == -1) {
		fuse_unmount(f);
		fuse_destroy(f);
		return 1;
	}
	pthread_t t;
	pthread_create(&t, NULL, ctl_thread, (void *)(intptr_t)lfd);
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0) {
		fuse_unmount(f);
		fuse_destroy(f);
		return 1;
	}
	int res;
	if (co.singlethread) {
		res = fuse_loop(f);
	} else {
		struct fuse_loop_config *lc = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(lc, (unsigned)co.clone_fd);
		fuse_loop_cfg_set_idle_threads(lc, co.max_idle_threads > 0 ? co.max_idle_threads : 16);
		fuse_loop_cfg_set_max_threads(lc, co.max_threads > 0 ? co.max_threads : 64);
		res = fuse_loop_mt(f, lc);
		fuse_loop_cfg_destroy(lc);
	}
	fuse_remove_signal_handlers(fuse_get_session(f));
	fuse_unmount(f);
	fuse_destroy(f);
	unlink(g_ctl_path);
	free(co.mountpoint);
	fuse_opt_free_args(&args);
	return res ? 1 : 0;
}
