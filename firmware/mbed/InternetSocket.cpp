/* InternetSocket, TCPSocket, TCPServer, UDPSocket over vnet's non-blocking
 * sockets. vnet's callback only marks the socket; the run loop delivers sigio
 * outside vnet_poll(), so a sigio handler may call socket functions. */
#include "InternetSocket.h"

#include <string.h>

#include "TCPServer.h"
#include "TCPSocket.h"
#include "UDPSocket.h"
#include "vnet.h"
#include "wifi_socket_hook.h" /* Wi-Fi module sockets (ids >= WIFI_SOCK_BASE) */

using mbed::netglue::now_ms;
using mbed::netglue::remaining;
using mbed::netglue::service;

static vnet_endpoint_t to_ep(const SocketAddress &a)
{
    vnet_endpoint_t ep;
    ep.ip = a.ipv4();
    ep.port = a.get_port();
    return ep;
}

static SocketAddress from_ep(const vnet_endpoint_t &ep)
{
    SocketAddress a;
    a.set_ipv4(ep.ip);
    a.set_port(ep.port);
    return a;
}

/* ---- InternetSocket ------------------------------------------------------ */

InternetSocket::~InternetSocket()
{
    if (_sock >= 0) {
        vnet_set_callback(_sock, nullptr, nullptr);
        vnet_close(_sock);
        _sock = -1;
    }
    unlink();
}

void InternetSocket::on_vnet_event(int, uint32_t, void *ctx)
{
    static_cast<InternetSocket *>(ctx)->mark();
}

void InternetSocket::deliver()
{
    flush_pending();
    if (_callback) {
        _callback();
    }
}

nsapi_error_t InternetSocket::adopt(int sock, NetworkInterface *stack)
{
    _sock = sock;
    _stack = stack;
    _remote = SocketAddress();
    link();
    vnet_set_callback(_sock, on_vnet_event, static_cast<InternetSocket *>(this));
    return NSAPI_ERROR_OK;
}

nsapi_error_t InternetSocket::open(NetworkInterface *stack)
{
    if (!stack || _sock >= 0) {
        return NSAPI_ERROR_PARAMETER;
    }
    int s = wifi_hook_socket(stack, get_proto() == NSAPI_TCP ? VNET_TCP : VNET_UDP);
    if (s < 0) {
        return s == NSAPI_ERROR_NO_MEMORY ? NSAPI_ERROR_NO_SOCKET : s;
    }
    return adopt(s, stack);
}

nsapi_error_t InternetSocket::close()
{
    if (_sock < 0) {
        return NSAPI_ERROR_NO_SOCKET;
    }
    vnet_set_callback(_sock, nullptr, nullptr);
    int r = vnet_close(_sock);
    _sock = -1;
    _stack = nullptr;
    _remote = SocketAddress();
    unlink();
    return r < 0 ? r : NSAPI_ERROR_OK;
}

nsapi_error_t InternetSocket::bind(uint16_t port)
{
    SocketAddress a;
    a.set_ipv4(0);
    a.set_port(port);
    return bind(a);
}

nsapi_error_t InternetSocket::bind(const SocketAddress &address)
{
    if (_sock < 0) {
        return NSAPI_ERROR_NO_SOCKET;
    }
    if (address.get_ip_version() == NSAPI_IPv6) {
        return NSAPI_ERROR_PARAMETER;
    }
    vnet_endpoint_t ep = to_ep(address);
    if (ep.ip != 0) {
        vnet_ip_t own = 0;
        vnet_if_addr(&own, nullptr, nullptr, nullptr);
        if (ep.ip != own) {
            return NSAPI_ERROR_PARAMETER;
        }
    }
    int r = vnet_bind(_sock, &ep);
    return r < 0 ? (r == NSAPI_ERROR_ADDRESS_IN_USE ? NSAPI_ERROR_PARAMETER : r) : NSAPI_ERROR_OK;
}

void InternetSocket::set_blocking(bool blocking)
{
    _timeout = blocking ? -1 : 0;
}

void InternetSocket::set_timeout(int timeout)
{
    _timeout = timeout < 0 ? -1 : timeout;
}

void InternetSocket::sigio(mbed::Callback<void()> func)
{
    _callback = func;
}

/* The stack's option for an NSAPI_SOCKET-level option name; -1 if it has none. */
static int vnet_option(int optname)
{
    switch (optname) {
    case NSAPI_REUSEADDR: return VNET_OPT_REUSEADDR;
    case NSAPI_KEEPALIVE: return VNET_OPT_KEEPALIVE;
    case NSAPI_LINGER: return VNET_OPT_LINGER;
    case NSAPI_SNDBUF: return VNET_OPT_SNDBUF;
    case NSAPI_RCVBUF: return VNET_OPT_RCVBUF;
    default: return -1;
    }
}

nsapi_error_t InternetSocket::setsockopt(int level, int optname, const void *optval, unsigned optlen)
{
    if (_sock < 0) {
        return NSAPI_ERROR_NO_SOCKET;
    }
    if (level != NSAPI_SOCKET) {
        return NSAPI_ERROR_UNSUPPORTED;
    }
    int opt = vnet_option(optname);
    if (opt < 0) {
        return NSAPI_ERROR_UNSUPPORTED;
    }
    int r = vnet_set_option(_sock, opt, optval, optlen);
    return r < 0 ? r : NSAPI_ERROR_OK;
}

nsapi_error_t InternetSocket::getsockopt(int level, int optname, void *optval, unsigned *optlen)
{
    if (_sock < 0) {
        return NSAPI_ERROR_NO_SOCKET;
    }
    if (level != NSAPI_SOCKET || !optlen) {
        return NSAPI_ERROR_UNSUPPORTED;
    }
    int opt = vnet_option(optname);
    if (opt < 0) {
        return NSAPI_ERROR_UNSUPPORTED;
    }
    size_t len = *optlen;
    int r = vnet_get_option(_sock, opt, optval, &len);
    *optlen = unsigned(len);
    return r < 0 ? r : NSAPI_ERROR_OK;
}

nsapi_error_t InternetSocket::getpeername(SocketAddress *address)
{
    if (_sock < 0) {
        return NSAPI_ERROR_NO_SOCKET;
    }
    if (!_remote) {
        return NSAPI_ERROR_NO_CONNECTION;
    }
    if (address) {
        *address = _remote;
    }
    return NSAPI_ERROR_OK;
}

/* Taking data is a socket event of its own, as on Mbed OS over lwIP (whose
 * RCVMINUS event calls the socket's sigio too): the next run-loop turn calls
 * sigio again. A handler that reads in one sigio and acts on what follows in
 * the next (the docs' sigio sample: RECEIVE, then CLOSE) gets that next call
 * even when the stack took the data and the peer's FIN in one poll, which
 * raised a single event (the board woke from a long sleep with both in the
 * Ethernet FIFO). */
int InternetSocket::took(int r)
{
    if (r > 0) {
        mark();
    }
    return r;
}

template <typename Op>
int InternetSocket::blocking(Op op)
{
    uint32_t start = now_ms();
    for (;;) {
        int r = op();
        if (r != NSAPI_ERROR_WOULD_BLOCK) {
            return r;
        }
        if (_timeout == 0) {
            /* Non-blocking: give the stack one turn and try once more. */
            vnet_poll_quick();
            return op();
        }
        uint32_t left = remaining(start, _timeout);
        if (left == 0) {
            return NSAPI_ERROR_WOULD_BLOCK;
        }
        service(left);
        if (_sock < 0) {
            return NSAPI_ERROR_NO_SOCKET; /* closed by a callback meanwhile */
        }
    }
}

/* ---- TCPSocket ------------------------------------------------------------ */

/* Pre-connect send buffers (see MBED_TCP_PRECONNECT_BYTES). */
#ifndef MBED_TCP_PRECONNECT_SLOTS
#define MBED_TCP_PRECONNECT_SLOTS 2
#endif
static uint8_t g_pre_buf[MBED_TCP_PRECONNECT_SLOTS][MBED_TCP_PRECONNECT_BYTES];
static bool g_pre_used[MBED_TCP_PRECONNECT_SLOTS];

static uint8_t *pre_alloc()
{
    for (int i = 0; i < MBED_TCP_PRECONNECT_SLOTS; i++) {
        if (!g_pre_used[i]) {
            g_pre_used[i] = true;
            return g_pre_buf[i];
        }
    }
    return nullptr;
}

static void pre_free(uint8_t *p)
{
    for (int i = 0; i < MBED_TCP_PRECONNECT_SLOTS; i++) {
        if (p == g_pre_buf[i]) {
            g_pre_used[i] = false;
        }
    }
}

TCPSocket::~TCPSocket()
{
    if (_pre) {
        pre_free(_pre);
        _pre = nullptr;
    }
}

nsapi_error_t TCPSocket::close()
{
    if (_pre) {
        flush_pending();
        pre_free(_pre);
        _pre = nullptr;
        _pre_len = 0;
    }
    _connecting = false;
    return InternetSocket::close();
}

void TCPSocket::flush_pending()
{
    if (_sock < 0 || !_pre_len) {
        return;
    }
    int r = vnet_send(_sock, _pre, _pre_len);
    if (r > 0) {
        memmove(_pre, _pre + r, size_t(_pre_len - r));
        _pre_len = uint16_t(_pre_len - r);
    } else if (r < 0 && r != NSAPI_ERROR_WOULD_BLOCK && r != NSAPI_ERROR_NO_CONNECTION &&
               r != NSAPI_ERROR_IN_PROGRESS && r != NSAPI_ERROR_ALREADY) {
        _pre_len = 0; /* connection failed: the data is lost, as with lwIP */
    }
    if (_pre_len == 0 && _pre) {
        pre_free(_pre);
        _pre = nullptr;
    }
}

nsapi_error_t TCPSocket::connect(const char *host, uint16_t port)
{
    if (_sock < 0) {
        return NSAPI_ERROR_NO_SOCKET;
    }
    SocketAddress address;
    nsapi_error_t err = _stack->gethostbyname(host, &address);
    if (err) {
        return NSAPI_ERROR_DNS_FAILURE;
    }
    address.set_port(port);
    return connect(address);
}

nsapi_error_t TCPSocket::connect(const SocketAddress &address)
{
    if (_sock < 0) {
        return NSAPI_ERROR_NO_SOCKET;
    }
    if (!address || address.get_port() == 0) {
        return NSAPI_ERROR_PARAMETER;
    }
    vnet_endpoint_t ep = to_ep(address);
    bool waited = false;
    uint32_t start = now_ms();
    for (;;) {
        int r = vnet_connect(_sock, &ep);
        if (r == NSAPI_ERROR_IN_PROGRESS || r == NSAPI_ERROR_ALREADY || r == NSAPI_ERROR_WOULD_BLOCK) {
            bool first = !_connecting;
            _connecting = true;
            _remote = address;
            if (_timeout == 0) {
                return first ? NSAPI_ERROR_IN_PROGRESS : NSAPI_ERROR_ALREADY;
            }
            uint32_t left = remaining(start, _timeout);
            if (left == 0) {
                return NSAPI_ERROR_TIMEOUT;
            }
            waited = true;
            service(left);
            if (_sock < 0) {
                return NSAPI_ERROR_NO_SOCKET;
            }
            continue;
        }
        bool was_connecting = _connecting;
        _connecting = false;
        if (r == NSAPI_ERROR_OK || r == NSAPI_ERROR_IS_CONNECTED) {
            _remote = address;
            flush_pending();
            if (r == NSAPI_ERROR_OK || (_timeout != 0 && (waited || was_connecting))) {
                return NSAPI_ERROR_OK;
            }
            return NSAPI_ERROR_IS_CONNECTED;
        }
        _remote = SocketAddress();
        return r;
    }
}

nsapi_size_or_error_t TCPSocket::send(const void *data, nsapi_size_t size)
{
    if (_sock < 0) {
        return NSAPI_ERROR_NO_SOCKET;
    }
    flush_pending();
    const uint8_t *p = static_cast<const uint8_t *>(data);
    nsapi_size_t written = 0;
    uint32_t start = now_ms();
    int r = 0;
    for (;;) {
        if (_pre_len) {
            r = NSAPI_ERROR_WOULD_BLOCK; /* keep the byte order: queued data first */
        } else {
            r = vnet_send(_sock, p + written, size - written);
            if (r == 0 && size > written) {
                r = NSAPI_ERROR_WOULD_BLOCK;
            }
        }
        if (r < 0 && _connecting &&
            (r == NSAPI_ERROR_NO_CONNECTION || r == NSAPI_ERROR_IN_PROGRESS || r == NSAPI_ERROR_ALREADY)) {
            r = NSAPI_ERROR_WOULD_BLOCK;
        }
        if (r > 0) {
            written += nsapi_size_t(r);
        }
        if (written >= size || (r < 0 && r != NSAPI_ERROR_WOULD_BLOCK)) {
            break;
        }
        if (_timeout == 0) {
            if (r > 0) {
                continue; /* accepted some; try the rest once */
            }
            if (_connecting && written == 0) {
                /* connect() still in progress: queue like lwIP does in SYN_SENT */
                if (!_pre) {
                    _pre = pre_alloc();
                }
                if (_pre) {
                    nsapi_size_t room = MBED_TCP_PRECONNECT_BYTES - _pre_len;
                    nsapi_size_t n = size < room ? size : room;
                    memcpy(_pre + _pre_len, p, n);
                    _pre_len = uint16_t(_pre_len + n);
                    if (n) {
                        return nsapi_size_or_error_t(n);
                    }
                }
            }
            vnet_poll();
            flush_pending();
            if (!_pre_len) {
                r = vnet_send(_sock, p + written, size - written);
                if (r > 0) {
                    written += nsapi_size_t(r);
                }
            }
            break;
        }
        uint32_t left = remaining(start, _timeout);
        if (left == 0) {
            r = NSAPI_ERROR_WOULD_BLOCK;
            break;
        }
        service(left);
        if (_sock < 0) {
            return NSAPI_ERROR_NO_SOCKET;
        }
        flush_pending();
    }
    if (written > 0) {
        return nsapi_size_or_error_t(written);
    }
    if (size == 0) {
        return 0;
    }
    return r < 0 ? r : NSAPI_ERROR_WOULD_BLOCK;
}

nsapi_size_or_error_t TCPSocket::recv(void *data, nsapi_size_t size)
{
    if (_sock < 0) {
        return NSAPI_ERROR_NO_SOCKET;
    }
    flush_pending();
    return took(blocking([&]() {
        int r = vnet_recv(_sock, data, size);
        if (r < 0 && _connecting && (r == NSAPI_ERROR_NO_CONNECTION || r == NSAPI_ERROR_IN_PROGRESS)) {
            r = NSAPI_ERROR_WOULD_BLOCK;
        }
        return r;
    }));
}

nsapi_size_or_error_t TCPSocket::sendto(const SocketAddress &address, const void *data, nsapi_size_t size)
{
    (void)address;
    return send(data, size);
}

nsapi_size_or_error_t TCPSocket::recvfrom(SocketAddress *address, void *data, nsapi_size_t size)
{
    nsapi_size_or_error_t r = recv(data, size);
    if (r >= 0 && address) {
        getpeername(address);
    }
    return r;
}

nsapi_error_t TCPSocket::listen(int backlog)
{
    if (_sock < 0) {
        return NSAPI_ERROR_NO_SOCKET;
    }
    int r = vnet_listen(_sock, backlog < 1 ? 1 : backlog);
    return r < 0 ? r : NSAPI_ERROR_OK;
}

nsapi_error_t TCPSocket::accept_into(TCPSocket *connection, SocketAddress *address)
{
    if (_sock < 0) {
        return NSAPI_ERROR_NO_SOCKET;
    }
    vnet_endpoint_t ep = {};
    int s = blocking([&]() { return vnet_accept(_sock, &ep); });
    if (s < 0) {
        return s;
    }
    connection->adopt(s, _stack);
    connection->_remote = from_ep(ep);
    if (address) {
        *address = connection->_remote;
    }
    return NSAPI_ERROR_OK;
}

TCPSocket *TCPSocket::accept(nsapi_error_t *error)
{
    TCPSocket *conn = new TCPSocket();
    nsapi_error_t r = conn ? accept_into(conn, nullptr) : NSAPI_ERROR_NO_MEMORY;
    if (r != NSAPI_ERROR_OK) {
        delete conn;
        conn = nullptr;
    }
    if (error) {
        *error = r;
    }
    return conn;
}

nsapi_error_t TCPSocket::shutdown_write()
{
    if (_sock < 0) {
        return NSAPI_ERROR_NO_SOCKET;
    }
    int r = vnet_shutdown_write(_sock);
    return r < 0 ? r : NSAPI_ERROR_OK;
}

nsapi_error_t TCPServer::accept(TCPSocket *connection, SocketAddress *address)
{
    if (!connection) {
        return NSAPI_ERROR_PARAMETER;
    }
    if (connection->_sock >= 0) {
        return NSAPI_ERROR_PARAMETER;
    }
    return accept_into(connection, address);
}

/* ---- UDPSocket ------------------------------------------------------------ */

UDPSocket::~UDPSocket() = default;

nsapi_size_or_error_t UDPSocket::sendto(const char *host, uint16_t port, const void *data, nsapi_size_t size)
{
    if (_sock < 0) {
        return NSAPI_ERROR_NO_SOCKET;
    }
    SocketAddress address;
    if (_stack->gethostbyname(host, &address) != NSAPI_ERROR_OK) {
        return NSAPI_ERROR_DNS_FAILURE;
    }
    address.set_port(port);
    return sendto(address, data, size);
}

nsapi_size_or_error_t UDPSocket::sendto(const SocketAddress &address, const void *data, nsapi_size_t size)
{
    if (_sock < 0) {
        return NSAPI_ERROR_NO_SOCKET;
    }
    if (!address || address.get_port() == 0) {
        return NSAPI_ERROR_PARAMETER;
    }
    vnet_endpoint_t ep = to_ep(address);
    return blocking([&]() { return vnet_sendto(_sock, &ep, data, size); });
}

nsapi_size_or_error_t UDPSocket::recvfrom(SocketAddress *address, void *data, nsapi_size_t size)
{
    if (_sock < 0) {
        return NSAPI_ERROR_NO_SOCKET;
    }
    const bool filter = bool(_remote);
    return took(blocking([&]() {
        for (;;) {
            vnet_endpoint_t ep = {};
            int r = vnet_recvfrom(_sock, &ep, data, size);
            if (r < 0) {
                return r;
            }
            SocketAddress from = from_ep(ep);
            if (filter && from != _remote) {
                continue; /* connected: drop datagrams from other peers */
            }
            if (address) {
                *address = from;
            }
            return r;
        }
    }));
}

nsapi_error_t UDPSocket::connect(const SocketAddress &address)
{
    if (_sock < 0) {
        return NSAPI_ERROR_NO_SOCKET;
    }
    _remote = address; /* an unset address disconnects */
    return NSAPI_ERROR_OK;
}

nsapi_size_or_error_t UDPSocket::send(const void *data, nsapi_size_t size)
{
    if (!_remote) {
        return _sock < 0 ? NSAPI_ERROR_NO_SOCKET : NSAPI_ERROR_NO_ADDRESS;
    }
    return sendto(_remote, data, size);
}

nsapi_size_or_error_t UDPSocket::recv(void *data, nsapi_size_t size)
{
    return recvfrom(nullptr, data, size);
}

Socket *UDPSocket::accept(nsapi_error_t *error)
{
    if (error) {
        *error = NSAPI_ERROR_UNSUPPORTED;
    }
    return nullptr;
}

nsapi_error_t UDPSocket::listen(int)
{
    return NSAPI_ERROR_UNSUPPORTED;
}
