/* ESP8266Interface over drivers/esp8266 (AT commands on UART1), and the
 * socket operations InternetSocket reaches through wifi_socket_hook.h. */
#include "ESP8266Interface.h"

#include <stdio.h>
#include <string.h>

#include "esp8266/esp8266.h"
#include "mbed_netglue.h"
#include "vnet.h"
#include "wifi_socket_hook.h"

#ifdef MBED_CONF_TARGET_NETWORK_DEFAULT_INTERFACE_TYPE
#include "wifi_default_interface.h"
#endif

const wifi_socket_ops *g_wifi_socket_ops;

using mbed::netglue::now_ms;
using mbed::netglue::remaining;
using mbed::netglue::service;

namespace {

/* ---- module events -> run loop ------------------------------------------- */

/* Bytes from the module: parse them (URCs) on the next turn of the run loop. */
struct Pump : mbed::netglue::Pollable {
    void deliver() override { esp_poll(); }
};
Pump g_pump;

ESP8266Interface *g_ifaces[4];

/* ---- sockets = module links ---------------------------------------------- */
struct WSock {
    bool used;
    bool tcp;
    bool started;      /* CIPSTART done (the link may have been lost since) */
    int keepalive;
    uint16_t bound_port;
    uint32_t peer_ip;  /* UDP: the link's remote (network order) */
    uint16_t peer_port;
    vnet_event_cb cb;
    void *ctx;
};
WSock g_ws[ESP_LINKS];

int link_of(int sock)
{
    int i = sock - WIFI_SOCK_BASE;
    return i >= 0 && i < ESP_LINKS && g_ws[i].used ? i : -1;
}

void ip_text(uint32_t ip, char out[16])
{
    vnet_format_ip(ip, out);
}

void on_event(int ev, int link, void *)
{
    if (ev == ESP_EV_LINK && link >= 0 && link < ESP_LINKS) {
        WSock &w = g_ws[link];
        if (w.used && w.cb) {
            w.cb(WIFI_SOCK_BASE + link, esp_link_lost(link) ? VNET_EV_CLOSED | VNET_EV_READABLE : VNET_EV_READABLE,
                 w.ctx);
        }
    } else if (ev == ESP_EV_WIFI) {
        ESP8266Interface::status_changed();
    }
}

void on_rx(void *)
{
    g_pump.mark();
}

int ws_socket(vnet_proto_t proto)
{
    for (int i = 0; i < ESP_LINKS; i++) {
        if (!g_ws[i].used) {
            g_ws[i] = WSock{};
            g_ws[i].used = true;
            g_ws[i].tcp = proto == VNET_TCP;
            return WIFI_SOCK_BASE + i;
        }
    }
    return VNET_ERR_NO_MEMORY;
}

int ws_close(int sock)
{
    int i = link_of(sock);
    if (i < 0) {
        return VNET_ERR_NO_SOCKET;
    }
    int r = VNET_OK;
    if (g_ws[i].started) {
        r = esp_link_close(i);
    }
    g_ws[i] = WSock{};
    return r;
}

int ws_bind(int sock, const vnet_endpoint_t *ep)
{
    int i = link_of(sock);
    if (i < 0) {
        return VNET_ERR_NO_SOCKET;
    }
    if (g_ws[i].tcp || ep->ip != 0) {
        return VNET_ERR_UNSUPPORTED; /* as Mbed's driver: TCP bind, address bind */
    }
    if (g_ws[i].started) {
        return VNET_ERR_PARAMETER;
    }
    for (int j = 0; j < ESP_LINKS; j++) {
        if (j != i && g_ws[j].used && ep->port && g_ws[j].bound_port == ep->port) {
            return VNET_ERR_PARAMETER;
        }
    }
    g_ws[i].bound_port = ep->port;
    return VNET_OK;
}

int ws_connect(int sock, const vnet_endpoint_t *ep)
{
    int i = link_of(sock);
    if (i < 0) {
        return VNET_ERR_NO_SOCKET;
    }
    WSock &w = g_ws[i];
    if (!w.tcp) {
        return VNET_ERR_UNSUPPORTED;
    }
    if (w.started && esp_link_open(i)) {
        return VNET_ERR_IS_CONNECTED;
    }
    char ip[16];
    ip_text(ep->ip, ip);
    int r = esp_link_open_tcp(i, ip, ep->port, w.keepalive);
    if (r == ESP_OK) {
        w.started = true;
        if (w.cb) {
            w.cb(sock, VNET_EV_WRITABLE, w.ctx);
        }
    }
    return r;
}

int ws_unsupported_int(int, int) { return VNET_ERR_UNSUPPORTED; }
int ws_accept(int, vnet_endpoint_t *) { return VNET_ERR_UNSUPPORTED; }
int ws_shutdown(int) { return VNET_ERR_UNSUPPORTED; }

int ws_send(int sock, const void *data, size_t len)
{
    int i = link_of(sock);
    if (i < 0) {
        return VNET_ERR_NO_SOCKET;
    }
    WSock &w = g_ws[i];
    if (!w.tcp) {
        if (!w.started) {
            return VNET_ERR_NO_ADDRESS;
        }
        return esp_link_send(i, data, len, nullptr, 0);
    }
    if (!w.started) {
        return VNET_ERR_NO_CONNECTION;
    }
    if (!esp_link_open(i)) {
        return VNET_ERR_CONNECTION_LOST;
    }
    return esp_link_send(i, data, len, nullptr, 0);
}

int ws_recv(int sock, void *buf, size_t len)
{
    int i = link_of(sock);
    if (i < 0) {
        return VNET_ERR_NO_SOCKET;
    }
    WSock &w = g_ws[i];
    if (!w.tcp) {
        return esp_link_recvfrom(i, buf, len, nullptr, nullptr);
    }
    if (!w.started) {
        return VNET_ERR_NO_CONNECTION;
    }
    return esp_link_recv(i, buf, len);
}

int udp_start(int i, const char *ip, uint16_t port)
{
    WSock &w = g_ws[i];
    int r = w.bound_port ? esp_link_open_udp(i, ip, port, w.bound_port, 2) : esp_link_open_udp(i, ip, port, 0, 0);
    if (r == ESP_OK) {
        w.started = true;
    }
    return r;
}

int ws_sendto(int sock, const vnet_endpoint_t *ep, const void *data, size_t len)
{
    int i = link_of(sock);
    if (i < 0) {
        return VNET_ERR_NO_SOCKET;
    }
    WSock &w = g_ws[i];
    if (w.tcp) {
        return ws_send(sock, data, len);
    }
    if (ep->ip == 0 || ep->port == 0) {
        return VNET_ERR_DNS_FAILURE;
    }
    if (len == 0) {
        return VNET_ERR_UNSUPPORTED;
    }
    char ip[16];
    ip_text(ep->ip, ip);
    if (!w.started || !esp_link_open(i)) {
        int r = udp_start(i, ip, ep->port);
        if (r != ESP_OK) {
            return r;
        }
        w.peer_ip = ep->ip;
        w.peer_port = ep->port;
    }
    if (ep->ip == w.peer_ip && ep->port == w.peer_port) {
        return esp_link_send(i, data, len, nullptr, 0);
    }
    return esp_link_send(i, data, len, ip, ep->port);
}

int ws_recvfrom(int sock, vnet_endpoint_t *ep, void *buf, size_t len)
{
    int i = link_of(sock);
    if (i < 0) {
        return VNET_ERR_NO_SOCKET;
    }
    WSock &w = g_ws[i];
    if (w.tcp) {
        int r = ws_recv(sock, buf, len);
        return r;
    }
    if (!w.started && w.bound_port) {
        /* a bound UDP socket receives before sending: open the link as Mbed does */
        int r = udp_start(i, "127.0.0.1", w.bound_port);
        if (r != ESP_OK) {
            return r;
        }
    }
    uint32_t ip = 0;
    uint16_t port = 0;
    int r = esp_link_recvfrom(i, buf, len, &ip, &port);
    if (r >= 0 && ep) {
        ep->ip = ip;
        ep->port = port;
    }
    return r;
}

void ws_set_callback(int sock, vnet_event_cb cb, void *ctx)
{
    int i = link_of(sock);
    if (i >= 0) {
        g_ws[i].cb = cb;
        g_ws[i].ctx = ctx;
    }
}

int ws_set_option(int sock, int option, const void *value, size_t len)
{
    int i = link_of(sock);
    if (i < 0) {
        return VNET_ERR_NO_SOCKET;
    }
    if (option == VNET_OPT_KEEPALIVE && g_ws[i].tcp) {
        if (g_ws[i].started) {
            return VNET_ERR_UNSUPPORTED;
        }
        if (!value || len != sizeof(int)) {
            return VNET_ERR_PARAMETER;
        }
        int v;
        memcpy(&v, value, sizeof v);
        if (v < 0 || v > 7200) {
            return VNET_ERR_PARAMETER;
        }
        g_ws[i].keepalive = v;
        return VNET_OK;
    }
    return VNET_ERR_UNSUPPORTED;
}

int ws_get_option(int sock, int option, void *value, size_t *len)
{
    int i = link_of(sock);
    if (i < 0) {
        return VNET_ERR_NO_SOCKET;
    }
    if (option == VNET_OPT_KEEPALIVE && g_ws[i].tcp && value && len && *len >= sizeof(int)) {
        memcpy(value, &g_ws[i].keepalive, sizeof(int));
        *len = sizeof(int);
        return VNET_OK;
    }
    return VNET_ERR_UNSUPPORTED;
}

void ws_poll()
{
    esp_poll();
}

const wifi_socket_ops g_ops = {
    ws_socket, ws_close,  ws_bind,     ws_connect,      ws_unsupported_int, ws_accept,     ws_send,  ws_recv,
    ws_sendto, ws_recvfrom, ws_shutdown, ws_set_callback, ws_set_option,      ws_get_option, ws_poll,
};

void install()
{
    if (!g_wifi_socket_ops) {
        esp_set_event_hook(on_event, nullptr);
        esp_set_rx_hook(on_rx, nullptr);
        g_pump.link();
        g_wifi_socket_ops = &g_ops;
    }
}

nsapi_security_t default_security()
{
#define ESP_SEC_(x) NSAPI_SECURITY_##x
#define ESP_SEC(x) ESP_SEC_(x)
    return ESP_SEC(MBED_CONF_NSAPI_DEFAULT_WIFI_SECURITY);
#undef ESP_SEC
#undef ESP_SEC_
}

} // namespace

/* ---- ESP8266Interface ------------------------------------------------------ */

ESP8266Interface::ESP8266Interface()
{
    install();
    set_credentials(MBED_CONF_NSAPI_DEFAULT_WIFI_SSID, MBED_CONF_NSAPI_DEFAULT_WIFI_PASSWORD, default_security());
}

ESP8266Interface::~ESP8266Interface()
{
    for (ESP8266Interface *&slot : g_ifaces) {
        if (slot == this) {
            slot = nullptr;
        }
    }
}

void ESP8266Interface::status_changed()
{
    for (ESP8266Interface *ni : g_ifaces) {
        if (ni) {
            ni->mark();
        }
    }
}

nsapi_error_t ESP8266Interface::set_credentials(const char *ssid, const char *pass, nsapi_security_t security)
{
    if (!ssid || !*ssid || strlen(ssid) > 32) {
        return NSAPI_ERROR_PARAMETER;
    }
    size_t plen = pass ? strlen(pass) : 0;
    if (security != NSAPI_SECURITY_NONE && security != NSAPI_SECURITY_WEP && security != NSAPI_SECURITY_WPA &&
        security != NSAPI_SECURITY_WPA2 && security != NSAPI_SECURITY_WPA_WPA2) {
        return NSAPI_ERROR_UNSUPPORTED;
    }
    if (security != NSAPI_SECURITY_NONE && (plen < 8 || plen > 63)) {
        return NSAPI_ERROR_PARAMETER;
    }
    if (plen > 63) {
        return NSAPI_ERROR_PARAMETER;
    }
    strcpy(_ssid, ssid);
    strcpy(_pass, security == NSAPI_SECURITY_NONE ? "" : pass);
    _security = security;
    return NSAPI_ERROR_OK;
}

nsapi_error_t ESP8266Interface::set_channel(uint8_t)
{
    return NSAPI_ERROR_UNSUPPORTED;
}

int8_t ESP8266Interface::get_rssi()
{
    if (esp_wifi_state() != ESP_WIFI_UP) {
        return 0;
    }
    int rssi = 0;
    if (esp_get_rssi(&rssi) != ESP_OK) {
        return 0;
    }
    return int8_t(rssi);
}

nsapi_error_t ESP8266Interface::connect(const char *ssid, const char *pass, nsapi_security_t security,
                                        uint8_t channel)
{
    if (channel != 0) {
        return NSAPI_ERROR_UNSUPPORTED;
    }
    if (!ssid || !*ssid) {
        return NSAPI_ERROR_NO_SSID;
    }
    nsapi_error_t r = set_credentials(ssid, pass, security);
    if (r != NSAPI_ERROR_OK) {
        return r;
    }
    return connect();
}

nsapi_error_t ESP8266Interface::connect()
{
    if (!_ssid[0]) {
        return NSAPI_ERROR_NO_SSID;
    }
    if (esp_wifi_state() == ESP_WIFI_UP) {
        return NSAPI_ERROR_IS_CONNECTED;
    }
    if (esp_wifi_state() == ESP_WIFI_CONNECTING && esp_initialized()) {
        /* the module rejoins by itself after losing the AP: wait for it briefly */
        uint32_t start = now_ms();
        while (esp_wifi_state() == ESP_WIFI_CONNECTING && remaining(start, 2000)) {
            service(remaining(start, 2000));
        }
        if (esp_wifi_state() == ESP_WIFI_UP) {
            mark();
            return NSAPI_ERROR_OK;
        }
    }
    if (esp_init() != ESP_OK) {
        mark();
        return NSAPI_ERROR_DEVICE_ERROR;
    }
    int r = esp_join(_ssid, _pass);
    mark();
    return r;
}

nsapi_error_t ESP8266Interface::disconnect()
{
    if (!esp_initialized() || esp_wifi_state() == ESP_WIFI_DOWN) {
        return NSAPI_ERROR_NO_CONNECTION;
    }
    int r = esp_quit();
    mark();
    return r == ESP_OK ? NSAPI_ERROR_OK : NSAPI_ERROR_DEVICE_ERROR;
}

namespace {
struct ScanCtx {
    WiFiAccessPoint *res;
    nsapi_size_t count;
    nsapi_size_t n;
};
void on_ap(const esp_ap_t *ap, void *vctx)
{
    ScanCtx *c = static_cast<ScanCtx *>(vctx);
    if (c->res && c->n < c->count) {
        nsapi_wifi_ap_t a = {};
        memcpy(a.ssid, ap->ssid, sizeof a.ssid);
        a.ssid[sizeof a.ssid - 1] = '\0';
        memcpy(a.bssid, ap->bssid, 6);
        a.security = ap->ecn >= 0 && ap->ecn <= 4 ? nsapi_security_t(ap->ecn) : NSAPI_SECURITY_UNKNOWN;
        a.rssi = int8_t(ap->rssi);
        a.channel = uint8_t(ap->channel);
        c->res[c->n] = WiFiAccessPoint(a);
    }
    c->n++;
}
} // namespace

nsapi_size_or_error_t ESP8266Interface::scan(WiFiAccessPoint *res, nsapi_size_t count)
{
    if (esp_init() != ESP_OK) {
        return NSAPI_ERROR_DEVICE_ERROR;
    }
    ScanCtx c = {res, count, 0};
    int r = esp_scan(on_ap, &c);
    if (r < 0) {
        return r;
    }
    return nsapi_size_or_error_t(count && res && c.n > count ? count : c.n);
}

const char *ESP8266Interface::get_mac_address()
{
    static char mac[NSAPI_MAC_SIZE];
    if (esp_init() != ESP_OK || esp_get_mac(mac) != ESP_OK) {
        return nullptr;
    }
    return mac;
}

static nsapi_error_t sta_addr(SocketAddress *address, int which)
{
    if (!address) {
        return NSAPI_ERROR_PARAMETER;
    }
    if (esp_wifi_state() != ESP_WIFI_UP) {
        return NSAPI_ERROR_NO_ADDRESS;
    }
    char t[3][16];
    int r = which == 0 ? esp_get_ip(t[0]) : esp_get_sta(t[0], t[1], t[2]);
    if (r != ESP_OK) {
        return NSAPI_ERROR_DEVICE_ERROR;
    }
    if (!address->set_ip_address(t[which]) || !*address) {
        return NSAPI_ERROR_NO_ADDRESS;
    }
    return NSAPI_ERROR_OK;
}

nsapi_error_t ESP8266Interface::get_ip_address(SocketAddress *address)
{
    return sta_addr(address, 0);
}
nsapi_error_t ESP8266Interface::get_gateway(SocketAddress *address)
{
    return sta_addr(address, 1);
}
nsapi_error_t ESP8266Interface::get_netmask(SocketAddress *address)
{
    return sta_addr(address, 2);
}

nsapi_error_t ESP8266Interface::set_network(const SocketAddress &, const SocketAddress &, const SocketAddress &)
{
    return NSAPI_ERROR_UNSUPPORTED; /* static addressing: not offered by this port */
}

nsapi_error_t ESP8266Interface::set_dhcp(bool dhcp)
{
    return dhcp ? NSAPI_ERROR_OK : NSAPI_ERROR_UNSUPPORTED;
}

nsapi_error_t ESP8266Interface::gethostbyname(const char *host, SocketAddress *address, nsapi_version_t version,
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
    if (esp_wifi_state() != ESP_WIFI_UP) {
        return NSAPI_ERROR_NO_CONNECTION;
    }
    char ip[16];
    if (esp_dns(host, ip) != ESP_OK || !address->set_ip_address(ip)) {
        return NSAPI_ERROR_DNS_FAILURE;
    }
    address->set_port(port);
    return NSAPI_ERROR_OK;
}

static nsapi_connection_status_t status_now()
{
    switch (esp_wifi_state()) {
    case ESP_WIFI_UP:
        return NSAPI_STATUS_GLOBAL_UP;
    case ESP_WIFI_CONNECTING:
        return NSAPI_STATUS_CONNECTING;
    default:
        return NSAPI_STATUS_DISCONNECTED;
    }
}

nsapi_connection_status_t ESP8266Interface::get_connection_status() const
{
    return status_now();
}

void ESP8266Interface::attach(mbed::Callback<void(nsapi_event_t, intptr_t)> status_cb)
{
    _status_cb = status_cb;
    _reported = status_now();
    link();
    for (ESP8266Interface *&slot : g_ifaces) {
        if (slot == this || slot == nullptr) {
            slot = this;
            break;
        }
    }
}

void ESP8266Interface::deliver()
{
    nsapi_connection_status_t now = status_now();
    if (now != _reported) {
        _reported = now;
        if (_status_cb) {
            _status_cb(NSAPI_EVENT_CONNECTION_STATUS_CHANGE, intptr_t(now));
        }
    }
}

int ESP8266Interface::at_version() const
{
    return esp_at_version();
}
int ESP8266Interface::sdk_version() const
{
    return esp_sdk_version();
}

WiFiInterface *WiFiInterface::get_default_instance()
{
    alignas(ESP8266Interface) static unsigned char mem[sizeof(ESP8266Interface)];
    static ESP8266Interface *wifi;
    if (!wifi) {
        wifi = new (mem) ESP8266Interface();
    }
    return wifi;
}
