/* http_get: the first code sample of the Mbed OS "Network socket overview"
 * documentation page, verbatim, as the body of
 * http_get_sample(). The glue around it brings the default interface up,
 * prints what the sample's recv() put in buf, and exits 0 when that is the
 * start of an HTTP response. On vboard a test serves http://arm.com/ from the
 * host (--dns-record arm.com=10.0.2.2). */
#include <string.h>

#include "mbed.h"

#ifndef APP_NAME
#define APP_NAME "http_get" /* the prefix of every line this program prints */
#endif

/* glue: recv() writes buf, the sample does not keep the count; the frame of
 * http_get_sample() lies where this zeroed region was, so buf starts zeroed
 * and strnlen() finds the received length. */
__attribute__((noinline)) static void scrub_stack(void)
{
    volatile char pad[2048];
    for (size_t i = 0; i < sizeof pad; i++) {
        pad[i] = 0;
    }
}

static bool print_response(const char *buf, size_t cap)
{
    size_t n = 0;
    while (n < cap && buf[n]) {
        n++;
    }
    printf(APP_NAME ": received %u bytes\n", (unsigned)n);
    printf("---- response ----\n%.*s\n---- end ----\n", (int)n, buf);
    return n >= 5 && memcmp(buf, "HTTP/", 5) == 0;
}

__attribute__((noinline)) static bool http_get_sample(void)
{
/* ---- seed sample 1, verbatim ---- */
// Initialize network interface
EthernetInterface eth;
eth.connect();

// Create a socket
TCPSocket sock;
sock.open(&eth);

// Connect
sock.connect("arm.com", 80);

// Send data
sock.send("GET / HTTP/1.0\r\n\r\n", 18);

// Receive data
char buf[100];
sock.recv(buf, 100);

// Close the socket
sock.close();
/* ---- end of sample ---- */
    return print_response(buf, sizeof buf);
}

int main()
{
    printf(APP_NAME ": start\n");
    NetworkInterface *net = NetworkInterface::get_default_instance();
    nsapi_error_t err = net->connect();
    SocketAddress ip;
    net->get_ip_address(&ip);
    printf(APP_NAME ": connect %d, ip %s\n", err, ip.get_ip_address() ? ip.get_ip_address() : "none");
    if (err != NSAPI_ERROR_OK && err != NSAPI_ERROR_IS_CONNECTED) {
        printf(APP_NAME ": FAIL no network\n");
        return 1;
    }
    scrub_stack();
    bool ok = http_get_sample();
    printf(APP_NAME ": %s\n", ok ? "done" : "FAIL no HTTP response");
    return ok ? 0 : 1;
}
