/*
 * vnet build-time configuration. Every value can be overridden with -D.
 * Defaults are sized for a small client (one or two TCP connections, DNS,
 * DHCP) inside a 48 KB RAM budget: see the RAM estimate at the end.
 */
#ifndef VNET_CONFIG_H
#define VNET_CONFIG_H

/* Sockets (UDP + TCP, listeners and accepted connections included). */
#ifndef VNET_MAX_SOCKETS
#define VNET_MAX_SOCKETS 8
#endif
/* TCP buffer sets (one RX + one TX buffer each): the number of TCP
 * connections that can exist at once (listeners need none). */
#ifndef VNET_TCP_BUFSETS
#define VNET_TCP_BUFSETS 2
#endif
#ifndef VNET_TCP_RX_BUF
#define VNET_TCP_RX_BUF 4096
#endif
#ifndef VNET_TCP_TX_BUF
#define VNET_TCP_TX_BUF 4096
#endif
#ifndef VNET_TCP_MSS
#define VNET_TCP_MSS 1460 /* what we announce; we send min(ours, peer's) */
#endif
#ifndef VNET_TCP_SYN_OPTIONS
#define VNET_TCP_SYN_OPTIONS 1 /* 0: SYN and SYN-ACK carry no options (no MSS, no window scale), as small stacks */
#endif
#ifndef VNET_TCP_RTO_INIT_MS
#define VNET_TCP_RTO_INIT_MS 1000
#endif
#ifndef VNET_TCP_RTO_MIN_MS
#define VNET_TCP_RTO_MIN_MS 200
#endif
#ifndef VNET_TCP_RTO_MAX_MS
#define VNET_TCP_RTO_MAX_MS 60000
#endif
#ifndef VNET_TCP_MAX_RETRIES
#define VNET_TCP_MAX_RETRIES 8 /* data retransmissions before the connection is lost */
#endif
#ifndef VNET_TCP_SYN_RETRIES
#define VNET_TCP_SYN_RETRIES 5
#endif
#ifndef VNET_TCP_PERSIST_MAX_MS
#define VNET_TCP_PERSIST_MAX_MS 5000 /* zero-window probe interval cap */
#endif
#ifndef VNET_TCP_DELACK_MS
#define VNET_TCP_DELACK_MS 40 /* delayed ACK (RFC 1122 4.2.3.2): a lone segment waits this long for a reply to ride on */
#endif
#ifndef VNET_TCP_TIME_WAIT_MS
#define VNET_TCP_TIME_WAIT_MS 2000
#endif
#ifndef VNET_TCP_FIN_WAIT2_MS
#define VNET_TCP_FIN_WAIT2_MS 10000 /* closed socket waiting for the peer's FIN */
#endif
#ifndef VNET_TCP_KEEPALIVE_IDLE_MS
#define VNET_TCP_KEEPALIVE_IDLE_MS 60000
#endif
#ifndef VNET_TCP_KEEPALIVE_INTVL_MS
#define VNET_TCP_KEEPALIVE_INTVL_MS 10000
#endif
#ifndef VNET_TCP_KEEPALIVE_PROBES
#define VNET_TCP_KEEPALIVE_PROBES 5
#endif
#ifndef VNET_TCP_MAX_BACKLOG
#define VNET_TCP_MAX_BACKLOG 4
#endif

/* UDP receive: a shared pool of datagram slots; a socket holds at most
 * VNET_UDP_RX_QUEUE of them. Larger datagrams are dropped. */
#ifndef VNET_UDP_RX_SLOTS
#define VNET_UDP_RX_SLOTS 6
#endif
#ifndef VNET_UDP_RX_QUEUE
#define VNET_UDP_RX_QUEUE 5
#endif
#ifndef VNET_UDP_SLOT_SIZE
#define VNET_UDP_SLOT_SIZE 1472
#endif

/* LAN9118 TX FIFO size in KiB (HW_CFG.TX_FIF_SZ, 2..14); the RX FIFO gets the
 * rest of the 16 KiB. A TCP receive window larger than the RX data FIFO
 * (15/16 of the rest) can overflow it when the peer sends a whole window at once. */
#ifndef VNET_ETH_TX_FIFO_KIB
#define VNET_ETH_TX_FIFO_KIB 5
#endif

/* ARP */
#ifndef VNET_ARP_ENTRIES
#define VNET_ARP_ENTRIES 10
#endif
#ifndef VNET_ARP_AGE_MS
#define VNET_ARP_AGE_MS 300000U /* 5 minutes */
#endif
#ifndef VNET_ARP_RETRIES
#define VNET_ARP_RETRIES 3
#endif
#ifndef VNET_ARP_RETRY_MS
#define VNET_ARP_RETRY_MS 1000
#endif
#ifndef VNET_ARP_QUEUE
#define VNET_ARP_QUEUE 2 /* frames (any address) waiting for resolution */
#endif
#ifndef VNET_ARP_QUEUE_PER_ADDR
#define VNET_ARP_QUEUE_PER_ADDR 2
#endif

/* DHCP */
#ifndef VNET_DHCP_RETRY_MS
#define VNET_DHCP_RETRY_MS 1000 /* first retransmission; doubles up to 16 s */
#endif

/* DNS */
#ifndef VNET_DNS_CACHE
#define VNET_DNS_CACHE 4
#endif
#ifndef VNET_DNS_NAME_MAX
#define VNET_DNS_NAME_MAX 64 /* longest cached name, NUL included */
#endif
#ifndef VNET_DNS_TRIES
#define VNET_DNS_TRIES 3
#endif

/* Frames processed per vnet_poll() call before timers run. */
#ifndef VNET_POLL_BUDGET
#define VNET_POLL_BUDGET 8
#endif

/* RAM with the defaults (approx.): TCP 2 x 8 KiB = 16 KiB, Ethernet RX+TX
 * frames 3 KiB, ARP queue 3 KiB, UDP slots 4.4 KiB, sockets/ARP/DNS ~1.5 KiB:
 * about 28 KiB. */

#endif
