/*
 * reflector.c: the bare NTP reflector of the NTP benchmark (scripts/bench-ntp.sh,
 * issue 13 §1): the ceiling for any user-space UDP server on this machine and
 * network model.
 *
 * recvmmsg → swap addresses → a fixed 48-byte reply carrying the kernel's RX
 * timestamp → sendmmsg. No parsing beyond the request's length and transmit
 * timestamp, no client log, no clock discipline: version and mode are fixed
 * (NTPv4 server), stratum 1, the request's transmit timestamp copied into
 * the origin field, the kernel RX stamp (SO_TIMESTAMPNS) in the receive and
 * transmit fields. Same socket layout and options as gnomond's workers: one
 * SO_REUSEPORT socket per worker thread (WORKERS, default the number of
 * CPUs, as gnomond's ntp.workers 0), a 4 MiB receive buffer
 * (SO_RCVBUFFORCE), batches of 32; the benchmark pins the process to the
 * server CPU as it does the other servers.
 *
 * It never reads or sets the clock beyond the kernel's packet stamps.
 *
 * Build: gcc -O2 -pthread -o reflector reflector.c
 * Run:   [WORKERS=N] reflector ADDR PORT      (IPv4 literal)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define BUFLEN 2048
#define NTP_EPOCH_OFFSET 2208988800ULL

static void put_ntp(unsigned char *p, const struct timespec *ts)
{
	uint64_t sec = (uint64_t)ts->tv_sec + NTP_EPOCH_OFFSET;
	uint64_t frac = ((uint64_t)ts->tv_nsec << 32) / 1000000000ULL;
	uint32_t s = htonl((uint32_t)sec), f = htonl((uint32_t)frac);
	memcpy(p, &s, 4);
	memcpy(p + 4, &f, 4);
}

static struct sockaddr_in bind_addr;

static int open_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("reflector: socket");
		exit(1);
	}
	int one = 1, rcvbuf = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
		perror("reflector: SO_REUSEPORT");
		exit(1);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0) {
		perror("reflector: SO_TIMESTAMPNS");
		exit(1);
	}
	if (bind(fd, (struct sockaddr *)&bind_addr, sizeof bind_addr) != 0) {
		perror("reflector: bind");
		exit(1);
	}
	return fd;
}

struct worker {
	int fd;
	unsigned char in[BATCH][BUFLEN], out[BATCH][48];
	char ctrl[BATCH][CMSG_SPACE(sizeof(struct timespec)) + 64];
	struct sockaddr_in from[BATCH];
	struct iovec iv[BATCH], ov[BATCH];
	struct mmsghdr rm[BATCH], sm[BATCH];
};

static void *serve(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < BATCH; i++) {
		w->iv[i] = (struct iovec){.iov_base = w->in[i], .iov_len = BUFLEN};
		w->ov[i] = (struct iovec){.iov_base = w->out[i], .iov_len = 48};
	}
	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			w->rm[i].msg_hdr = (struct msghdr){.msg_name = &w->from[i], .msg_namelen = sizeof w->from[i],
							   .msg_iov = &w->iv[i], .msg_iovlen = 1,
							   .msg_control = w->ctrl[i], .msg_controllen = sizeof w->ctrl[i]};
		}
		int n = recvmmsg(w->fd, w->rm, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("reflector: recvmmsg");
			exit(1);
		}
		int k = 0;
		for (int i = 0; i < n; i++) {
			if (w->rm[i].msg_len < 48)
				continue;
			struct timespec rx = {0, 0};
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&w->rm[i].msg_hdr); c; c = CMSG_NXTHDR(&w->rm[i].msg_hdr, c))
				if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS)
					memcpy(&rx, CMSG_DATA(c), sizeof rx);
			unsigned char *o = w->out[k];
			memset(o, 0, 48);
			o[0] = (0 << 6) | (4 << 3) | 4; /* LI 0, VN 4, mode 4 */
			o[1] = 1;                       /* stratum 1 */
			o[2] = w->in[i][2];             /* poll */
			o[3] = 0xEC;                    /* precision 2^-20 */
			memcpy(o + 12, "RFLX", 4);
			put_ntp(o + 16, &rx);             /* reference */
			memcpy(o + 24, w->in[i] + 40, 8); /* origin = request's transmit */
			put_ntp(o + 32, &rx);             /* receive */
			put_ntp(o + 40, &rx);             /* transmit */
			w->sm[k].msg_hdr = (struct msghdr){.msg_name = &w->from[i], .msg_namelen = w->rm[i].msg_hdr.msg_namelen,
							   .msg_iov = &w->ov[k], .msg_iovlen = 1};
			k++;
		}
		for (int off = 0; off < k;) {
			int m = sendmmsg(w->fd, w->sm + off, k - off, 0);
			if (m < 0) {
				if (errno == EINTR)
					continue;
				off++; /* skip the refused one, send the rest */
				continue;
			}
			off += m;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: [WORKERS=N] reflector ADDR PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	bind_addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
	if (inet_pton(AF_INET, argv[1], &bind_addr.sin_addr) != 1) {
		fprintf(stderr, "reflector: %s: not an IPv4 address\n", argv[1]);
		return 2;
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	const char *env = getenv("WORKERS");
	if (env)
		n = atol(env);
	if (n < 1 || n > 1024) {
		fprintf(stderr, "reflector: WORKERS %ld: want 1 … 1024\n", n);
		return 2;
	}
	pthread_t *t = calloc((size_t)n, sizeof *t);
	for (long i = 0; i < n; i++) {
		struct worker *w = calloc(1, sizeof *w);
		if (!w || !t) {
			fprintf(stderr, "reflector: out of memory\n");
			return 1;
		}
		w->fd = open_socket();
		if (pthread_create(&t[i], NULL, serve, w) != 0) {
			fprintf(stderr, "reflector: cannot start worker %ld\n", i);
			return 1;
		}
	}
	fprintf(stderr, "reflector: serving %s:%s with %ld SO_REUSEPORT workers\n", argv[1], argv[2], n);
	for (long i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}
