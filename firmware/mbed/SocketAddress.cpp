#include "SocketAddress.h"

#include <stdio.h>
#include <string.h>

SocketAddress::SocketAddress(const nsapi_addr_t &addr, uint16_t port) : _addr(addr), _port(port), _text() {}

SocketAddress::SocketAddress(const char *addr, uint16_t port) : _addr(), _port(port), _text()
{
    set_ip_address(addr);
}

SocketAddress::SocketAddress(const void *bytes, nsapi_version_t version, uint16_t port)
    : _addr(), _port(port), _text()
{
    set_ip_bytes(bytes, version);
}

SocketAddress::SocketAddress(const SocketAddress &o) : _addr(o._addr), _port(o._port), _text() {}

SocketAddress &SocketAddress::operator=(const SocketAddress &o)
{
    _addr = o._addr;
    _port = o._port;
    return *this;
}

static bool parse_ipv4(const char *s, uint8_t out[4])
{
    for (int i = 0; i < 4; i++) {
        unsigned v = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + unsigned(*s - '0');
            if (++digits > 3 || v > 255) {
                return false;
            }
            s++;
        }
        if (digits == 0) {
            return false;
        }
        out[i] = uint8_t(v);
        if (i < 3) {
            if (*s != '.') {
                return false;
            }
            s++;
        }
    }
    return *s == '\0';
}

bool SocketAddress::set_ip_address(const char *addr)
{
    _addr = nsapi_addr_t();
    uint8_t b[4];
    if (!addr || !parse_ipv4(addr, b)) {
        return false;
    }
    _addr.version = NSAPI_IPv4;
    memcpy(_addr.bytes, b, 4);
    return true;
}

void SocketAddress::set_ip_bytes(const void *bytes, nsapi_version_t version)
{
    _addr = nsapi_addr_t();
    _addr.version = version;
    if (version == NSAPI_IPv4) {
        memcpy(_addr.bytes, bytes, NSAPI_IPv4_BYTES);
    } else if (version == NSAPI_IPv6) {
        memcpy(_addr.bytes, bytes, NSAPI_IPv6_BYTES);
    }
}

void SocketAddress::set_addr(const nsapi_addr_t &addr)
{
    _addr = addr;
}

const char *SocketAddress::get_ip_address() const
{
    if (_addr.version == NSAPI_UNSPEC) {
        return nullptr;
    }
    if (_addr.version == NSAPI_IPv6) {
        return "::"; /* IPv6 is not supported by vnet */
    }
    snprintf(_text, sizeof _text, "%u.%u.%u.%u", _addr.bytes[0], _addr.bytes[1], _addr.bytes[2], _addr.bytes[3]);
    return _text;
}

SocketAddress::operator bool() const
{
    unsigned n = _addr.version == NSAPI_IPv4 ? 4 : _addr.version == NSAPI_IPv6 ? 16 : 0;
    for (unsigned i = 0; i < n; i++) {
        if (_addr.bytes[i]) {
            return true;
        }
    }
    return false;
}

bool operator==(const SocketAddress &a, const SocketAddress &b)
{
    if (!a && !b) {
        return a._port == b._port;
    }
    return a._addr.version == b._addr.version && a._port == b._port &&
           memcmp(a._addr.bytes, b._addr.bytes, a._addr.version == NSAPI_IPv6 ? 16 : 4) == 0;
}

bool operator!=(const SocketAddress &a, const SocketAddress &b)
{
    return !(a == b);
}

uint32_t SocketAddress::ipv4() const
{
    uint32_t ip = 0;
    if (_addr.version == NSAPI_IPv4) {
        memcpy(&ip, _addr.bytes, 4);
    }
    return ip;
}

void SocketAddress::set_ipv4(uint32_t ip_be)
{
    set_ip_bytes(&ip_be, NSAPI_IPv4);
}
