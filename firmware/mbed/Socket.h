/* Socket (Mbed OS 6 netsocket/Socket.h): the abstract socket interface. */
#ifndef MBED_SOCKET_H
#define MBED_SOCKET_H

#include "Callback.h"
#include "SocketAddress.h"
#include "nsapi_types.h"

class Socket {
public:
    virtual ~Socket() = default;
    virtual nsapi_error_t close() = 0;
    virtual nsapi_error_t connect(const SocketAddress &address) = 0;
    virtual nsapi_size_or_error_t send(const void *data, nsapi_size_t size) = 0;
    virtual nsapi_size_or_error_t recv(void *data, nsapi_size_t size) = 0;
    virtual nsapi_size_or_error_t sendto(const SocketAddress &address, const void *data, nsapi_size_t size) = 0;
    virtual nsapi_size_or_error_t recvfrom(SocketAddress *address, void *data, nsapi_size_t size) = 0;
    virtual nsapi_error_t bind(const SocketAddress &address) = 0;
    virtual void set_blocking(bool blocking) = 0;
    virtual void set_timeout(int timeout) = 0;
    virtual void sigio(mbed::Callback<void()> func) = 0;
    virtual nsapi_error_t setsockopt(int level, int optname, const void *optval, unsigned optlen) = 0;
    virtual nsapi_error_t getsockopt(int level, int optname, void *optval, unsigned *optlen) = 0;
    virtual Socket *accept(nsapi_error_t *error = nullptr) = 0;
    virtual nsapi_error_t listen(int backlog = 1) = 0;
    virtual nsapi_error_t getpeername(SocketAddress *address) = 0;
};

#endif
