/* echo_server_small: echo_server on a stack as small embedded ones are: its
 * SYN-ACK carries no options (no MSS, no window scale) and its receive window
 * is 1280 bytes. A peer that scales windows or overfills a small fixed window
 * stalls it; QEMU's slirp does neither. The services are echo_server's. */
#include "../echo_server/main.cpp"
