/*
 * rawframe: raw Ethernet frames through our LAN9118 driver, no IP stack.
 *
 *  1. Init the LAN9118, print the MAC and the link state.
 *  2. DHCP: broadcast a DISCOVER (hand-built Ethernet + IPv4 + UDP + BOOTP,
 *     both checksums filled in), wait up to DHCP_TRIES x DHCP_RETRY_MS of
 *     SysTick time for an OFFER, retransmitting the same frame. Print
 *     "offer <yiaddr> from <server>" and the state of the offer's UDP
 *     checksum (ok / zero / BAD). No REQUEST is sent: the offered address is
 *     simply adopted (or RAWFRAME_FALLBACK_IP if no offer came).
 *  3. Serve until told to stop: ARP replies for our address, ICMP echo
 *     replies, and EtherType 0x88B5 frames sent back to their sender (the
 *     destination becomes the old source, the source our MAC: a swap for
 *     frames addressed to us) with the payload untouched. A 0x88B5 frame
 *     whose payload starts with "QUIT" ends the program (it is not echoed),
 *     as does RAWFRAME_IDLE_MS of board time without any received frame.
 *     Counters are printed, then the program exits through semihosting.
 *
 * Output is a function of the frames received only (no times, no IDs).
 * Build-time knobs: -DRAWFRAME_IDLE_MS=n, -DRAWFRAME_EXIT_AFTER_OFFER=1,
 * -DRAWFRAME_RX_FFWD=1 (fast-forward dropped frames; wrong on QEMU 7.2),
 * -DRAWFRAME_DEBUG (one line per received frame: not for transcripts).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bsp.h"
#include "lan9118/lan9118.h"

#ifndef RAWFRAME_IDLE_MS
#define RAWFRAME_IDLE_MS 30000U /* board time without any frame before exiting */
#endif
#ifndef RAWFRAME_EXIT_AFTER_OFFER
#define RAWFRAME_EXIT_AFTER_OFFER 0 /* 1: stop right after the DHCP result */
#endif

#ifndef RAWFRAME_RX_FFWD
#define RAWFRAME_RX_FFWD false /* 1: drop frames with RX_DP_CTRL.RX_FFWD */
#endif

#define TICK_HZ        1000U /* SysTick: 1 tick = 1 ms */
#define DHCP_TRIES     3U
#define DHCP_RETRY_MS  1000U
#define RAWFRAME_FALLBACK_IP 0x0A00020FUL /* 10.0.2.15, QEMU slirp's first lease */

/* ------------------------------------------------------- wire formats */
enum {
    ETH_DST = 0,
    ETH_SRC = 6,
    ETH_TYPE = 12,
    ETH_HLEN = 14,
    ETH_ALEN = 6,
};
enum {
    ETHERTYPE_IPV4 = 0x0800,
    ETHERTYPE_ARP = 0x0806,
    ETHERTYPE_TEST = 0x88B5, /* IEEE 802 local experimental 1 */
};

enum { /* ARP for IPv4 over Ethernet, offsets from the ARP header */
    ARP_HTYPE = 0,
    ARP_PTYPE = 2,
    ARP_HLEN = 4,
    ARP_PLEN = 5,
    ARP_OPER = 6,
    ARP_SHA = 8,
    ARP_SPA = 14,
    ARP_THA = 18,
    ARP_TPA = 24,
    ARP_LEN = 28,
    ARP_HTYPE_ETHER = 1,
    ARP_OP_REQUEST = 1,
    ARP_OP_REPLY = 2,
};

enum { /* IPv4 header offsets */
    IP_VER_IHL = 0,
    IP_TOS = 1,
    IP_TOTLEN = 2,
    IP_ID = 4,
    IP_FRAG = 6,
    IP_TTL = 8,
    IP_PROTO = 9,
    IP_CSUM = 10,
    IP_SRC = 12,
    IP_DST = 16,
    IP_HLEN = 20,
    IP_ALEN = 4,
    IP_VERSION4 = 4,
    IP_TTL_DEFAULT = 64,
    IP_PROTO_ICMP = 1,
    IP_PROTO_UDP = 17,
};
#define IP_FRAG_MF       0x2000U
#define IP_FRAG_OFF_Msk  0x1FFFU
#define IP_IHL_Msk       0x0FU
#define IP_VER_Pos       4U
#define IP_IHL_WORDS_MIN 5U

enum { /* ICMP */
    ICMP_TYPE = 0,
    ICMP_CODE = 1,
    ICMP_CSUM = 2,
    ICMP_HLEN = 8,
    ICMP_ECHO_REPLY = 0,
    ICMP_ECHO_REQUEST = 8,
};

enum { /* UDP */
    UDP_SPORT = 0,
    UDP_DPORT = 2,
    UDP_LEN = 4,
    UDP_CSUM = 6,
    UDP_HLEN = 8,
    UDP_PORT_BOOTPS = 67,
    UDP_PORT_BOOTPC = 68,
};

enum { /* BOOTP (RFC 951/2131), offsets from the start of the message */
    BOOTP_OP = 0,
    BOOTP_HTYPE = 1,
    BOOTP_HLEN = 2,
    BOOTP_HOPS = 3,
    BOOTP_XID = 4,
    BOOTP_SECS = 8,
    BOOTP_FLAGS = 10,
    BOOTP_CIADDR = 12,
    BOOTP_YIADDR = 16,
    BOOTP_SIADDR = 20,
    BOOTP_GIADDR = 24,
    BOOTP_CHADDR = 28,
    BOOTP_COOKIE = 236,
    BOOTP_OPTIONS = 240,
    /* 236 fixed bytes + a 312-byte options field: a 576-byte IP datagram,
     * the minimum every DHCP server (slirp included) accepts. */
    BOOTP_LEN = 548,
    BOOTP_OP_REQUEST = 1,
    BOOTP_OP_REPLY = 2,
};
#define IPV4_ANY             0x00000000UL
#define IPV4_BROADCAST       0xFFFFFFFFUL
#define ETH_BROADCAST_BYTE   0xFFU
#define BOOTP_FLAG_BROADCAST 0x8000U
#define DHCP_MAGIC_COOKIE    0x63825363UL
#define DHCP_XID             0x72617766UL /* "rawf": fixed, keeps frames reproducible */

enum { /* DHCP options (RFC 2132) */
    DHO_PAD = 0,
    DHO_SUBNET_MASK = 1,
    DHO_ROUTER = 3,
    DHO_DNS = 6,
    DHO_LEASE_TIME = 51,
    DHO_MSG_TYPE = 53,
    DHO_SERVER_ID = 54,
    DHO_PARAM_REQ = 55,
    DHO_CLIENT_ID = 61,
    DHO_END = 255,
    DHCP_DISCOVER = 1,
    DHCP_OFFER = 2,
};

static const char QUIT_MAGIC[] = "QUIT";
#define QUIT_MAGIC_LEN (sizeof QUIT_MAGIC - 1U)

/* ---------------------------------------------------------- the board */
static uint32_t now_ms(void)
{
    return systick_ticks(); /* TICK_HZ = 1 kHz */
}

static const lan9118_config_t eth_config = {
    .regs = (LAN9118_TypeDef *)MPS2_ETH_BASE,
    .irq = ETHERNET_IRQn,
    .now_ms = now_ms,
    .mac = NULL, /* EEPROM-loaded address */
    .tx_fifo_kib = 5,
    .promiscuous = false,
    .rx_ffwd = RAWFRAME_RX_FFWD, /* QEMU 7.2 breaks after RX_FFWD: see lan9118.h */
    .reset_timeout_ms = 500,
    .autoneg_timeout_ms = 1000,
    .io_timeout_ms = 10,
};

static lan9118_t eth;
static uint8_t rx_frame[LAN9118_MAX_FRAME];
static uint8_t tx_frame[LAN9118_MAX_FRAME];

static struct {
    uint32_t arp, icmp, echoed, tx_errors;
} counters;

void SysTick_Handler(void)
{
    systick_isr_tick();
}

void ETHERNET_Handler(void)
{
    lan9118_irq_handler(&eth);
}

/* Sleep until an interrupt (a frame or the next tick) unless one is
 * already waiting; PRIMASK closes the check-then-sleep race. */
static void wait_event(void)
{
    __disable_irq();
    if (!lan9118_rx_pending(&eth)) {
        __WFI();
    }
    __enable_irq();
}

/* -------------------------------------------------------- byte helpers */
static uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

/* One's-complement sum (RFC 1071), unfolded. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (; n > 1U; n -= 2U, p += 2) {
        sum += get16(p);
    }
    if (n != 0U) {
        sum += (uint32_t)p[0] << 8;
    }
    return sum;
}
static uint16_t csum_fold(uint32_t sum)
{
    while ((sum >> 16) != 0U) {
        sum = (sum & 0xFFFFU) + (sum >> 16);
    }
    return (uint16_t)sum;
}
static uint16_t checksum(const uint8_t *p, size_t n)
{
    return (uint16_t)~csum_fold(csum_add(0, p, n));
}
/* UDP pseudo-header (source, destination, zero, protocol, UDP length). */
static uint32_t udp_pseudo_sum(const uint8_t *ip, uint32_t udp_len)
{
    uint32_t sum = csum_add(0, ip + IP_SRC, 2U * IP_ALEN);
    return sum + IP_PROTO_UDP + udp_len;
}

static void print_ip(uint32_t ip)
{
    printf("%lu.%lu.%lu.%lu", (unsigned long)(ip >> 24), (unsigned long)((ip >> 16) & 0xFFU),
           (unsigned long)((ip >> 8) & 0xFFU), (unsigned long)(ip & 0xFFU));
}

static void send(const uint8_t *frame, size_t len)
{
    if (lan9118_send(&eth, frame, len) != LAN9118_OK) {
        counters.tx_errors++;
    }
}

/* Validated IPv4 header: returns the header length, 0 if unusable. */
static size_t ipv4_check(const uint8_t *ip, size_t avail, size_t *total)
{
    if (avail < IP_HLEN || (ip[IP_VER_IHL] >> IP_VER_Pos) != IP_VERSION4) {
        return 0;
    }
    size_t ihl = (size_t)(ip[IP_VER_IHL] & IP_IHL_Msk) * 4U;
    size_t tot = get16(ip + IP_TOTLEN);
    if (ihl < IP_IHL_WORDS_MIN * 4U || tot < ihl || tot > avail || checksum(ip, ihl) != 0U ||
        (get16(ip + IP_FRAG) & (IP_FRAG_MF | IP_FRAG_OFF_Msk)) != 0U) {
        return 0;
    }
    *total = tot;
    return ihl;
}

/* ----------------------------------------------------------------- DHCP */
static size_t build_discover(uint8_t *f)
{
    const size_t udp_len = UDP_HLEN + BOOTP_LEN;
    const size_t ip_len = IP_HLEN + udp_len;
    memset(f, 0, ETH_HLEN + ip_len);

    memset(f + ETH_DST, ETH_BROADCAST_BYTE, ETH_ALEN);
    memcpy(f + ETH_SRC, eth.mac, ETH_ALEN);
    put16(f + ETH_TYPE, ETHERTYPE_IPV4);

    uint8_t *ip = f + ETH_HLEN;
    ip[IP_VER_IHL] = (IP_VERSION4 << IP_VER_Pos) | IP_IHL_WORDS_MIN;
    put16(ip + IP_TOTLEN, ip_len);
    put16(ip + IP_ID, 1);
    ip[IP_TTL] = IP_TTL_DEFAULT;
    ip[IP_PROTO] = IP_PROTO_UDP;
    put32(ip + IP_SRC, IPV4_ANY);
    put32(ip + IP_DST, IPV4_BROADCAST);
    put16(ip + IP_CSUM, checksum(ip, IP_HLEN));

    uint8_t *udp = ip + IP_HLEN;
    put16(udp + UDP_SPORT, UDP_PORT_BOOTPC);
    put16(udp + UDP_DPORT, UDP_PORT_BOOTPS);
    put16(udp + UDP_LEN, udp_len);

    uint8_t *bp = udp + UDP_HLEN;
    bp[BOOTP_OP] = BOOTP_OP_REQUEST;
    bp[BOOTP_HTYPE] = ARP_HTYPE_ETHER;
    bp[BOOTP_HLEN] = ETH_ALEN;
    put32(bp + BOOTP_XID, DHCP_XID);
    put16(bp + BOOTP_FLAGS, BOOTP_FLAG_BROADCAST);
    memcpy(bp + BOOTP_CHADDR, eth.mac, ETH_ALEN);
    put32(bp + BOOTP_COOKIE, DHCP_MAGIC_COOKIE);
    uint8_t *o = bp + BOOTP_OPTIONS;
    *o++ = DHO_MSG_TYPE;
    *o++ = 1;
    *o++ = DHCP_DISCOVER;
    *o++ = DHO_CLIENT_ID;
    *o++ = 1 + ETH_ALEN;
    *o++ = ARP_HTYPE_ETHER;
    memcpy(o, eth.mac, ETH_ALEN);
    o += ETH_ALEN;
    *o++ = DHO_PARAM_REQ;
    *o++ = 4;
    *o++ = DHO_SUBNET_MASK;
    *o++ = DHO_ROUTER;
    *o++ = DHO_DNS;
    *o++ = DHO_LEASE_TIME;
    *o = DHO_END; /* the rest of the options field stays DHO_PAD (0) */

    uint16_t sum = (uint16_t)~csum_fold(udp_pseudo_sum(ip, udp_len) + csum_add(0, udp, udp_len));
    put16(udp + UDP_CSUM, sum == 0U ? 0xFFFFU : sum); /* 0 would mean "no checksum" */
    return ETH_HLEN + ip_len;
}

typedef enum { UDP_CSUM_OK, UDP_CSUM_ZERO, UDP_CSUM_BAD } udp_csum_state_t;

typedef struct {
    uint32_t yiaddr, server;
    udp_csum_state_t csum;
} dhcp_offer_t;

/* Is this frame a DHCP OFFER for our DISCOVER? */
static bool parse_offer(const uint8_t *f, size_t len, dhcp_offer_t *offer)
{
    if (len < ETH_HLEN || get16(f + ETH_TYPE) != ETHERTYPE_IPV4) {
        return false;
    }
    const uint8_t *ip = f + ETH_HLEN;
    size_t ip_len;
    size_t ihl = ipv4_check(ip, len - ETH_HLEN, &ip_len);
    if (ihl == 0U || ip[IP_PROTO] != IP_PROTO_UDP || ip_len < ihl + UDP_HLEN) {
        return false;
    }
    const uint8_t *udp = ip + ihl;
    size_t udp_len = get16(udp + UDP_LEN);
    if (udp_len < UDP_HLEN + BOOTP_OPTIONS || udp_len > ip_len - ihl ||
        get16(udp + UDP_DPORT) != UDP_PORT_BOOTPC || get16(udp + UDP_SPORT) != UDP_PORT_BOOTPS) {
        return false;
    }
    const uint8_t *bp = udp + UDP_HLEN;
    if (bp[BOOTP_OP] != BOOTP_OP_REPLY || get32(bp + BOOTP_XID) != DHCP_XID ||
        memcmp(bp + BOOTP_CHADDR, eth.mac, ETH_ALEN) != 0 ||
        get32(bp + BOOTP_COOKIE) != DHCP_MAGIC_COOKIE) {
        return false;
    }
    int msg_type = -1;
    uint32_t server = get32(ip + IP_SRC);
    const uint8_t *o = bp + BOOTP_OPTIONS;
    const uint8_t *end = udp + udp_len;
    while (o < end && *o != DHO_END) {
        if (*o == DHO_PAD) {
            o++;
            continue;
        }
        if (o + 2 > end || o + 2 + o[1] > end) {
            break;
        }
        if (o[0] == DHO_MSG_TYPE && o[1] == 1U) {
            msg_type = o[2];
        } else if (o[0] == DHO_SERVER_ID && o[1] == IP_ALEN) {
            server = get32(o + 2);
        }
        o += 2U + o[1];
    }
    if (msg_type != DHCP_OFFER) {
        return false;
    }
    offer->yiaddr = get32(bp + BOOTP_YIADDR);
    offer->server = server;
    if (get16(udp + UDP_CSUM) == 0U) {
        offer->csum = UDP_CSUM_ZERO;
    } else {
        uint16_t s = csum_fold(udp_pseudo_sum(ip, udp_len) + csum_add(0, udp, udp_len));
        offer->csum = s == 0xFFFFU ? UDP_CSUM_OK : UDP_CSUM_BAD;
    }
    return true;
}

static bool dhcp_discover(dhcp_offer_t *offer)
{
    size_t len = build_discover(tx_frame);
    for (uint32_t try = 0; try < DHCP_TRIES; try++) {
        send(tx_frame, len);
        uint32_t start = now_ms();
        while ((uint32_t)(now_ms() - start) < DHCP_RETRY_MS) {
            size_t n;
            lan9118_err_t err = lan9118_recv(&eth, rx_frame, sizeof rx_frame, &n);
            if (err == LAN9118_OK) {
                if (parse_offer(rx_frame, n, offer)) {
                    return true;
                }
            } else if (err == LAN9118_ERR_EMPTY) {
                wait_event();
            }
        }
    }
    return false;
}

/* -------------------------------------------------------------- serving */
static void reply_arp(const uint8_t *f, size_t len, uint32_t my_ip)
{
    const uint8_t *a = f + ETH_HLEN;
    if (len < ETH_HLEN + ARP_LEN || get16(a + ARP_HTYPE) != ARP_HTYPE_ETHER ||
        get16(a + ARP_PTYPE) != ETHERTYPE_IPV4 || a[ARP_HLEN] != ETH_ALEN || a[ARP_PLEN] != IP_ALEN ||
        get16(a + ARP_OPER) != ARP_OP_REQUEST || get32(a + ARP_TPA) != my_ip) {
        return;
    }
    uint8_t *t = tx_frame;
    memset(t, 0, LAN9118_MIN_FRAME);
    memcpy(t + ETH_DST, a + ARP_SHA, ETH_ALEN);
    memcpy(t + ETH_SRC, eth.mac, ETH_ALEN);
    put16(t + ETH_TYPE, ETHERTYPE_ARP);
    uint8_t *r = t + ETH_HLEN;
    memcpy(r, a, ARP_OPER); /* htype, ptype, hlen, plen */
    put16(r + ARP_OPER, ARP_OP_REPLY);
    memcpy(r + ARP_SHA, eth.mac, ETH_ALEN);
    put32(r + ARP_SPA, my_ip);
    memcpy(r + ARP_THA, a + ARP_SHA, ETH_ALEN);
    memcpy(r + ARP_TPA, a + ARP_SPA, IP_ALEN);
    send(t, LAN9118_MIN_FRAME);
    counters.arp++;
}

static void reply_icmp(const uint8_t *f, size_t len, uint32_t my_ip)
{
    const uint8_t *ip = f + ETH_HLEN;
    size_t ip_len;
    size_t ihl = ipv4_check(ip, len - ETH_HLEN, &ip_len);
    if (ihl == 0U || ip[IP_PROTO] != IP_PROTO_ICMP || get32(ip + IP_DST) != my_ip ||
        ip_len < ihl + ICMP_HLEN) {
        return;
    }
    const uint8_t *icmp = ip + ihl;
    size_t icmp_len = ip_len - ihl;
    if (icmp[ICMP_TYPE] != ICMP_ECHO_REQUEST || icmp[ICMP_CODE] != 0U ||
        checksum(icmp, icmp_len) != 0U) {
        return;
    }
    uint8_t *t = tx_frame;
    memcpy(t, f, ETH_HLEN + ip_len); /* Ethernet padding beyond ip_len is not echoed */
    memcpy(t + ETH_DST, f + ETH_SRC, ETH_ALEN);
    memcpy(t + ETH_SRC, eth.mac, ETH_ALEN);
    uint8_t *rip = t + ETH_HLEN;
    memcpy(rip + IP_DST, ip + IP_SRC, IP_ALEN);
    put32(rip + IP_SRC, my_ip);
    rip[IP_TTL] = IP_TTL_DEFAULT;
    put16(rip + IP_CSUM, 0);
    put16(rip + IP_CSUM, checksum(rip, ihl));
    uint8_t *ricmp = rip + ihl;
    ricmp[ICMP_TYPE] = ICMP_ECHO_REPLY;
    put16(ricmp + ICMP_CSUM, 0);
    put16(ricmp + ICMP_CSUM, checksum(ricmp, icmp_len));
    send(t, ETH_HLEN + ip_len);
    counters.icmp++;
}

/* Returns true for the QUIT frame. */
static bool echo_test_frame(const uint8_t *f, size_t len)
{
    if (len >= ETH_HLEN + QUIT_MAGIC_LEN && memcmp(f + ETH_HLEN, QUIT_MAGIC, QUIT_MAGIC_LEN) == 0) {
        return true;
    }
    memcpy(tx_frame, f, len);
    memcpy(tx_frame + ETH_DST, f + ETH_SRC, ETH_ALEN);
    memcpy(tx_frame + ETH_SRC, eth.mac, ETH_ALEN);
    send(tx_frame, len);
    counters.echoed++;
    return false;
}

/* Returns true when a QUIT frame arrived, false after the idle timeout. */
static bool serve(uint32_t my_ip)
{
    uint32_t last_rx = now_ms();
    for (;;) {
        size_t n;
        lan9118_err_t err = lan9118_recv(&eth, rx_frame, sizeof rx_frame, &n);
        if (err == LAN9118_ERR_EMPTY) {
            if ((uint32_t)(now_ms() - last_rx) >= RAWFRAME_IDLE_MS) {
                return false;
            }
            if (eth.phy_events != 0U) {
                eth.phy_events = 0;
                (void)lan9118_link_poll(&eth);
            }
            wait_event();
            continue;
        }
        last_rx = now_ms(); /* any frame, good or dropped, counts as activity */
        if (err != LAN9118_OK) {
#ifdef RAWFRAME_DEBUG
            printf("dbg: recv %d\n", (int)err);
#endif
            continue;
        }
#ifdef RAWFRAME_DEBUG
        printf("dbg: frame %u type %04x\n", (unsigned)n, get16(rx_frame + ETH_TYPE));
#endif
        switch (get16(rx_frame + ETH_TYPE)) {
        case ETHERTYPE_ARP:
            reply_arp(rx_frame, n, my_ip);
            break;
        case ETHERTYPE_IPV4:
            reply_icmp(rx_frame, n, my_ip);
            break;
        case ETHERTYPE_TEST:
            if (echo_test_frame(rx_frame, n)) {
                return true;
            }
            break;
        default:
            break;
        }
    }
}

static void finish(const char *why)
{
    printf("rawframe: %s\n", why);
    printf("rawframe: arp %lu icmp %lu echoed %lu\n", (unsigned long)counters.arp,
           (unsigned long)counters.icmp, (unsigned long)counters.echoed);
    if (counters.tx_errors != 0U) {
        printf("rawframe: tx errors %lu\n", (unsigned long)counters.tx_errors);
    }
#ifdef RAWFRAME_DEBUG
    printf("dbg: irqs %lu rsfl %lu rx %lu dropped %lu tx %lu\n", (unsigned long)eth.irq_count,
           (unsigned long)eth.rx_events, (unsigned long)eth.rx_frames, (unsigned long)eth.rx_dropped,
           (unsigned long)eth.tx_frames);
#endif
    printf("rawframe: done\n");
}

int main(void)
{
    printf("rawframe: LAN9118 raw frames\n");
    (void)systick_start(TICK_HZ, 1);

    lan9118_err_t err = lan9118_init(&eth, &eth_config);
    if (err != LAN9118_OK) {
        printf("rawframe: lan9118 init FAIL: %s (%d)\n", lan9118_strerror(err), (int)err);
        return 1;
    }
    printf("rawframe: mac %02x:%02x:%02x:%02x:%02x:%02x\n", eth.mac[0], eth.mac[1], eth.mac[2],
           eth.mac[3], eth.mac[4], eth.mac[5]);
    printf("rawframe: link %s\n", lan9118_link_up(&eth) ? "up" : "down");

    printf("rawframe: dhcp discover\n");
    dhcp_offer_t offer;
    uint32_t my_ip = RAWFRAME_FALLBACK_IP;
    if (dhcp_discover(&offer)) {
        static const char *const csum_text[] = {
            [UDP_CSUM_OK] = "ok", [UDP_CSUM_ZERO] = "zero", [UDP_CSUM_BAD] = "BAD"};
        printf("rawframe: offer ");
        print_ip(offer.yiaddr);
        printf(" from ");
        print_ip(offer.server);
        printf("\nrawframe: udp checksum %s\n", csum_text[offer.csum]);
        my_ip = offer.yiaddr;
    } else {
        printf("rawframe: no offer\n");
    }
    if (RAWFRAME_EXIT_AFTER_OFFER) {
        finish("exit after offer");
        return 0;
    }
    printf("rawframe: serving ");
    print_ip(my_ip);
    printf("\n");

    finish(serve(my_ip) ? "quit" : "idle timeout");
    return 0;
}
