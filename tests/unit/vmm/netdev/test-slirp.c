/* The user-mode backend with real frames: ARP for the gateway, a guest TCP connection NATed to a
 * listener on the host's loopback, a published port reaching the guest, a port clash refused. */
#define _GNU_SOURCE
#include "tap.h"
#include "base/err.h"
#include "vmm/netdev/slirp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const uint8_t sl_guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

/* Frames the backend delivered to the "guest". */
static pthread_mutex_t sl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sl_cond = PTHREAD_COND_INITIALIZER;
static uint8_t sl_frames[64][1600];
static size_t sl_lens[64];
static int sl_n;

static void sl_rx(void *opaque, const uint8_t *frame, size_t len)
{
	pthread_mutex_lock(&sl_lock);
	if (sl_n < 64 && len <= sizeof(sl_frames[0])) {
		memcpy(sl_frames[sl_n], frame, len);
		sl_lens[sl_n++] = len;
	}
	pthread_cond_broadcast(&sl_cond);
	pthread_mutex_unlock(&sl_lock);
}

static void sl_reset(void)
{
	pthread_mutex_lock(&sl_lock);
	sl_n = 0;
	pthread_mutex_unlock(&sl_lock);
}

/* Waits up to 3 s for a frame that pred accepts; returns its index or -1. */
static int sl_wait(int (*pred)(const uint8_t *f, size_t len))
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 3;
	int seen = 0, found = -1;
	pthread_mutex_lock(&sl_lock);
	while (found < 0) {
		for (; seen < sl_n; seen++)
			if (pred(sl_frames[seen], sl_lens[seen])) {
				found = seen;
				break;
			}
		if (found >= 0 || pthread_cond_timedwait(&sl_cond, &sl_lock, &dl) != 0)
			break;
	}
	pthread_mutex_unlock(&sl_lock);
	return found;
}

static int is_arp_reply(const uint8_t *f, size_t len)
{
	return len >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 &&
	       memcmp(f + 28, "\x0a\x00\x02\x02", 4) == 0;
}

static int is_syn_to_80(const uint8_t *f, size_t len)
{
	return len >= 54 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 6 && f[36] == 0 &&
	       f[37] == 80 && (f[47] & 0x02);
}

static uint16_t sl_csum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static size_t sl_arp_request(uint8_t *f)
{
	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, sl_guest_mac, 6);
	f[12] = 0x08, f[13] = 0x06;
	const uint8_t arp[] = {0, 1, 8, 0, 6, 4, 0, 1};
	memcpy(f + 14, arp, 8);
	memcpy(f + 22, sl_guest_mac, 6);
	memcpy(f + 28, "\x0a\x00\x02\x0f", 4);
	memcpy(f + 38, "\x0a\x00\x02\x02", 4);
	return 60;
}

static size_t sl_tcp_syn(uint8_t *f, const uint8_t *gw_mac, uint16_t dport)
{
	memset(f, 0, 54);
	memcpy(f, gw_mac, 6);
	memcpy(f + 6, sl_guest_mac, 6);
	f[12] = 0x08, f[13] = 0x00;
	uint8_t *ip = f + 14, *tcp = f + 34;
	ip[0] = 0x45, ip[3] = 40, ip[8] = 64, ip[9] = 6;
	memcpy(ip + 12, "\x0a\x00\x02\x0f", 4);
	memcpy(ip + 16, "\x0a\x00\x02\x02", 4);
	uint16_t c = sl_csum(ip, 20, 0);
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	tcp[0] = 40000 >> 8, tcp[1] = 40000 & 0xff;
	tcp[2] = (uint8_t)(dport >> 8), tcp[3] = (uint8_t)dport;
	tcp[7] = 1;       /* seq 1 */
	tcp[12] = 5 << 4; /* header length */
	tcp[13] = 0x02;   /* SYN */
	tcp[14] = 0xfa;   /* window */
	uint8_t pseudo[12 + 20];
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0, pseudo[9] = 6, pseudo[10] = 0, pseudo[11] = 20;
	memcpy(pseudo + 12, tcp, 20);
	c = sl_csum(pseudo, sizeof(pseudo), 0);
	tcp[16] = (uint8_t)(c >> 8), tcp[17] = (uint8_t)c;
	return 54;
}

static int sl_listen(uint16_t *port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &l) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return s;
}

static uint16_t sl_free_port(void)
{
	uint16_t p = 0;
	int s = sl_listen(&p);
	close(s);
	return p;
}

TEST(parse_forwards)
{
	struct slirp_forward f;
	struct sbx_err err = {0};
	ASSERT_EQ(slirp_parse_forward("18080:80", &f, &err), 0);
	ASSERT_EQ(f.host_port, 18080);
	ASSERT_EQ(f.guest_port, 80);
	ASSERT_EQ(f.udp, 0);
	ASSERT_EQ(f.host_addr, htonl(INADDR_LOOPBACK));
	ASSERT_EQ(slirp_parse_forward("0.0.0.0:53:5353/udp", &f, &err), 0);
	ASSERT_EQ(f.udp, 1);
	ASSERT_EQ(f.host_addr, 0);
	ASSERT_EQ(slirp_parse_forward("80", &f, &err), -EINVAL);
	ASSERT_EQ(slirp_parse_forward("70000:80", &f, &err), -EINVAL);
	ASSERT_EQ(slirp_parse_forward("1:2/sctp", &f, &err), -EINVAL);
	ASSERT_EQ(slirp_parse_forward("x.y:1:2", &f, &err), -EINVAL);
}

TEST(arp_nat_and_published_port)
{
	uint16_t fwd_port = sl_free_port();
	struct slirp_forward fwd = {
	    .host_addr = htonl(INADDR_LOOPBACK), .host_port = fwd_port, .guest_port = 80};
	struct slirp_backend *b = NULL;
	struct sbx_err err = {0};
	sl_reset();
	ASSERT_EQ(slirp_backend_new(&fwd, 1, sl_rx, NULL, &b, &err), 0);

	uint8_t f[64];
	ASSERT_EQ(slirp_backend_send(b, f, sl_arp_request(f)), 0);
	int i = sl_wait(is_arp_reply);
	ASSERT_GE(i, 0);
	uint8_t gw_mac[6];
	memcpy(gw_mac, sl_frames[i] + 22, 6);

	/* Guest -> 10.0.2.2:port reaches a listener on the host's loopback. */
	uint16_t lport;
	int ls = sl_listen(&lport);
	ASSERT_GE(ls, 0);
	ASSERT_EQ(slirp_backend_send(b, f, sl_tcp_syn(f, gw_mac, lport)), 0);
	struct timeval tv = {.tv_sec = 3};
	setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int c = accept(ls, NULL, NULL);
	ASSERT_GE(c, 0);
	close(c);
	close(ls);

	/* Host -> 127.0.0.1:fwd_port becomes a SYN to the guest's port 80. */
	int h = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(fwd_port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	connect(h, (struct sockaddr *)&a, sizeof(a));
	ASSERT_GE(sl_wait(is_syn_to_80), 0);
	close(h);

	/* The same host port cannot be published twice. */
	struct slirp_backend *b2 = NULL;
	ASSERT_EQ(slirp_backend_new(&fwd, 1, sl_rx, NULL, &b2, &err), -EADDRINUSE);
	ASSERT_TRUE(strstr(err.msg, "is in use") != NULL);
	slirp_backend_free(b);

	/* After free the port is released. */
	ASSERT_EQ(slirp_backend_new(&fwd, 1, sl_rx, NULL, &b2, &err), 0);
	slirp_backend_free(b2);
}

TEST(bad_frames_are_refused_or_ignored)
{
	struct slirp_backend *b = NULL;
	struct sbx_err err = {0};
	sl_reset();
	ASSERT_EQ(slirp_backend_new(NULL, 0, sl_rx, NULL, &b, &err), 0);
	uint8_t junk[100];
	memset(junk, 0xab, sizeof(junk));
	ASSERT_EQ(slirp_backend_send(b, junk, 0), -EINVAL);
	for (size_t n = 1; n < sizeof(junk); n += 7)
		ASSERT_EQ(slirp_backend_send(b, junk, n), 0);
	/* Still alive: ARP is answered. */
	uint8_t f[64];
	ASSERT_EQ(slirp_backend_send(b, f, sl_arp_request(f)), 0);
	ASSERT_GE(sl_wait(is_arp_reply), 0);
	slirp_backend_free(b);
}
