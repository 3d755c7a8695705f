/* This program's mbed_app.json: "target.network-default-interface-type": "WIFI". */
#ifndef MBED_CONF_TARGET_NETWORK_DEFAULT_INTERFACE_TYPE
#define MBED_CONF_TARGET_NETWORK_DEFAULT_INTERFACE_TYPE WIFI
#include "wifi_default_interface.h"
#endif
