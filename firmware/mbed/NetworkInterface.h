/* NetworkInterface (Mbed OS 6 netsocket/NetworkInterface.h) over vnet's one interface. */
#ifndef MBED_NETWORKINTERFACE_H
#define MBED_NETWORKINTERFACE_H

#include "Callback.h"
#include "SocketAddress.h"
#include "mbed_netglue.h"
#include "nsapi_types.h"

class EthInterface;
class WiFiInterface;

typedef mbed::Callback<void(nsapi_value_or_error_t result, SocketAddress *address)> hostbyname_cb_t;

#ifndef MBED_CONF_NSAPI_DNS_RESPONSE_WAIT_TIME
#define MBED_CONF_NSAPI_DNS_RESPONSE_WAIT_TIME 10000 /* ms for one gethostbyname() */
#endif
#ifndef MBED_CONF_NET_CONNECT_TIMEOUT_MS
#define MBED_CONF_NET_CONNECT_TIMEOUT_MS 15000 /* ms for DHCP in connect() */
#endif

class NetworkInterface : protected mbed::netglue::Pollable {
public:
    NetworkInterface() = default;
    virtual ~NetworkInterface();
    NetworkInterface(const NetworkInterface &) = delete;
    NetworkInterface &operator=(const NetworkInterface &) = delete;

    /* The board's Ethernet interface (vnet over the LAN9118). */
    static NetworkInterface *get_default_instance();

    virtual nsapi_error_t connect() = 0;
    virtual nsapi_error_t disconnect() = 0;

    virtual const char *get_mac_address();
    virtual nsapi_error_t get_ip_address(SocketAddress *address);
    virtual nsapi_error_t get_netmask(SocketAddress *address);
    virtual nsapi_error_t get_gateway(SocketAddress *address);
    /* Mbed 5 text forms (deprecated there). */
    const char *get_ip_address();
    const char *get_netmask();
    const char *get_gateway();

    virtual nsapi_error_t set_network(const SocketAddress &ip_address, const SocketAddress &netmask,
                                      const SocketAddress &gateway);
    virtual nsapi_error_t set_dhcp(bool dhcp);
    /* Queries go to this server (port 53) instead of the DHCP/static one from
     * now on, connected or not; IPv4 only. */
    virtual nsapi_error_t add_dns_server(const SocketAddress &address, const char *interface_name);

    virtual nsapi_error_t gethostbyname(const char *host, SocketAddress *address,
                                        nsapi_version_t version = NSAPI_UNSPEC, const char *interface_name = nullptr);
    /* Resolves on the shared event queue; the callback runs there. Returns an id > 0. */
    virtual nsapi_value_or_error_t gethostbyname_async(const char *host, hostbyname_cb_t callback,
                                                       nsapi_version_t version = NSAPI_UNSPEC,
                                                       const char *interface_name = nullptr);
    virtual nsapi_error_t gethostbyname_async_cancel(int id);

    virtual void attach(mbed::Callback<void(nsapi_event_t, intptr_t)> status_cb);
    void add_event_listener(mbed::Callback<void(nsapi_event_t, intptr_t)> status_cb) { attach(status_cb); }
    virtual nsapi_connection_status_t get_connection_status() const;
    virtual nsapi_error_t set_blocking(bool blocking);

    virtual EthInterface *ethInterface() { return nullptr; }
    virtual WiFiInterface *wifiInterface() { return nullptr; }

protected:
    void deliver() override;
    static void on_vnet_state(int state, void *ctx);
    mbed::Callback<void(nsapi_event_t, intptr_t)> _status_cb;
    nsapi_connection_status_t _reported = NSAPI_STATUS_DISCONNECTED;
    bool _dhcp = true;
    uint32_t _static_ip = 0, _static_mask = 0, _static_gw = 0, _static_dns = 0;
    char _text[16] = {};
};

#endif
