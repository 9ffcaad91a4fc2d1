/*
 * rcvbuf-preload.c: LD_PRELOAD shim for the NTP benchmark (scripts/bench-ntp.sh).
 *
 * chronyd has no option for the receive buffer of its NTP sockets; it keeps
 * the system default (net.core.rmem_default), which cannot be raised inside
 * a network namespace. gnomond asks for 4 MiB (ntp.recv_buffer). To compare
 * the two daemons on equal terms, the benchmark starts chronyd with this
 * shim, which asks for RCVBUF_BYTES on every IPv4/IPv6 datagram socket right
 * after it is created (SO_RCVBUFFORCE as root, else SO_RCVBUF). Nothing else
 * changes; without RCVBUF_BYTES the shim does nothing.
 *
 * Build: gcc -shared -fPIC -O2 -o rcvbuf-preload.so rcvbuf-preload.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/socket.h>

int socket(int domain, int type, int protocol)
{
	static int (*next)(int, int, int);
	if (!next)
		next = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	int fd = next(domain, type, protocol);
	if (fd < 0 || (domain != AF_INET && domain != AF_INET6) || (type & 0xf) != SOCK_DGRAM)
		return fd;
	const char *v = getenv("RCVBUF_BYTES");
	int n = v ? atoi(v) : 0;
	if (n > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &n, sizeof n) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &n, sizeof n);
	return fd;
}
