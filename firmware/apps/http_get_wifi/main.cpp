/* http_get_wifi: http_get over Wi-Fi. The first code sample of the Mbed OS
 * "Network socket overview" documentation page, verbatim,
 * as the body of http_get_sample(); the sample's EthernetInterface is the
 * ESP8266Interface here (the glue's #define below: the one interface swap),
 * and mbed_app_wifi.cpp makes the default interface Wi-Fi (credentials
 * "vboard"/"vboard-secret" at compile time). The glue brings the default interface up,
 * prints what the sample's recv() put in buf, and exits 0 when that is the
 * start of an HTTP response. On vboard a test serves http://arm.com/ from the
 * host (--dns-record arm.com=10.0.2.2). mbed_app_wifi.cpp sets the serial link's
 * rate (esp8266.serial-baudrate); the program prints it at the end. */
#include "mbed.h"
#include "ESP8266Interface.h"

/* glue: the interface swap; every ESP8266Interface drives the one module. */
#define EthernetInterface ESP8266Interface
#define APP_NAME "http_get_wifi"

/* glue: the sample's main() runs as http_get_main(); then the link's rate. */
#define main http_get_main
#include "../http_get/main.cpp"
#undef main
#include "esp8266/esp8266.h"

int main()
{
    int r = http_get_main();
    printf(APP_NAME ": module link at %lu baud\n", (unsigned long)esp_baud());
    return r;
}
