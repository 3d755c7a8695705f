/* NetworkInterface / EthernetInterface over vnet's single interface. */
#include "NetworkInterface.h"

#include <stdio.h>
#include <string.h>

#include "EthernetInterface.h"
#include "EventQueue.h"
#include "vnet.h"

/* vnet has one state callback: it marks every attached interface. */
static NetworkInterface *g_attached[4];

NetworkInterface::~NetworkInterface()
{
    unlink();
    for (NetworkInterface *&slot : g_attached) {
        if (slot == this) {
            slot = nullptr;
        }
    }
}

static nsapi_connection_status_t status_from_vnet(vnet_if_state_t s)
{
    switch (s) {
    case VNET_IF_UP:
        return NSAPI_STATUS_GLOBAL_UP;
    case VNET_IF_CONNECTING:
        return NSAPI_STATUS_CONNECTING;
    default:
        return NSAPI_STATUS_DISCONNECTED;
    }
}

nsapi_connection_status_t NetworkInterface::get_connection_status() const
{
    return status_from_vnet(vnet_if_state());
}

nsapi_error_t NetworkInterface::set_blocking(bool blocking)
{
    return blocking ? NSAPI_ERROR_OK : NSAPI_ERROR_UNSUPPORTED;
}


void NetworkInterface::on_vnet_state(int, void *)
{
    for (NetworkInterface *ni : g_attached) {
        if (ni) {
            ni->mark();
        }
    }
}

void NetworkInterface::attach(mbed::Callback<void(nsapi_event_t, intptr_t)> status_cb)
{
    _status_cb = status_cb;
    _reported = get_connection_status();
    link();
    for (NetworkInterface *&slot : g_attached) {
        if (slot == this || slot == nullptr) {
            slot = this;
            break;
        }
    }
    vnet_if_on_state([](vnet_if_state_t s, void *ctx) { on_vnet_state(int(s), ctx); }, nullptr);
}

void NetworkInterface::deliver()
{
    nsapi_connection_status_t now = get_connection_status();
    if (now != _reported) {
        _reported = now;
        if (_status_cb) {
            _status_cb(NSAPI_EVENT_CONNECTION_STATUS_CHANGE, intptr_t(now));
        }
    }
}

const char *NetworkInterface::get_mac_address()
{
    static char mac[NSAPI_MAC_SIZE];
    uint8_t m[6];
    vnet_if_mac(m);
    snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return mac;
}

static nsapi_error_t if_addr(SocketAddress *address, int which)
{
    if (!address) {
        return NSAPI_ERROR_PARAMETER;
    }
    if (vnet_if_state() != VNET_IF_UP) {
        return NSAPI_ERROR_NO_ADDRESS;
    }
    vnet_ip_t v[4];
    vnet_if_addr(&v[0], &v[1], &v[2], &v[3]);
    address->set_ipv4(v[which]);
    return NSAPI_ERROR_OK;
}

nsapi_error_t NetworkInterface::get_ip_address(SocketAddress *address)
{
    return if_addr(address, 0);
}
nsapi_error_t NetworkInterface::get_netmask(SocketAddress *address)
{
    return if_addr(address, 1);
}
nsapi_error_t NetworkInterface::get_gateway(SocketAddress *address)
{
    return if_addr(address, 2);
}

static const char *addr_text(NetworkInterface *ni, nsapi_error_t (NetworkInterface::*get)(SocketAddress *),
                             char *buf)
{
    SocketAddress a;
    if ((ni->*get)(&a) != NSAPI_ERROR_OK) {
        return nullptr;
    }
    strcpy(buf, a.get_ip_address());
    return buf;
}

const char *NetworkInterface::get_ip_address()
{
    return addr_text(this, static_cast<nsapi_error_t (NetworkInterface::*)(SocketAddress *)>(
                               &NetworkInterface::get_ip_address), _text);
}
const char *NetworkInterface::get_netmask()
{
    return addr_text(this, static_cast<nsapi_error_t (NetworkInterface::*)(SocketAddress *)>(
                               &NetworkInterface::get_netmask), _text);
}
const char *NetworkInterface::get_gateway()
{
    return addr_text(this, static_cast<nsapi_error_t (NetworkInterface::*)(SocketAddress *)>(
                               &NetworkInterface::get_gateway), _text);
}

nsapi_error_t NetworkInterface::set_network(const SocketAddress &ip, const SocketAddress &netmask,
                                            const SocketAddress &gateway)
{
    if (ip.get_ip_version() != NSAPI_IPv4) {
        return NSAPI_ERROR_PARAMETER;
    }
    _dhcp = false;
    _static_ip = ip.ipv4();
    _static_mask = netmask.ipv4();
    _static_gw = gateway.ipv4();
    if (!_static_dns) {
        _static_dns = _static_gw;
    }
    return NSAPI_ERROR_OK;
}

nsapi_error_t NetworkInterface::set_dhcp(bool dhcp)
{
    _dhcp = dhcp;
    return NSAPI_ERROR_OK;
}

/* Mbed puts an added server first in the resolver's list, ahead of the
 * interface's; vnet keeps one explicit server, which takes precedence over the
 * DHCP (or static) one from then on, before or after connect(). The port is
 * ignored (53), as in Mbed; interface_name too: there is one interface. */
nsapi_error_t NetworkInterface::add_dns_server(const SocketAddress &address, const char *)
{
    if (address.get_ip_version() != NSAPI_IPv4 || address.ipv4() == 0) {
        return NSAPI_ERROR_PARAMETER;
    }
    _static_dns = address.ipv4();
    vnet_dns_set_server(address.ipv4());
    return NSAPI_ERROR_OK;
}

nsapi_error_t NetworkInterface::gethostbyname(const char *host, SocketAddress *address, nsapi_version_t version,
                                              const char *)
{
    if (!host || !address || !*host) {
        return NSAPI_ERROR_PARAMETER;
    }
    if (version == NSAPI_IPv6) {
        return NSAPI_ERROR_DNS_FAILURE;
    }
    uint16_t port = address->get_port();
    if (address->set_ip_address(host)) {
        address->set_port(port);
        return NSAPI_ERROR_OK;
    }
    vnet_ip_t ip = 0;
    int r = vnet_gethostbyname(host, &ip, MBED_CONF_NSAPI_DNS_RESPONSE_WAIT_TIME);
    if (r < 0) {
        return r;
    }
    address->set_ipv4(ip);
    address->set_port(port);
    return NSAPI_ERROR_OK;
}

namespace {
struct AsyncDns {
    int id;
    bool cancelled;
    NetworkInterface *ni;
    const char *host;
    hostbyname_cb_t cb;
};
AsyncDns g_async[4];
int g_async_id;

void run_async(AsyncDns *q)
{
    if (q->cancelled) {
        q->id = 0;
        return;
    }
    SocketAddress addr;
    nsapi_error_t r = q->ni->gethostbyname(q->host, &addr);
    hostbyname_cb_t cb = q->cb;
    bool cancelled = q->cancelled;
    q->id = 0;
    q->cb = nullptr;
    if (!cancelled) {
        cb(r, r == NSAPI_ERROR_OK ? &addr : nullptr);
    }
}
} // namespace

nsapi_value_or_error_t NetworkInterface::gethostbyname_async(const char *host, hostbyname_cb_t callback,
                                                             nsapi_version_t version, const char *)
{
    if (!host || !*host || !callback) {
        return NSAPI_ERROR_PARAMETER;
    }
    if (version == NSAPI_IPv6) {
        return NSAPI_ERROR_DNS_FAILURE;
    }
    for (AsyncDns &q : g_async) {
        if (q.id == 0) {
            if (++g_async_id <= 0) {
                g_async_id = 1;
            }
            q = AsyncDns{g_async_id, false, this, host, callback};
            if (!events::mbed_event_queue()->call(run_async, &q)) {
                q.id = 0;
                return NSAPI_ERROR_NO_MEMORY;
            }
            return q.id;
        }
    }
    return NSAPI_ERROR_NO_MEMORY;
}

nsapi_error_t NetworkInterface::gethostbyname_async_cancel(int id)
{
    for (AsyncDns &q : g_async) {
        if (q.id == id && id > 0) {
            q.cancelled = true;
            return NSAPI_ERROR_OK;
        }
    }
    return NSAPI_ERROR_PARAMETER;
}

/* ---- EthernetInterface ---------------------------------------------------- */

nsapi_error_t EthernetInterface::connect()
{
    if (vnet_if_state() == VNET_IF_UP) {
        return NSAPI_ERROR_IS_CONNECTED;
    }
    vnet_if_config_t cfg = {};
    cfg.dhcp = _dhcp;
    cfg.ip = _static_ip;
    cfg.netmask = _static_mask;
    cfg.gateway = _static_gw;
    cfg.dns = _static_dns;
    int r = vnet_if_up(&cfg, MBED_CONF_NET_CONNECT_TIMEOUT_MS);
    if (_status_cb) {
        mark();
    }
    return r < 0 ? r : NSAPI_ERROR_OK;
}

nsapi_error_t EthernetInterface::disconnect()
{
    if (vnet_if_state() == VNET_IF_DOWN) {
        return NSAPI_ERROR_NO_CONNECTION;
    }
    int r = vnet_if_down();
    if (_status_cb) {
        mark();
    }
    return r < 0 ? r : NSAPI_ERROR_OK;
}

EthInterface *EthInterface::get_default_instance()
{
    alignas(EthernetInterface) static unsigned char mem[sizeof(EthernetInterface)];
    static EthernetInterface *eth;
    if (!eth) {
        eth = new (mem) EthernetInterface();
    }
    return eth;
}

/* Weak: a program built for Wi-Fi (wifi_default_interface.h) overrides it. */
__attribute__((weak)) NetworkInterface *NetworkInterface::get_default_instance()
{
    return EthInterface::get_default_instance();
}
