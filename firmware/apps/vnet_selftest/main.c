/*
 * vnet_selftest: the vnet IPv4 stack end to end.
 *
 *  1. DHCP: prints "vnet: ip A.B.C.D gw ... dns ...".
 *  2. DNS: resolves VNET_SELFTEST_NAME (default "example.test").
 *  3. Optional active open (-DVNET_SELFTEST_ACTIVE=1): connects to
 *     VNET_SELFTEST_PEER:VNET_SELFTEST_PEER_PORT (10.0.2.2:7777), sends a
 *     line, prints the echo.
 *  4. Echo servers on TCP port 7 and UDP port 7 for VNET_SELFTEST_SECONDS
 *     of board time, or until a TCP client sends "QUIT\n". One line per
 *     accepted connection; statistics at the end; exit via semihosting.
 */
#include <stdio.h>
#include <string.h>

#include "bsp.h"
#include "vnet.h"

#ifndef VNET_SELFTEST_NAME
#define VNET_SELFTEST_NAME "example.test"
#endif
#ifndef VNET_SELFTEST_SECONDS
#define VNET_SELFTEST_SECONDS 60
#endif
#ifndef VNET_SELFTEST_ACTIVE
#define VNET_SELFTEST_ACTIVE 0
#endif
#ifndef VNET_SELFTEST_PEER
#define VNET_SELFTEST_PEER "10.0.2.2"
#endif
#ifndef VNET_SELFTEST_PEER_PORT
#define VNET_SELFTEST_PEER_PORT 7777
#endif
/* -DVNET_SELFTEST_STATIC_DNS="a.b.c.d": static config 10.0.2.15/24 gw 10.0.2.2
 * with that DNS server instead of DHCP (tests the static path and lets a
 * test DNS server on the host answer). */
#define ECHO_PORT 7
#define MAX_CONN 2

typedef struct {
    int sock;
    size_t len, off;
    uint32_t bytes;
    uint8_t buf[1024];
    char tail[5]; /* last bytes seen, to spot "QUIT\n" */
} conn_t;

static conn_t conns[MAX_CONN];
static bool quit;

static void print_ip(const char *label, vnet_ip_t ip)
{
    char b[16];
    printf("%s%s", label, vnet_format_ip(ip, b));
}

static void note_tail(conn_t *c, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memmove(c->tail, c->tail + 1, 4);
        c->tail[4] = (char)p[i];
    }
    if (memcmp(c->tail, "QUIT\n", 5) == 0) {
        quit = true;
    }
}

#if VNET_SELFTEST_ACTIVE
static void active_test(void)
{
    vnet_endpoint_t peer = {0, VNET_SELFTEST_PEER_PORT};
    if (!vnet_parse_ip(VNET_SELFTEST_PEER, &peer.ip)) {
        return;
    }
    int s = vnet_socket(VNET_TCP);
    int r = vnet_connect(s, &peer);
    uint32_t t0 = vnet_now_ms();
    while (r == VNET_ERR_IN_PROGRESS || r == VNET_ERR_ALREADY) {
        if (vnet_now_ms() - t0 > 10000U) {
            break;
        }
        vnet_wait(10);
        r = vnet_connect(s, &peer);
    }
    if (r != VNET_ERR_IS_CONNECTED) {
        printf("vnet: active connect failed %d\n", r);
        vnet_close(s);
        return;
    }
    static const char line[] = "hello from vnet\n";
    r = vnet_send(s, line, sizeof line - 1);
    char got[64];
    size_t n = 0;
    t0 = vnet_now_ms();
    while (n < sizeof line - 1 && vnet_now_ms() - t0 < 5000U) {
        int k = vnet_recv(s, got + n, sizeof got - 1 - n);
        if (k > 0) {
            n += (size_t)k;
        } else if (k != VNET_ERR_WOULD_BLOCK) {
            break;
        } else {
            vnet_wait(10);
        }
    }
    got[n] = '\0';
    printf("vnet: active echo %s", n ? got : "(none)\n");
    vnet_close(s);
}
#endif

static void echo_conn(conn_t *c)
{
    for (int rounds = 0; rounds < 8; rounds++) {
        if (c->off == c->len) {
            int k = vnet_recv(c->sock, c->buf, sizeof c->buf);
            if (k == 0 || (k < 0 && k != VNET_ERR_WOULD_BLOCK)) {
                printf("vnet: tcp closed (%lu bytes, %d)\n", (unsigned long)c->bytes, k);
                vnet_close(c->sock);
                c->sock = -1;
                return;
            }
            if (k < 0) {
                return;
            }
            note_tail(c, c->buf, (size_t)k);
            c->len = (size_t)k;
            c->off = 0;
            c->bytes += (uint32_t)k;
        }
        int w = vnet_send(c->sock, c->buf + c->off, c->len - c->off);
        if (w == VNET_ERR_WOULD_BLOCK) {
            return;
        }
        if (w < 0) {
            printf("vnet: tcp send error %d\n", w);
            vnet_close(c->sock);
            c->sock = -1;
            return;
        }
        c->off += (size_t)w;
        if (c->off < c->len) {
            return;
        }
    }
}

int main(void)
{
    printf("vnet: selftest\n");
    vnet_if_config_t cfg = {.dhcp = true};
#ifdef VNET_SELFTEST_STATIC_DNS
    cfg.dhcp = false;
    cfg.ip = vnet_ip4(10, 0, 2, 15);
    cfg.netmask = vnet_ip4(255, 255, 255, 0);
    cfg.gateway = vnet_ip4(10, 0, 2, 2);
    (void)vnet_parse_ip(VNET_SELFTEST_STATIC_DNS, &cfg.dns);
#endif
    int r = vnet_if_up(&cfg, 20000);
    if (r != VNET_OK) {
        printf("vnet: if_up failed %d\n", r);
        semihost_exit(1);
    }
    vnet_ip_t ip, mask, gw, dns;
    vnet_if_addr(&ip, &mask, &gw, &dns);
    print_ip("vnet: ip ", ip);
    print_ip(" gw ", gw);
    print_ip(" dns ", dns);
    printf("\n");

    vnet_ip_t res;
    r = vnet_gethostbyname(VNET_SELFTEST_NAME, &res, 6000);
    if (r == VNET_OK) {
        print_ip("vnet: " VNET_SELFTEST_NAME " = ", res);
        printf("\n");
    } else {
        printf("vnet: " VNET_SELFTEST_NAME " error %d\n", r);
    }
#if VNET_SELFTEST_ACTIVE
    active_test();
#endif

    int ls = vnet_socket(VNET_TCP);
    vnet_endpoint_t any = {0, ECHO_PORT};
    if (ls < 0 || vnet_bind(ls, &any) != VNET_OK || vnet_listen(ls, 2) != VNET_OK) {
        printf("vnet: tcp listen failed\n");
        semihost_exit(1);
    }
    int us = vnet_socket(VNET_UDP);
    if (us < 0 || vnet_bind(us, &any) != VNET_OK) {
        printf("vnet: udp bind failed\n");
        semihost_exit(1);
    }
    for (int i = 0; i < MAX_CONN; i++) {
        conns[i].sock = -1;
    }
    printf("vnet: echo on tcp/udp port %d for %d s\n", ECHO_PORT, VNET_SELFTEST_SECONDS);

    uint32_t start = vnet_now_ms();
    uint32_t udp_count = 0;
    while (!quit && vnet_now_ms() - start < VNET_SELFTEST_SECONDS * 1000U) {
        vnet_wait(50);
        for (int i = 0; i < MAX_CONN; i++) {
            if (conns[i].sock < 0) {
                vnet_endpoint_t peer;
                int c = vnet_accept(ls, &peer);
                if (c >= 0) {
                    memset(&conns[i], 0, sizeof conns[i]);
                    conns[i].sock = c;
                    char b[16];
                    printf("vnet: tcp accept %s:%u\n", vnet_format_ip(peer.ip, b), peer.port);
                }
            }
            if (conns[i].sock >= 0) {
                echo_conn(&conns[i]);
            }
        }
        uint8_t dg[1472];
        vnet_endpoint_t from;
        int n;
        while ((n = vnet_recvfrom(us, &from, dg, sizeof dg)) >= 0) {
            udp_count++;
            (void)vnet_sendto(us, &from, dg, (size_t)n);
        }
    }
    for (int i = 0; i < MAX_CONN; i++) {
        if (conns[i].sock >= 0) {
            vnet_close(conns[i].sock);
        }
    }
    vnet_close(ls);
    vnet_close(us);
    /* let the FINs go out */
    uint32_t t0 = vnet_now_ms();
    while (vnet_now_ms() - t0 < 300U) {
        vnet_wait(10);
    }
    vnet_stats_t st;
    vnet_get_stats(&st);
    printf("vnet: %s; udp echoed %lu\n", quit ? "quit" : "time up", (unsigned long)udp_count);
    printf("vnet: stats rx %lu tx %lu drop %lu arp %lu/%lu ip %lu/%lu badsum %lu frag %lu icmp %lu\n",
           (unsigned long)st.rx_frames, (unsigned long)st.tx_frames, (unsigned long)st.rx_dropped,
           (unsigned long)st.arp_requests, (unsigned long)st.arp_replies, (unsigned long)st.ip_rx,
           (unsigned long)st.ip_tx, (unsigned long)st.ip_bad_checksum, (unsigned long)st.ip_fragments_dropped,
           (unsigned long)st.icmp_echo_replies);
    printf("vnet: stats udp %lu/%lu noport %lu tcp %lu/%lu rexmit %lu rst %lu badsum %lu dhcp %lu dns %lu\n",
           (unsigned long)st.udp_rx, (unsigned long)st.udp_tx, (unsigned long)st.udp_no_port,
           (unsigned long)st.tcp_rx, (unsigned long)st.tcp_tx, (unsigned long)st.tcp_retransmits,
           (unsigned long)st.tcp_resets_sent, (unsigned long)st.tcp_bad_checksum, (unsigned long)st.dhcp_leases,
           (unsigned long)st.dns_queries);
    semihost_exit(0);
}
