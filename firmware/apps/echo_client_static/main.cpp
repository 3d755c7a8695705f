/* echo_client with a fixed address talking to echo_server_static, for closed simulations. */
#define APP_STATIC_IP "10.0.2.17"
#define ECHO_CLIENT_PEER "10.0.2.16"
#define ECHO_CLIENT_KIB 256
#include "../echo_client/main.cpp"
