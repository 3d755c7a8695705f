/* echo_client: connects to an RFC 862 echo server (default 10.0.2.2:7, the
 * host's loopback under user-mode networking), sends ECHO_CLIENT_KIB KiB of
 * a pattern, checks the echo byte for byte and prints the throughput in board
 * time. Exit code 0 when everything came back intact. */
#include <string.h>

#include "mbed.h"

#ifndef ECHO_CLIENT_PEER
#define ECHO_CLIENT_PEER "10.0.2.2"
#endif
#ifndef ECHO_CLIENT_PORT
#define ECHO_CLIENT_PORT 7
#endif
#ifndef ECHO_CLIENT_KIB
#define ECHO_CLIENT_KIB 64
#endif
#ifndef ECHO_CLIENT_TIMEOUT_MS
#define ECHO_CLIENT_TIMEOUT_MS 10000
#endif

static uint8_t pattern(uint32_t i)
{
    return uint8_t((i * 7u + (i >> 8)) & 0xff);
}

/* pattern() four bytes at a time, for a position that is a multiple of 4:
 * byte k is 7k + (i >> 8) (mod 256), added lane by lane without carries. */
static uint32_t pattern_word(uint32_t i)
{
    uint32_t k = i & 0xffu;
    uint32_t base = ((7u * k) & 0xffu) | (((7u * (k + 1u)) & 0xffu) << 8) | (((7u * (k + 2u)) & 0xffu) << 16) |
                    (((7u * (k + 3u)) & 0xffu) << 24);
    uint32_t add = ((i >> 8) & 0xffu) * 0x01010101u;
    return ((base & 0x7f7f7f7fu) + (add & 0x7f7f7f7fu)) ^ ((base ^ add) & 0x80808080u);
}

static void fill(uint8_t *dst, uint32_t pos, uint32_t n)
{
    uint32_t i = 0;
    for (; i < n && ((pos + i) & 3u); i++) {
        dst[i] = pattern(pos + i);
    }
    for (; i + 4u <= n; i += 4u) {
        uint32_t w = pattern_word(pos + i);
        memcpy(dst + i, &w, 4);
    }
    for (; i < n; i++) {
        dst[i] = pattern(pos + i);
    }
}

/* How many of src[0..n) differ from the pattern at pos. */
static uint32_t mismatches(const uint8_t *src, uint32_t pos, uint32_t n)
{
    uint32_t bad = 0, i = 0;
    for (; i < n && ((pos + i) & 3u); i++) {
        bad += src[i] != pattern(pos + i);
    }
    for (; i + 4u <= n; i += 4u) {
        uint32_t w;
        memcpy(&w, src + i, 4);
        if (w != pattern_word(pos + i)) {
            for (uint32_t b = 0; b < 4u; b++) {
                bad += src[i + b] != pattern(pos + i + b);
            }
        }
    }
    for (; i < n; i++) {
        bad += src[i] != pattern(pos + i);
    }
    return bad;
}

int main()
{
    printf("echo_client: start, peer %s:%d, %d KiB\n", ECHO_CLIENT_PEER, ECHO_CLIENT_PORT, ECHO_CLIENT_KIB);
    NetworkInterface *net = NetworkInterface::get_default_instance();
#ifdef APP_STATIC_IP
    /* Closed simulations have no DHCP server: a fixed address. */
    net->set_network(SocketAddress(APP_STATIC_IP), SocketAddress("255.255.255.0"), SocketAddress("10.0.2.2"));
#endif
    nsapi_error_t err = net->connect();
    if (err != NSAPI_ERROR_OK) {
        printf("echo_client: FAIL connect interface %d\n", err);
        return 1;
    }
    TCPSocket sock;
    sock.open(net);
    sock.set_timeout(ECHO_CLIENT_TIMEOUT_MS);
    SocketAddress peer(ECHO_CLIENT_PEER, ECHO_CLIENT_PORT);
    err = sock.connect(peer);
    if (err != NSAPI_ERROR_OK) {
        printf("echo_client: FAIL connect %s:%d: %d\n", ECHO_CLIENT_PEER, ECHO_CLIENT_PORT, err);
        return 1;
    }
    const uint32_t total = uint32_t(ECHO_CLIENT_KIB) * 1024u;
    static uint8_t tx[1024], rx[1024];
    uint32_t sent = 0, got = 0, bad = 0;
    uint32_t t0 = uint32_t(rtos::Kernel::get_ms_count());
    while (got < total) {
        /* keep at most 2 KiB in flight so neither side's buffers fill */
        if (sent < total && sent - got < 2048) {
            uint32_t n = total - sent < sizeof tx ? total - sent : sizeof tx;
            fill(tx, sent, n);
            nsapi_size_or_error_t r = sock.send(tx, n);
            if (r < 0) {
                printf("echo_client: FAIL send %d after %lu bytes\n", r, (unsigned long)sent);
                return 1;
            }
            sent += uint32_t(r);
            continue;
        }
        nsapi_size_or_error_t r = sock.recv(rx, sizeof rx);
        if (r <= 0) {
            printf("echo_client: FAIL recv %d after %lu bytes\n", r, (unsigned long)got);
            return 1;
        }
        bad += mismatches(rx, got, uint32_t(r));
        got += uint32_t(r);
    }
    uint32_t ms = uint32_t(rtos::Kernel::get_ms_count()) - t0;
    sock.close();
    printf("echo_client: %lu bytes echoed, %lu mismatches, %lu ms board time, %lu KiB/s\n", (unsigned long)got,
           (unsigned long)bad, (unsigned long)ms, (unsigned long)(ms ? (got / 1024u) * 1000u / ms : 0));
    printf("echo_client: %s\n", bad ? "FAIL" : "done");
    return bad ? 1 : 0;
}
