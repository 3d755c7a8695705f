/* echo_server: the Mbed test servers' services on the board, polled with
 * non-blocking TCPServer/TCPSocket/UDPSocket: TCP+UDP echo (7), TCP+UDP
 * discard (9), TCP daytime (13, board uptime), TCP chargen (19). Runs until a
 * TCP client sends "QUIT" on port 7, or ECHO_SERVER_LIMIT_MS of board time. */
#include <string.h>

#include "mbed.h"

#ifndef ECHO_SERVER_LIMIT_MS
#define ECHO_SERVER_LIMIT_MS 120000
#endif
#define MAX_CONN 3

struct Conn {
    TCPSocket sock;
    int service = 0; /* port; 0 = free */
    uint32_t chargen_pos = 0;
    uint8_t pending[512]; /* echo or chargen bytes the send buffer has not taken yet */
    nsapi_size_t pending_len = 0;
    nsapi_size_t pending_off = 0;
};

static Conn conns[MAX_CONN];
static bool quit;

static void serve(Conn &c)
{
    static uint8_t buf[512];
    if (c.pending_off < c.pending_len) {
        /* Echo everything: finish the last read before reading more. */
        nsapi_size_or_error_t r = c.sock.send(c.pending + c.pending_off, c.pending_len - c.pending_off);
        if (r == NSAPI_ERROR_WOULD_BLOCK) {
            return;
        }
        if (r < 0) {
            c.sock.close();
            c.service = 0;
            return;
        }
        c.pending_off += nsapi_size_t(r);
        return;
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
        return;
    }
    nsapi_size_or_error_t n = c.sock.recv(buf, sizeof buf);
    if (n == NSAPI_ERROR_WOULD_BLOCK) {
        return;
    }
    if (n <= 0) {
        c.sock.close();
        c.service = 0;
        return;
    }
    if (c.service == 7) {
        if (n >= 4 && memcmp(buf, "QUIT", 4) == 0) {
            quit = true;
        }
        memcpy(c.pending, buf, size_t(n));
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
    }
    UDPSocket udp_echo, udp_discard;
    udp_echo.open(net);
    udp_echo.bind(7);
    udp_echo.set_blocking(false);
    udp_discard.open(net);
    udp_discard.bind(9);
    udp_discard.set_blocking(false);
    printf("echo_server: listening on %s tcp 7 9 13 19, udp 7 9\n", ip.get_ip_address());

    uint32_t start = uint32_t(rtos::Kernel::get_ms_count());
    while (!quit && uint32_t(rtos::Kernel::get_ms_count()) - start < ECHO_SERVER_LIMIT_MS) {
        for (int i = 0; i < 4; i++) {
            for (Conn &c : conns) {
                if (c.service == 0) {
                    SocketAddress peer;
                    if (servers[i].accept(&c.sock, &peer) == NSAPI_ERROR_OK) {
                        c.service = tcp_ports[i];
                        c.chargen_pos = 0;
                        c.pending_len = c.pending_off = 0;
                        c.sock.set_blocking(false);
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
            if (c.service) {
                serve(c);
            }
        }
        static uint8_t dgram[1500];
        SocketAddress from;
        nsapi_size_or_error_t n = udp_echo.recvfrom(&from, dgram, sizeof dgram);
        if (n >= 0) {
            udp_echo.sendto(from, dgram, nsapi_size_t(n));
        }
        udp_discard.recvfrom(&from, dgram, sizeof dgram);
        rtos::ThisThread::sleep_for(1ms);
    }
    printf("echo_server: %s\n", quit ? "QUIT received" : "time limit");
    printf("echo_server: done\n");
    return 0;
}
