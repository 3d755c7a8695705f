/* WiFiInterface and WiFiAccessPoint (Mbed OS 6 netsocket/WiFiInterface.h,
 * WiFiAccessPoint.h): the abstract Wi-Fi station interface. */
#ifndef MBED_WIFIINTERFACE_H
#define MBED_WIFIINTERFACE_H

#include <string.h>

#include "NetworkInterface.h"
#include "nsapi_types.h"

#ifndef MBED_NSAPI_WIFI_AP_T
#define MBED_NSAPI_WIFI_AP_T
typedef struct nsapi_wifi_ap {
    char ssid[33]; /* 32 bytes + NUL */
    uint8_t bssid[6];
    nsapi_security_t security;
    int8_t rssi;
    uint8_t channel;
} nsapi_wifi_ap_t;
#endif

class WiFiAccessPoint {
public:
    WiFiAccessPoint() { memset(&_ap, 0, sizeof _ap); }
    explicit WiFiAccessPoint(const nsapi_wifi_ap_t &ap) : _ap(ap) {}

    const char *get_ssid() const { return _ap.ssid; }
    const uint8_t *get_bssid() const { return _ap.bssid; }
    nsapi_security_t get_security() const { return _ap.security; }
    int8_t get_rssi() const { return _ap.rssi; }
    uint8_t get_channel() const { return _ap.channel; }

private:
    nsapi_wifi_ap_t _ap;
};

class WiFiInterface : public NetworkInterface {
public:
    /* ssid <= 32 bytes, pass <= 63 (>= 8 unless NSAPI_SECURITY_NONE). */
    virtual nsapi_error_t set_credentials(const char *ssid, const char *pass,
                                          nsapi_security_t security = NSAPI_SECURITY_NONE) = 0;
    virtual nsapi_error_t set_channel(uint8_t channel) = 0;
    /* dBm of the joined AP; 0 when not connected. */
    virtual int8_t get_rssi() = 0;
    virtual nsapi_error_t connect(const char *ssid, const char *pass,
                                  nsapi_security_t security = NSAPI_SECURITY_NONE, uint8_t channel = 0) = 0;
    nsapi_error_t connect() override = 0;
    nsapi_error_t disconnect() override = 0;
    /* Fills up to count entries (count 0 / res NULL: just counts); returns the number found. */
    virtual nsapi_size_or_error_t scan(WiFiAccessPoint *res, nsapi_size_t count) = 0;

    WiFiInterface *wifiInterface() override { return this; }

    /* The board's Wi-Fi module (ESP8266Interface). */
    static WiFiInterface *get_default_instance();
};

#endif
