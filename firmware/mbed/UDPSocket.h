/* UDPSocket (Mbed OS 6 netsocket/UDPSocket.h). */
#ifndef MBED_UDPSOCKET_H
#define MBED_UDPSOCKET_H

#include "InternetSocket.h"

class UDPSocket : public InternetSocket {
public:
    UDPSocket() = default;
    template <typename S>
    explicit UDPSocket(S *stack)
    {
        open(stack);
    }
    ~UDPSocket() override;

    nsapi_size_or_error_t sendto(const char *host, uint16_t port, const void *data, nsapi_size_t size);
    nsapi_size_or_error_t sendto(const SocketAddress &address, const void *data, nsapi_size_t size) override;
    nsapi_size_or_error_t recvfrom(SocketAddress *address, void *data, nsapi_size_t size) override;
    /* Sets the default peer for send()/recv(); recv() then drops other senders. */
    nsapi_error_t connect(const SocketAddress &address) override;
    nsapi_size_or_error_t send(const void *data, nsapi_size_t size) override;
    nsapi_size_or_error_t recv(void *data, nsapi_size_t size) override;
    Socket *accept(nsapi_error_t *error = nullptr) override;
    nsapi_error_t listen(int backlog = 1) override;

protected:
    nsapi_protocol_t get_proto() override { return NSAPI_UDP; }
};

#endif
