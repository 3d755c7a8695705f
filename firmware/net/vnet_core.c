/* vnet core: interface, driver glue, Ethernet, ARP, IPv4, ICMP, the engine. */
#include <string.h>

#include "bsp.h"
#include "lan9118/lan9118.h"
#include "vnet_internal.h"

vnet_if_t vnet_if;
vnet_stats_t vnet_stats;
/* Frames start 2 bytes into word-aligned space, so the IP header and a TCP
 * payload behind a 20-byte header are word-aligned and memcpy moves them a
 * word at a time (Linux's NET_IP_ALIGN). */
#define FRAME_ALIGN_PAD 2U
static uint8_t tx_space[FRAME_ALIGN_PAD + ETH_FRAME_MAX] __attribute__((aligned(4)));
static uint8_t rx_space[FRAME_ALIGN_PAD + ETH_FRAME_MAX] __attribute__((aligned(4)));
uint8_t *const vnet_tx = tx_space + FRAME_ALIGN_PAD;
static uint8_t *const rx_frame = rx_space + FRAME_ALIGN_PAD;

static lan9118_t eth;
static void (*state_cb)(vnet_if_state_t, void *);
static void *state_ctx;
static uint16_t ip_id;
static uint32_t rand_state;

/* ------------------------------------------------------------ clock, IRQs */
uint32_t vnet_now_ms(void) { return systick_ticks(); }

/* Weak: a program with its own handlers calls systick_isr_tick() and
 * vnet_eth_irq() itself. */
void vnet_eth_irq(void);
void vnet_eth_irq(void) { lan9118_irq_handler(&eth); }
__attribute__((weak)) void ETHERNET_Handler(void) { vnet_eth_irq(); }
__attribute__((weak)) void SysTick_Handler(void) { systick_isr_tick(); }

static const lan9118_config_t eth_config = {
    .regs = (LAN9118_TypeDef *)MPS2_ETH_BASE,
    .irq = ETHERNET_IRQn,
    .now_ms = vnet_now_ms,
    .mac = NULL,
    .tx_fifo_kib = VNET_ETH_TX_FIFO_KIB,
    .promiscuous = false,
    .rx_ffwd = false, /* broken on QEMU 7.2, see lan9118.h */
    .reset_timeout_ms = 500,
    .autoneg_timeout_ms = 1000,
    .io_timeout_ms = 10,
};

uint32_t vnet_rand(void)
{
    /* xorshift32 seeded from the MAC and the clock */
    uint32_t x = rand_state ^ (vnet_now_ms() * 2654435761u);
    if (x == 0) {
        x = 0x12345678u;
    }
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rand_state = x;
    return x;
}

/* --------------------------------------------------------------- checksum */
/* The 32-bit one's-complement sum of n/16 blocks of four words (end-around
 * carry kept in the sum): LDM and ADCS, half an instruction per byte. */
static uint32_t csum_blocks(const uint32_t *w, size_t blocks)
{
    uint32_t sum = 0;
    __asm volatile("1:\n\t"
                   "ldmia %[w]!, {r2, r3, r4, r5}\n\t"
                   "adds %[sum], %[sum], r2\n\t"
                   "adcs %[sum], %[sum], r3\n\t"
                   "adcs %[sum], %[sum], r4\n\t"
                   "adcs %[sum], %[sum], r5\n\t"
                   "adc %[sum], %[sum], #0\n\t"
                   "subs %[n], %[n], #1\n\t"
                   "bne 1b"
                   : [sum] "+r"(sum), [w] "+r"(w), [n] "+r"(blocks)
                   :
                   : "r2", "r3", "r4", "r5", "cc", "memory");
    return sum;
}

uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    /* Word sums on aligned data: the one's-complement sum of byte-swapped
     * 16-bit words is the byte-swapped sum, so sum little-endian words and
     * swap once. */
    if ((((uintptr_t)p) & 1U) == 0U && n >= 8U) {
        if ((((uintptr_t)p) & 2U) != 0U) {
            sum += rd16(p);
            p += 2;
            n -= 2U;
        }
        const uint32_t *w = (const uint32_t *)(const void *)p;
        uint32_t le = 0;
        if (n >= 16U) {
            le = csum_blocks(w, n / 16U);
            w += (n / 16U) * 4U;
            n %= 16U;
        }
        uint32_t hi = 0;
        for (; n >= 4U; n -= 4U) {
            uint32_t v = *w++;
            hi += (v & 0xFFFFU) + (v >> 16);
        }
        le = (le & 0xFFFFU) + (le >> 16) + hi;
        le = (le & 0xFFFFU) + (le >> 16);
        le = (le & 0xFFFFU) + (le >> 16);
        sum += ((le & 0xFFU) << 8) | (le >> 8);
        p = (const uint8_t *)w;
    }
    for (; n > 1U; n -= 2U, p += 2) {
        sum += rd16(p);
    }
    if (n != 0U) {
        sum += (uint32_t)p[0] << 8;
    }
    return sum;
}

uint16_t csum_fold(uint32_t sum)
{
    while ((sum >> 16) != 0U) {
        sum = (sum & 0xFFFFU) + (sum >> 16);
    }
    return (uint16_t)sum;
}

uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len)
{
    return (src >> 16) + (src & 0xFFFFU) + (dst >> 16) + (dst & 0xFFFFU) + proto + len;
}

/* ------------------------------------------------------------------- link */
static void eth_send(size_t len)
{
    if (lan9118_send(&eth, vnet_tx, len) == LAN9118_OK) {
        vnet_stats.tx_frames++;
    }
}

static void eth_header(uint8_t *f, const uint8_t *dst, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, vnet_if.mac, 6);
    wr16(f + 12, type);
}

/* -------------------------------------------------------------------- ARP */
enum { ARP_FREE = 0, ARP_PENDING, ARP_OK };
typedef struct {
    uint8_t state, tries;
    uint8_t mac[6];
    uint32_t ip;      /* host order */
    uint32_t t;       /* OK: expiry; PENDING: next retry */
} arp_entry_t;
static arp_entry_t arp_tab[VNET_ARP_ENTRIES];

typedef struct {
    bool used;
    uint16_t len;
    uint32_t hop;
    uint32_t seq; /* age, for FIFO order */
    uint8_t frame[ETH_FRAME_MAX];
} arp_q_t;
static arp_q_t arp_q[VNET_ARP_QUEUE];
static uint32_t arp_q_seq;

static const uint8_t bcast_mac[6] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

static void arp_send(uint16_t op, const uint8_t *tha, uint32_t tpa, const uint8_t *dst_mac)
{
    uint8_t *f = vnet_tx;
    eth_header(f, dst_mac, 0x0806);
    uint8_t *a = f + ETH_HLEN;
    wr16(a, 1);
    wr16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    wr16(a + 6, op);
    memcpy(a + 8, vnet_if.mac, 6);
    wr32(a + 14, vnet_if.ip);
    memcpy(a + 18, tha, 6);
    wr32(a + 24, tpa);
    eth_send(ETH_HLEN + 28U);
    if (op == 1) {
        vnet_stats.arp_requests++;
    } else {
        vnet_stats.arp_replies++;
    }
}

static arp_entry_t *arp_find(uint32_t ip)
{
    for (int i = 0; i < VNET_ARP_ENTRIES; i++) {
        if (arp_tab[i].state != ARP_FREE && arp_tab[i].ip == ip) {
            return &arp_tab[i];
        }
    }
    return NULL;
}

static arp_entry_t *arp_new(uint32_t ip)
{
    arp_entry_t *victim = NULL;
    for (int i = 0; i < VNET_ARP_ENTRIES; i++) {
        arp_entry_t *e = &arp_tab[i];
        if (e->state == ARP_FREE) {
            victim = e;
            break;
        }
        /* else: the resolved entry expiring first */
        if (e->state == ARP_OK && (victim == NULL || (int32_t)(e->t - victim->t) < 0)) {
            victim = e;
        }
    }
    if (victim == NULL) {
        return NULL; /* everything pending */
    }
    memset(victim, 0, sizeof *victim);
    victim->ip = ip;
    return victim;
}

static void arp_q_drop(uint32_t hop)
{
    for (int i = 0; i < VNET_ARP_QUEUE; i++) {
        if (arp_q[i].used && arp_q[i].hop == hop) {
            arp_q[i].used = false;
        }
    }
}

static void arp_learn(uint32_t ip, const uint8_t *mac, bool create)
{
    arp_entry_t *e = arp_find(ip);
    if (e == NULL) {
        if (!create || (e = arp_new(ip)) == NULL) {
            return;
        }
    }
    e->state = ARP_OK;
    memcpy(e->mac, mac, 6);
    e->t = vnet_now_ms() + VNET_ARP_AGE_MS;
    /* flush the frames waiting for it, oldest first */
    for (;;) {
        arp_q_t *best = NULL;
        for (int i = 0; i < VNET_ARP_QUEUE; i++) {
            if (arp_q[i].used && arp_q[i].hop == ip &&
                (best == NULL || (int32_t)(arp_q[i].seq - best->seq) < 0)) {
                best = &arp_q[i];
            }
        }
        if (best == NULL) {
            break;
        }
        memcpy(best->frame, mac, 6);
        if (lan9118_send(&eth, best->frame, best->len) == LAN9118_OK) {
            vnet_stats.tx_frames++;
        }
        best->used = false;
    }
}

/* Broadcast (limited or of our subnet) or multicast: never a host's address. */
static bool ip_is_group(uint32_t ip)
{
    return ip == IP_BROADCAST || (ip & 0xF0000000UL) == 0xE0000000UL ||
           (vnet_if.ip != 0 && vnet_if.mask != 0 && vnet_if.mask != IP_BROADCAST &&
            (ip & ~vnet_if.mask) == ~vnet_if.mask && (ip & vnet_if.mask) == (vnet_if.ip & vnet_if.mask));
}

static void arp_input(const uint8_t *a, size_t len)
{
    if (len < 28U || rd16(a) != 1 || rd16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4) {
        return;
    }
    uint16_t op = rd16(a + 6);
    static const uint8_t zero_mac[6];
    const uint8_t *sha = a + 8;
    uint32_t spa = rd32(a + 14), tpa = rd32(a + 24);
    if ((op != 1 && op != 2) || (sha[0] & 1U) != 0U || memcmp(sha, zero_mac, 6) == 0 ||
        ip_is_group(spa) || (vnet_if.ip != 0 && spa == vnet_if.ip)) {
        return;
    }
    bool for_us = vnet_if.ip != 0 && tpa == vnet_if.ip;
    if (spa != 0) {
        arp_learn(spa, sha, for_us);
    }
    if (op == 1 && for_us) {
        arp_send(2, sha, spa, sha);
    }
}

static void arp_timers(uint32_t now)
{
    for (int i = 0; i < VNET_ARP_ENTRIES; i++) {
        arp_entry_t *e = &arp_tab[i];
        if (e->state == ARP_OK && time_due(now, e->t)) {
            e->state = ARP_FREE;
        } else if (e->state == ARP_PENDING && time_due(now, e->t)) {
            if (e->tries >= VNET_ARP_RETRIES) {
                arp_q_drop(e->ip);
                e->state = ARP_FREE;
            } else {
                e->tries++;
                e->t = now + VNET_ARP_RETRY_MS;
                static const uint8_t zero[6];
                arp_send(1, zero, e->ip, bcast_mac);
            }
        }
    }
}

static uint32_t arp_next_timer(uint32_t now)
{
    uint32_t best = UINT32_MAX;
    for (int i = 0; i < VNET_ARP_ENTRIES; i++) {
        if (arp_tab[i].state == ARP_PENDING) {
            uint32_t d = time_due(now, arp_tab[i].t) ? 0 : arp_tab[i].t - now;
            if (d < best) {
                best = d;
            }
        }
    }
    return best;
}

/* Frame in vnet_tx (Ethernet header to be completed) to next hop `hop`. */
static int arp_resolve_send(uint32_t hop, size_t len)
{
    uint32_t now = vnet_now_ms();
    arp_entry_t *e = arp_find(hop);
    if (e != NULL && e->state == ARP_OK) {
        memcpy(vnet_tx, e->mac, 6);
        eth_send(len);
        return VNET_OK;
    }
    /* queue: at most VNET_ARP_QUEUE_PER_ADDR for this hop (drop its oldest) */
    arp_q_t *slot = NULL, *oldest_same = NULL;
    int same = 0;
    for (int i = 0; i < VNET_ARP_QUEUE; i++) {
        if (!arp_q[i].used) {
            if (slot == NULL) {
                slot = &arp_q[i];
            }
        } else if (arp_q[i].hop == hop) {
            same++;
            if (oldest_same == NULL || (int32_t)(arp_q[i].seq - oldest_same->seq) < 0) {
                oldest_same = &arp_q[i];
            }
        }
    }
    if (same >= VNET_ARP_QUEUE_PER_ADDR || slot == NULL) {
        slot = oldest_same;
    }
    if (slot != NULL) {
        slot->used = true;
        slot->hop = hop;
        slot->len = (uint16_t)len;
        slot->seq = arp_q_seq++;
        memcpy(slot->frame, vnet_tx, len);
    }
    if (e == NULL) {
        e = arp_new(hop);
        if (e == NULL) {
            if (slot != NULL) {
                slot->used = false;
            }
            return VNET_ERR_NO_MEMORY;
        }
        e->state = ARP_PENDING;
        e->tries = 1;
        e->t = now + VNET_ARP_RETRY_MS;
        static const uint8_t zero[6];
        arp_send(1, zero, hop, bcast_mac);
    }
    return slot != NULL ? VNET_OK : VNET_ERR_WOULD_BLOCK;
}

/* ------------------------------------------------------------------- IPv4 */
int ip_output(uint32_t dst, uint8_t proto, size_t len)
{
    if (!vnet_if.hw_ok || vnet_if.state == VNET_IF_DOWN || len > ETH_MTU - IP_HLEN) {
        return VNET_ERR_NO_CONNECTION;
    }
    uint8_t *ip = vnet_tx + ETH_HLEN;
    ip[0] = 0x45;
    ip[1] = 0;
    wr16(ip + 2, IP_HLEN + len);
    wr16(ip + 4, ip_id++);
    wr16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = proto;
    wr16(ip + 10, 0);
    wr32(ip + 12, vnet_if.ip);
    wr32(ip + 16, dst);
    wr16(ip + 10, (uint16_t)~csum_fold(csum_add(0, ip, IP_HLEN)));
    size_t flen = ETH_HLEN + IP_HLEN + len;
    vnet_stats.ip_tx++;

    bool bcast = dst == IP_BROADCAST ||
                 (vnet_if.mask != 0 && vnet_if.mask != IP_BROADCAST &&
                  (dst & ~vnet_if.mask) == ~vnet_if.mask && (dst & vnet_if.mask) == (vnet_if.ip & vnet_if.mask));
    if (bcast) {
        eth_header(vnet_tx, bcast_mac, 0x0800);
        eth_send(flen);
        return VNET_OK;
    }
    if (vnet_if.ip == 0) {
        return VNET_ERR_NO_ADDRESS;
    }
    uint32_t hop = dst;
    if ((dst & vnet_if.mask) != (vnet_if.ip & vnet_if.mask)) {
        if (vnet_if.gw == 0) {
            return VNET_ERR_NO_CONNECTION;
        }
        hop = vnet_if.gw;
    }
    eth_header(vnet_tx, bcast_mac, 0x0800);
    return arp_resolve_send(hop, flen);
}

static void icmp_input(uint32_t src, const uint8_t *icmp, size_t len)
{
    if (len < 8U || icmp[0] != 8 || csum_fold(csum_add(0, icmp, len)) != 0xFFFFU) {
        return;
    }
    if (len > ETH_MTU - IP_HLEN) {
        return;
    }
    uint8_t *out = vnet_tx + TX_L4;
    memcpy(out, icmp, len);
    out[0] = 0;
    wr16(out + 2, 0);
    wr16(out + 2, (uint16_t)~csum_fold(csum_add(0, out, len)));
    if (ip_output(src, IP_PROTO_ICMP, len) == VNET_OK) {
        vnet_stats.icmp_echo_replies++;
    }
}

static void ip_input(const uint8_t *ip, size_t avail)
{
    if (avail < IP_HLEN || (ip[0] >> 4) != 4) {
        return;
    }
    size_t ihl = (size_t)(ip[0] & 0x0FU) * 4U;
    size_t tot = rd16(ip + 2);
    if (ihl < IP_HLEN || tot < ihl || tot > avail) {
        vnet_stats.rx_dropped++;
        return;
    }
    vnet_stats.ip_rx++;
    if (csum_fold(csum_add(0, ip, ihl)) != 0xFFFFU) {
        vnet_stats.ip_bad_checksum++;
        return;
    }
    if ((rd16(ip + 6) & 0x3FFFU) != 0U) { /* MF or an offset: no reassembly */
        vnet_stats.ip_fragments_dropped++;
        return;
    }
    uint32_t src = rd32(ip + 12), dst = rd32(ip + 16);
    if (ip_is_group(src)) {
        return;
    }
    bool bcast = dst == IP_BROADCAST ||
                 (vnet_if.ip != 0 && (dst & ~vnet_if.mask) == ~vnet_if.mask &&
                  (dst & vnet_if.mask) == (vnet_if.ip & vnet_if.mask));
    bool ours = vnet_if.ip != 0 ? dst == vnet_if.ip : ip[9] == IP_PROTO_UDP; /* DHCP before bound */
    if (!ours && !bcast) {
        return;
    }
    const uint8_t *pl = ip + ihl;
    size_t plen = tot - ihl;
    switch (ip[9]) {
    case IP_PROTO_ICMP:
        if (!bcast && vnet_if.ip != 0) {
            icmp_input(src, pl, plen);
        }
        break;
    case IP_PROTO_UDP:
        udp_input(src, dst, pl, plen);
        break;
    case IP_PROTO_TCP:
        if (!bcast && vnet_if.ip != 0) {
            tcp_input(src, dst, pl, plen);
        }
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------- the engine */
void vnet_set_state(vnet_if_state_t st)
{
    if (vnet_if.state != st) {
        vnet_if.state = st;
        if (state_cb != NULL) {
            state_cb(st, state_ctx);
        }
    }
}

/* What the last vnet_poll() saw: the RX interrupt count, the millisecond and
 * whether frames were left for the next turn (vnet_poll_quick). */
static uint32_t polled_rx_events, polled_ms;
static bool polled_backlog = true;

void vnet_poll_quick(void)
{
    if (vnet_if.hw_ok && !polled_backlog && eth.phy_events == 0U && eth.rx_events == polled_rx_events &&
        vnet_now_ms() == polled_ms) {
        return;
    }
    vnet_poll();
}

void vnet_poll(void)
{
    if (!vnet_if.hw_ok) {
        return;
    }
    polled_rx_events = eth.rx_events;
    if (eth.phy_events != 0U) {
        eth.phy_events = 0;
        bool up = lan9118_link_poll(&eth);
        if (!up && vnet_if.state != VNET_IF_DOWN) {
            vnet_set_state(VNET_IF_LINK_DOWN);
        } else if (up && vnet_if.state == VNET_IF_LINK_DOWN) {
            vnet_set_state(vnet_if.ip != 0 ? VNET_IF_UP : VNET_IF_CONNECTING);
        }
    }
    int n = 0;
    for (; n < VNET_POLL_BUDGET && lan9118_rx_pending(&eth); n++) {
        size_t len = 0;
        lan9118_err_t r = lan9118_recv(&eth, rx_frame, ETH_FRAME_MAX, &len);
        if (r == LAN9118_ERR_EMPTY) {
            break;
        }
        if (r != LAN9118_OK) {
            vnet_stats.rx_dropped++;
            continue;
        }
        vnet_stats.rx_frames++;
        if (len < ETH_HLEN || vnet_if.state == VNET_IF_DOWN) {
            continue;
        }
        uint16_t type = rd16(rx_frame + 12);
        if (type == 0x0806) {
            arp_input(rx_frame + ETH_HLEN, len - ETH_HLEN);
        } else if (type == 0x0800) {
            ip_input(rx_frame + ETH_HLEN, len - ETH_HLEN);
        }
    }
    polled_backlog = n == VNET_POLL_BUDGET;
    uint32_t now = vnet_now_ms();
    polled_ms = now;
    arp_timers(now);
    dhcp_timer(now);
    tcp_timers(now);
    tcp_flush_acks();
    sock_dispatch_events();
}

uint32_t vnet_next_timer_ms(void)
{
    uint32_t now = vnet_now_ms();
    uint32_t a = arp_next_timer(now), b = dhcp_next_timer(now), c = tcp_next_timer(now);
    uint32_t m = a < b ? a : b;
    return m < c ? m : c;
}

void vnet_wait(uint32_t max_ms)
{
    if (max_ms > 0U && vnet_if.hw_ok) {
        __disable_irq();
        uint32_t next = vnet_next_timer_ms();
        if (!lan9118_rx_pending(&eth) && eth.phy_events == 0U && next > 0U) {
            /* Until the stack's next timer or max_ms, whichever is first; the Ethernet
             * IRQ (or any other) ends it sooner. */
            systick_idle_ticks(next < max_ms ? next : max_ms);
        }
        __enable_irq();
    } else if (max_ms > 0U) {
        __WFI();
    }
    vnet_poll();
}

/* -------------------------------------------------------------- interface */
static int hw_init(void)
{
    if ((SysTick->CTRL & (SysTick_CTRL_ENABLE | SysTick_CTRL_TICKINT)) !=
        (SysTick_CTRL_ENABLE | SysTick_CTRL_TICKINT)) {
        (void)systick_start(1000, 1);
    }
    if (!vnet_if.hw_ok) {
        if (lan9118_init(&eth, &eth_config) != LAN9118_OK) {
            return VNET_ERR_DEVICE_ERROR;
        }
        memcpy(vnet_if.mac, eth.mac, 6);
        rand_state ^= rd32(eth.mac + 2) ^ 0x9E3779B9u;
        ip_id = (uint16_t)vnet_rand();
        vnet_if.hw_ok = true;
    }
    return VNET_OK;
}

int vnet_if_up(const vnet_if_config_t *cfg, uint32_t timeout_ms)
{
    if (cfg == NULL) {
        return VNET_ERR_PARAMETER;
    }
    if (vnet_if.state == VNET_IF_UP) {
        return VNET_ERR_IS_CONNECTED;
    }
    int r = hw_init();
    if (r != VNET_OK) {
        return r;
    }
    uint32_t start = vnet_now_ms();
    memset(arp_tab, 0, sizeof arp_tab);
    memset(arp_q, 0, sizeof arp_q);
    if (!cfg->dhcp) {
        vnet_if.ip = ip_h(cfg->ip);
        vnet_if.mask = ip_h(cfg->netmask);
        vnet_if.gw = ip_h(cfg->gateway);
        vnet_if.dns = ip_h(cfg->dns);
        if (vnet_if.ip == 0) {
            return VNET_ERR_PARAMETER;
        }
        vnet_set_state(VNET_IF_UP);
        return VNET_OK;
    }
    vnet_if.ip = vnet_if.mask = vnet_if.gw = vnet_if.dns = 0;
    vnet_set_state(VNET_IF_CONNECTING);
    dhcp_start();
    while (!dhcp_bound()) {
        if ((uint32_t)(vnet_now_ms() - start) >= timeout_ms) {
            dhcp_stop();
            vnet_set_state(VNET_IF_DOWN);
            return VNET_ERR_DHCP_FAILURE;
        }
        vnet_wait(10);
    }
    return VNET_OK;
}

int vnet_if_down(void)
{
    for (int i = 0; i < VNET_MAX_SOCKETS; i++) {
        vsock_t *s = &vnet_socks[i];
        if (s->used && s->proto == VNET_TCP && s->state != TCP_CLOSED && s->state != TCP_LISTEN) {
            tcp_abort(s, true);
        }
    }
    dhcp_stop();
    vnet_set_state(VNET_IF_DOWN);
    vnet_if.ip = vnet_if.mask = vnet_if.gw = vnet_if.dns = 0;
    memset(arp_tab, 0, sizeof arp_tab);
    memset(arp_q, 0, sizeof arp_q);
    sock_dispatch_events();
    return VNET_OK;
}

vnet_if_state_t vnet_if_state(void) { return vnet_if.state; }

void vnet_if_addr(vnet_ip_t *ip, vnet_ip_t *netmask, vnet_ip_t *gateway, vnet_ip_t *dns)
{
    if (ip) {
        *ip = ip_n(vnet_if.ip);
    }
    if (netmask) {
        *netmask = ip_n(vnet_if.mask);
    }
    if (gateway) {
        *gateway = ip_n(vnet_if.gw);
    }
    if (dns) {
        *dns = ip_n(vnet_if.dns);
    }
}

void vnet_if_mac(uint8_t mac[6])
{
    if (!vnet_if.hw_ok) {
        (void)hw_init();
    }
    memcpy(mac, vnet_if.mac, 6);
}

void vnet_if_on_state(void (*cb)(vnet_if_state_t state, void *ctx), void *ctx)
{
    state_cb = cb;
    state_ctx = ctx;
}

void vnet_get_stats(vnet_stats_t *out)
{
    if (out) {
        *out = vnet_stats;
        out->rx_dropped += eth.rx_dropped;
    }
}

/* ---------------------------------------------------------------- helpers */
vnet_ip_t vnet_ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    return ip_n(((uint32_t)a << 24) | ((uint32_t)b << 16) | ((uint32_t)c << 8) | d);
}

bool vnet_parse_ip(const char *t, vnet_ip_t *out)
{
    if (t == NULL) {
        return false;
    }
    uint32_t v = 0;
    for (int part = 0; part < 4; part++) {
        if (*t < '0' || *t > '9') {
            return false;
        }
        uint32_t n = 0;
        int digits = 0;
        while (*t >= '0' && *t <= '9') {
            n = n * 10U + (uint32_t)(*t++ - '0');
            if (++digits > 3 || n > 255U) {
                return false;
            }
        }
        v = (v << 8) | n;
        if (part < 3 && *t++ != '.') {
            return false;
        }
    }
    if (*t != '\0') {
        return false;
    }
    if (out) {
        *out = ip_n(v);
    }
    return true;
}

char *vnet_format_ip(vnet_ip_t ip, char *buf)
{
    uint32_t h = ip_h(ip);
    char *p = buf;
    for (int sh = 24; sh >= 0; sh -= 8) {
        unsigned v = (unsigned)(h >> sh) & 0xFFU;
        if (v >= 100U) {
            *p++ = (char)('0' + v / 100U);
        }
        if (v >= 10U) {
            *p++ = (char)('0' + (v / 10U) % 10U);
        }
        *p++ = (char)('0' + v % 10U);
        *p++ = sh != 0 ? '.' : '\0';
    }
    return buf;
}
