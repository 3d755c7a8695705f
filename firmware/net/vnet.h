/*
 * vnet: the board's IPv4 socket stack (C11), under the Mbed OS socket API.
 *
 * One network interface (the LAN9118 on MPS2-AN385), Ethernet + ARP, IPv4,
 * ICMP echo, UDP, TCP, a DHCP client and a DNS client. Single-threaded: the
 * stack runs when the application calls vnet_poll() (the Mbed layer calls it
 * from every blocking wait), from received frames and from its timers; the
 * Ethernet interrupt only wakes the CPU. All memory is static; sizes are in
 * vnet_config.h. Errors are the Mbed OS nsapi codes (same values), so the
 * C++ layer passes them through.
 */
#ifndef VNET_H
#define VNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* nsapi_error_t values (Mbed OS connectivity/netsocket/include/netsocket/nsapi_types.h). */
enum {
    VNET_OK = 0,
    VNET_ERR_WOULD_BLOCK = -3001,
    VNET_ERR_UNSUPPORTED = -3002,
    VNET_ERR_PARAMETER = -3003,
    VNET_ERR_NO_CONNECTION = -3004,
    VNET_ERR_NO_SOCKET = -3005,
    VNET_ERR_NO_ADDRESS = -3006,
    VNET_ERR_NO_MEMORY = -3007,
    VNET_ERR_NO_SSID = -3008,
    VNET_ERR_DNS_FAILURE = -3009,
    VNET_ERR_DHCP_FAILURE = -3010,
    VNET_ERR_AUTH_FAILURE = -3011,
    VNET_ERR_DEVICE_ERROR = -3012,
    VNET_ERR_IN_PROGRESS = -3013,
    VNET_ERR_ALREADY = -3014,
    VNET_ERR_IS_CONNECTED = -3015,
    VNET_ERR_CONNECTION_LOST = -3016,
    VNET_ERR_CONNECTION_TIMEOUT = -3017,
    VNET_ERR_ADDRESS_IN_USE = -3018,
    VNET_ERR_TIMEOUT = -3019,
    VNET_ERR_BUSY = -3020,
};

typedef uint32_t vnet_ip_t; /* IPv4 address in network byte order (as on the wire) */

typedef struct {
    vnet_ip_t ip;
    uint16_t port; /* host byte order */
} vnet_endpoint_t;

typedef enum { VNET_UDP = 1, VNET_TCP = 2 } vnet_proto_t;

/* Socket events reported through the callback (Mbed's sigio). */
enum {
    VNET_EV_READABLE = 1u << 0,  /* data, a connection to accept, or FIN/RST to notice */
    VNET_EV_WRITABLE = 1u << 1,  /* send buffer space, or connect() completed */
    VNET_EV_CLOSED = 1u << 2,    /* peer closed or reset, or an error */
};
typedef void (*vnet_event_cb)(int sock, uint32_t events, void *ctx);

typedef struct {
    bool dhcp;
    vnet_ip_t ip, netmask, gateway, dns; /* used when dhcp is false */
} vnet_if_config_t;

typedef enum {
    VNET_IF_DOWN = 0,
    VNET_IF_CONNECTING,
    VNET_IF_UP,      /* has an address */
    VNET_IF_LINK_DOWN,
} vnet_if_state_t;

/* ---- interface -------------------------------------------------------- */
/* Bring the interface up (driver init, link, DHCP or static). Blocks up to
 * timeout_ms of board time, calling vnet_poll(); VNET_ERR_DHCP_FAILURE when
 * no lease came. */
int vnet_if_up(const vnet_if_config_t *cfg, uint32_t timeout_ms);
int vnet_if_down(void);
vnet_if_state_t vnet_if_state(void);
void vnet_if_addr(vnet_ip_t *ip, vnet_ip_t *netmask, vnet_ip_t *gateway, vnet_ip_t *dns);
void vnet_if_mac(uint8_t mac[6]);
/* Called on every interface state change (link, lease gained or lost). */
void vnet_if_on_state(void (*cb)(vnet_if_state_t state, void *ctx), void *ctx);

/* ---- the engine ---------------------------------------------------------- */
/* Process received frames and due timers; never blocks. */
void vnet_poll(void);
/* vnet_poll(), unless nothing can have happened since the last one: no RX or
 * PHY interrupt, no frames left over, the same millisecond. For the retry of
 * a non-blocking call, which would otherwise poll every socket each time. */
void vnet_poll_quick(void);
/* Milliseconds until the next stack timer (for sleeping); UINT32_MAX if none. */
uint32_t vnet_next_timer_ms(void);
/* The stack's clock: milliseconds of board time (SysTick). */
uint32_t vnet_now_ms(void);
/* Sleep (WFI) until an interrupt or at most max_ms, then vnet_poll(). */
void vnet_wait(uint32_t max_ms);

/* ---- DNS ----------------------------------------------------------------- */
/* Resolve an A record (or parse a dotted quad); blocks up to timeout_ms. */
int vnet_gethostbyname(const char *name, vnet_ip_t *out, uint32_t timeout_ms);
/* An explicitly chosen DNS server (Mbed's add_dns_server): while set, queries
 * go to it instead of the interface's (DHCP option 6 or the static config)
 * and only its replies are accepted. 0 goes back to the interface's. Kept
 * across vnet_if_down()/vnet_if_up(); a change empties the cache. */
void vnet_dns_set_server(vnet_ip_t server);

/* ---- sockets ------------------------------------------------------------- */
/* All return >= 0 on success (a socket id or a byte count) or a VNET_ERR_*.
 * Non-blocking: every call returns at once; VNET_ERR_WOULD_BLOCK when it
 * cannot proceed yet (the Mbed layer implements blocking and timeouts on top
 * with vnet_wait). */
int vnet_socket(vnet_proto_t proto);
int vnet_close(int sock);
int vnet_bind(int sock, const vnet_endpoint_t *local); /* port 0: ephemeral */
int vnet_connect(int sock, const vnet_endpoint_t *remote); /* TCP: IN_PROGRESS, then IS_CONNECTED */
int vnet_listen(int sock, int backlog);
int vnet_accept(int sock, vnet_endpoint_t *remote); /* returns the new socket */
int vnet_send(int sock, const void *data, size_t len);
int vnet_recv(int sock, void *buf, size_t len); /* 0 = TCP peer closed */
int vnet_sendto(int sock, const vnet_endpoint_t *remote, const void *data, size_t len);
int vnet_recvfrom(int sock, vnet_endpoint_t *remote, void *buf, size_t len);
int vnet_shutdown_write(int sock); /* TCP: send FIN */
int vnet_getpeer(int sock, vnet_endpoint_t *remote);
int vnet_getlocal(int sock, vnet_endpoint_t *local);
void vnet_set_callback(int sock, vnet_event_cb cb, void *ctx);
uint32_t vnet_events(int sock); /* VNET_EV_* currently true */
int vnet_set_option(int sock, int option, const void *value, size_t len);
int vnet_get_option(int sock, int option, void *value, size_t *len);
enum { VNET_OPT_REUSEADDR = 1, VNET_OPT_KEEPALIVE = 2, VNET_OPT_NODELAY = 3, VNET_OPT_RCVBUF = 4,
       VNET_OPT_SNDBUF = 5, VNET_OPT_LINGER = 6 };

/* ---- statistics (for tests and benchmarks) --------------------------------- */
typedef struct {
    uint32_t rx_frames, tx_frames, rx_dropped;
    uint32_t arp_requests, arp_replies;
    uint32_t ip_rx, ip_tx, ip_bad_checksum, ip_fragments_dropped;
    uint32_t icmp_echo_replies;
    uint32_t udp_rx, udp_tx, udp_no_port;
    uint32_t tcp_rx, tcp_tx, tcp_retransmits, tcp_resets_sent, tcp_bad_checksum;
    uint32_t dhcp_leases, dns_queries;
} vnet_stats_t;
void vnet_get_stats(vnet_stats_t *out);

/* ---- helpers ---------------------------------------------------------------- */
vnet_ip_t vnet_ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
/* "a.b.c.d" -> ip; false if not a dotted quad. */
bool vnet_parse_ip(const char *text, vnet_ip_t *out);
/* ip -> "a.b.c.d" into buf (>= 16 bytes); returns buf. */
char *vnet_format_ip(vnet_ip_t ip, char *buf);

#ifdef __cplusplus
}
#endif

#endif /* VNET_H */
