/* wifi_station: a Wi-Fi station a test drives over UART0, for the Robot
 * suites and the RPC tests of the Wifi service (robot_tests/wifi_*.robot).
 *
 * At start it attaches a status callback and connects with the default
 * credentials ("vboard" / "vboard-secret", WPA2). Every status change the
 * callback reports is printed as "wifi_station: status <NAME>" (GLOBAL_UP,
 * CONNECTING, DISCONNECTED); losing the network also prints
 * "wifi_station: connection lost". Commands, one per line on UART0:
 *   connect [SSID [PASSWORD]]  join (no SSID: the last credentials again);
 *                              "wifi_station: connect <ssid>: <nsapi code>" (0; -3011 AUTH_FAILURE,
 *                              -3008 NO_SSID, -3015 IS_CONNECTED: disconnect first)
 *   disconnect                 "wifi_station: disconnect: <code>"
 *   status                     "wifi_station: status <NAME> ip <ip> rssi <dBm>"
 *   scan                       "wifi_station: scan <n>" then "ap <ssid> ch <c> rssi <r> <open|secure>"
 *   open                       a TCP socket to 10.0.2.2:7 (the echo), one echo;
 *                              "wifi_station: socket open <code> echo <ok|code>"; while open,
 *                              its loss prints "wifi_station: socket lost <code>"
 *   quit                       exit 0
 * Every command ends with "wifi_station: ok <command>". */
#include <stdio.h>
#include <string.h>

#include "ESP8266Interface.h"
#include "bsp.h"
#include "mbed.h"

#define APP "wifi_station: "
#define LINE_MAX 96
#define STATUS_RING 16U /* power of two */

static WiFiInterface *wifi;
static char ssid[33] = MBED_CONF_NSAPI_DEFAULT_WIFI_SSID;
static char pass[64] = MBED_CONF_NSAPI_DEFAULT_WIFI_PASSWORD;

/* Status callback -> main loop (the callback only records). */
static volatile nsapi_connection_status_t status_ring[STATUS_RING];
static volatile uint32_t status_head, status_tail;

static void on_status(nsapi_event_t ev, intptr_t val)
{
    if (ev == NSAPI_EVENT_CONNECTION_STATUS_CHANGE && status_head - status_tail < STATUS_RING) {
        status_ring[status_head % STATUS_RING] = nsapi_connection_status_t(val);
        status_head++;
    }
}

static const char *status_name(nsapi_connection_status_t s)
{
    switch (s) {
    case NSAPI_STATUS_GLOBAL_UP:
        return "GLOBAL_UP";
    case NSAPI_STATUS_LOCAL_UP:
        return "LOCAL_UP";
    case NSAPI_STATUS_CONNECTING:
        return "CONNECTING";
    case NSAPI_STATUS_DISCONNECTED:
        return "DISCONNECTED";
    default:
        return "OTHER";
    }
}

static void print_statuses()
{
    while (status_tail != status_head) {
        nsapi_connection_status_t s = status_ring[status_tail % STATUS_RING];
        status_tail++;
        printf(APP "status %s\n", status_name(s));
        if (s == NSAPI_STATUS_DISCONNECTED) {
            printf(APP "connection lost\n");
        }
    }
}

static void print_status()
{
    SocketAddress a;
    bool has_ip = wifi->get_ip_address(&a) == NSAPI_ERROR_OK && a.get_ip_address();
    printf(APP "status %s ip %s rssi %d\n", status_name(wifi->get_connection_status()),
           has_ip ? a.get_ip_address() : "none", wifi->get_rssi());
}

static void do_connect()
{
    nsapi_security_t sec = pass[0] ? NSAPI_SECURITY_WPA2 : NSAPI_SECURITY_NONE;
    nsapi_error_t r = wifi->connect(ssid, pass[0] ? pass : nullptr, sec);
    printf(APP "connect %s: %d\n", ssid, r);
    rtos::ThisThread::sleep_for(10); /* the status callback runs from the board's loop */
    print_statuses();
}

static void do_scan()
{
    WiFiAccessPoint ap[8];
    nsapi_size_or_error_t n = wifi->scan(ap, 8);
    printf(APP "scan %d\n", n);
    for (int i = 0; i < n; i++) {
        printf(APP "ap %s ch %u rssi %d %s\n", ap[i].get_ssid(), ap[i].get_channel(), ap[i].get_rssi(),
               ap[i].get_security() == NSAPI_SECURITY_NONE ? "open" : "secure");
    }
}

/* The TCP socket of "open", polled for its loss in the main loop. */
static TCPSocket sock;
static bool sock_open;

static void do_open()
{
    if (sock_open) {
        sock.close();
        sock_open = false;
    }
    nsapi_error_t r = sock.open(wifi);
    if (r == NSAPI_ERROR_OK) {
        r = sock.connect(SocketAddress("10.0.2.2", 7));
    }
    if (r != NSAPI_ERROR_OK) {
        sock.close();
        printf(APP "socket open %d echo none\n", r);
        return;
    }
    char buf[8] = {};
    int got = 0;
    sock.set_timeout(5000);
    int n = sock.send("ping", 4);
    while (n == 4 && got < 4) {
        int m = sock.recv(buf + got, 4 - got);
        if (m <= 0) {
            n = m;
            break;
        }
        got += m;
    }
    sock_open = true;
    sock.set_blocking(false);
    if (got == 4 && memcmp(buf, "ping", 4) == 0) {
        printf(APP "socket open 0 echo ok\n");
    } else {
        printf(APP "socket open 0 echo %d\n", n);
    }
}

static void poll_socket()
{
    if (!sock_open) {
        return;
    }
    char buf[16];
    int n = sock.recv(buf, sizeof buf);
    if (n < 0 && n != NSAPI_ERROR_WOULD_BLOCK) {
        printf(APP "socket lost %d\n", n);
        sock.close();
        sock_open = false;
    }
}

/* Returns false for "quit". */
static bool command(char *line)
{
    char *cmd = strtok(line, " \t\r");
    if (!cmd) {
        return true;
    }
    if (strcmp(cmd, "connect") == 0) {
        char *s = strtok(nullptr, " \t\r");
        char *p = strtok(nullptr, " \t\r");
        if (s) {
            snprintf(ssid, sizeof ssid, "%s", s);
            snprintf(pass, sizeof pass, "%s", p ? p : "");
        }
        do_connect();
    } else if (strcmp(cmd, "disconnect") == 0) {
        printf(APP "disconnect: %d\n", wifi->disconnect());
    } else if (strcmp(cmd, "status") == 0) {
        print_status();
    } else if (strcmp(cmd, "scan") == 0) {
        do_scan();
    } else if (strcmp(cmd, "open") == 0) {
        do_open();
    } else if (strcmp(cmd, "quit") == 0) {
        return false;
    } else {
        printf(APP "unknown command %s\n", cmd);
    }
    print_statuses();
    printf(APP "ok %s\n", cmd);
    return true;
}

/* One UART0 byte, or -1 (the model holds further input until DATA is read). */
static int uart0_getc()
{
    if (UART0->STATE & UART_STATE_RXFULL) {
        return int(UART0->DATA & 0xFF);
    }
    return -1;
}

int main()
{
    printf(APP "start\n");
    wifi = WiFiInterface::get_default_instance();
    wifi->attach(on_status);
    do_connect();
    if (wifi->get_connection_status() == NSAPI_STATUS_GLOBAL_UP) {
        print_status();
    }
    printf(APP "ready\n");
    static char line[LINE_MAX];
    size_t len = 0;
    for (;;) {
        int c = uart0_getc();
        if (c < 0) {
            rtos::ThisThread::sleep_for(2);
            print_statuses();
            poll_socket();
            continue;
        }
        if (c == '\n') {
            line[len] = '\0';
            len = 0;
            if (!command(line)) {
                break;
            }
        } else if (len < LINE_MAX - 1) {
            line[len++] = char(c);
        }
    }
    printf(APP "done\n");
    return 0;
}
