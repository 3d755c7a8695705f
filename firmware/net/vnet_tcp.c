/* vnet TCP (RFC 793/1122/6298 subset): see vnet.h for the scope. */
#include <string.h>

#include "vnet_internal.h"

#define TXB VNET_TCP_TX_BUF
#define RXB VNET_TCP_RX_BUF
enum { F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_PSH = 0x08, F_ACK = 0x10 };

static uint32_t estab_counter;

static int sidx(const vsock_t *s) { return (int)(s - vnet_socks); }
static uint32_t dl(uint32_t t) { return t != 0U ? t : 1U; } /* 0 means "off" */
static uint32_t min32(uint32_t a, uint32_t b) { return a < b ? a : b; }
static bool synced(const vsock_t *s) { return s->state >= TCP_SYN_RCVD; }

static void finish(vsock_t *s)
{
    s->state = TCP_CLOSED;
    s->t_rtx = s->t_persist = s->t_wait = s->t_keep = s->t_dack = 0;
    s->ack_now = false;
    s->unacked_segs = 0;
    s->kick = true;
    if (s->app_closed || s->parent >= 0) {
        sock_free(sidx(s));
    }
}

/* Header at vnet_tx + TX_L4 with `hl` header bytes and `len` payload bytes
 * already in place; fills the checksum and sends. */
static void tcp_emit(uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                     uint8_t flags, uint16_t wnd, size_t hl, size_t len)
{
    uint8_t *t = vnet_tx + TX_L4;
    wr16(t, sport);
    wr16(t + 2, dport);
    wr32(t + 4, seq);
    wr32(t + 8, ack);
    t[12] = (uint8_t)((hl / 4U) << 4);
    t[13] = flags;
    wr16(t + 14, wnd);
    wr16(t + 16, 0);
    wr16(t + 18, 0);
    uint32_t sum = csum_pseudo(vnet_if.ip, dst, IP_PROTO_TCP, (uint32_t)(hl + len));
    wr16(t + 16, (uint16_t)~csum_fold(csum_add(sum, t, hl + len)));
    vnet_stats.tcp_tx++;
    (void)ip_output(dst, IP_PROTO_TCP, hl + len);
}

static void tcp_send(vsock_t *s, uint32_t seq, uint8_t flags, uint32_t off, size_t len)
{
    uint8_t *t = vnet_tx + TX_L4;
    size_t hl = TCP_HLEN;
    if ((flags & F_SYN) != 0U && VNET_TCP_SYN_OPTIONS) {
        t[20] = 2;
        t[21] = 4;
        wr16(t + 22, VNET_TCP_MSS);
        hl = 24;
        /* Window scale 0 (we never scale ours): in a SYN always, in a
         * SYN-ACK when the peer offered it; then the peer's windows are
         * scaled by its shift. Some stacks (passt) mishandle its absence. */
        if ((flags & F_ACK) == 0U || s->wscale_ok) {
            t[24] = 1;
            t[25] = 3;
            t[26] = 3;
            t[27] = 0;
            hl = 28;
        }
    }
    if (len > 0) {
        ring_read(vnet_tcp_tx[s->buf], TXB, (s->tx_start + off) % TXB, t + hl, len);
    }
    uint32_t wnd = s->buf >= 0 ? RXB - s->rx_len : 0;
    if (wnd > 65535U) {
        wnd = 65535U;
    }
    if ((flags & F_ACK) != 0U) {
        s->ack_now = false;
        s->t_dack = 0;
        s->unacked_segs = 0;
        s->rcv_adv = s->rcv_nxt + wnd;
    }
    tcp_emit(s->rip, s->lport, s->rport, seq, (flags & F_ACK) ? s->rcv_nxt : 0, flags, (uint16_t)wnd, hl, len);
}

static void send_ack(vsock_t *s) { tcp_send(s, s->snd_nxt, F_ACK, 0, 0); }

/* ---- congestion control: slow start, congestion avoidance, NewReno fast recovery ---- */
static void cc_init(vsock_t *s)
{
    uint32_t mss = s->mss;
    s->cwnd = min32(4U * mss, mss * 2U > 4380U ? mss * 2U : 4380U); /* RFC 3390 */
    s->ssthresh = UINT32_MAX;
    s->in_recovery = false;
}

static uint32_t cc_half_flight(const vsock_t *s)
{
    uint32_t flight = s->snd_max - s->snd_una;
    return flight / 2U > 2U * s->mss ? flight / 2U : 2U * s->mss;
}

static void cc_acked(vsock_t *s, uint32_t acked)
{
    if (s->cwnd < s->ssthresh) {
        s->cwnd += min32(acked, s->mss);
    } else {
        uint32_t inc = (uint32_t)s->mss * s->mss / (s->cwnd ? s->cwnd : 1U);
        s->cwnd += inc ? inc : 1U;
    }
    if (s->cwnd > 4U * VNET_TCP_TX_BUF) {
        s->cwnd = 4U * VNET_TCP_TX_BUF;
    }
}

/* ---- out-of-order data: one range past the first hole, kept in the RX ring where it
 * belongs (the end of the in-order data does not move when the application reads) ---- */
static void ring_put(vsock_t *s, uint32_t ahead, const uint8_t *data, size_t len)
{
    ring_write(vnet_tcp_rx[s->buf], RXB, (s->rx_start + s->rx_len + ahead) % RXB, data, len);
}

static void hold_out_of_order(vsock_t *s, uint32_t seq, const uint8_t *data, size_t len)
{
    uint32_t ahead = seq - s->rcv_nxt;
    if (s->buf < 0 || len == 0 || (uint64_t)ahead + len > RXB - s->rx_len) {
        return; /* no room in the window: the peer sends it again */
    }
    uint32_t lo = seq, hi = seq + (uint32_t)len;
    if (s->ooo_len != 0) {
        uint32_t held_end = s->ooo_seq + s->ooo_len;
        if (SEQ_GT(lo, held_end) || SEQ_LT(hi, s->ooo_seq)) {
            return; /* a second hole: only one range is kept */
        }
        lo = SEQ_LT(lo, s->ooo_seq) ? lo : s->ooo_seq;
        hi = SEQ_GT(hi, held_end) ? hi : held_end;
    }
    ring_put(s, ahead, data, len);
    s->ooo_seq = lo;
    s->ooo_len = hi - lo;
}

/* In-order data reached the held range: it becomes in-order data too (returns true). */
static bool take_held(vsock_t *s)
{
    if (s->ooo_len == 0 || SEQ_LT(s->rcv_nxt, s->ooo_seq)) {
        return false;
    }
    uint32_t held_end = s->ooo_seq + s->ooo_len;
    if (SEQ_GT(held_end, s->rcv_nxt)) {
        uint32_t more = held_end - s->rcv_nxt;
        s->rx_len += more;
        s->rcv_nxt += more;
    }
    s->ooo_len = 0;
    return true;
}

/* Resend the first unacknowledged segment, leaving snd_nxt where it is. */
static void retransmit_head(vsock_t *s)
{
    uint32_t n = min32(s->tx_len, s->mss);
    uint32_t sent = s->snd_max - s->snd_una;
    if (n > sent) {
        n = sent;
    }
    if (n > 0) {
        tcp_send(s, s->snd_una, F_ACK | F_PSH, 0, n);
        vnet_stats.tcp_retransmits++;
    }
}

/* RST in answer to a segment nobody wants (RFC 793 "reset generation"). */
static void send_rst_reply(uint32_t src, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                           uint8_t flags, size_t dlen)
{
    if ((flags & F_RST) != 0U) {
        return;
    }
    vnet_stats.tcp_resets_sent++;
    if ((flags & F_ACK) != 0U) {
        tcp_emit(src, dport, sport, ack, 0, F_RST, 0, TCP_HLEN, 0);
    } else {
        uint32_t a = seq + (uint32_t)dlen + ((flags & F_SYN) ? 1U : 0U) + ((flags & F_FIN) ? 1U : 0U);
        tcp_emit(src, dport, sport, 0, a, F_RST | F_ACK, 0, TCP_HLEN, 0);
    }
}

void tcp_abort(vsock_t *s, bool send_rst)
{
    if (send_rst && synced(s) && s->state != TCP_TIME_WAIT) {
        vnet_stats.tcp_resets_sent++;
        tcp_send(s, s->snd_nxt, F_RST | F_ACK, 0, 0);
    }
    if (s->err == 0 && s->state != TCP_TIME_WAIT && s->state != TCP_CLOSED) {
        s->err = VNET_ERR_CONNECTION_LOST;
    }
    finish(s);
}

static void tcb_init(vsock_t *s, uint32_t now)
{
    s->iss = vnet_rand();
    s->snd_una = s->iss;
    s->snd_nxt = s->snd_max = s->iss + 1U;
    s->mss = 536;
    s->rto = VNET_TCP_RTO_INIT_MS;
    s->srtt = s->rttvar = 0;
    s->retries = 0;
    s->rtt_on = true;
    s->rtt_seq = s->iss;
    s->rtt_t0 = now;
    s->t_rtx = dl(now + s->rto);
    s->tx_start = s->tx_len = s->rx_start = s->rx_len = 0;
    s->connected = true;
    s->last_rx = now;
}

int tcp_connect(vsock_t *s)
{
    uint32_t now = vnet_now_ms();
    tcb_init(s, now);
    s->state = TCP_SYN_SENT;
    tcp_send(s, s->iss, F_SYN, 0, 0);
    return VNET_ERR_IN_PROGRESS;
}

static void rtt_sample(vsock_t *s, uint32_t m)
{
    if (s->srtt == 0) {
        s->srtt = (m << 3) | 1U;
        s->rttvar = m << 1;
    } else {
        int32_t err = (int32_t)m - (int32_t)(s->srtt >> 3);
        s->srtt = (uint32_t)((int32_t)s->srtt + err);
        if (err < 0) {
            err = -err;
        }
        s->rttvar = (uint32_t)((int32_t)s->rttvar + err - (int32_t)(s->rttvar >> 2));
    }
    uint32_t rto = (s->srtt >> 3) + (s->rttvar > 10U ? s->rttvar : 10U);
    if (rto < VNET_TCP_RTO_MIN_MS) {
        rto = VNET_TCP_RTO_MIN_MS;
    }
    if (rto > VNET_TCP_RTO_MAX_MS) {
        rto = VNET_TCP_RTO_MAX_MS;
    }
    s->rto = rto;
}

/* The handshake is complete: the peer ACKed our SYN with `ack` in the segment at `seq`. */
static void establish(vsock_t *s, uint32_t seq, uint32_t ack, uint32_t wnd, uint32_t now)
{
    s->snd_una = ack;
    s->snd_wnd = wnd;
    s->snd_wl1 = seq;
    s->snd_wl2 = ack;
    if (s->rtt_on) {
        rtt_sample(s, now - s->rtt_t0);
        s->rtt_on = false;
    }
    s->retries = 0;
    s->t_rtx = 0;
    s->state = TCP_ESTABLISHED;
    cc_init(s);
}

void tcp_output(vsock_t *s)
{
    if (s->buf < 0) {
        return;
    }
    switch (s->state) {
    case TCP_ESTABLISHED:
    case TCP_CLOSE_WAIT:
    case TCP_FIN_WAIT_1:
    case TCP_CLOSING:
    case TCP_LAST_ACK:
        break;
    default:
        return;
    }
    uint32_t now = vnet_now_ms();
    for (;;) {
        uint32_t off = s->snd_nxt - s->snd_una;
        if (off > s->tx_len) {
            break; /* FIN already out */
        }
        uint32_t avail = s->tx_len - off;
        uint32_t wnd_end = s->snd_una + min32(s->snd_wnd, s->cwnd);
        uint32_t usable = SEQ_GT(wnd_end, s->snd_nxt) ? wnd_end - s->snd_nxt : 0U;
        uint32_t n = min32(min32(avail, s->mss), usable);
        bool fin = s->fin_queued && !s->fin_sent && n == avail;
        if (n == 0 && !fin) {
            break;
        }
        /* sender silly-window avoidance: no window-limited runts while data is in flight */
        if (n < avail && n < s->mss && s->snd_nxt != s->snd_una) {
            break;
        }
        if (n > 0 && !s->rtt_on && s->snd_nxt == s->snd_max) {
            s->rtt_on = true;
            s->rtt_seq = s->snd_nxt;
            s->rtt_t0 = now;
        }
        tcp_send(s, s->snd_nxt, (uint8_t)(F_ACK | (n ? F_PSH : 0) | (fin ? F_FIN : 0)), off, n);
        s->snd_nxt += n + (fin ? 1U : 0U);
        if (fin) {
            s->fin_sent = true;
        }
        if (SEQ_GT(s->snd_nxt, s->snd_max)) {
            s->snd_max = s->snd_nxt;
        }
        if (s->t_rtx == 0) {
            s->t_rtx = dl(now + s->rto);
        }
    }
    if (s->snd_nxt == s->snd_una) {
        s->t_rtx = 0;
        if (s->tx_len > 0 && s->snd_wnd == 0 && s->t_persist == 0) {
            s->persist_iv = s->rto;
            s->t_persist = dl(now + s->persist_iv);
        }
    }
}

void tcp_shutdown(vsock_t *s)
{
    if (s->state == TCP_ESTABLISHED) {
        s->state = TCP_FIN_WAIT_1;
    } else if (s->state == TCP_CLOSE_WAIT) {
        s->state = TCP_LAST_ACK;
    } else {
        return;
    }
    s->fin_queued = true;
    tcp_output(s);
}

void tcp_close(vsock_t *s)
{
    int me = sidx(s);
    s->app_closed = true;
    s->cb = NULL;
    switch (s->state) {
    case TCP_LISTEN:
        for (int i = 0; i < VNET_MAX_SOCKETS; i++) {
            if (vnet_socks[i].used && vnet_socks[i].parent == me) {
                tcp_abort(&vnet_socks[i], true);
            }
        }
        finish(s);
        break;
    case TCP_CLOSED:
    case TCP_SYN_SENT:
        finish(s);
        break;
    case TCP_SYN_RCVD:
    case TCP_ESTABLISHED:
    case TCP_CLOSE_WAIT:
        if (s->rx_len > 0) { /* unread data: abort (RFC 2525) */
            tcp_abort(s, true);
        } else {
            tcp_shutdown(s);
        }
        break;
    case TCP_FIN_WAIT_2:
        s->t_wait = dl(vnet_now_ms() + VNET_TCP_FIN_WAIT2_MS);
        break;
    default: /* FIN_WAIT_1, CLOSING, LAST_ACK, TIME_WAIT finish by themselves */
        break;
    }
}

void tcp_recved(vsock_t *s)
{
    if (!synced(s) || s->rd_closed) {
        return;
    }
    uint32_t edge = s->rcv_nxt + (RXB - s->rx_len);
    uint32_t thresh = min32(RXB / 2U, 2U * VNET_TCP_MSS);
    if (SEQ_GE(edge, s->rcv_adv + thresh)) {
        send_ack(s); /* window update */
    }
}

static void enter_time_wait(vsock_t *s, uint32_t now)
{
    s->state = TCP_TIME_WAIT;
    s->t_rtx = s->t_persist = s->t_keep = 0;
    s->t_wait = dl(now + VNET_TCP_TIME_WAIT_MS);
    /* Nothing more is sent or received in TIME_WAIT: once the application has
     * read everything, give the buffer set to the next connection (with only
     * VNET_TCP_BUFSETS of them, a 2 s TIME_WAIT would block quick reconnects). */
    if (s->rx_len == 0) {
        s->buf = -1;
    }
}

static void listen_input(vsock_t *l, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq,
                         uint32_t ack, uint8_t flags, uint16_t wnd, uint16_t mss, int ws, size_t dlen)
{
    if ((flags & F_RST) != 0U) {
        return;
    }
    if ((flags & F_ACK) != 0U) {
        send_rst_reply(src, sport, dport, seq, ack, flags, dlen);
        return;
    }
    if ((flags & F_SYN) == 0U) {
        return;
    }
    int li = sidx(l), pending = 0;
    for (int i = 0; i < VNET_MAX_SOCKETS; i++) {
        if (vnet_socks[i].used && vnet_socks[i].parent == li) {
            pending++;
        }
    }
    if (pending >= l->backlog) {
        return; /* the client will retry the SYN */
    }
    int b = tcp_buf_alloc();
    if (b < 0) {
        return;
    }
    int ci = sock_alloc(VNET_TCP);
    if (ci < 0) {
        return;
    }
    vsock_t *c = &vnet_socks[ci];
    uint32_t now = vnet_now_ms();
    c->buf = (int8_t)b;
    c->parent = (int8_t)li;
    c->bound = true;
    c->lport = dport;
    c->lip = dst;
    c->rport = sport;
    c->rip = src;
    c->keepalive = l->keepalive;
    c->nodelay = l->nodelay;
    c->reuseaddr = l->reuseaddr;
    tcb_init(c, now);
    c->state = TCP_SYN_RCVD;
    c->irs = seq;
    c->rcv_nxt = seq + 1U;
    c->ooo_len = 0;
    c->snd_wnd = wnd; /* never scaled in a SYN */
    c->wscale_ok = VNET_TCP_SYN_OPTIONS && ws >= 0; /* scaling needs both SYNs to offer it */
    c->snd_ws = c->wscale_ok ? (uint8_t)ws : 0;
    c->snd_wl1 = seq;
    c->snd_wl2 = c->iss;
    if (mss != 0) {
        c->mss = min32(mss, VNET_TCP_MSS);
    }
    tcp_send(c, c->iss, F_SYN | F_ACK, 0, 0);
}

static void synsent_input(vsock_t *s, uint32_t src, uint16_t sport, uint32_t seq, uint32_t ack,
                          uint8_t flags, uint16_t wnd, uint16_t mss, int ws, size_t dlen, uint32_t now)
{
    if ((flags & F_ACK) != 0U && ack != s->iss + 1U) {
        send_rst_reply(src, sport, s->lport, seq, ack, flags, dlen);
        return;
    }
    if ((flags & F_RST) != 0U) {
        if ((flags & F_ACK) != 0U) {
            s->err = VNET_ERR_NO_CONNECTION; /* refused */
            finish(s);
        }
        return;
    }
    if ((flags & F_SYN) == 0U || (flags & F_ACK) == 0U) {
        return; /* simultaneous open is not supported */
    }
    s->irs = seq;
    s->rcv_nxt = seq + 1U;
    s->ooo_len = 0;
    s->wscale_ok = VNET_TCP_SYN_OPTIONS && ws >= 0; /* scaling needs both SYNs to offer it */
    s->snd_ws = s->wscale_ok ? (uint8_t)ws : 0;
    if (mss != 0) {
        s->mss = min32(mss, VNET_TCP_MSS);
    }
    establish(s, seq, ack, wnd /* never scaled in a SYN */, now);
    s->kick = true;
    send_ack(s);
}

void tcp_input(uint32_t src, uint32_t dst, const uint8_t *t, size_t len)
{
    if (len < TCP_HLEN) {
        return;
    }
    size_t hl = (size_t)(t[12] >> 4) * 4U;
    if (hl < TCP_HLEN || hl > len) {
        return;
    }
    if (csum_fold(csum_add(csum_pseudo(src, dst, IP_PROTO_TCP, (uint32_t)len), t, len)) != 0xFFFFU) {
        vnet_stats.tcp_bad_checksum++;
        return;
    }
    vnet_stats.tcp_rx++;
    uint16_t sport = rd16(t), dport = rd16(t + 2);
    uint32_t seq = rd32(t + 4), ack = rd32(t + 8);
    uint8_t flags = t[13] & 0x3FU;
    uint16_t wnd = rd16(t + 14);
    uint16_t mss = 0;
    int ws = -1;
    for (size_t o = TCP_HLEN; o < hl;) {
        uint8_t kind = t[o];
        if (kind == 0) {
            break;
        }
        if (kind == 1) {
            o++;
            continue;
        }
        if (o + 1 >= hl || t[o + 1] < 2 || o + t[o + 1] > hl) {
            break;
        }
        if (kind == 2 && t[o + 1] == 4) {
            mss = rd16(t + o + 2);
        } else if (kind == 3 && t[o + 1] == 3) {
            ws = t[o + 2] > 14 ? 14 : t[o + 2];
        }
        o += t[o + 1];
    }
    const uint8_t *data = t + hl;
    size_t dlen = len - hl;
    uint32_t now = vnet_now_ms();

    vsock_t *s = NULL, *l = NULL;
    for (int i = 0; i < VNET_MAX_SOCKETS; i++) {
        vsock_t *c = &vnet_socks[i];
        if (!c->used || c->proto != VNET_TCP || c->lport != dport) {
            continue;
        }
        if (c->state == TCP_LISTEN) {
            if (!c->app_closed) {
                l = c;
            }
        } else if (c->state != TCP_CLOSED && c->rport == sport && c->rip == src) {
            s = c;
            break;
        }
    }
    if (s == NULL) {
        if (l != NULL) {
            listen_input(l, src, dst, sport, dport, seq, ack, flags, wnd, mss, ws, dlen);
        } else {
            send_rst_reply(src, sport, dport, seq, ack, flags, dlen);
        }
        return;
    }
    s->last_rx = now;
    s->keep_probes = 0;
    s->t_keep = 0;
    if (s->state == TCP_SYN_SENT) {
        synsent_input(s, src, sport, seq, ack, flags, wnd, mss, ws, dlen, now);
        return;
    }

    /* ---- synchronized states ---- */
    uint32_t rwnd = RXB - s->rx_len;
    if ((flags & F_RST) != 0U) {
        if (SEQ_GE(seq, s->rcv_nxt) && SEQ_LT(seq, s->rcv_nxt + (rwnd ? rwnd : 1U))) {
            if (s->state != TCP_TIME_WAIT) {
                s->err = (s->state == TCP_SYN_RCVD) ? VNET_ERR_NO_CONNECTION : VNET_ERR_CONNECTION_LOST;
            }
            finish(s);
        }
        return;
    }
    if ((flags & F_SYN) != 0U) {
        if (s->state == TCP_SYN_RCVD && seq == s->irs) {
            tcp_send(s, s->iss, F_SYN | F_ACK, 0, 0); /* our SYN-ACK got lost */
        } else {
            send_ack(s); /* challenge ACK (RFC 5961) */
        }
        return;
    }
    if ((flags & F_ACK) == 0U) {
        return;
    }
    uint32_t swnd = (uint32_t)wnd << s->snd_ws;
    if (s->state == TCP_SYN_RCVD) {
        if (ack != s->iss + 1U) {
            send_rst_reply(src, sport, dport, seq, ack, flags, dlen);
            return;
        }
        establish(s, seq, ack, swnd, now);
        s->estab_order = ++estab_counter;
        if (s->parent >= 0) {
            vnet_socks[s->parent].kick = true;
        }
    }

    /* ---- ACK ---- */
    uint32_t limit = s->snd_max;
    if (s->probe_out && SEQ_GT(s->snd_una + 1U, limit)) {
        limit = s->snd_una + 1U;
    }
    bool fin_acked = false;
    if (SEQ_GT(ack, limit)) {
        send_ack(s);
        return;
    }
    if (SEQ_GT(ack, s->snd_una)) {
        uint32_t acked = ack - s->snd_una;
        if (acked > s->tx_len) {
            fin_acked = s->fin_queued;
            acked = s->tx_len;
        }
        s->tx_start = (s->tx_start + acked) % TXB;
        s->tx_len -= acked;
        s->snd_una = ack;
        if (SEQ_LT(s->snd_nxt, s->snd_una)) {
            s->snd_nxt = s->snd_una;
        }
        if (SEQ_LT(s->snd_max, s->snd_una)) {
            s->snd_max = s->snd_una;
        }
        s->probe_out = false;
        s->t_persist = 0;
        if (s->rtt_on && SEQ_GT(ack, s->rtt_seq)) {
            rtt_sample(s, now - s->rtt_t0);
            s->rtt_on = false;
        }
        s->retries = 0;
        s->dupacks = 0;
        if (s->in_recovery) {
            if (SEQ_LT(ack, s->recover) && s->snd_nxt == s->snd_una) {
                retransmit_head(s); /* partial ACK with nothing in flight: the next hole */
            } else if (!SEQ_LT(ack, s->recover)) {
                s->in_recovery = false;
                s->cwnd = s->ssthresh;
            }
        } else {
            cc_acked(s, acked);
        }
        s->t_rtx = s->snd_nxt != s->snd_una ? dl(now + s->rto) : 0;
        s->kick = true;
    } else if (ack == s->snd_una && dlen == 0 && (flags & F_FIN) == 0U && swnd == s->snd_wnd &&
               s->snd_max != s->snd_una) {
        if (++s->dupacks == 3 && !s->in_recovery) {
            /* Fast retransmit, going back to snd_una: small-stack peers (passt, slirp, lwIP
             * without OOSEQ) drop out-of-order segments, so everything after the hole is
             * sent again, within the halved window. */
            s->ssthresh = cc_half_flight(s);
            s->cwnd = s->ssthresh;
            s->recover = s->snd_max;
            s->in_recovery = true;
            s->rtt_on = false;
            s->snd_nxt = s->snd_una;
            s->fin_sent = false;
            vnet_stats.tcp_retransmits++;
        }
    }
    if (SEQ_LT(s->snd_wl1, seq) || (s->snd_wl1 == seq && SEQ_LE(s->snd_wl2, ack))) {
        if (swnd > s->snd_wnd) {
            s->kick = true;
        }
        s->snd_wnd = swnd;
        s->snd_wl1 = seq;
        s->snd_wl2 = ack;
    }
    switch (s->state) {
    case TCP_FIN_WAIT_1:
        if (fin_acked) {
            s->state = TCP_FIN_WAIT_2;
            s->t_rtx = 0;
            if (s->app_closed) {
                s->t_wait = dl(now + VNET_TCP_FIN_WAIT2_MS);
            }
        }
        break;
    case TCP_CLOSING:
        if (fin_acked) {
            enter_time_wait(s, now);
        }
        break;
    case TCP_LAST_ACK:
        if (fin_acked) {
            finish(s);
            return;
        }
        break;
    default:
        break;
    }

    /* ---- data and FIN ---- */
    uint32_t seg_end = seq + (uint32_t)dlen + ((flags & F_FIN) ? 1U : 0U);
    if ((dlen > 0 || (flags & F_FIN)) && SEQ_LE(seg_end, s->rcv_nxt)) {
        send_ack(s); /* a duplicate: re-ACK */
        if (s->state == TCP_TIME_WAIT) {
            s->t_wait = dl(now + VNET_TCP_TIME_WAIT_MS);
        }
        tcp_output(s);
        return;
    }
    bool fin = (flags & F_FIN) != 0U;
    if (dlen > 0 || fin) {
        if (SEQ_LT(seq, s->rcv_nxt)) { /* overlap: trim the old part */
            uint32_t skip = s->rcv_nxt - seq;
            data += skip;
            dlen -= skip;
            seq = s->rcv_nxt;
        }
        if (seq != s->rcv_nxt) { /* out of order: keep it if it fits, duplicate ACK */
            hold_out_of_order(s, seq, data, dlen);
            send_ack(s);
            tcp_output(s);
            return;
        }
        bool can_rx = s->state == TCP_ESTABLISHED || s->state == TCP_FIN_WAIT_1 || s->state == TCP_FIN_WAIT_2;
        if (dlen > 0 && can_rx) {
            if (s->app_closed) { /* nobody will read it */
                tcp_abort(s, true);
                return;
            }
            size_t n = dlen < rwnd ? dlen : rwnd;
            ring_put(s, 0, data, n);
            s->rx_len += (uint32_t)n;
            s->rcv_nxt += (uint32_t)n;
            bool held_taken = take_held(s);
            /* Delayed ACK (RFC 1122 4.2.3.2, RFC 5681 4.2): every second segment is ACKed at
             * the end of this poll; a lone one waits up to VNET_TCP_DELACK_MS for our reply
             * (a request's answer, an echo) to carry the ACK. Data that filled a hole is
             * ACKed at once. */
            if (++s->unacked_segs >= 2U || s->ooo_len != 0U || held_taken) {
                s->ack_now = true;
            } else if (s->t_dack == 0U) {
                s->t_dack = dl(now + VNET_TCP_DELACK_MS);
            }
            s->kick = true;
            if (n < dlen) {
                fin = false; /* the FIN lies beyond what we took */
                send_ack(s);
            }
        } else if (dlen > 0) {
            fin = false;
        }
        if (fin && can_rx) {
            s->rcv_nxt++;
            s->rd_closed = true;
            s->kick = true;
            if (s->state == TCP_ESTABLISHED) {
                s->state = TCP_CLOSE_WAIT;
            } else if (s->state == TCP_FIN_WAIT_1) {
                if (fin_acked) {
                    enter_time_wait(s, now);
                } else {
                    s->state = TCP_CLOSING;
                }
            } else {
                enter_time_wait(s, now);
            }
            send_ack(s);
        }
    }
    tcp_output(s);
}

void tcp_flush_acks(void)
{
    for (int i = 0; i < VNET_MAX_SOCKETS; i++) {
        vsock_t *s = &vnet_socks[i];
        if (s->used && s->proto == VNET_TCP && s->ack_now && synced(s)) {
            send_ack(s);
        }
    }
}

void tcp_timers(uint32_t now)
{
    for (int i = 0; i < VNET_MAX_SOCKETS; i++) {
        vsock_t *s = &vnet_socks[i];
        if (!s->used || s->proto != VNET_TCP || s->state == TCP_CLOSED || s->state == TCP_LISTEN) {
            continue;
        }
        if (s->t_dack != 0 && time_due(now, s->t_dack)) {
            s->t_dack = 0;
            s->ack_now = true; /* sent by tcp_flush_acks at the end of this poll */
        }
        if (s->t_wait != 0 && time_due(now, s->t_wait)) {
            s->t_wait = 0;
            if (s->state == TCP_TIME_WAIT || s->state == TCP_FIN_WAIT_2) {
                finish(s);
                continue;
            }
        }
        if (s->t_rtx != 0 && time_due(now, s->t_rtx)) {
            s->t_rtx = 0;
            bool syn = s->state == TCP_SYN_SENT || s->state == TCP_SYN_RCVD;
            if (s->retries >= (syn ? VNET_TCP_SYN_RETRIES : VNET_TCP_MAX_RETRIES)) {
                s->err = s->state == TCP_SYN_SENT ? VNET_ERR_CONNECTION_TIMEOUT : VNET_ERR_CONNECTION_LOST;
                tcp_abort(s, !syn);
                continue;
            }
            s->retries++;
            s->rto = min32(s->rto * 2U, VNET_TCP_RTO_MAX_MS);
            s->rtt_on = false;
            vnet_stats.tcp_retransmits++;
            if (s->state == TCP_SYN_SENT) {
                tcp_send(s, s->iss, F_SYN, 0, 0);
                s->t_rtx = dl(now + s->rto);
            } else if (s->state == TCP_SYN_RCVD) {
                tcp_send(s, s->iss, F_SYN | F_ACK, 0, 0);
                s->t_rtx = dl(now + s->rto);
            } else {
                /* Loss window: the initial window, where RFC 5681 says one segment. Peers
                 * that drop out-of-order data and ACK lazily (passt) answer a lone resent
                 * segment only on their own timer; a few segments keep their ACKs coming. */
                uint32_t half = cc_half_flight(s);
                cc_init(s);
                s->ssthresh = half;
                if (s->retries >= 2) {
                    /* Timed out again: resend all that is in flight and one new segment.
                     * A peer that took our data but lost its ACKs may not ACK resent
                     * copies (passt does not) and may still miss the tail of the flight. */
                    s->cwnd = s->snd_max - s->snd_una + s->mss;
                }
                s->snd_nxt = s->snd_una;
                s->fin_sent = false;
                s->dupacks = 0;
                tcp_output(s);
            }
        }
        if (s->t_persist != 0 && time_due(now, s->t_persist)) {
            s->t_persist = 0;
            if (s->snd_wnd == 0 && s->tx_len > 0 && s->snd_nxt == s->snd_una) {
                tcp_send(s, s->snd_una, F_ACK | F_PSH, 0, 1); /* zero-window probe */
                s->probe_out = true;
                s->persist_iv = min32(s->persist_iv * 2U, VNET_TCP_PERSIST_MAX_MS);
                s->t_persist = dl(now + s->persist_iv);
            } else {
                tcp_output(s);
            }
        }
        if (s->keepalive && s->state == TCP_ESTABLISHED) {
            if (s->t_keep == 0) {
                s->t_keep = dl(s->last_rx + VNET_TCP_KEEPALIVE_IDLE_MS);
            } else if (time_due(now, s->t_keep)) {
                if (s->keep_probes >= VNET_TCP_KEEPALIVE_PROBES) {
                    s->err = VNET_ERR_CONNECTION_LOST;
                    tcp_abort(s, true);
                    continue;
                }
                s->keep_probes++;
                tcp_send(s, s->snd_una - 1U, F_ACK, 0, 0);
                s->t_keep = dl(now + VNET_TCP_KEEPALIVE_INTVL_MS);
            }
        }
    }
}

uint32_t tcp_next_timer(uint32_t now)
{
    uint32_t best = UINT32_MAX;
    for (int i = 0; i < VNET_MAX_SOCKETS; i++) {
        const vsock_t *s = &vnet_socks[i];
        if (!s->used || s->proto != VNET_TCP) {
            continue;
        }
        if (s->ack_now) {
            return 0;
        }
        const uint32_t ts[5] = {s->t_rtx, s->t_persist, s->t_wait, s->t_keep, s->t_dack};
        for (int k = 0; k < 5; k++) {
            if (ts[k] != 0) {
                uint32_t d = time_due(now, ts[k]) ? 0 : ts[k] - now;
                if (d < best) {
                    best = d;
                }
            }
        }
    }
    return best;
}
