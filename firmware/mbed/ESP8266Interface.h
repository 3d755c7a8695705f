/* ESP8266Interface (Mbed OS 6 components ESP8266Interface.h): the ESP8266
 * AT Wi-Fi module on UART1 (drivers/esp8266) as a WiFiInterface whose
 * sockets are the module's 5 links (CIPSTART / CIPSEND / passive
 * CIPRECVDATA / CIPCLOSE) and whose gethostbyname is AT+CIPDOMAIN.
 *
 * Every instance drives the same single module, as EthernetInterface does
 * with vnet: connect() on an interface that is already up returns
 * NSAPI_ERROR_IS_CONNECTED. A default-constructed instance uses the
 * compile-time credentials MBED_CONF_NSAPI_DEFAULT_WIFI_{SSID,PASSWORD,SECURITY}
 * (vboard: "vboard" / "vboard-secret" / WPA2). */
#ifndef MBED_ESP8266INTERFACE_H
#define MBED_ESP8266INTERFACE_H

#include "WiFiInterface.h"

#ifndef MBED_CONF_NSAPI_DEFAULT_WIFI_SSID
#define MBED_CONF_NSAPI_DEFAULT_WIFI_SSID "vboard"
#endif
#ifndef MBED_CONF_NSAPI_DEFAULT_WIFI_PASSWORD
#define MBED_CONF_NSAPI_DEFAULT_WIFI_PASSWORD "vboard-secret"
#endif
#ifndef MBED_CONF_NSAPI_DEFAULT_WIFI_SECURITY
#define MBED_CONF_NSAPI_DEFAULT_WIFI_SECURITY WPA2
#endif
#ifndef ESP8266_INTERFACE_CONNECT_TIMEOUT
#define ESP8266_INTERFACE_CONNECT_TIMEOUT 35000 /* ms, as Mbed's 2 x 15 s + 5 s */
#endif

class ESP8266Interface : public WiFiInterface {
public:
    ESP8266Interface();
    ~ESP8266Interface() override;

    nsapi_error_t set_credentials(const char *ssid, const char *pass,
                                  nsapi_security_t security = NSAPI_SECURITY_NONE) override;
    nsapi_error_t set_channel(uint8_t channel) override;
    int8_t get_rssi() override;
    nsapi_error_t connect(const char *ssid, const char *pass, nsapi_security_t security = NSAPI_SECURITY_NONE,
                          uint8_t channel = 0) override;
    nsapi_error_t connect() override;
    nsapi_error_t disconnect() override;
    nsapi_size_or_error_t scan(WiFiAccessPoint *res, nsapi_size_t count) override;

    const char *get_mac_address() override;
    nsapi_error_t get_ip_address(SocketAddress *address) override;
    nsapi_error_t get_netmask(SocketAddress *address) override;
    nsapi_error_t get_gateway(SocketAddress *address) override;
    using NetworkInterface::get_ip_address;
    using NetworkInterface::get_netmask;
    using NetworkInterface::get_gateway;
    nsapi_error_t set_network(const SocketAddress &ip_address, const SocketAddress &netmask,
                              const SocketAddress &gateway) override;
    nsapi_error_t set_dhcp(bool dhcp) override;
    nsapi_error_t gethostbyname(const char *host, SocketAddress *address, nsapi_version_t version = NSAPI_UNSPEC,
                                const char *interface_name = nullptr) override;
    using NetworkInterface::gethostbyname_async;

    void attach(mbed::Callback<void(nsapi_event_t, intptr_t)> status_cb) override;
    nsapi_connection_status_t get_connection_status() const override;

    /* The module's AT/SDK versions (major*1e6+minor*1e4+patch*100), after init. */
    int at_version() const;
    int sdk_version() const;

    /* The module's Wi-Fi state changed: attached interfaces report it (internal). */
    static void status_changed();

protected:
    void deliver() override;

private:
    char _ssid[33] = {};
    char _pass[64] = {};
    nsapi_security_t _security = NSAPI_SECURITY_NONE;
};

#endif
