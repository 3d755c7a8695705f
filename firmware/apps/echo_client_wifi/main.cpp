/* echo_client over the ESP8266 Wi-Fi module (the default interface is Wi-Fi in
 * this program: see mbed_app_wifi.cpp, which also sets the serial link's baud
 * rate); 64 KiB by default, for scripts/bench wifi. Prints the link's rate. */
#ifndef ECHO_CLIENT_KIB
#define ECHO_CLIENT_KIB 64
#endif
#ifndef ECHO_CLIENT_TIMEOUT_MS
#define ECHO_CLIENT_TIMEOUT_MS 30000
#endif
#include "esp8266/esp8266.h"

/* glue: echo_client's main() runs as echo_client_main(). */
#define main echo_client_main
#include "../echo_client/main.cpp"
#undef main

int main()
{
    int r = echo_client_main();
    printf("echo_client: module link at %lu baud\n", (unsigned long)esp_baud());
    return r;
}
