/*
 * Reading faultfs's one-line reply on a control connection, shared by faultfs-ctl and
 * faultfs-exec: reads until a newline, the end of the connection or a full buffer, and leaves
 * the text NUL-terminated in reply. Returns the number of bytes read.
 */
#ifndef FAULTFS_CTL_REPLY_H
#define FAULTFS_CTL_REPLY_H

#include <errno.h>
#include <string.h>
#include <unistd.h>

static size_t read_reply(int fd, char *reply, size_t size)
{
	size_t got = 0;
	while (got < size - 1) {
		ssize_t r = read(fd, reply + got, size - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (memchr(reply, '\n', got))
			break;
	}
	reply[got] = 0;
	return got;
}

#endif
