/*
 * esp8266: AT-command driver for an ESP8266 running Espressif NonOS AT 1.7.x
 * (the dialect Mbed OS's ESP8266Interface speaks), on the MPS2-AN385's UART1
 * (0x40005000, RX IRQ 2).
 *
 * Baud rate: the module powers up at ESP_DEFAULT_BAUD (115200). When the
 * program's esp8266.serial-baudrate (esp_serial_baudrate, see below) differs,
 * esp_init() sends AT+UART_CUR=<baud>,8,1,0,0 after the module's reset, lets
 * the OK leave the wire, then reprograms UART1's BAUDDIV (baud = PCLK/BAUDDIV,
 * PCLK 25 MHz, BAUDDIV >= 16: at most 1562500) and checks AT -> OK at the new
 * rate, as Mbed's ESP8266::at_available() does. A module reboot (AT+RST, or a
 * `ready` nobody asked for) puts both ends back at ESP_DEFAULT_BAUD.
 *
 * Transport: UART1 RX interrupt into a ring buffer. When the ring is full the
 * ISR masks the interrupt and leaves the byte in the UART (the sender is held
 * back), so no byte is ever dropped. TX is polled.
 *
 * Protocol: one command at a time, synchronous, with timeouts in SysTick ms
 * (systick_ticks()). Waiting sleeps in WFI, so the driver never re-enters the
 * application: URCs (+IPD, <id>,CLOSED, WIFI ..., busy, ready) are parsed
 * while a command waits and by esp_poll() when idle, and reported through the
 * event hook. Passive TCP receive (AT+CIPRECVMODE=1 -> +IPD,<id>,<len>, then
 * AT+CIPRECVDATA); UDP stays active (+IPD,<id>,<len>,<ip>,<port>:<data>) and
 * datagrams are queued per link.
 *
 * Errors are the Mbed OS nsapi codes (same values as vnet's VNET_ERR_*).
 */
#ifndef ESP8266_DRIVER_H
#define ESP8266_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ESP_LINKS 5
#define ESP_MAX_SEND 2048

/* The module's power-on rate (Mbed's ESP8266_DEFAULT_SERIAL_BAUDRATE). */
#define ESP_DEFAULT_BAUD 115200u
/* Mbed's esp8266.serial-baudrate config option, default as in its mbed_lib.json. */
#ifndef MBED_CONF_ESP8266_SERIAL_BAUDRATE
#define MBED_CONF_ESP8266_SERIAL_BAUDRATE 115200
#endif
/* The rate esp_init() switches the link to. The driver's weak definition
 * returns MBED_CONF_ESP8266_SERIAL_BAUDRATE; a program picks its own (its
 * "mbed_app.json" override) with ESP8266_SERIAL_BAUDRATE_CONFIG(baud) in one
 * of its source files. BAUDDIV = 25 MHz / baud must be >= 16. (A function, not
 * a weak const: GCC folds the value of a weak const into the driver.) */
uint32_t esp_serial_baudrate(void);
#define ESP_PCLK_HZ 25000000u
#define ESP_MAX_BAUD (ESP_PCLK_HZ / 16u)
#ifdef __cplusplus
#define ESP8266_SERIAL_BAUDRATE_CONFIG(baud)                                                                       \
    static_assert((baud) >= 110 && (baud) <= ESP_MAX_BAUD, "esp8266.serial-baudrate out of range");                \
    extern "C" uint32_t esp_serial_baudrate(void) { return (baud); }
#else
#define ESP8266_SERIAL_BAUDRATE_CONFIG(baud)                                                                       \
    _Static_assert((baud) >= 110 && (baud) <= ESP_MAX_BAUD, "esp8266.serial-baudrate out of range");               \
    uint32_t esp_serial_baudrate(void) { return (baud); }
#endif

enum {
    ESP_OK = 0,
    ESP_ERR_WOULD_BLOCK = -3001,
    ESP_ERR_UNSUPPORTED = -3002,
    ESP_ERR_PARAMETER = -3003,
    ESP_ERR_NO_CONNECTION = -3004,
    ESP_ERR_NO_SOCKET = -3005,
    ESP_ERR_NO_ADDRESS = -3006,
    ESP_ERR_NO_MEMORY = -3007,
    ESP_ERR_NO_SSID = -3008,
    ESP_ERR_DNS_FAILURE = -3009,
    ESP_ERR_AUTH_FAILURE = -3011,
    ESP_ERR_DEVICE_ERROR = -3012,
    ESP_ERR_CONNECTION_LOST = -3016,
    ESP_ERR_CONNECTION_TIMEOUT = -3017,
    ESP_ERR_TIMEOUT = -3019,
};

/* Timeouts (ms), after Mbed's ESP8266.h. */
#define ESP_CONNECT_TIMEOUT 15000
#define ESP_SEND_TIMEOUT 2000
#define ESP_MISC_TIMEOUT 2000
#define ESP_DNS_TIMEOUT 15000
#define ESP_BOOT_TIMEOUT 10000
#define ESP_TCP_CONNECT_TIMEOUT 7000 /* the module waits up to 5 s for the peer */

typedef enum { ESP_WIFI_DOWN = 0, ESP_WIFI_CONNECTING, ESP_WIFI_UP } esp_wifi_state_t;

/* Events for the hook: a link changed (data, closed) or the Wi-Fi state. */
enum { ESP_EV_LINK = 1, ESP_EV_WIFI = 2 };
typedef void (*esp_event_hook_t)(int event, int link, void *ctx);

typedef struct {
    int ecn; /* 0 open, 1 WEP, 2 WPA, 3 WPA2, 4 WPA/WPA2 */
    char ssid[33];
    int rssi;
    uint8_t bssid[6];
    int channel;
} esp_ap_t;
typedef void (*esp_scan_cb_t)(const esp_ap_t *ap, void *ctx);

/* Called from the UART1 RX interrupt after bytes were queued (only mark!). */
void esp_set_rx_hook(void (*hook)(void *ctx), void *ctx);
/* Called from the parser (thread context) on link / Wi-Fi events. */
void esp_set_event_hook(esp_event_hook_t hook, void *ctx);

/* UART + module init: AT, AT+RST/ready, [AT+UART_CUR, BAUDDIV, AT], ATE0,
 * AT+GMR (version check), AT+CWMODE_DEF=1, AT+CIPRECVMODE=1, AT+CWMODE_CUR=1,
 * AT+CIPMUX=1, AT+CIPDINFO=1. Idempotent until a module reboot. */
int esp_init(void);
bool esp_initialized(void);
/* Module firmware versions parsed from AT+GMR (major*1e6+minor*1e4+patch*100). */
int esp_at_version(void);
int esp_sdk_version(void);

/* AT+CWJAP_CUR: OK, AUTH_FAILURE, NO_SSID, CONNECTION_TIMEOUT, DEVICE_ERROR. */
int esp_join(const char *ssid, const char *pass);
/* AT+CWQAP. */
int esp_quit(void);
esp_wifi_state_t esp_wifi_state(void);
/* Text addresses from AT+CIFSR / AT+CIPSTA_CUR? (bufs of 16 / 18 bytes). */
int esp_get_ip(char ip[16]);
int esp_get_mac(char mac[18]);
int esp_get_sta(char ip[16], char gw[16], char mask[16]);
/* AT+CWJAP_CUR? (rssi of the joined AP); 0 when not connected. */
int esp_get_rssi(int *rssi);
/* AT+CWLAP; returns the number of APs reported. */
int esp_scan(esp_scan_cb_t cb, void *ctx);
/* AT+CIPDOMAIN="name" -> ip text. */
int esp_dns(const char *name, char ip[16]);

/* Links. `ip` is dotted text. UDP: local_port 0 = ephemeral (mode ignored). */
int esp_link_open_tcp(int id, const char *ip, uint16_t port, int keepalive);
int esp_link_open_udp(int id, const char *ip, uint16_t port, uint16_t local_port, int mode);
/* CIPSEND (to `ip`/`port` when given, UDP only); waits for SEND OK. */
int esp_link_send(int id, const void *data, size_t len, const char *ip, uint16_t port);
/* TCP: CIPRECVDATA; 0 when the peer closed and nothing is left, WOULD_BLOCK. */
int esp_link_recv(int id, void *buf, size_t len);
/* UDP: one queued datagram (truncated to len); ip is network order. */
int esp_link_recvfrom(int id, void *buf, size_t len, uint32_t *ip, uint16_t *port);
int esp_link_close(int id);
bool esp_link_open(int id);       /* the module has the link */
bool esp_link_readable(int id);   /* data or a close to notice */
bool esp_link_lost(int id);       /* closed by the peer or by losing the AP */

/* Parse whatever the module sent meanwhile (URCs); never blocks. */
void esp_poll(void);
/* The baud rate UART1 and the module use now (ESP_DEFAULT_BAUD until the switch). */
uint32_t esp_baud(void);
/* Statistics (for tests). */
uint32_t esp_rx_bytes(void);
uint32_t esp_ring_stalls(void);

#ifdef __cplusplus
}
#endif

#endif
