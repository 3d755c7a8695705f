/* This program's mbed_app.json: "target.network-default-interface-type": "WIFI",
 * "esp8266.serial-baudrate": 1562500 (the fastest UART1 rate: BAUDDIV 16 at 25 MHz). */
#ifndef MBED_CONF_TARGET_NETWORK_DEFAULT_INTERFACE_TYPE
#define MBED_CONF_TARGET_NETWORK_DEFAULT_INTERFACE_TYPE WIFI
#include "wifi_default_interface.h"
#endif
#include "esp8266/esp8266.h"

ESP8266_SERIAL_BAUDRATE_CONFIG(1562500)
