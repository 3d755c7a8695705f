/* InternetSocket (Mbed OS 6 netsocket/InternetSocket.h): a vnet socket with
 * Mbed's blocking/timeout/sigio semantics. Blocking operations loop on the
 * run loop (mbed_netglue.h), so the shared event queue keeps dispatching. */
#ifndef MBED_INTERNETSOCKET_H
#define MBED_INTERNETSOCKET_H

#include "NetworkInterface.h"
#include "Socket.h"
#include "mbed_netglue.h"

class InternetSocket : public Socket, protected mbed::netglue::Pollable {
public:
    ~InternetSocket() override;

    nsapi_error_t open(NetworkInterface *stack);
    nsapi_error_t close() override;
    nsapi_error_t bind(uint16_t port);
    nsapi_error_t bind(const SocketAddress &address) override;
    void set_blocking(bool blocking) override;
    /* ms; < 0 blocks forever, 0 = non-blocking. */
    void set_timeout(int timeout) override;
    void sigio(mbed::Callback<void()> func) override;
    nsapi_error_t setsockopt(int level, int optname, const void *optval, unsigned optlen) override;
    nsapi_error_t getsockopt(int level, int optname, void *optval, unsigned *optlen) override;
    nsapi_error_t getpeername(SocketAddress *address) override;
    nsapi_error_t join_multicast_group(const SocketAddress &) { return NSAPI_ERROR_UNSUPPORTED; }
    nsapi_error_t leave_multicast_group(const SocketAddress &) { return NSAPI_ERROR_UNSUPPORTED; }

    /* Mbed's 'attach' (deprecated alias of sigio). */
    void attach(mbed::Callback<void()> func) { sigio(func); }

protected:
    InternetSocket() = default;
    virtual nsapi_protocol_t get_proto() = 0;
    nsapi_error_t adopt(int sock, NetworkInterface *stack);
    void deliver() override;
    /* Pass-through events from vnet (run inside vnet_poll: only marks). */
    static void on_vnet_event(int sock, uint32_t events, void *ctx);
    /* Retry `op` until it stops returning WOULD_BLOCK or the timeout passes. */
    template <typename Op>
    int blocking(Op op);
    /* A receive's result `r`; data taken (r > 0) brings one more sigio. */
    int took(int r);
    virtual void flush_pending() {}

    int _sock = -1;
    NetworkInterface *_stack = nullptr;
    int32_t _timeout = -1;
    mbed::Callback<void()> _callback;
    SocketAddress _remote;
};

#endif
