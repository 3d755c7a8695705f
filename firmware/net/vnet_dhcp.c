/* vnet DHCP client (RFC 2131): DISCOVER/OFFER/REQUEST/ACK, renew, rebind. */
#include <string.h>

#include "vnet_internal.h"

enum { D_OFF = 0, D_SELECTING, D_REQUESTING, D_BOUND, D_RENEWING, D_REBINDING };
enum { DHCPDISCOVER = 1, DHCPOFFER = 2, DHCPREQUEST = 3, DHCPACK = 5, DHCPNAK = 6 };
#define BOOTP_LEN 548U /* 236 fixed + 312 options: a 576-byte datagram */
#define RETRY_MAX_MS 16000U
#define LEASE_MAX_S 1000000U /* keeps deadlines far from the 32-bit ms wrap */

static struct {
    uint8_t st, tries;
    uint32_t xid;
    uint32_t t_next, iv;
    uint32_t start;
    uint32_t offer_ip, server;
    uint32_t t0, t1, t2, tend; /* lease start and deadlines (ms) */
    bool infinite;
} d;

static void dhcp_send(uint8_t type)
{
    uint8_t *m = vnet_tx + TX_L4 + UDP_HLEN;
    memset(m, 0, BOOTP_LEN);
    m[0] = 1; /* BOOTREQUEST */
    m[1] = 1;
    m[2] = 6;
    wr32(m + 4, d.xid);
    wr16(m + 8, (vnet_now_ms() - d.start) / 1000U);
    bool have_ip = d.st == D_RENEWING || d.st == D_REBINDING;
    if (!have_ip) {
        wr16(m + 10, 0x8000); /* broadcast replies: we cannot take unicast yet */
    } else {
        wr32(m + 12, vnet_if.ip);
    }
    memcpy(m + 28, vnet_if.mac, 6);
    wr32(m + 236, 0x63825363UL);
    uint8_t *o = m + 240;
    *o++ = 53;
    *o++ = 1;
    *o++ = type;
    *o++ = 61; /* client id */
    *o++ = 7;
    *o++ = 1;
    memcpy(o, vnet_if.mac, 6);
    o += 6;
    if (type == DHCPREQUEST && d.st == D_REQUESTING) {
        *o++ = 50;
        *o++ = 4;
        wr32(o, d.offer_ip);
        o += 4;
        *o++ = 54;
        *o++ = 4;
        wr32(o, d.server);
        o += 4;
    }
    static const uint8_t prl[] = {55, 6, 1, 3, 6, 51, 58, 59};
    memcpy(o, prl, sizeof prl);
    o += sizeof prl;
    *o = 255;
    uint32_t dst = d.st == D_RENEWING ? d.server : IP_BROADCAST;
    (void)udp_output(0, 68, dst, 67, BOOTP_LEN);
}

static void restart(void)
{
    d.st = D_SELECTING;
    d.xid = vnet_rand();
    d.start = vnet_now_ms();
    d.tries = 0;
    d.iv = VNET_DHCP_RETRY_MS;
    dhcp_send(DHCPDISCOVER);
    d.t_next = d.start + d.iv;
}

void dhcp_start(void) { restart(); }
void dhcp_stop(void) { d.st = D_OFF; }
bool dhcp_bound(void) { return d.st == D_BOUND || d.st == D_RENEWING || d.st == D_REBINDING; }

static void lose_lease(void)
{
    vnet_if.ip = vnet_if.mask = vnet_if.gw = vnet_if.dns = 0;
    vnet_set_state(VNET_IF_CONNECTING);
    restart();
}

/* An address a server may lease: not 0/8, loopback, multicast or reserved. */
static bool lease_addr_ok(uint32_t ip)
{
    uint32_t net = ip >> 24;
    return net != 0U && net != 127U && net < 224U;
}

bool dhcp_input(const uint8_t *m, size_t len)
{
    if (d.st == D_OFF) {
        return false;
    }
    if (len < 240U || m[0] != 2 || m[1] != 1 || m[2] != 6 || rd32(m + 4) != d.xid ||
        memcmp(m + 28, vnet_if.mac, 6) != 0 || rd32(m + 236) != 0x63825363UL) {
        return true;
    }
    uint8_t type = 0;
    uint32_t sid = 0, mask = 0, router = 0, dns = 0, lease = 3600, t1 = 0, t2 = 0;
    for (size_t i = 240; i < len;) {
        uint8_t opt = m[i];
        if (opt == 255) {
            break;
        }
        if (opt == 0) {
            i++;
            continue;
        }
        if (i + 1 >= len || i + 2U + m[i + 1] > len) {
            break;
        }
        uint8_t ol = m[i + 1];
        const uint8_t *v = m + i + 2;
        switch (opt) {
        case 53:
            type = ol >= 1 ? v[0] : 0;
            break;
        case 54:
            sid = ol >= 4 ? rd32(v) : 0;
            break;
        case 1:
            mask = ol >= 4 ? rd32(v) : 0;
            break;
        case 3:
            router = ol >= 4 ? rd32(v) : 0;
            break;
        case 6:
            dns = ol >= 4 ? rd32(v) : 0;
            break;
        case 51:
            lease = ol >= 4 ? rd32(v) : lease;
            break;
        case 58:
            t1 = ol >= 4 ? rd32(v) : 0;
            break;
        case 59:
            t2 = ol >= 4 ? rd32(v) : 0;
            break;
        default:
            break;
        }
        i += 2U + ol;
    }
    uint32_t yiaddr = rd32(m + 16);
    uint32_t now = vnet_now_ms();
    /* While rebinding any server may answer; otherwise only the one we chose. */
    bool our_server = sid == 0 || sid == d.server || d.st == D_REBINDING;
    if (d.st == D_SELECTING && type == DHCPOFFER && lease_addr_ok(yiaddr)) {
        d.offer_ip = yiaddr;
        d.server = sid != 0 ? sid : rd32(m + 20);
        d.st = D_REQUESTING;
        d.tries = 0;
        d.iv = VNET_DHCP_RETRY_MS;
        dhcp_send(DHCPREQUEST);
        d.t_next = now + d.iv;
    } else if ((d.st == D_REQUESTING || d.st == D_RENEWING || d.st == D_REBINDING) && type == DHCPACK &&
               our_server && lease_addr_ok(yiaddr)) {
        vnet_if.ip = yiaddr;
        vnet_if.mask = mask != 0 && (~mask & (~mask + 1U)) == 0U ? mask : 0xFFFFFF00UL;
        vnet_if.gw = router;
        vnet_if.dns = dns;
        if (sid != 0) {
            d.server = sid;
        }
        d.infinite = lease == 0xFFFFFFFFUL;
        if (lease > LEASE_MAX_S) {
            lease = LEASE_MAX_S;
        }
        if (t1 == 0 || t1 >= lease) {
            t1 = lease / 2U;
        }
        if (t2 == 0 || t2 >= lease || t2 <= t1) {
            t2 = lease - lease / 8U;
        }
        d.t0 = now;
        d.t1 = now + t1 * 1000U;
        d.t2 = now + t2 * 1000U;
        d.tend = now + lease * 1000U;
        d.t_next = d.t1;
        d.st = D_BOUND;
        vnet_stats.dhcp_leases++;
        vnet_set_state(VNET_IF_UP);
    } else if (type == DHCPNAK && d.st != D_SELECTING && d.st != D_BOUND && our_server) {
        lose_lease();
    }
    return true;
}

void dhcp_timer(uint32_t now)
{
    if (d.st == D_OFF || !time_due(now, d.t_next)) {
        return;
    }
    switch (d.st) {
    case D_SELECTING:
        d.iv = d.iv * 2U > RETRY_MAX_MS ? RETRY_MAX_MS : d.iv * 2U;
        dhcp_send(DHCPDISCOVER);
        d.t_next = now + d.iv + (vnet_rand() % 500U);
        break;
    case D_REQUESTING:
        if (++d.tries >= 4U) {
            restart();
            break;
        }
        d.iv = d.iv * 2U > RETRY_MAX_MS ? RETRY_MAX_MS : d.iv * 2U;
        dhcp_send(DHCPREQUEST);
        d.t_next = now + d.iv;
        break;
    case D_BOUND:
        if (d.infinite) {
            d.t_next = now + 0x40000000UL;
            break;
        }
        d.st = D_RENEWING; /* T1: unicast REQUEST to the server */
        d.start = now;
        d.xid = vnet_rand();
        /* fall through */
    case D_RENEWING:
    case D_REBINDING:
        if (time_due(now, d.tend)) {
            lose_lease();
            break;
        }
        if (d.st == D_RENEWING && time_due(now, d.t2)) {
            d.st = D_REBINDING;
        }
        dhcp_send(DHCPREQUEST);
        {
            uint32_t until = (d.st == D_RENEWING ? d.t2 : d.tend) - now;
            uint32_t iv = until / 2U < 2000U ? 2000U : until / 2U;
            d.t_next = now + (iv < until ? iv : until);
        }
        break;
    default:
        break;
    }
}

uint32_t dhcp_next_timer(uint32_t now)
{
    if (d.st == D_OFF) {
        return UINT32_MAX;
    }
    return time_due(now, d.t_next) ? 0 : d.t_next - now;
}
