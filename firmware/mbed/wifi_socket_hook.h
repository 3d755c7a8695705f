/* Routing of InternetSocket's vnet calls to an offloaded (Wi-Fi module)
 * socket stack. Included by InternetSocket.cpp only, after vnet.h.
 *
 * Sockets opened on an interface whose wifiInterface() is non-null get ids
 * >= WIFI_SOCK_BASE, served by g_wifi_socket_ops (set by ESP8266Interface);
 * every other id goes to vnet unchanged, so Ethernet behaves as before. */
#ifndef MBED_WIFI_SOCKET_HOOK_H
#define MBED_WIFI_SOCKET_HOOK_H

#include "NetworkInterface.h"
#include "vnet.h"

#define WIFI_SOCK_BASE 0x4000

/* Same signatures as the vnet calls they stand for. */
struct wifi_socket_ops {
    int (*socket)(vnet_proto_t proto);
    int (*close)(int sock);
    int (*bind)(int sock, const vnet_endpoint_t *local);
    int (*connect)(int sock, const vnet_endpoint_t *remote);
    int (*listen)(int sock, int backlog);
    int (*accept)(int sock, vnet_endpoint_t *remote);
    int (*send)(int sock, const void *data, size_t len);
    int (*recv)(int sock, void *buf, size_t len);
    int (*sendto)(int sock, const vnet_endpoint_t *remote, const void *data, size_t len);
    int (*recvfrom)(int sock, vnet_endpoint_t *remote, void *buf, size_t len);
    int (*shutdown_write)(int sock);
    void (*set_callback)(int sock, vnet_event_cb cb, void *ctx);
    int (*set_option)(int sock, int option, const void *value, size_t len);
    int (*get_option)(int sock, int option, void *value, size_t *len);
    void (*poll)(void);
};

/* Set by the first ESP8266Interface; NULL in Ethernet-only programs. */
extern const wifi_socket_ops *g_wifi_socket_ops;

static inline bool wifi_hook_is_wifi(int s)
{
    return s >= WIFI_SOCK_BASE && g_wifi_socket_ops;
}

static inline int wifi_hook_socket(NetworkInterface *stack, vnet_proto_t proto)
{
    if (stack && stack->wifiInterface() && g_wifi_socket_ops) {
        return g_wifi_socket_ops->socket(proto);
    }
    return vnet_socket(proto);
}

#define WIFI_HOOK(name, ret, params, args)                                                                             \
    static inline ret wifi_hook_##name params                                                                          \
    {                                                                                                                  \
        return wifi_hook_is_wifi(sock) ? g_wifi_socket_ops->name args : vnet_##name args;                              \
    }
WIFI_HOOK(close, int, (int sock), (sock))
WIFI_HOOK(bind, int, (int sock, const vnet_endpoint_t *ep), (sock, ep))
WIFI_HOOK(connect, int, (int sock, const vnet_endpoint_t *ep), (sock, ep))
WIFI_HOOK(listen, int, (int sock, int backlog), (sock, backlog))
WIFI_HOOK(accept, int, (int sock, vnet_endpoint_t *ep), (sock, ep))
WIFI_HOOK(send, int, (int sock, const void *d, size_t n), (sock, d, n))
WIFI_HOOK(recv, int, (int sock, void *b, size_t n), (sock, b, n))
WIFI_HOOK(sendto, int, (int sock, const vnet_endpoint_t *ep, const void *d, size_t n), (sock, ep, d, n))
WIFI_HOOK(recvfrom, int, (int sock, vnet_endpoint_t *ep, void *b, size_t n), (sock, ep, b, n))
WIFI_HOOK(shutdown_write, int, (int sock), (sock))
WIFI_HOOK(set_option, int, (int sock, int o, const void *v, size_t n), (sock, o, v, n))
WIFI_HOOK(get_option, int, (int sock, int o, void *v, size_t *n), (sock, o, v, n))
#undef WIFI_HOOK

static inline void wifi_hook_set_callback(int sock, vnet_event_cb cb, void *ctx)
{
    if (wifi_hook_is_wifi(sock)) {
        g_wifi_socket_ops->set_callback(sock, cb, ctx);
    } else {
        vnet_set_callback(sock, cb, ctx);
    }
}

static inline void wifi_hook_poll(void)
{
    vnet_poll();
    if (g_wifi_socket_ops) {
        g_wifi_socket_ops->poll();
    }
}

/* From here on, InternetSocket.cpp's vnet socket calls go through the hook. */
#define vnet_close wifi_hook_close
#define vnet_bind wifi_hook_bind
#define vnet_connect wifi_hook_connect
#define vnet_listen wifi_hook_listen
#define vnet_accept wifi_hook_accept
#define vnet_send wifi_hook_send
#define vnet_recv wifi_hook_recv
#define vnet_sendto wifi_hook_sendto
#define vnet_recvfrom wifi_hook_recvfrom
#define vnet_shutdown_write wifi_hook_shutdown_write
#define vnet_set_option wifi_hook_set_option
#define vnet_get_option wifi_hook_get_option
#define vnet_set_callback wifi_hook_set_callback
#define vnet_poll wifi_hook_poll

#endif
