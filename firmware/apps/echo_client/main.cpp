/* echo_client: connects to an RFC 862 echo server (default 10.0.2.2:7, the
 * host's loopback under user-mode networking), sends ECHO_CLIENT_KIB KiB of
 * a pattern, checks the echo byte for byte and prints the throughput in board
 * time. Exit code 0 when everything came back intact. */
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
            for (uint32_t i = 0; i < n; i++) {
                tx[i] = pattern(sent + i);
            }
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
        for (int i = 0; i < r; i++) {
            if (rx[i] != pattern(got + uint32_t(i))) {
                bad++;
            }
        }
        got += uint32_t(r);
    }
    uint32_t ms = uint32_t(rtos::Kernel::get_ms_count()) - t0;
    sock.close();
    printf("echo_client: %lu bytes echoed, %lu mismatches, %lu ms board time, %lu KiB/s\n", (unsigned long)got,
           (unsigned long)bad, (unsigned long)ms, (unsigned long)(ms ? (got / 1024u) * 1000u / ms : 0));
    printf("echo_client: %s\n", bad ? "FAIL" : "done");
    return bad ? 1 : 0;
}
