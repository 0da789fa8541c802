/*
 * faultfs-ctl SOCKET COMMAND [ARG...]
 *
 * Sends one command line to a faultfs control socket and prints the reply line.
 * Exit status: 0 when the reply starts with "ok", 1 when it is an error, 2 on usage or I/O trouble.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl-reply.h"

int main(int argc, char *argv[])
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s SOCKET COMMAND [ARG...]\n", argv[0]);
		return 2;
	}
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "faultfs-ctl: socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		fprintf(stderr, "faultfs-ctl: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	size_t len = 1;
	for (int i = 2; i < argc; i++)
		len += strlen(argv[i]) + 1;
	char *line = malloc(len + 1);
	if (!line)
		return 2;
	line[0] = 0;
	for (int i = 2; i < argc; i++) {
		strcat(line, argv[i]);
		strcat(line, i + 1 < argc ? " " : "\n");
	}
	size_t n = strlen(line), done = 0;
	while (done < n) {
		ssize_t w = write(fd, line + done, n - done);
		if (w <= 0) {
			fprintf(stderr, "faultfs-ctl: write: %s\n", strerror(errno));
			return 2;
		}
		done += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	char reply[4096];
	size_t got = read_reply(fd, reply, sizeof(reply));
	char *nl = strchr(reply, '\n');
	if (nl)
		*nl = 0;
	if (got == 0) {
		fprintf(stderr, "faultfs-ctl: no reply\n");
		return 2;
	}
	puts(reply);
	return strncmp(reply, "ok", 2) == 0 && (reply[2] == 0 || reply[2] == ' ') ? 0 : 1;
}
