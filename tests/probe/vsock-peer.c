/* vsock-peer: both ends of the vsock tests, one static program used in the guest (AF_VSOCK)
 * and on the host (the VMM's unix socket with its "CONNECT <port>" handshake).
 *
 *   guest-serve PORT N            accept N connections, run the transfer protocol on each
 *   guest-connect PORT BYTES      connect to the host (CID 2), send BYTES of pattern, half-close,
 *                                 print the host's reply line
 *   host-xfer UDS PORT CONNS MIB  CONNS parallel connections moving MIB in total each way
 *   host-listen PATH              accept one connection, read to EOF, answer "got N SUM"
 *   host-line UDS TEXT            send TEXT and a newline to the VMM socket, print its answer
 *
 * Transfer protocol: the host sends {to_guest, from_guest, seed} (3 x u64), then both sides
 * stream pattern bytes at once; the guest ends with the FNV-1a sum of what it received, which
 * the host compares with its own sum of what it sent. The host checks every received byte. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)
#define FNV_INIT 0xcbf29ce484222325ull

static uint8_t pattern(uint64_t i, uint64_t seed)
{
	uint64_t x = ((i >> 6) + seed) * 0x9E3779B97F4A7C15ull;
	return (uint8_t)(x >> 56) ^ (uint8_t)i;
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static void die(const char *what)
{
	fprintf(stderr, "vsock-peer: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t num(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end) {
		fprintf(stderr, "vsock-peer: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static int write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

struct sender {
	int fd;
	uint64_t bytes, seed, sum;
	int failed;
};

static void *send_pattern(void *arg)
{
	struct sender *s = arg;
	static __thread uint8_t buf[CHUNK];
	s->sum = FNV_INIT;
	for (uint64_t off = 0; off < s->bytes;) {
		size_t n = s->bytes - off < CHUNK ? (size_t)(s->bytes - off) : CHUNK;
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(off + i, s->seed);
		s->sum = fnv(s->sum, buf, n);
		if (write_all(s->fd, buf, n) < 0) {
			s->failed = 1;
			return NULL;
		}
		off += n;
	}
	return NULL;
}

/* ---- guest side ---- */

static void *guest_session(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint64_t hdr[3];
	static __thread uint8_t buf[CHUNK];
	if (read_all(fd, hdr, sizeof(hdr)) < 0) {
		fprintf(stderr, "vsock-peer: session header: %s\n", strerror(errno));
		close(fd);
		return NULL;
	}
	struct sender s = {.fd = fd, .bytes = hdr[1], .seed = hdr[2] + 1};
	pthread_t t;
	if (pthread_create(&t, NULL, send_pattern, &s) != 0)
		die("pthread_create");
	uint64_t sum = FNV_INIT, left = hdr[0];
	while (left) {
		ssize_t r = read(fd, buf, left < CHUNK ? left : CHUNK);
		if (r <= 0)
			break;
		sum = fnv(sum, buf, (size_t)r);
		left -= (uint64_t)r;
	}
	pthread_join(t, NULL);
	if (write_all(fd, &sum, sizeof(sum)) < 0 || left || s.failed)
		fprintf(stderr, "vsock-peer: session failed (left %llu)\n",
			(unsigned long long)left);
	close(fd);
	return NULL;
}

static int guest_serve(uint32_t port, unsigned n)
{
	int lfd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 64) < 0)
		die("vsock listen");
	printf("vsock-listening %u\n", port);
	fflush(stdout);
	pthread_t *t = calloc(n, sizeof(*t));
	for (unsigned i = 0; i < n; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			die("accept");
		if (pthread_create(&t[i], NULL, guest_session, (void *)(intptr_t)fd) != 0)
			die("pthread_create");
	}
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("vsock-serve done %u\n", n);
	return 0;
}

static int guest_connect(uint32_t port, uint64_t bytes)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port};
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("vsock connect");
	struct sender s = {.fd = fd, .bytes = bytes, .seed = 7};
	send_pattern(&s);
	if (s.failed)
		die("send");
	shutdown(fd, SHUT_WR);
	char line[128] = "";
	ssize_t r = read(fd, line, sizeof(line) - 1);
	if (r > 0)
		line[r] = '\0';
	line[strcspn(line, "\n")] = '\0';
	printf("guest-connect sent=%llu sum=%016llx reply=%s\n", (unsigned long long)bytes,
	       (unsigned long long)s.sum, line);
	return 0;
}

/* ---- host side ---- */

/* One line to a host port, then close: how a guest says READY to lib/sandbox. */
static int guest_say(uint32_t port, const char *text)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port};
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("vsock connect");
	if (write_all(fd, text, strlen(text)) < 0 || write_all(fd, "\n", 1) < 0)
		die("send");
	close(fd);
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Reads one '\n'-terminated line byte by byte, waiting at most timeout_ms in all. */
static int read_line(int fd, char *line, size_t len, int timeout_ms)
{
	size_t n = 0;
	double deadline = now_ms() + timeout_ms;
	while (n + 1 < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int left = (int)(deadline - now_ms());
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		if (read(fd, line + n, 1) != 1)
			return -1;
		if (line[n] == '\n') {
			line[n] = '\0';
			return 0;
		}
		n++;
	}
	return -1;
}

static int host_connect(const char *uds, uint32_t port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", uds);
	char line[64];
	/* the guest may not listen yet: retry a refused handshake until a deadline */
	double deadline = now_ms() + 120000;
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket");
		int n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    write_all(fd, line, (size_t)n) == 0 &&
		    read_line(fd, line, sizeof(line), 60000) == 0 && strncmp(line, "OK ", 3) == 0)
			return fd;
		close(fd);
		if (now_ms() > deadline) {
			fprintf(stderr, "vsock-peer: no connection to guest port %u via %s\n", port,
				uds);
			exit(1);
		}
		usleep(100 * 1000);
	}
}

struct host_conn {
	const char *uds;
	uint32_t port;
	uint64_t bytes, seed;
	int ok;
	char why[128];
};

static void *host_session(void *arg)
{
	struct host_conn *h = arg;
	int fd = host_connect(h->uds, h->port);
	uint64_t hdr[3] = {h->bytes, h->bytes, h->seed};
	if (write_all(fd, hdr, sizeof(hdr)) < 0) {
		snprintf(h->why, sizeof(h->why), "header: %s", strerror(errno));
		return NULL;
	}
	struct sender s = {.fd = fd, .bytes = h->bytes, .seed = h->seed};
	pthread_t t;
	if (pthread_create(&t, NULL, send_pattern, &s) != 0)
		die("pthread_create");
	static __thread uint8_t buf[CHUNK];
	uint64_t off = 0;
	while (off < h->bytes) {
		ssize_t r = read(fd, buf, h->bytes - off < CHUNK ? h->bytes - off : CHUNK);
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] != pattern(off + (uint64_t)i, h->seed + 1)) {
				snprintf(h->why, sizeof(h->why), "byte %llu from the guest differs",
					 (unsigned long long)(off + (uint64_t)i));
				pthread_join(t, NULL);
				close(fd);
				return NULL;
			}
		}
		off += (uint64_t)r;
	}
	pthread_join(t, NULL);
	uint64_t sum = 0;
	if (off != h->bytes)
		snprintf(h->why, sizeof(h->why), "got %llu of %llu bytes from the guest",
			 (unsigned long long)off, (unsigned long long)h->bytes);
	else if (s.failed)
		snprintf(h->why, sizeof(h->why), "sending failed");
	else if (read_all(fd, &sum, sizeof(sum)) < 0 || sum != s.sum)
		snprintf(h->why, sizeof(h->why), "the guest's checksum differs");
	else
		h->ok = 1;
	close(fd);
	return NULL;
}

static int host_xfer(const char *uds, uint32_t port, unsigned conns, uint64_t mib)
{
	struct host_conn *h = calloc(conns, sizeof(*h));
	pthread_t *t = calloc(conns, sizeof(*t));
	double start = now_ms();
	for (unsigned i = 0; i < conns; i++) {
		h[i] = (struct host_conn){
		    .uds = uds, .port = port, .bytes = (mib << 20) / conns, .seed = 1000 * i};
		if (pthread_create(&t[i], NULL, host_session, &h[i]) != 0)
			die("pthread_create");
	}
	unsigned good = 0;
	for (unsigned i = 0; i < conns; i++) {
		pthread_join(t[i], NULL);
		if (h[i].ok)
			good++;
		else
			printf("conn %u: %s\n", i, h[i].why);
	}
	double ms = now_ms() - start;
	printf("xfer conns=%u ok=%u mib_each_way=%llu ms=%.0f mbps=%.1f\n", conns, good,
	       (unsigned long long)mib, ms, 2.0 * (double)(mib << 20) / 1e6 / (ms / 1e3));
	return good == conns ? 0 : 1;
}

static int host_listen(const char *path)
{
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0)
		die("listen");
	printf("host-listening %s\n", path);
	fflush(stdout);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		die("accept");
	uint8_t buf[CHUNK];
	uint64_t sum = FNV_INIT, total = 0;
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		sum = fnv(sum, buf, (size_t)r);
		total += (uint64_t)r;
	}
	char line[96];
	int n = snprintf(line, sizeof(line), "got %llu %016llx\n", (unsigned long long)total,
			 (unsigned long long)sum);
	write_all(fd, line, (size_t)n);
	printf("host-listen %s", line);
	close(fd);
	unlink(path);
	return 0;
}

static int host_line(const char *uds, const char *text)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", uds);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	char line[128];
	snprintf(line, sizeof(line), "%s\n", text);
	if (write_all(fd, line, strlen(line)) < 0 || read_line(fd, line, sizeof(line), 30000) < 0)
		die("no answer");
	printf("%s\n", line);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "guest-serve"))
		return guest_serve((uint32_t)num(argv[2]), (unsigned)num(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "guest-connect"))
		return guest_connect((uint32_t)num(argv[2]), num(argv[3]));
	if (argc == 6 && !strcmp(argv[1], "host-xfer"))
		return host_xfer(argv[2], (uint32_t)num(argv[3]), (unsigned)num(argv[4]),
				 num(argv[5]));
	if (argc == 4 && !strcmp(argv[1], "guest-say"))
		return guest_say((uint32_t)num(argv[2]), argv[3]);
	if (argc == 4 && !strcmp(argv[1], "host-line"))
		return host_line(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "host-listen"))
		return host_listen(argv[2]);
	fprintf(stderr,
		"usage: vsock-peer guest-serve PORT N | guest-connect PORT BYTES | guest-say PORT "
		"TEXT |\n"
		"       host-xfer UDS PORT CONNS MIB | host-listen PATH | host-line UDS TEXT\n");
	return 2;
}
