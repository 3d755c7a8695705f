/* echo_server at the user network's board address, 10.0.2.15, set statically:
 * no DHCP, so the board transmits nothing until something speaks to it. */
#define APP_STATIC_IP "10.0.2.15"
#include "../echo_server/main.cpp"
