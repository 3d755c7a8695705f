/* echo_server with a fixed address, for closed simulations (no DHCP server). */
#define APP_STATIC_IP "10.0.2.16"
#include "../echo_server/main.cpp"
