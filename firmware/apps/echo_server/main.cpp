/* echo_server: the Mbed test servers' services on the board, served with
 * non-blocking TCPServer/TCPSocket/UDPSocket: TCP+UDP echo (7), TCP+UDP
 * discard (9), TCP daytime (13, board uptime), TCP chargen (19). Every socket's
 * sigio sets an event flag; the loop sleeps on it only when a pass found no
 * work. Runs until a TCP client sends "QUIT" on port 7, or
 * ECHO_SERVER_LIMIT_MS of board time. */
#include <string.h>

#include "mbed.h"

#ifndef ECHO_SERVER_LIMIT_MS
#define ECHO_SERVER_LIMIT_MS 120000
#endif
#define MAX_CONN 3
#define CHUNK 1460 /* one full-sized segment per recv */
#define IDLE_WAIT_MS 10 /* longest sleep between passes: the time limit is checked */

struct Conn {
    TCPSocket sock;
    int service = 0; /* port; 0 = free */
    uint32_t chargen_pos = 0;
    uint8_t pending[CHUNK]; /* echo or chargen bytes the send buffer has not taken yet */
    nsapi_size_t pending_len = 0;
    nsapi_size_t pending_off = 0;
};

static Conn conns[MAX_CONN];
static bool quit;
static EventFlags wake;

static void kick()
{
    wake.set(1);
}

/* One step of a connection; false when it had nothing to do. */
static bool serve(Conn &c)
{
    static uint8_t discard[CHUNK];
    if (c.pending_off < c.pending_len) {
        /* Echo everything: finish the last read before reading more. */
        nsapi_size_or_error_t r = c.sock.send(c.pending + c.pending_off, c.pending_len - c.pending_off);
        if (r == NSAPI_ERROR_WOULD_BLOCK) {
            return false;
        }
        if (r < 0) {
            c.sock.close();
            c.service = 0;
            return true;
        }
        c.pending_off += nsapi_size_t(r);
        return true;
    }
    if (c.service == 19) {
        /* RFC 864 lines of 72 characters, queued whole: a non-blocking send may take
         * only part of one, and the rest goes out on the next poll. */
        for (int i = 0; i < 72; i++) {
            c.pending[i] = uint8_t(' ' + (c.chargen_pos + uint32_t(i)) % 95);
        }
        c.pending[72] = '\r';
        c.pending[73] = '\n';
        c.pending_len = 74;
        c.pending_off = 0;
        c.chargen_pos++;
        return true;
    }
    uint8_t *buf = c.service == 7 ? c.pending : discard;
    nsapi_size_or_error_t n = c.sock.recv(buf, CHUNK);
    if (n == NSAPI_ERROR_WOULD_BLOCK) {
        return false;
    }
    if (n <= 0) {
        c.sock.close();
        c.service = 0;
        return true;
    }
    if (c.service == 7) {
        if (n >= 4 && memcmp(buf, "QUIT", 4) == 0) {
            quit = true;
        }
        c.pending_len = nsapi_size_t(n);
        c.pending_off = 0;
        nsapi_size_or_error_t r = c.sock.send(c.pending, c.pending_len);
        if (r > 0) {
            c.pending_off = nsapi_size_t(r);
        } else if (r != NSAPI_ERROR_WOULD_BLOCK) {
            c.sock.close();
            c.service = 0;
        }
    }
    return true;
}

int main()
{
    printf("echo_server: start\n");
    NetworkInterface *net = NetworkInterface::get_default_instance();
#ifdef APP_STATIC_IP
    /* Closed simulations have no DHCP server: a fixed address. */
    net->set_network(SocketAddress(APP_STATIC_IP), SocketAddress("255.255.255.0"), SocketAddress("10.0.2.2"));
#endif
    if (net->connect() != NSAPI_ERROR_OK) {
        printf("echo_server: FAIL no network\n");
        return 1;
    }
    SocketAddress ip;
    net->get_ip_address(&ip);
    static const uint16_t tcp_ports[] = {7, 9, 13, 19};
    static TCPServer servers[4];
    for (int i = 0; i < 4; i++) {
        servers[i].open(net);
        servers[i].setsockopt(NSAPI_SOCKET, NSAPI_REUSEADDR, "\1\0\0\0", 4);
        servers[i].bind(tcp_ports[i]);
        servers[i].listen(2);
        servers[i].set_blocking(false);
        servers[i].sigio(kick);
    }
    UDPSocket udp_echo, udp_discard;
    udp_echo.open(net);
    udp_echo.bind(7);
    udp_echo.set_blocking(false);
    udp_discard.open(net);
    udp_discard.bind(9);
    udp_discard.set_blocking(false);
    udp_echo.sigio(kick);
    udp_discard.sigio(kick);
    printf("echo_server: listening on %s tcp 7 9 13 19, udp 7 9\n", ip.get_ip_address());

    uint32_t start = uint32_t(rtos::Kernel::get_ms_count());
    while (!quit && uint32_t(rtos::Kernel::get_ms_count()) - start < ECHO_SERVER_LIMIT_MS) {
        bool worked = false;
        for (int i = 0; i < 4; i++) {
            for (Conn &c : conns) {
                if (c.service == 0) {
                    SocketAddress peer;
                    if (servers[i].accept(&c.sock, &peer) == NSAPI_ERROR_OK) {
                        c.service = tcp_ports[i];
                        c.chargen_pos = 0;
                        c.pending_len = c.pending_off = 0;
                        c.sock.set_blocking(false);
                        c.sock.sigio(kick);
                        worked = true;
                        printf("echo_server: tcp %d from %s:%d\n", c.service, peer.get_ip_address(),
                               peer.get_port());
                        if (c.service == 13) {
                            char msg[48];
                            int n = snprintf(msg, sizeof msg, "board uptime %lu ms\r\n",
                                             (unsigned long)rtos::Kernel::get_ms_count());
                            c.sock.set_blocking(true);
                            c.sock.send(msg, nsapi_size_t(n));
                            c.sock.close();
                            c.service = 0;
                        }
                    }
                    break;
                }
            }
        }
        for (Conn &c : conns) {
            if (c.service && serve(c)) {
                worked = true;
            }
        }
        static uint8_t dgram[1500];
        SocketAddress from;
        nsapi_size_or_error_t n = udp_echo.recvfrom(&from, dgram, sizeof dgram);
        if (n >= 0) {
            udp_echo.sendto(from, dgram, nsapi_size_t(n));
            worked = true;
        }
        if (udp_discard.recvfrom(&from, dgram, sizeof dgram) >= 0) {
            worked = true;
        }
        if (!worked) {
            wake.wait_any(1, IDLE_WAIT_MS);
        }
    }
    printf("echo_server: %s\n", quit ? "QUIT received" : "time limit");
    printf("echo_server: done\n");
    return 0;
}
