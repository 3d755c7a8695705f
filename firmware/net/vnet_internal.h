/* vnet internals shared by the stack's modules (not for applications). */
#ifndef VNET_INTERNAL_H
#define VNET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vnet.h"
#include "vnet_config.h"

/* ---- wire constants ---- */
#define ETH_HLEN 14U
#define ETH_MTU 1500U
#define ETH_FRAME_MAX (ETH_HLEN + ETH_MTU)
#define IP_HLEN 20U
#define UDP_HLEN 8U
#define TCP_HLEN 20U
#define IP_PROTO_ICMP 1U
#define IP_PROTO_TCP 6U
#define IP_PROTO_UDP 17U
#define IP_BROADCAST 0xFFFFFFFFUL

/* Payload area of the shared TX frame: Ethernet + IPv4 headers before it. */
#define TX_L4 (ETH_HLEN + IP_HLEN)

/* ---- byte helpers (network order) ---- */
static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
/* vnet_ip_t is network order in memory: convert to/from a host integer. */
static inline uint32_t ip_h(vnet_ip_t ip) { return rd32((const uint8_t *)&ip); }
static inline vnet_ip_t ip_n(uint32_t h)
{
    vnet_ip_t ip;
    wr32((uint8_t *)&ip, h);
    return ip;
}
/* Time and sequence comparisons with wrap-around. */
static inline bool time_due(uint32_t now, uint32_t t) { return (int32_t)(now - t) >= 0; }
#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LE(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((a) - (b)) > 0)
#define SEQ_GE(a, b) ((int32_t)((a) - (b)) >= 0)

/* ---- interface state (vnet_core.c) ---- */
typedef struct {
    vnet_if_state_t state;
    bool hw_ok;
    uint8_t mac[6];
    uint32_t ip, mask, gw, dns; /* host order */
} vnet_if_t;
extern vnet_if_t vnet_if;
extern vnet_stats_t vnet_stats;
extern uint8_t *const vnet_tx; /* the one frame being built (ETH_FRAME_MAX bytes) */

uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n);
uint16_t csum_fold(uint32_t sum);
/* Pseudo-header sum for TCP/UDP (addresses in host order). */
uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len);
/* Send vnet_tx[TX_L4 .. TX_L4+len) as an IPv4 datagram to dst (host
 * order; IP_BROADCAST allowed). Returns VNET_OK or an error. */
int ip_output(uint32_t dst, uint8_t proto, size_t len);
void vnet_set_state(vnet_if_state_t st);
uint32_t vnet_rand(void);

/* ---- UDP (vnet_udp.c) ---- */
void udp_input(uint32_t src, uint32_t dst, const uint8_t *udp, size_t len);
/* Send payload already at vnet_tx[TX_L4 + UDP_HLEN]. */
int udp_output(uint32_t src_ip, uint16_t sport, uint32_t dst, uint16_t dport, size_t len);

/* ---- TCP (vnet_tcp.c) ---- */
void tcp_input(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len);
void tcp_timers(uint32_t now);
uint32_t tcp_next_timer(uint32_t now);
void tcp_flush_acks(void);

/* ---- DHCP / DNS ---- */
void dhcp_start(void);
void dhcp_stop(void);
bool dhcp_input(const uint8_t *msg, size_t len); /* port 68 */
void dhcp_timer(uint32_t now);
uint32_t dhcp_next_timer(uint32_t now);
bool dhcp_bound(void);
uint16_t dns_port(void); /* our source port while a query runs; 0 if none */
uint32_t dns_server(void); /* host order: the server the running query asked */
void dns_input(const uint8_t *msg, size_t len);

/* ---- sockets (vnet_socket.c) ---- */
enum { TCP_CLOSED = 0, TCP_LISTEN, TCP_SYN_SENT, TCP_SYN_RCVD, TCP_ESTABLISHED, TCP_FIN_WAIT_1,
       TCP_FIN_WAIT_2, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK, TCP_TIME_WAIT };

typedef struct {
    bool used;
    uint8_t proto;
    bool app_closed;  /* vnet_close() called: the slot lives on for the protocol */
    bool bound, connected; /* connected: UDP default peer / TCP has a peer */
    bool reuseaddr, keepalive, nodelay;
    uint16_t lport, rport;
    uint32_t lip, rip; /* host order */
    vnet_event_cb cb;
    void *ctx;
    uint32_t last_ev;
    bool kick;        /* something happened: call the callback */
    int err;          /* sticky error (connection lost / refused / timeout) */

    /* UDP receive queue: indices into the slot pool, -1 terminated */
    int8_t q_head, q_tail;
    uint8_t q_count;

    /* TCP */
    uint8_t state;
    int8_t buf;          /* buffer set, -1: none */
    int8_t parent;       /* listener of an embryonic/unaccepted connection, -1 */
    uint8_t backlog;
    bool accepted;
    uint32_t estab_order;
    bool rd_closed;      /* FIN received */
    bool fin_queued, fin_sent;
    bool ack_now;
    uint8_t unacked_segs; /* in-order segments taken since our last ACK */
    bool probe_out;      /* zero-window probe byte outstanding */
    uint16_t mss;        /* send MSS */
    bool wscale_ok;      /* both sides sent the window scale option */
    uint8_t snd_ws;      /* the peer's window shift */
    uint32_t iss, irs;
    uint32_t snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
    uint32_t rcv_nxt, rcv_adv; /* rcv_adv: last advertised window */
    uint32_t tx_start, tx_len, rx_start, rx_len;
    uint8_t retries, dupacks;
    bool in_recovery;    /* fast recovery (RFC 6582) until snd_una passes `recover` */
    uint32_t cwnd, ssthresh, recover; /* congestion control (RFC 5681), bytes */
    uint32_t ooo_seq, ooo_len; /* data held past a hole, already at its place in the RX ring */
    uint32_t srtt, rttvar, rto; /* srtt x8, rttvar x4, ms */
    bool rtt_on;
    uint32_t rtt_seq, rtt_t0;
    uint32_t t_rtx, t_persist, t_wait, t_keep; /* deadlines; 0 = off */
    uint32_t t_dack;     /* delayed ACK deadline; 0 = none pending */
    uint32_t persist_iv;
    uint32_t last_rx;
    uint8_t keep_probes;
} vsock_t;

extern vsock_t vnet_socks[VNET_MAX_SOCKETS];
extern uint8_t vnet_tcp_rx[VNET_TCP_BUFSETS][VNET_TCP_RX_BUF];
extern uint8_t vnet_tcp_tx[VNET_TCP_BUFSETS][VNET_TCP_TX_BUF];

int sock_alloc(uint8_t proto); /* index or -1 */
/* Copy n bytes into / out of a ring of `cap` bytes at `pos`, wrapping at its end. */
void ring_write(uint8_t *ring, size_t cap, size_t pos, const void *data, size_t n);
void ring_read(const uint8_t *ring, size_t cap, size_t pos, void *out, size_t n);
void sock_free(int i);
int tcp_buf_alloc(void);
uint16_t sock_ephemeral(uint8_t proto);
void sock_dispatch_events(void);
uint32_t sock_events(const vsock_t *s);
void sock_udp_deliver(vsock_t *s, uint32_t src, uint16_t sport, const uint8_t *data, size_t len);

/* TCP helpers used by the socket API */
int tcp_connect(vsock_t *s);
void tcp_output(vsock_t *s);
void tcp_close(vsock_t *s);      /* app close: FIN or abort */
void tcp_abort(vsock_t *s, bool send_rst);
void tcp_shutdown(vsock_t *s);
void tcp_recved(vsock_t *s);     /* app consumed RX data: window update? */

#endif
