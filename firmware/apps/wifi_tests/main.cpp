/* wifi_tests: Mbed OS Wi-Fi interface cases (connectivity/netsocket/tests/
 * TESTS/network/wifi and network/interface) on the ESP8266 module of
 * mps2-an385-wifi. Expects the platform's access points: "vboard" (WPA2,
 * "vboard-secret", channel 6, -45 dBm, 02:00:00:00:00:01) and "vboard-open"
 * (open, channel 11, -67 dBm). One "PASS <CASE>" / "FAIL <CASE>: why" line
 * per case, then "N passed, N failed"; the exit code is the failure count.
 *
 * WIFI-AP-LOSS-RECONNECT runs when the semihosting command line contains
 * "ap-loss" (tests/test_wifi_firmware.py removes the AP from the module model
 * once the case prints "waiting for the AP to go"): with a TCP socket open,
 * the status callback must see DISCONNECTED and the socket
 * NSAPI_ERROR_CONNECTION_LOST; then it reconnects to "vboard-open" and echoes. */
#include <string.h>

#include "ESP8266Interface.h"
#include "mbed.h"
#include "../testcase.h"
#include "semihost.h"

#ifndef WIFI_SECURE_SSID
#define WIFI_SECURE_SSID "vboard"
#endif
#ifndef WIFI_SECURE_PASS
#define WIFI_SECURE_PASS "vboard-secret"
#endif
#ifndef WIFI_OPEN_SSID
#define WIFI_OPEN_SSID "vboard-open"
#endif

static WiFiInterface *wifi;


/* status callback log */
static nsapi_connection_status_t status_log[16];
static int status_n;
static void on_status(nsapi_event_t ev, intptr_t val)
{
    if (ev == NSAPI_EVENT_CONNECTION_STATUS_CHANGE && status_n < 16) {
        status_log[status_n++] = nsapi_connection_status_t(val);
    }
}
static bool status_seen(nsapi_connection_status_t s)
{
    for (int i = 0; i < status_n; i++) {
        if (status_log[i] == s) {
            return true;
        }
    }
    return false;
}

static bool wifi_constructor()
{
    CHECK(wifi != nullptr, "no default WiFiInterface");
    CHECK(NetworkInterface::get_default_instance() == wifi, "default NetworkInterface is not the Wi-Fi one");
    CHECK(wifi->wifiInterface() == wifi, "wifiInterface()");
    CHECK(wifi->ethInterface() == nullptr, "ethInterface()");
    ESP8266Interface other;
    CHECK(other.get_connection_status() == NSAPI_STATUS_DISCONNECTED, "status %d", other.get_connection_status());
    return true;
}

static bool wifi_set_credential()
{
    ESP8266Interface w;
    struct {
        const char *ssid, *pass;
        nsapi_security_t sec;
        nsapi_error_t want;
    } t[] = {
        {nullptr, nullptr, NSAPI_SECURITY_NONE, NSAPI_ERROR_PARAMETER},
        {"", "", NSAPI_SECURITY_NONE, NSAPI_ERROR_PARAMETER},
        {"ssid", nullptr, NSAPI_SECURITY_NONE, NSAPI_ERROR_OK},
        {"ssid", "", NSAPI_SECURITY_NONE, NSAPI_ERROR_OK},
        {"ssid", "short", NSAPI_SECURITY_WPA2, NSAPI_ERROR_PARAMETER},
        {"ssid", "", NSAPI_SECURITY_WPA2, NSAPI_ERROR_PARAMETER},
        {"ssid", "password", NSAPI_SECURITY_WPA2, NSAPI_ERROR_OK},
        {"ssid", "password", NSAPI_SECURITY_WPA_WPA2, NSAPI_ERROR_OK},
        {"ssid", "password", NSAPI_SECURITY_WEP, NSAPI_ERROR_OK},
        {"123456789012345678901234567890123", "password", NSAPI_SECURITY_WPA2, NSAPI_ERROR_PARAMETER},
        {"ssid", "1234567890123456789012345678901234567890123456789012345678901234", NSAPI_SECURITY_WPA2,
         NSAPI_ERROR_PARAMETER},
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        nsapi_error_t r = w.set_credentials(t[i].ssid, t[i].pass, t[i].sec);
        CHECK(r == t[i].want, "row %u: %d, want %d", i, r, t[i].want);
    }
    return true;
}

static bool wifi_set_channel()
{
    nsapi_error_t r = wifi->set_channel(6);
    CHECK(r == NSAPI_ERROR_UNSUPPORTED || r == NSAPI_ERROR_OK, "set_channel %d", r);
    return true;
}

static bool wifi_connect_params_null()
{
    nsapi_error_t r = wifi->connect(nullptr, nullptr);
    CHECK(r == NSAPI_ERROR_PARAMETER || r == NSAPI_ERROR_NO_SSID, "connect(NULL) %d", r);
    r = wifi->connect("", "");
    CHECK(r == NSAPI_ERROR_PARAMETER || r == NSAPI_ERROR_NO_SSID, "connect(\"\") %d", r);
    return true;
}

static bool wifi_scan_null()
{
    nsapi_size_or_error_t n = wifi->scan(nullptr, 0);
    CHECK(n >= 2, "scan(NULL, 0) %d", n);
    return true;
}

static bool wifi_scan()
{
    WiFiAccessPoint ap[8];
    nsapi_size_or_error_t n = wifi->scan(ap, 8);
    CHECK(n >= 2, "scan %d", n);
    bool secure = false, open = false;
    for (int i = 0; i < n; i++) {
        const uint8_t *b = ap[i].get_bssid();
        CHECK(ap[i].get_rssi() < -10 && ap[i].get_rssi() > -100, "%s rssi %d", ap[i].get_ssid(), ap[i].get_rssi());
        if (strcmp(ap[i].get_ssid(), WIFI_SECURE_SSID) == 0) {
            secure = true;
            CHECK(ap[i].get_security() == NSAPI_SECURITY_WPA2 || ap[i].get_security() == NSAPI_SECURITY_WPA_WPA2,
                  "secure AP security %d", ap[i].get_security());
            CHECK(ap[i].get_channel() == 6, "secure AP channel %u", ap[i].get_channel());
            CHECK(b[0] == 2 && b[5] == 1, "secure AP bssid %02x..%02x", b[0], b[5]);
        } else if (strcmp(ap[i].get_ssid(), WIFI_OPEN_SSID) == 0) {
            open = true;
            CHECK(ap[i].get_security() == NSAPI_SECURITY_NONE, "open AP security %d", ap[i].get_security());
            CHECK(ap[i].get_channel() == 11, "open AP channel %u", ap[i].get_channel());
        }
    }
    CHECK(secure && open, "secure %d open %d", secure, open);
    WiFiAccessPoint one[1];
    n = wifi->scan(one, 1);
    CHECK(n == 1, "scan(res, 1) %d", n);
    return true;
}

static bool wifi_connect_secure_fail()
{
    nsapi_error_t r = wifi->connect(WIFI_SECURE_SSID, "wrong-password", NSAPI_SECURITY_WPA2);
    CHECK(r == NSAPI_ERROR_AUTH_FAILURE, "connect with a wrong password %d", r);
    CHECK(wifi->get_connection_status() == NSAPI_STATUS_DISCONNECTED, "status %d", wifi->get_connection_status());
    return true;
}

static bool wifi_connect_nossid()
{
    nsapi_error_t r = wifi->connect("no-such-ap", "password1", NSAPI_SECURITY_WPA2);
    CHECK(r == NSAPI_ERROR_NO_SSID, "connect to an unknown SSID %d", r);
    return true;
}

static bool wifi_connect_params_channel()
{
    nsapi_error_t r = wifi->connect(WIFI_SECURE_SSID, WIFI_SECURE_PASS, NSAPI_SECURITY_WPA2, 6);
    CHECK(r == NSAPI_ERROR_UNSUPPORTED || r == NSAPI_ERROR_OK, "connect on channel 6: %d", r);
    if (r == NSAPI_ERROR_OK) {
        wifi->disconnect();
    }
    return true;
}

static bool wifi_connect_params_valid_secure()
{
    status_n = 0;
    wifi->attach(on_status);
    nsapi_error_t r = wifi->connect(WIFI_SECURE_SSID, WIFI_SECURE_PASS, NSAPI_SECURITY_WPA2);
    CHECK(r == NSAPI_ERROR_OK, "connect %d", r);
    CHECK(wifi->get_connection_status() == NSAPI_STATUS_GLOBAL_UP, "status %d", wifi->get_connection_status());
    SocketAddress a;
    CHECK(wifi->get_ip_address(&a) == NSAPI_ERROR_OK, "get_ip_address");
    CHECK(strcmp(a.get_ip_address(), "10.0.2.15") == 0, "ip %s", a.get_ip_address());
    CHECK(wifi->get_gateway(&a) == NSAPI_ERROR_OK && strcmp(a.get_ip_address(), "10.0.2.2") == 0, "gateway %s",
          a.get_ip_address() ? a.get_ip_address() : "none");
    CHECK(wifi->get_netmask(&a) == NSAPI_ERROR_OK && strcmp(a.get_ip_address(), "255.255.255.0") == 0, "netmask");
    const char *mac = wifi->get_mac_address();
    CHECK(mac && strlen(mac) == 17, "mac %s", mac ? mac : "none");
    r = wifi->connect();
    CHECK(r == NSAPI_ERROR_IS_CONNECTED, "second connect %d", r);
    rtos::ThisThread::sleep_for(10);
    CHECK(status_seen(NSAPI_STATUS_GLOBAL_UP), "no GLOBAL_UP status event (%d events)", status_n);
    printf("wifi_tests: ip 10.0.2.15, mac %s, AT %d, SDK %d\n", mac,
           static_cast<ESP8266Interface *>(wifi)->at_version(), static_cast<ESP8266Interface *>(wifi)->sdk_version());
    return true;
}

static bool wifi_get_rssi()
{
    int8_t rssi = wifi->get_rssi();
    CHECK(rssi < -10 && rssi > -100, "rssi %d", rssi);
    CHECK(rssi == -45, "rssi %d, want the platform's -45", rssi);
    return true;
}

static bool wifi_socket_echo()
{
    /* One TCP and one UDP exchange with the module's echo service (port 7). */
    TCPSocket s;
    CHECK(s.open(wifi) == NSAPI_ERROR_OK, "open");
    SocketAddress to("10.0.2.2", 7);
    nsapi_error_t r = s.connect(to);
    CHECK(r == NSAPI_ERROR_OK, "connect %d", r);
    CHECK(s.send("hello wifi", 10) == 10, "send");
    char buf[32] = {};
    int got = 0;
    s.set_timeout(5000);
    while (got < 10) {
        int n = s.recv(buf + got, sizeof buf - 1 - got);
        CHECK(n > 0, "recv %d", n);
        got += n;
    }
    CHECK(memcmp(buf, "hello wifi", 10) == 0, "echo %s", buf);
    s.close();
    UDPSocket u;
    CHECK(u.open(wifi) == NSAPI_ERROR_OK, "udp open");
    u.set_timeout(5000);
    CHECK(u.sendto(to, "datagram", 8) == 8, "sendto");
    SocketAddress from;
    int n = u.recvfrom(&from, buf, sizeof buf);
    CHECK(n == 8 && memcmp(buf, "datagram", 8) == 0, "udp echo %d", n);
    CHECK(from.get_port() == 7, "from port %u", from.get_port());
    u.close();
    return true;
}

static bool wifi_disconnect()
{
    status_n = 0;
    nsapi_error_t r = wifi->disconnect();
    CHECK(r == NSAPI_ERROR_OK, "disconnect %d", r);
    CHECK(wifi->get_connection_status() == NSAPI_STATUS_DISCONNECTED, "status %d", wifi->get_connection_status());
    rtos::ThisThread::sleep_for(10);
    CHECK(status_seen(NSAPI_STATUS_DISCONNECTED), "no DISCONNECTED status event");
    r = wifi->disconnect();
    CHECK(r == NSAPI_ERROR_NO_CONNECTION, "second disconnect %d", r);
    SocketAddress a;
    CHECK(wifi->get_ip_address(&a) == NSAPI_ERROR_NO_ADDRESS, "address while down");
    return true;
}

static bool wifi_connect_open()
{
    nsapi_error_t r = wifi->connect(WIFI_OPEN_SSID, nullptr, NSAPI_SECURITY_NONE);
    CHECK(r == NSAPI_ERROR_OK, "connect to the open AP %d", r);
    int8_t rssi = wifi->get_rssi();
    CHECK(rssi == -67, "rssi %d", rssi);
    CHECK(wifi->disconnect() == NSAPI_ERROR_OK, "disconnect");
    return true;
}

static bool wifi_connect_disconnect_repeat()
{
    for (int i = 0; i < 5; i++) {
        nsapi_error_t r = wifi->connect(WIFI_SECURE_SSID, WIFI_SECURE_PASS, NSAPI_SECURITY_WPA2);
        CHECK(r == NSAPI_ERROR_OK, "round %d connect %d", i, r);
        r = wifi->disconnect();
        CHECK(r == NSAPI_ERROR_OK, "round %d disconnect %d", i, r);
    }
    return true;
}

static bool wifi_default_credentials()
{
    /* connect() without arguments: the compile-time default credentials */
    ESP8266Interface w;
    nsapi_error_t r = w.connect();
    CHECK(r == NSAPI_ERROR_OK, "connect with the default credentials %d", r);
    r = wifi->connect();
    CHECK(r == NSAPI_ERROR_IS_CONNECTED, "other instance %d", r);
    return true;
}

static bool wifi_ap_loss_reconnect()
{
    status_n = 0;
    TCPSocket s;
    CHECK(s.open(wifi) == NSAPI_ERROR_OK, "open");
    CHECK(s.connect(SocketAddress("10.0.2.2", 7)) == NSAPI_ERROR_OK, "connect");
    printf("wifi_tests: waiting for the AP to go\n");
    s.set_timeout(20000);
    char buf[8];
    int r = s.recv(buf, sizeof buf);
    CHECK(r == NSAPI_ERROR_CONNECTION_LOST, "recv after AP loss %d", r);
    r = s.send("x", 1);
    CHECK(r == NSAPI_ERROR_CONNECTION_LOST, "send after AP loss %d", r);
    rtos::ThisThread::sleep_for(10);
    CHECK(status_seen(NSAPI_STATUS_DISCONNECTED), "no DISCONNECTED status event");
    CHECK(wifi->get_connection_status() == NSAPI_STATUS_DISCONNECTED, "status %d", wifi->get_connection_status());
    s.close();
    nsapi_error_t e = wifi->connect(WIFI_OPEN_SSID, nullptr, NSAPI_SECURITY_NONE);
    CHECK(e == NSAPI_ERROR_OK, "reconnect to the open AP %d", e);
    TCPSocket t;
    t.open(wifi);
    CHECK(t.connect(SocketAddress("10.0.2.2", 7)) == NSAPI_ERROR_OK, "connect after reconnect");
    CHECK(t.send("ok", 2) == 2, "send after reconnect");
    t.set_timeout(5000);
    CHECK(t.recv(buf, sizeof buf) > 0, "echo after reconnect");
    t.close();
    return true;
}

/* SYS_GET_CMDLINE (0x15): does the host ask for the AP-loss case? */
static bool cmdline_has(const char *word)
{
    static char buf[128];
    struct {
        char *p;
        uint32_t len;
    } arg = {buf, sizeof buf};
    if (semihost_call(0x15, &arg) != 0) {
        return false;
    }
    buf[sizeof buf - 1] = '\0';
    return strstr(buf, word) != nullptr;
}

int main()
{
    printf("wifi_tests: start\n");
    wifi = WiFiInterface::get_default_instance();
    run("WIFI-CONSTRUCTOR", wifi_constructor);
    run("WIFI-SET-CREDENTIAL", wifi_set_credential);
    run("WIFI-SET-CHANNEL", wifi_set_channel);
    run("WIFI-CONNECT-PARAMS-NULL", wifi_connect_params_null);
    run("WIFI-SCAN-NULL", wifi_scan_null);
    run("WIFI-SCAN", wifi_scan);
    run("WIFI-CONNECT-SECURE-FAIL", wifi_connect_secure_fail);
    run("WIFI-CONNECT-NOSSID", wifi_connect_nossid);
    run("WIFI-CONNECT-PARAMS-CHANNEL", wifi_connect_params_channel);
    run("WIFI-CONNECT-PARAMS-VALID-SECURE", wifi_connect_params_valid_secure);
    run("WIFI-GET-RSSI", wifi_get_rssi);
    run("WIFI-SOCKET-ECHO", wifi_socket_echo);
    run("WIFI-DISCONNECT", wifi_disconnect);
    run("WIFI-CONNECT-OPEN", wifi_connect_open);
    run("WIFI-CONNECT-DISCONNECT-REPEAT", wifi_connect_disconnect_repeat);
    run("WIFI-DEFAULT-CREDENTIALS", wifi_default_credentials);
    if (cmdline_has("ap-loss")) {
        run("WIFI-AP-LOSS-RECONNECT", wifi_ap_loss_reconnect);
    }
    printf("wifi_tests: %d passed, %d failed\n", passed, failed);
    return failed;
}
