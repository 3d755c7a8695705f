/* vnet UDP: input demultiplexing (DHCP, DNS, sockets) and output. */
#include <string.h>

#include "vnet_internal.h"

int udp_output(uint32_t src_ip, uint16_t sport, uint32_t dst, uint16_t dport, size_t len)
{
    (void)src_ip;
    if (len > ETH_MTU - IP_HLEN - UDP_HLEN) {
        return VNET_ERR_PARAMETER;
    }
    uint8_t *u = vnet_tx + TX_L4;
    size_t ulen = UDP_HLEN + len;
    wr16(u, sport);
    wr16(u + 2, dport);
    wr16(u + 4, ulen);
    wr16(u + 6, 0);
    uint32_t sum = csum_pseudo(vnet_if.ip, dst, IP_PROTO_UDP, (uint32_t)ulen);
    uint16_t c = (uint16_t)~csum_fold(csum_add(sum, u, ulen));
    wr16(u + 6, c == 0 ? 0xFFFFU : c);
    int r = ip_output(dst, IP_PROTO_UDP, ulen);
    if (r == VNET_OK) {
        vnet_stats.udp_tx++;
    }
    return r;
}

void udp_input(uint32_t src, uint32_t dst, const uint8_t *u, size_t len)
{
    if (len < UDP_HLEN) {
        return;
    }
    size_t ulen = rd16(u + 4);
    if (ulen < UDP_HLEN || ulen > len) {
        vnet_stats.rx_dropped++;
        return;
    }
    if (rd16(u + 6) != 0) {
        uint32_t sum = csum_pseudo(src, dst, IP_PROTO_UDP, (uint32_t)ulen);
        if (csum_fold(csum_add(sum, u, ulen)) != 0xFFFFU) {
            vnet_stats.rx_dropped++;
            return;
        }
    }
    vnet_stats.udp_rx++;
    uint16_t sport = rd16(u), dport = rd16(u + 2);
    const uint8_t *data = u + UDP_HLEN;
    size_t dlen = ulen - UDP_HLEN;
    if (dport == 68 && sport == 67) {
        if (dhcp_input(data, dlen)) {
            return;
        }
    }
    if (dport != 0 && dport == dns_port() && sport == 53 && src == dns_server()) {
        dns_input(data, dlen);
        return;
    }
    bool bcast = dst != vnet_if.ip;
    for (int i = 0; i < VNET_MAX_SOCKETS; i++) {
        vsock_t *s = &vnet_socks[i];
        if (!s->used || s->app_closed || s->proto != VNET_UDP || !s->bound || s->lport != dport) {
            continue;
        }
        if (s->lip != 0 && s->lip != dst && !bcast) {
            continue;
        }
        if (s->connected && (s->rip != src || s->rport != sport)) {
            continue;
        }
        sock_udp_deliver(s, src, sport, data, dlen);
        return;
    }
    vnet_stats.udp_no_port++;
}
