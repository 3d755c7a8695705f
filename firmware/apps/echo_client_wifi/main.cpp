/* echo_client over the ESP8266 Wi-Fi module (the default interface is Wi-Fi in
 * this program: see mbed_app_wifi.cpp); 16 KiB by default, for scripts/bench wifi. */
#ifndef ECHO_CLIENT_KIB
#define ECHO_CLIENT_KIB 16
#endif
#ifndef ECHO_CLIENT_TIMEOUT_MS
#define ECHO_CLIENT_TIMEOUT_MS 30000
#endif
#include "../echo_client/main.cpp"
