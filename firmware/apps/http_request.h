/* The request side of the apps' small HTTP servers (net_demo, http_server);
 * header only, included as "../http_request.h". */
#ifndef APPS_HTTP_REQUEST_H
#define APPS_HTTP_REQUEST_H

#include <stdio.h>
#include <string.h>

#include "mbed.h"

#define REQUEST_PATH_SIZE 64

/* The path of the GET request `client` sends, into `path` ("" for anything
 * else). The head is read into `req` (`size` bytes) until the blank line that
 * ends it, a full buffer, or a recv that fails or times out. */
static void recv_get_path(TCPSocket &client, char *req, int size, char (&path)[REQUEST_PATH_SIZE])
{
    int len = 0;
    while (len < size - 1) {
        nsapi_size_or_error_t r = client.recv(req + len, size - 1 - len);
        if (r <= 0) {
            break;
        }
        len += r;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n")) {
            break;
        }
    }
    req[len] = '\0';
    path[0] = '\0';
    sscanf(req, "GET %63s", path);
}

#endif
