/* http_server: a small HTML page on / and a JSON /status on port 80, served
 * with a blocking TCPServer, one connection at a time (HTTP/1.0, close). Runs
 * until GET /quit or HTTP_SERVER_LIMIT_MS of board time. */
#include <string.h>

#include "mbed.h"

#include "../http_request.h"

#ifndef HTTP_SERVER_LIMIT_MS
#define HTTP_SERVER_LIMIT_MS 120000
#endif

static const char page[] = "<!DOCTYPE html><html><head><title>vboard</title></head><body>"
                           "<h1>vboard MPS2-AN385</h1><p>Mbed OS socket API on vnet.</p>"
                           "<p><a href=\"/status\">status</a></p></body></html>\n";

static unsigned requests;

static void respond(TCPSocket *c, const char *status, const char *type, const char *body)
{
    char head[160];
    int n = snprintf(head, sizeof head, "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %u\r\n"
                                        "Connection: close\r\n\r\n",
                     status, type, (unsigned)strlen(body));
    c->send(head, nsapi_size_t(n));
    c->send(body, nsapi_size_t(strlen(body)));
}

int main()
{
    printf("http_server: start\n");
    NetworkInterface *net = NetworkInterface::get_default_instance();
    if (net->connect() != NSAPI_ERROR_OK) {
        printf("http_server: FAIL no network\n");
        return 1;
    }
    SocketAddress ip;
    net->get_ip_address(&ip);
    TCPServer server;
    server.open(net);
    server.bind(80);
    server.listen(2);
    server.set_timeout(500);
    printf("http_server: listening on http://%s:80/\n", ip.get_ip_address());
    bool quit = false;
    uint32_t start = uint32_t(rtos::Kernel::get_ms_count());
    while (!quit && uint32_t(rtos::Kernel::get_ms_count()) - start < HTTP_SERVER_LIMIT_MS) {
        TCPSocket client;
        SocketAddress peer;
        if (server.accept(&client, &peer) != NSAPI_ERROR_OK) {
            continue;
        }
        client.set_timeout(3000);
        char req[512];
        char path[REQUEST_PATH_SIZE];
        recv_get_path(client, req, int(sizeof req), path);
        requests++;
        printf("http_server: %s GET %s\n", peer.get_ip_address(), path);
        if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
            respond(&client, "200 OK", "text/html", page);
        } else if (strcmp(path, "/status") == 0) {
            char json[160];
            snprintf(json, sizeof json, "{\"board\":\"mps2-an385\",\"ip\":\"%s\",\"uptime_ms\":%lu,\"requests\":%u}\n",
                     ip.get_ip_address(), (unsigned long)rtos::Kernel::get_ms_count(), requests);
            respond(&client, "200 OK", "application/json", json);
        } else if (strcmp(path, "/quit") == 0) {
            respond(&client, "200 OK", "text/plain", "bye\n");
            quit = true;
            /* The board exits next, and the link with it: wait until the client has read the
             * whole reply and closed its side (or 3 s pass) so the last bytes are not lost. */
            while (client.recv(req, sizeof req) > 0) {
            }
        } else {
            respond(&client, "404 Not Found", "text/plain", "not found\n");
        }
        client.close();
    }
    printf("http_server: done (%u requests)\n", requests);
    return 0;
}
