/* SocketAddress (Mbed OS 6 netsocket/SocketAddress.h): an IPv4 address and port. */
#ifndef MBED_SOCKETADDRESS_H
#define MBED_SOCKETADDRESS_H

#include <stdint.h>

#include "nsapi_types.h"

class SocketAddress {
public:
    SocketAddress(const nsapi_addr_t &addr = nsapi_addr_t(), uint16_t port = 0);
    SocketAddress(const char *addr, uint16_t port = 0);
    SocketAddress(const void *bytes, nsapi_version_t version, uint16_t port = 0);
    SocketAddress(const SocketAddress &addr);
    SocketAddress &operator=(const SocketAddress &addr);

    /* Dotted quad; false (and address cleared) if not one. NULL: false. */
    bool set_ip_address(const char *addr);
    void set_ip_bytes(const void *bytes, nsapi_version_t version);
    void set_addr(const nsapi_addr_t &addr);
    void set_port(uint16_t port) { _port = port; }

    /* Text form, or NULL when no address is set. */
    const char *get_ip_address() const;
    const void *get_ip_bytes() const { return _addr.bytes; }
    nsapi_version_t get_ip_version() const { return _addr.version; }
    nsapi_addr_t get_addr() const { return _addr; }
    uint16_t get_port() const { return _port; }

    /* True when an address is set and not all zero. */
    explicit operator bool() const;

    friend bool operator==(const SocketAddress &a, const SocketAddress &b);
    friend bool operator!=(const SocketAddress &a, const SocketAddress &b);

    /* vboard: the IPv4 address as vnet stores it (network byte order). */
    uint32_t ipv4() const;
    void set_ipv4(uint32_t ip_be);

private:
    nsapi_addr_t _addr;
    uint16_t _port;
    mutable char _text[16];
};

#endif
