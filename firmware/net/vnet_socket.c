/* vnet socket layer: the vnet.h socket API over UDP and TCP. */
#include <string.h>

#include "vnet_internal.h"

vsock_t vnet_socks[VNET_MAX_SOCKETS];
uint8_t vnet_tcp_rx[VNET_TCP_BUFSETS][VNET_TCP_RX_BUF] __attribute__((aligned(4)));
uint8_t vnet_tcp_tx[VNET_TCP_BUFSETS][VNET_TCP_TX_BUF] __attribute__((aligned(4)));

typedef struct {
    bool used;
    int8_t next;
    uint16_t len;
    uint16_t port;
    uint32_t ip;
    uint8_t data[VNET_UDP_SLOT_SIZE];
} udp_slot_t;
static udp_slot_t udp_slots[VNET_UDP_RX_SLOTS];
static uint16_t eph_next;

/* ------------------------------------------------------------- internals */
void ring_write(uint8_t *ring, size_t cap, size_t pos, const void *data, size_t n)
{
    size_t first = cap - pos < n ? cap - pos : n;
    memcpy(ring + pos, data, first);
    memcpy(ring, (const uint8_t *)data + first, n - first);
}

void ring_read(const uint8_t *ring, size_t cap, size_t pos, void *out, size_t n)
{
    size_t first = cap - pos < n ? cap - pos : n;
    memcpy(out, ring + pos, first);
    memcpy((uint8_t *)out + first, ring, n - first);
}

int sock_alloc(uint8_t proto)
{
    for (int i = 0; i < VNET_MAX_SOCKETS; i++) {
        vsock_t *s = &vnet_socks[i];
        if (!s->used) {
            memset(s, 0, sizeof *s);
            s->used = true;
            s->proto = proto;
            s->buf = -1;
            s->parent = -1;
            s->q_head = s->q_tail = -1;
            return i;
        }
    }
    return -1;
}

void sock_free(int i)
{
    vsock_t *s = &vnet_socks[i];
    if (s->proto == VNET_UDP) {
        for (int8_t q = s->q_head; q >= 0;) {
            int8_t n = udp_slots[q].next;
            udp_slots[q].used = false;
            q = n;
        }
    }
    memset(s, 0, sizeof *s);
    s->buf = -1;
    s->parent = -1;
    s->q_head = s->q_tail = -1;
}

int tcp_buf_alloc(void)
{
    for (int b = 0; b < VNET_TCP_BUFSETS; b++) {
        bool taken = false;
        for (int i = 0; i < VNET_MAX_SOCKETS; i++) {
            if (vnet_socks[i].used && vnet_socks[i].buf == b) {
                taken = true;
                break;
            }
        }
        if (!taken) {
            return b;
        }
    }
    return -1;
}

static bool port_in_use(uint8_t proto, uint16_t port, const vsock_t *self)
{
    for (int i = 0; i < VNET_MAX_SOCKETS; i++) {
        const vsock_t *o = &vnet_socks[i];
        if (o != self && o->used && o->proto == proto && o->bound && o->lport == port) {
            if (self != NULL && self->reuseaddr && proto == VNET_TCP && o->state != TCP_LISTEN) {
                continue;
            }
            return true;
        }
    }
    return false;
}

uint16_t sock_ephemeral(uint8_t proto)
{
    if (eph_next < 49152U) {
        eph_next = (uint16_t)(49152U + vnet_rand() % 16384U);
    }
    for (uint32_t n = 0; n < 16384U; n++) {
        uint16_t p = eph_next;
        eph_next = (uint16_t)(p == 65535U ? 49152U : p + 1U);
        if (!port_in_use(proto, p, NULL)) {
            return p;
        }
    }
    return 0;
}

static vsock_t *get(int sock)
{
    if (sock < 0 || sock >= VNET_MAX_SOCKETS) {
        return NULL;
    }
    vsock_t *s = &vnet_socks[sock];
    if (!s->used || s->app_closed || s->parent >= 0) {
        return NULL;
    }
    return s;
}

static bool tcp_has_pending_child(int li)
{
    for (int i = 0; i < VNET_MAX_SOCKETS; i++) {
        const vsock_t *c = &vnet_socks[i];
        if (c->used && c->parent == li && c->state >= TCP_ESTABLISHED) {
            return true;
        }
    }
    return false;
}

uint32_t sock_events(const vsock_t *s)
{
    uint32_t ev = 0;
    if (s->proto == VNET_UDP) {
        if (s->q_count > 0) {
            ev |= VNET_EV_READABLE;
        }
        return ev | VNET_EV_WRITABLE;
    }
    switch (s->state) {
    case TCP_LISTEN:
        if (tcp_has_pending_child((int)(s - vnet_socks))) {
            ev |= VNET_EV_READABLE;
        }
        break;
    case TCP_ESTABLISHED:
    case TCP_CLOSE_WAIT:
        if (!s->fin_queued && s->tx_len < VNET_TCP_TX_BUF) {
            ev |= VNET_EV_WRITABLE;
        }
        break;
    default:
        break;
    }
    if (s->state != TCP_LISTEN) {
        if (s->rx_len > 0 || s->rd_closed || s->err != 0) {
            ev |= VNET_EV_READABLE;
        }
        if (s->rd_closed || s->err != 0) {
            ev |= VNET_EV_CLOSED;
        }
    }
    return ev;
}

void sock_dispatch_events(void)
{
    for (int i = 0; i < VNET_MAX_SOCKETS; i++) {
        vsock_t *s = &vnet_socks[i];
        if (!s->used || s->app_closed || s->parent >= 0) {
            continue;
        }
        uint32_t ev = sock_events(s);
        bool fire = s->kick || (ev & ~s->last_ev) != 0U;
        s->kick = false;
        s->last_ev = ev;
        if (fire && s->cb != NULL) {
            s->cb(i, ev, s->ctx); /* may call the API, even close this socket */
        }
    }
}

void sock_udp_deliver(vsock_t *s, uint32_t src, uint16_t sport, const uint8_t *data, size_t len)
{
    if (len > VNET_UDP_SLOT_SIZE || s->q_count >= VNET_UDP_RX_QUEUE) {
        vnet_stats.rx_dropped++;
        return;
    }
    for (int q = 0; q < VNET_UDP_RX_SLOTS; q++) {
        udp_slot_t *u = &udp_slots[q];
        if (!u->used) {
            u->used = true;
            u->next = -1;
            u->len = (uint16_t)len;
            u->ip = src;
            u->port = sport;
            memcpy(u->data, data, len);
            if (s->q_tail >= 0) {
                udp_slots[s->q_tail].next = (int8_t)q;
            } else {
                s->q_head = (int8_t)q;
            }
            s->q_tail = (int8_t)q;
            s->q_count++;
            s->kick = true;
            return;
        }
    }
    vnet_stats.rx_dropped++;
}

/* -------------------------------------------------------------------- API */
int vnet_socket(vnet_proto_t proto)
{
    if (proto != VNET_UDP && proto != VNET_TCP) {
        return VNET_ERR_UNSUPPORTED;
    }
    int i = sock_alloc((uint8_t)proto);
    return i < 0 ? VNET_ERR_NO_SOCKET : i;
}

int vnet_close(int sock)
{
    vsock_t *s = get(sock);
    if (s == NULL) {
        return VNET_ERR_PARAMETER;
    }
    s->cb = NULL;
    if (s->proto == VNET_UDP) {
        sock_free(sock);
    } else {
        tcp_close(s);
    }
    return VNET_OK;
}

int vnet_bind(int sock, const vnet_endpoint_t *local)
{
    vsock_t *s = get(sock);
    if (s == NULL || local == NULL) {
        return VNET_ERR_PARAMETER;
    }
    if (s->bound) {
        return VNET_ERR_PARAMETER;
    }
    uint32_t ip = ip_h(local->ip);
    if (ip != 0 && vnet_if.ip != 0 && ip != vnet_if.ip) {
        return VNET_ERR_PARAMETER;
    }
    uint16_t port = local->port;
    if (port == 0) {
        port = sock_ephemeral(s->proto);
        if (port == 0) {
            return VNET_ERR_ADDRESS_IN_USE;
        }
    } else if (port_in_use(s->proto, port, s)) {
        return VNET_ERR_ADDRESS_IN_USE;
    }
    s->lport = port;
    s->lip = ip;
    s->bound = true;
    return VNET_OK;
}

static int autobind(vsock_t *s)
{
    if (s->bound) {
        return VNET_OK;
    }
    uint16_t p = sock_ephemeral(s->proto);
    if (p == 0) {
        return VNET_ERR_ADDRESS_IN_USE;
    }
    s->lport = p;
    s->bound = true;
    return VNET_OK;
}

int vnet_connect(int sock, const vnet_endpoint_t *remote)
{
    vsock_t *s = get(sock);
    if (s == NULL || remote == NULL) {
        return VNET_ERR_PARAMETER;
    }
    if (s->proto == VNET_UDP) {
        int r = autobind(s);
        if (r != VNET_OK) {
            return r;
        }
        s->rip = ip_h(remote->ip);
        s->rport = remote->port;
        s->connected = s->rip != 0 || s->rport != 0;
        return VNET_OK;
    }
    switch (s->state) {
    case TCP_SYN_SENT:
    case TCP_SYN_RCVD:
        return VNET_ERR_ALREADY;
    case TCP_CLOSED:
        break;
    case TCP_LISTEN:
        return VNET_ERR_PARAMETER;
    default:
        return VNET_ERR_IS_CONNECTED;
    }
    if (s->err != 0) { /* the previous attempt failed: report it once */
        int e = s->err;
        s->err = 0;
        return e;
    }
    if (s->connected) {
        return VNET_ERR_IS_CONNECTED; /* a finished connection */
    }
    if (vnet_if.state != VNET_IF_UP) {
        return VNET_ERR_NO_CONNECTION;
    }
    if (remote->port == 0 || ip_h(remote->ip) == 0) {
        return VNET_ERR_PARAMETER;
    }
    int r = autobind(s);
    if (r != VNET_OK) {
        return r;
    }
    if (s->buf < 0) {
        int b = tcp_buf_alloc();
        if (b < 0) {
            return VNET_ERR_NO_MEMORY;
        }
        s->buf = (int8_t)b;
    }
    s->rip = ip_h(remote->ip);
    s->rport = remote->port;
    return tcp_connect(s);
}

int vnet_listen(int sock, int backlog)
{
    vsock_t *s = get(sock);
    if (s == NULL || s->proto != VNET_TCP) {
        return s == NULL ? VNET_ERR_PARAMETER : VNET_ERR_UNSUPPORTED;
    }
    if (s->state != TCP_CLOSED || s->connected) {
        return s->state == TCP_LISTEN ? VNET_OK : VNET_ERR_IS_CONNECTED;
    }
    int r = autobind(s);
    if (r != VNET_OK) {
        return r;
    }
    if (backlog < 1) {
        backlog = 1;
    }
    if (backlog > VNET_TCP_MAX_BACKLOG) {
        backlog = VNET_TCP_MAX_BACKLOG;
    }
    s->backlog = (uint8_t)backlog;
    s->state = TCP_LISTEN;
    return VNET_OK;
}

int vnet_accept(int sock, vnet_endpoint_t *remote)
{
    vsock_t *s = get(sock);
    if (s == NULL || s->proto != VNET_TCP) {
        return s == NULL ? VNET_ERR_PARAMETER : VNET_ERR_UNSUPPORTED;
    }
    if (s->state != TCP_LISTEN) {
        return VNET_ERR_PARAMETER;
    }
    int best = -1;
    for (int i = 0; i < VNET_MAX_SOCKETS; i++) {
        const vsock_t *c = &vnet_socks[i];
        if (c->used && c->parent == sock && c->state >= TCP_ESTABLISHED &&
            (best < 0 || (int32_t)(c->estab_order - vnet_socks[best].estab_order) < 0)) {
            best = i;
        }
    }
    if (best < 0) {
        return VNET_ERR_WOULD_BLOCK;
    }
    vsock_t *c = &vnet_socks[best];
    c->parent = -1;
    c->accepted = true;
    c->last_ev = 0;
    if (remote != NULL) {
        remote->ip = ip_n(c->rip);
        remote->port = c->rport;
    }
    return best;
}

int vnet_send(int sock, const void *data, size_t len)
{
    vsock_t *s = get(sock);
    if (s == NULL || (data == NULL && len > 0)) {
        return VNET_ERR_PARAMETER;
    }
    if (s->proto == VNET_UDP) {
        if (!s->connected) {
            return VNET_ERR_NO_ADDRESS;
        }
        vnet_endpoint_t to = {ip_n(s->rip), s->rport};
        return vnet_sendto(sock, &to, data, len);
    }
    if (s->err != 0) {
        return s->err;
    }
    if (s->state == TCP_SYN_SENT || s->state == TCP_SYN_RCVD) {
        return VNET_ERR_WOULD_BLOCK;
    }
    if ((s->state != TCP_ESTABLISHED && s->state != TCP_CLOSE_WAIT) || s->fin_queued) {
        return VNET_ERR_NO_CONNECTION;
    }
    if (len == 0) {
        return 0;
    }
    size_t space = VNET_TCP_TX_BUF - s->tx_len;
    if (space == 0) {
        return VNET_ERR_WOULD_BLOCK;
    }
    size_t n = len < space ? len : space;
    ring_write(vnet_tcp_tx[s->buf], VNET_TCP_TX_BUF, (s->tx_start + s->tx_len) % VNET_TCP_TX_BUF, data, n);
    s->tx_len += (uint32_t)n;
    tcp_output(s);
    return (int)n;
}

int vnet_recv(int sock, void *buf, size_t len)
{
    vsock_t *s = get(sock);
    if (s == NULL || (buf == NULL && len > 0)) {
        return VNET_ERR_PARAMETER;
    }
    if (s->proto == VNET_UDP) {
        return vnet_recvfrom(sock, NULL, buf, len);
    }
    if (s->rx_len > 0) {
        size_t n = len < s->rx_len ? len : s->rx_len;
        ring_read(vnet_tcp_rx[s->buf], VNET_TCP_RX_BUF, s->rx_start, buf, n);
        s->rx_start = (uint32_t)((s->rx_start + n) % VNET_TCP_RX_BUF);
        s->rx_len -= (uint32_t)n;
        tcp_recved(s);
        return (int)n;
    }
    if (s->rd_closed) {
        return 0;
    }
    if (s->err != 0) {
        return s->err;
    }
    switch (s->state) {
    case TCP_CLOSED:
    case TCP_LISTEN:
        return VNET_ERR_NO_CONNECTION;
    default:
        return VNET_ERR_WOULD_BLOCK;
    }
}

int vnet_sendto(int sock, const vnet_endpoint_t *remote, const void *data, size_t len)
{
    vsock_t *s = get(sock);
    if (s == NULL || (data == NULL && len > 0)) {
        return VNET_ERR_PARAMETER;
    }
    if (s->proto == VNET_TCP) {
        return vnet_send(sock, data, len);
    }
    if (remote == NULL) {
        return VNET_ERR_NO_ADDRESS;
    }
    if (len > ETH_MTU - IP_HLEN - UDP_HLEN) {
        return VNET_ERR_PARAMETER;
    }
    int r = autobind(s);
    if (r != VNET_OK) {
        return r;
    }
    memcpy(vnet_tx + TX_L4 + UDP_HLEN, data, len);
    r = udp_output(s->lip, s->lport, ip_h(remote->ip), remote->port, len);
    if (r == VNET_OK || r == VNET_ERR_WOULD_BLOCK) {
        return (int)len; /* WOULD_BLOCK: dropped while ARP resolves, as UDP may */
    }
    return r;
}

int vnet_recvfrom(int sock, vnet_endpoint_t *remote, void *buf, size_t len)
{
    vsock_t *s = get(sock);
    if (s == NULL || (buf == NULL && len > 0)) {
        return VNET_ERR_PARAMETER;
    }
    if (s->proto == VNET_TCP) {
        if (remote != NULL && s->connected) {
            remote->ip = ip_n(s->rip);
            remote->port = s->rport;
        }
        return vnet_recv(sock, buf, len);
    }
    if (s->q_head < 0) {
        return VNET_ERR_WOULD_BLOCK;
    }
    udp_slot_t *u = &udp_slots[s->q_head];
    size_t n = len < u->len ? len : u->len;
    memcpy(buf, u->data, n);
    if (remote != NULL) {
        remote->ip = ip_n(u->ip);
        remote->port = u->port;
    }
    s->q_head = u->next;
    if (s->q_head < 0) {
        s->q_tail = -1;
    }
    s->q_count--;
    u->used = false;
    return (int)n;
}

int vnet_shutdown_write(int sock)
{
    vsock_t *s = get(sock);
    if (s == NULL) {
        return VNET_ERR_PARAMETER;
    }
    if (s->proto != VNET_TCP) {
        return VNET_ERR_UNSUPPORTED;
    }
    switch (s->state) {
    case TCP_ESTABLISHED:
    case TCP_CLOSE_WAIT:
        tcp_shutdown(s);
        return VNET_OK;
    case TCP_FIN_WAIT_1:
    case TCP_FIN_WAIT_2:
    case TCP_CLOSING:
    case TCP_LAST_ACK:
    case TCP_TIME_WAIT:
        return VNET_OK;
    default:
        return VNET_ERR_NO_CONNECTION;
    }
}

int vnet_getpeer(int sock, vnet_endpoint_t *remote)
{
    vsock_t *s = get(sock);
    if (s == NULL || remote == NULL) {
        return VNET_ERR_PARAMETER;
    }
    if (!s->connected) {
        return VNET_ERR_NO_CONNECTION;
    }
    remote->ip = ip_n(s->rip);
    remote->port = s->rport;
    return VNET_OK;
}

int vnet_getlocal(int sock, vnet_endpoint_t *local)
{
    vsock_t *s = get(sock);
    if (s == NULL || local == NULL) {
        return VNET_ERR_PARAMETER;
    }
    local->ip = ip_n(s->lip != 0 ? s->lip : (s->connected ? vnet_if.ip : 0));
    local->port = s->bound ? s->lport : 0;
    return VNET_OK;
}

void vnet_set_callback(int sock, vnet_event_cb cb, void *ctx)
{
    vsock_t *s = get(sock);
    if (s != NULL) {
        s->cb = cb;
        s->ctx = ctx;
        s->last_ev = 0; /* report what is already true at the next poll */
    }
}

uint32_t vnet_events(int sock)
{
    const vsock_t *s = get(sock);
    return s == NULL ? 0U : sock_events(s);
}

static bool *opt_flag(vsock_t *s, int option)
{
    switch (option) {
    case VNET_OPT_REUSEADDR:
        return &s->reuseaddr;
    case VNET_OPT_KEEPALIVE:
        return &s->keepalive;
    case VNET_OPT_NODELAY:
        return &s->nodelay;
    default:
        return NULL;
    }
}

int vnet_set_option(int sock, int option, const void *value, size_t len)
{
    vsock_t *s = get(sock);
    if (s == NULL) {
        return VNET_ERR_PARAMETER;
    }
    bool *f = opt_flag(s, option);
    if (f == NULL) {
        return VNET_ERR_UNSUPPORTED;
    }
    if (value == NULL || len == 0) {
        return VNET_ERR_PARAMETER;
    }
    int v = 0;
    if (len >= sizeof(int)) {
        memcpy(&v, value, sizeof v);
    } else {
        v = *(const uint8_t *)value;
    }
    *f = v != 0;
    if (option == VNET_OPT_KEEPALIVE) {
        s->t_keep = 0;
    }
    return VNET_OK;
}

int vnet_get_option(int sock, int option, void *value, size_t *len)
{
    vsock_t *s = get(sock);
    if (s == NULL || value == NULL || len == NULL) {
        return VNET_ERR_PARAMETER;
    }
    int v;
    if (option == VNET_OPT_RCVBUF || option == VNET_OPT_SNDBUF) {
        v = s->proto == VNET_UDP ? VNET_UDP_SLOT_SIZE * VNET_UDP_RX_QUEUE
                                 : (option == VNET_OPT_RCVBUF ? VNET_TCP_RX_BUF : VNET_TCP_TX_BUF);
    } else {
        bool *f = opt_flag(s, option);
        if (f == NULL) {
            return VNET_ERR_UNSUPPORTED;
        }
        v = *f ? 1 : 0;
    }
    if (*len < sizeof v) {
        return VNET_ERR_PARAMETER;
    }
    memcpy(value, &v, sizeof v);
    *len = sizeof v;
    return VNET_OK;
}
