/* NetworkInterface::get_default_instance() for a Wi-Fi build.
 *
 * Mbed selects the default interface with the config
 * "target.network-default-interface-type": "WIFI", i.e.
 * -DMBED_CONF_TARGET_NETWORK_DEFAULT_INTERFACE_TYPE=WIFI. Here the same
 * macro, either on the command line (then ESP8266Interface.cpp includes this
 * header) or defined by a program's own source before including it (the
 * *_wifi apps do, as this Makefile has no per-program flags), replaces the
 * weak Ethernet default of NetworkInterface.cpp with the ESP8266. Include it
 * from exactly one translation unit. */
#ifndef MBED_WIFI_DEFAULT_INTERFACE_H
#define MBED_WIFI_DEFAULT_INTERFACE_H

#include "WiFiInterface.h"

#define ETHERNET 1
#define WIFI 2
#define MESH 3
#define CELLULAR 4
#if MBED_CONF_TARGET_NETWORK_DEFAULT_INTERFACE_TYPE == WIFI
NetworkInterface *NetworkInterface::get_default_instance()
{
    return WiFiInterface::get_default_instance();
}
#endif
#undef ETHERNET
#undef WIFI
#undef MESH
#undef CELLULAR

#endif
