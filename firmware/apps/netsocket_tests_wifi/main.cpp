/* netsocket_tests_wifi: the netsocket_tests cases (Mbed OS netsocket TCP/UDP/DNS
 * conformance, apps/netsocket_tests/main.cpp, compiled unchanged) over the
 * ESP8266 Wi-Fi module: mbed_app_wifi.cpp makes the default interface the
 * ESP8266Interface, so net->connect() joins "vboard" with the compile-time
 * credentials and every socket is a module link (AT+CIPSTART/CIPSEND/
 * CIPRECVDATA), DNS is AT+CIPDOMAIN. Servers as for Ethernet: 10.0.2.2 is
 * the host (the module's gateway) under the host socket provider. */
#include "../netsocket_tests/main.cpp"
