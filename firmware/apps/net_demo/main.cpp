/* net_demo: what `vboard demo` shows. With the Mbed OS socket API on the board's
 * LAN9118 it takes an address by DHCP, resolves a host name, fetches a page from
 * that host over HTTP and prints the reply, then serves one page of its own on
 * port 80 and exits 0 once that page has been fetched.
 *
 * Command line (semihosting SYS_GET_CMDLINE): `net_demo host=NAME port=N path=/P`;
 * defaults files.demo, 80, /. Runs at most NET_DEMO_LIMIT_MS of board time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbed.h"

#include "../http_request.h"

extern "C" int32_t semihost_call(uint32_t op, const void *arg);

#ifndef NET_DEMO_LIMIT_MS
#define NET_DEMO_LIMIT_MS 30000
#endif

static char cmdline[160];

/* The value of "key=" among the words of the command line, or `fallback`. */
static const char *arg(const char *key, const char *fallback)
{
    static char value[64];
    size_t kl = strlen(key);
    for (const char *w = cmdline; *w;) {
        size_t len = strcspn(w, " ");
        if (len > kl && strncmp(w, key, kl) == 0 && w[kl] == '=') {
            size_t n = len - kl - 1 < sizeof value - 1 ? len - kl - 1 : sizeof value - 1;
            memcpy(value, w + kl + 1, n);
            value[n] = '\0';
            return value;
        }
        w += len;
        w += strspn(w, " ");
    }
    return fallback;
}

static void read_cmdline()
{
    struct {
        char *p;
        uint32_t len;
    } a = {cmdline, sizeof cmdline - 1};
    if (semihost_call(0x15, &a) != 0) {
        a.len = 0;
    }
    cmdline[a.len < sizeof cmdline ? a.len : sizeof cmdline - 1] = '\0';
}

/* Print a reply line by line, each prefixed, without the CRs. */
static void print_reply(const char *text)
{
    while (*text) {
        size_t len = strcspn(text, "\r\n");
        printf("net_demo: | %.*s\n", (int)len, text);
        text += len;
        if (*text == '\r') {
            text++;
        }
        if (*text == '\n') {
            text++;
        }
    }
}

static char reply[1024];
static char fetched_status[64] = "nothing";

static bool fetch(NetworkInterface *net, const char *host, uint16_t port, const char *path)
{
    SocketAddress addr;
    nsapi_error_t r = net->gethostbyname(host, &addr);
    if (r != NSAPI_ERROR_OK) {
        printf("net_demo: FAIL DNS lookup of %s: %d\n", host, r);
        return false;
    }
    printf("net_demo: DNS: %s is %s\n", host, addr.get_ip_address());
    addr.set_port(port);
    TCPSocket sock;
    sock.open(net);
    sock.set_timeout(5000);
    if ((r = sock.connect(addr)) != NSAPI_ERROR_OK) {
        printf("net_demo: FAIL connect to %s:%u: %d\n", addr.get_ip_address(), port, r);
        return false;
    }
    char request[160];
    int n = snprintf(request, sizeof request, "GET %s HTTP/1.0\r\nHost: %s:%u\r\nUser-Agent: net_demo\r\n\r\n",
                     path, host, port);
    sock.send(request, nsapi_size_t(n));
    printf("net_demo: GET http://%s:%u%s\n", host, port, path);
    size_t len = 0;
    while (len < sizeof reply - 1) {
        nsapi_size_or_error_t got = sock.recv(reply + len, sizeof reply - 1 - len);
        if (got <= 0) {
            break;
        }
        len += size_t(got);
    }
    reply[len] = '\0';
    sock.close();
    printf("net_demo: reply, %u bytes:\n", (unsigned)len);
    print_reply(reply);
    size_t status_len = strcspn(reply, "\r\n");
    snprintf(fetched_status, sizeof fetched_status, "%.*s", (int)status_len, reply);
    return len >= 12 && strncmp(reply, "HTTP/1.", 7) == 0 && strncmp(reply + 9, "200", 3) == 0;
}

static void respond(TCPSocket *c, const char *ip)
{
    char body[320];
    int blen = snprintf(body, sizeof body,
                        "<html><body><h1>Hello from the board</h1>"
                        "<p>net_demo on MPS2-AN385 at %s, %lu ms after boot.</p>"
                        "<p>It fetched: %s</p></body></html>\n",
                        ip, (unsigned long)rtos::Kernel::get_ms_count(), fetched_status);
    char head[160];
    int hlen = snprintf(head, sizeof head,
                        "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
                        "Connection: close\r\n\r\n",
                        blen);
    c->send(head, nsapi_size_t(hlen));
    c->send(body, nsapi_size_t(blen));
}

/* Serve GET requests on port 80 until one for `/` was answered. */
static bool serve_one_page(NetworkInterface *net, const char *ip)
{
    TCPServer server;
    server.open(net);
    server.bind(80);
    server.listen(2);
    server.set_timeout(500);
    printf("net_demo: serving http://%s:80/\n", ip);
    uint32_t start = uint32_t(rtos::Kernel::get_ms_count());
    while (uint32_t(rtos::Kernel::get_ms_count()) - start < NET_DEMO_LIMIT_MS) {
        TCPSocket client;
        SocketAddress peer;
        if (server.accept(&client, &peer) != NSAPI_ERROR_OK) {
            continue;
        }
        client.set_timeout(3000);
        char req[256];
        char path[REQUEST_PATH_SIZE];
        recv_get_path(client, req, int(sizeof req), path);
        printf("net_demo: %s asked for %s\n", peer.get_ip_address(), path);
        if (strcmp(path, "/") != 0) {
            static const char nf[] = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            client.send(nf, sizeof nf - 1);
            client.close();
            continue;
        }
        respond(&client, ip);
        /* Exiting takes the link down: wait for the client to read all and close first. */
        while (client.recv(req, sizeof req) > 0) {
        }
        client.close();
        return true;
    }
    printf("net_demo: FAIL nobody fetched the page in %u ms\n", NET_DEMO_LIMIT_MS);
    return false;
}

int main()
{
    read_cmdline();
    printf("net_demo: start\n");
    NetworkInterface *net = NetworkInterface::get_default_instance();
    nsapi_error_t err = net->connect();
    if (err != NSAPI_ERROR_OK) {
        printf("net_demo: FAIL no DHCP lease: %d\n", err);
        return 1;
    }
    SocketAddress ip, mask, gw;
    net->get_ip_address(&ip);
    net->get_netmask(&mask);
    net->get_gateway(&gw);
    char my_ip[20];
    snprintf(my_ip, sizeof my_ip, "%s", ip.get_ip_address());
    printf("net_demo: DHCP: address %s, netmask %s, gateway %s\n", my_ip, mask.get_ip_address(),
           gw.get_ip_address());
    char host[64], path[64];
    snprintf(host, sizeof host, "%s", arg("host", "files.demo"));
    snprintf(path, sizeof path, "%s", arg("path", "/"));
    unsigned port = unsigned(strtoul(arg("port", "80"), nullptr, 10));
    if (!fetch(net, host, uint16_t(port), path)) {
        printf("net_demo: FAIL no page from %s\n", host);
        return 1;
    }
    if (!serve_one_page(net, my_ip)) {
        return 1;
    }
    printf("net_demo: done\n");
    return 0;
}
