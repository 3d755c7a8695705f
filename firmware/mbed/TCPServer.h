/* TCPServer (Mbed OS 6 netsocket/TCPServer.h, deprecated there): a listening TCPSocket. */
#ifndef MBED_TCPSERVER_H
#define MBED_TCPSERVER_H

#include "TCPSocket.h"

class TCPServer : public TCPSocket {
public:
    TCPServer() = default;
    template <typename S>
    explicit TCPServer(S *stack)
    {
        open(stack);
    }
    using TCPSocket::accept;
    /* Accept into an unopened `connection`; the peer goes to *address. */
    nsapi_error_t accept(TCPSocket *connection, SocketAddress *address = nullptr);
};

#endif
