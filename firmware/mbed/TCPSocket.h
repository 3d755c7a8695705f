/* TCPSocket (Mbed OS 6 netsocket/TCPSocket.h). */
#ifndef MBED_TCPSOCKET_H
#define MBED_TCPSOCKET_H

#include "InternetSocket.h"

#ifndef MBED_TCP_PRECONNECT_BYTES
/* Bytes a non-blocking send() may queue while connect() is still in progress
 * (lwIP accepts writes in SYN_SENT; the seed's sigio example relies on it). */
#define MBED_TCP_PRECONNECT_BYTES 256
#endif

class TCPSocket : public InternetSocket {
public:
    TCPSocket() = default;
    ~TCPSocket() override;

    nsapi_error_t close() override;
    /* Blocking: OK once connected. Non-blocking: IN_PROGRESS, then ALREADY, then IS_CONNECTED. */
    nsapi_error_t connect(const SocketAddress &address) override;
    /* Resolves `host` (blocking, as Mbed does) then connects. */
    nsapi_error_t connect(const char *host, uint16_t port);
    nsapi_size_or_error_t send(const void *data, nsapi_size_t size) override;
    nsapi_size_or_error_t recv(void *data, nsapi_size_t size) override;
    nsapi_size_or_error_t sendto(const SocketAddress &address, const void *data, nsapi_size_t size) override;
    nsapi_size_or_error_t recvfrom(SocketAddress *address, void *data, nsapi_size_t size) override;
    /* New heap-allocated socket for an incoming connection (delete it after close). */
    TCPSocket *accept(nsapi_error_t *error = nullptr) override;
    nsapi_error_t listen(int backlog = 1) override;
    /* Send FIN (vboard extension of Mbed's API). */
    nsapi_error_t shutdown_write();

protected:
    friend class TCPServer;
    nsapi_protocol_t get_proto() override { return NSAPI_TCP; }
    void flush_pending() override;
    nsapi_error_t accept_into(TCPSocket *connection, SocketAddress *address);

    bool _connecting = false;
    uint16_t _pre_len = 0;
    uint8_t *_pre = nullptr;
};

#endif
