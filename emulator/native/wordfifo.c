/*
 * Data FIFO ports served without Python: the MMIO callbacks of a device
 * window whose word reads pop a receive ring and whose word writes append to
 * a transmit buffer, as far as the device model allows. Every other access
 * goes to the model's own callbacks (Python trampolines).
 *
 * Transmit: the words written to the TX window form buffers, each a command
 * A (flags, data offset, size, end alignment), a command B (packet tag and
 * length) and the buffer's data words (the LAN9118's TX format, datasheet
 * 3.12). The model hands its assembler state over (tx_state, tx_left, the
 * open packet's commands, tx_room words of FIFO room) and the port appends
 * a word only when the model would just store it: a data word that is not
 * its buffer's last, the last word of a buffer that does not end its packet,
 * and a command that opens or continues a packet without an error. An
 * erroneous command, a word with no room left and every word while tx_on is
 * clear go to the model, which first takes (replays) what the port appended.
 *
 * A packet's last word (the last of its LS buffer) completes it here when
 * the whole packet went through the port since the model last took its words
 * (tx_native), the model allows it (tx_send: nothing held, transmitter on,
 * no loopback, link up), its length matches command B, it needs no
 * host-FCS check, is no runt and the TX status FIFO has room: the port
 * assembles the frame (padded to 60 bytes unless DISABLE_PADDING) into
 * tx_frame, drops the packet's words, frees their room, pushes its TX status
 * and raises its INT_STS bits (as the model's completion does), and passes
 * the word to the model with tx_done set, which sends the frame (and drives
 * its pin when tx_done_irq says IRQ_INT moved). Any other last word goes to
 * the model as a plain word, which replays the packet and completes it.
 *
 * Status FIFOs: two rings of 32-bit words (RX and TX status) whose word
 * reads at pop/peek offsets are answered while they hold a word (the TX
 * ring's pops only while the model does not hold them: a pop may restart
 * its transmitter). Two level registers are answered from the rings and the
 * fill: RX (status count << 16 | data bytes queued) and TX (status count <<
 * 16 | 4 * FIFO room words), each field saturated at 0xFF / 0xFFFF.
 *
 * Receive: wf_rx_queue puts a received frame in the RX data FIFO's layout
 * (the model's RX_CFG offset and end alignment, the frame, its FCS), its
 * status word in the RX status ring and its end in a ring of packet ends
 * (what RX_DP_CTRL.RX_FFWD skips to, wf_rx_forward), within the model's FIFO
 * sizes (rxd_cap, rxs_cap).
 *
 * Interrupt state: bound to the model's register storage (regs, indexes of
 * INT_STS, INT_EN, IRQ_CFG, FIFO_INT, RX_CFG), a completed TX packet and a
 * queued frame raise their INT_STS bits there and keep IRQ_CFG.IRQ_INT equal
 * to INT_STS & INT_EN != 0; they tell the model when that changed (its IRQ
 * pin may have to move).
 *
 * Built by emulator/native/native_lib.py; the struct layout is mirrored in
 * emulator/bus/wordfifo.py.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint64_t (*slow_read_t)(void *uc, uint64_t offset, unsigned size, void *user);
typedef void (*slow_write_t)(void *uc, uint64_t offset, unsigned size, uint64_t value, void *user);

#define NONE 0xFFFFFFFFu

/* TX assembler states (the model's numbering). */
enum { TX_CMD_A = 0, TX_CMD_B = 1, TX_DATA = 2 };
#define CMDA_IOC (1u << 31)
#define CMDA_FS (1u << 13)
#define CMDA_LS (1u << 12)
#define CMDB_CRC_DISABLE (1u << 13)
#define CMDB_PAD_DISABLE (1u << 12)
#define ETH_MIN 60u
#define ETH_HEADER 14u
#define TX_FRAME_BYTES 2048u   /* longer than command B's 11-bit packet length */
/* The LAN9118's INT_STS bits a sent packet raises (datasheet 5.3.3). */
#define INT_TX_IOC (1u << 21)
#define INT_TXSO (1u << 16)
#define INT_TDFA (1u << 9)
#define INT_TSFF (1u << 8)
#define INT_TSFL (1u << 7)
#define INT_RSFF (1u << 4)
#define INT_RSFL (1u << 3)
#define IRQ_CFG_IRQ_INT (1u << 12)
#define RXS_FRAME_TYPE (1u << 5)
#define RX_ENDS 1024u          /* more packet ends than the RX data FIFO holds packets */

typedef struct {
    uint32_t *buf;
    uint32_t cap, head, count, pop_off, peek_off, hold;
} wf_ring_t;

typedef struct {
    slow_read_t slow_read;
    slow_write_t slow_write;
    void *slow_read_user;    /* the slow read's user data (a register window, or none) */
    void *slow_write_user;   /* the slow write's (a register window, or none) */
    uint32_t rx_lo, rx_hi;   /* window offsets whose word reads pop rx */
    uint32_t tx_lo, tx_hi;   /* window offsets whose word writes go to the TX assembler */
    uint32_t *rx;            /* ring of rx_cap words */
    uint32_t rx_cap, rx_head, rx_count;
    uint32_t tx_on;          /* 0: every TX word goes to the model */
    uint32_t *tx;            /* tx_cap words, drained by the model */
    uint32_t tx_cap, tx_count;
    /* The model's TX assembler, as of its last hand-over, advanced by every word taken. */
    uint32_t tx_state, tx_left, tx_cmd_a, tx_cmd_b, tx_open, tx_room;
    uint64_t fast_reads, fast_writes;
    wf_ring_t rxs, txs;      /* RX and TX status FIFOs */
    uint32_t rx_level_off, tx_level_off;   /* NONE: no such register */
    uint64_t level_reads, status_reads;
    /* Packets completed here: the model's leave (tx_send, txs_cap), the open packet's words
     * all in tx[0..tx_count) (tx_native), and the completed frame for the model. */
    uint32_t tx_send, txs_cap, tx_native;
    uint32_t tx_done;        /* bytes of the frame in tx_frame the model has to send (0: none) */
    uint32_t tx_done_irq;    /* 1: its completion changed INT_STS & INT_EN between zero and not */
    uint8_t *tx_frame;       /* TX_FRAME_BYTES */
    uint64_t native_packets;
    /* The model's register storage and the indexes of its interrupt and FIFO registers. */
    uint32_t *regs;
    uint32_t i_sts, i_en, i_cfg, i_fifo_int, i_rx_cfg;
    uint32_t rxd_cap, rxs_cap;   /* the model's RX data FIFO (words) and status FIFO sizes */
    uint64_t rx_pushed;          /* words ever queued in rx (since the last clear) */
    uint64_t *rx_ends;           /* RX_ENDS: rx_pushed at the end of each queued packet */
    uint32_t rx_ends_head, rx_ends_count;
} wf_port_t;

uint64_t wf_sizeof(void) { return sizeof(wf_port_t); }

static inline uint32_t sat(uint32_t v, uint32_t max) { return v > max ? max : v; }

/* 1 and the word in *out when a status ring answers a read at offset. */
static inline int ring_read(wf_ring_t *r, uint64_t offset, uint32_t *out)
{
    if (r->count == 0) {
        return 0;
    }
    if (offset == r->peek_off) {
        *out = r->buf[r->head];
        return 1;
    }
    if (offset == r->pop_off && !r->hold) {
        *out = r->buf[r->head];
        r->head = r->head + 1 == r->cap ? 0 : r->head + 1;
        r->count--;
        return 1;
    }
    return 0;
}

uint64_t wf_read(void *uc, uint64_t offset, unsigned size, void *user)
{
    wf_port_t *p = user;
    if (size == 4) {
        if (offset >= p->rx_lo && offset < p->rx_hi && p->rx_count != 0) {
            uint32_t v = p->rx[p->rx_head];
            p->rx_head = p->rx_head + 1 == p->rx_cap ? 0 : p->rx_head + 1;
            p->rx_count--;
            p->fast_reads++;
            return v;
        }
        uint32_t v;
        if (ring_read(&p->rxs, offset, &v) || ring_read(&p->txs, offset, &v)) {
            p->status_reads++;
            return v;
        }
        if (offset == p->rx_level_off) {
            p->level_reads++;
            return (sat(p->rxs.count, 0xFFu) << 16) | sat(4u * p->rx_count, 0xFFFFu);
        }
        if (offset == p->tx_level_off) {
            p->level_reads++;
            return (sat(p->txs.count, 0xFFu) << 16) | sat(4u * p->tx_room, 0xFFFFu);
        }
    }
    return p->slow_read(uc, offset, size, p->slow_read_user);
}

/* IRQ_CFG.IRQ_INT follows INT_STS & INT_EN != 0: 1 when it changed (the pin may move). */
static int irq_int_update(wf_port_t *p)
{
    uint32_t *r = p->regs;
    uint32_t pending = (r[p->i_sts] & r[p->i_en]) != 0 ? IRQ_CFG_IRQ_INT : 0;
    if ((r[p->i_cfg] & IRQ_CFG_IRQ_INT) == pending) {
        return 0;
    }
    r[p->i_cfg] ^= IRQ_CFG_IRQ_INT;
    return 1;
}

/* A packet completed here: its TX status into the TX status ring and the INT_STS bits it
 * raises (TX_IOC, TXSO, TSFL, TSFF, TDFA from FIFO_INT), as the model's own completion does.
 * 1 when INT_STS & INT_EN changed between zero and nonzero. */
static uint32_t tx_finish(wf_port_t *p, uint32_t status, int ioc)
{
    uint32_t fifo_int = p->regs[p->i_fifo_int];
    uint32_t bits = ioc ? INT_TX_IOC : 0;
    wf_ring_t *r = &p->txs;
    if (r->count >= p->txs_cap) {
        bits |= INT_TXSO;
    } else {
        r->buf[(r->head + r->count) % r->cap] = status;
        r->count++;
    }
    if (r->count > ((fifo_int >> 16) & 0xFFu)) {
        bits |= INT_TSFL;
    }
    if (r->count >= p->txs_cap) {
        bits |= INT_TSFF;
    }
    if (4u * p->tx_room > ((fifo_int >> 24) & 0xFFu) * 64u) {
        bits |= INT_TDFA;
    }
    p->regs[p->i_sts] |= bits;
    return irq_int_update(p);
}

/* The packet's last word v completes it: 1 (frame in tx_frame, words gone) or 0 (the model's). */
static int tx_complete(wf_port_t *p, uint32_t v)
{
    if (!p->tx_native || !p->tx_send || p->txs.count >= p->txs_cap || !p->regs) {
        return 0;
    }
    static const uint32_t align_of[4] = {4, 16, 32, 4};
    uint32_t *w = p->tx;
    uint32_t n = p->tx_count + 1, i = 0, len = 0;
    w[p->tx_count] = v;  /* in place (tx_take leaves a free word); dropped below or overwritten */
    while (i < n) {      /* command A, command B, data words: each buffer as the port took it */
        uint32_t a = w[i];
        uint32_t offset = (a >> 16) & 0x1Fu, size = a & 0x7FFu, align = align_of[(a >> 24) & 3u];
        if (len + size >= TX_FRAME_BYTES) {
            return 0;
        }
        memcpy(p->tx_frame + len, (const uint8_t *)(w + i + 2) + offset, size);
        len += size;
        i += 2 + (offset + size + align - 1) / align * align / 4;
    }
    uint32_t b = p->tx_cmd_b;
    if (len != (b & 0x7FFu)) {
        return 0;  /* a length error the model reports */
    }
    if (!(b & CMDB_PAD_DISABLE) && len < ETH_MIN) {
        memset(p->tx_frame + len, 0, ETH_MIN - len);
        len = ETH_MIN;
    } else if (b & CMDB_CRC_DISABLE) {
        return 0;  /* the host's FCS: the model checks it */
    }
    if (len < ETH_HEADER) {
        return 0;  /* a runt the model counts */
    }
    p->tx_room += p->tx_count;  /* the packet leaves the FIFO (its last word took no room) */
    p->tx_count = 0;
    p->tx_state = TX_CMD_A;
    p->tx_left = 0;
    p->tx_open = 0;
    p->tx_native = 0;
    p->tx_done = len;
    p->tx_done_irq = tx_finish(p, b & 0xFFFF0000u, (p->tx_cmd_a & CMDA_IOC) != 0);
    p->native_packets++;
    return 1;
}

/* 1 when the model would just store this TX word (and the assembler moved on), 2 when it
 * completed a packet here (tx_done), 0 when the model takes it. */
static inline int tx_take(wf_port_t *p, uint32_t v)
{
    if (!p->tx_on || p->tx_room == 0 || p->tx_count == p->tx_cap) {
        return 0;
    }
    switch (p->tx_state) {
    case TX_DATA:
        if (p->tx_left > 1) {
            p->tx_left--;
        } else if (p->tx_cmd_a & CMDA_LS) {
            return tx_complete(p, v) ? 2 : 0;
        } else {  /* a buffer's last word, the packet goes on: the model's replay adds the data */
            p->tx_left = 0;
            p->tx_state = TX_CMD_A;
        }
        break;
    case TX_CMD_A: {
        uint32_t size = v & 0x7FFu;
        int first = (v & CMDA_FS) != 0;
        if (size == 0 || ((v >> 24) & 3u) == 3u || first == (p->tx_open != 0)) {
            return 0;  /* an error the model reports */
        }
        if (first) {
            p->tx_native = p->tx_count == 0;
        }
        p->tx_cmd_a = v;
        p->tx_state = TX_CMD_B;
        break;
    }
    default: { /* TX_CMD_B */
        uint32_t a = p->tx_cmd_a;
        if (a & CMDA_FS) {
            p->tx_cmd_b = v;
            p->tx_open = 1;
        } else if (v != p->tx_cmd_b) {
            return 0;
        }
        static const uint32_t align_of[4] = {4, 16, 32, 4};
        uint32_t align = align_of[(a >> 24) & 3u];
        uint32_t bytes = ((a >> 16) & 0x1Fu) + (a & 0x7FFu);
        p->tx_left = (bytes + align - 1) / align * align / 4;
        p->tx_state = TX_DATA;
        break;
    }
    }
    p->tx[p->tx_count++] = v;
    p->tx_room--;
    p->fast_writes++;
    return 1;
}

void wf_write(void *uc, uint64_t offset, unsigned size, uint64_t value, void *user)
{
    wf_port_t *p = user;
    if (size == 4 && offset >= p->tx_lo && offset < p->tx_hi && tx_take(p, (uint32_t)value) == 1) {
        return;
    }
    p->slow_write(uc, offset, size, value, p->slow_write_user);
}

/* Append a received frame in the RX data FIFO's layout: `offset` zero bytes,
 * the frame, its FCS (little-endian), then zero bytes up to `words` words;
 * and its status word to the RX status ring. 0 (nothing queued) when either
 * is full or the layout is larger than any frame's. */
#define RX_STAGE_BYTES 2304u   /* 31 offset + 2044 frame + 4 FCS + 31 alignment, rounded up */
uint32_t wf_rx_push_frame(wf_port_t *p, uint32_t offset, const uint8_t *frame, uint32_t n,
                          uint32_t fcs, uint32_t words, uint32_t status)
{
    uint8_t stage[RX_STAGE_BYTES];
    if (words > p->rx_cap - p->rx_count || p->rxs.count == p->rxs.cap || 4u * words > RX_STAGE_BYTES
        || offset + n + 4u > 4u * words) {
        return 0;
    }
    memset(stage, 0, offset);
    memcpy(stage + offset, frame, n);
    memcpy(stage + offset + n, &fcs, 4);
    memset(stage + offset + n + 4, 0, 4u * words - offset - n - 4);
    uint32_t tail = (p->rx_head + p->rx_count) % p->rx_cap;
    uint32_t first = p->rx_cap - tail < words ? p->rx_cap - tail : words;
    memcpy(p->rx + tail, stage, 4u * first);
    memcpy(p->rx, stage + 4u * first, 4u * (words - first));
    p->rx_count += words;
    wf_ring_t *r = &p->rxs;
    r->buf[(r->head + r->count) % r->cap] = status;
    r->count++;
    return words;
}

/* Forget the ends of packets read past; returns the words ever popped (rx_pushed - rx_count,
 * negative while a frame's words are in rx_count and not yet in rx_pushed). */
static int64_t rx_prune_ends(wf_port_t *p)
{
    int64_t popped = (int64_t)p->rx_pushed - (int64_t)p->rx_count;
    while (p->rx_ends_count && (int64_t)p->rx_ends[p->rx_ends_head] <= popped) {
        p->rx_ends_head = (p->rx_ends_head + 1) % RX_ENDS;
        p->rx_ends_count--;
    }
    return popped;
}

/* Note a packet that ends after `words` more words (1, or 0 when the ring of ends is full). */
uint32_t wf_rx_push_end(wf_port_t *p, uint32_t words)
{
    if (p->rx_ends_count == RX_ENDS) {
        return 0;
    }
    p->rx_pushed += words;
    p->rx_ends[(p->rx_ends_head + p->rx_ends_count) % RX_ENDS] = p->rx_pushed;
    p->rx_ends_count++;
    return 1;
}

/* Queue a received frame (n >= 14 bytes, without FCS) that passed the model's filters: RX_CFG's
 * offset and end alignment, the frame, `fcs`, its status word (status | length + 4 << 16 | the
 * frame type bit, which the model's status may carry already), its packet end; raise RSFL and
 * RSFF as FIFO_INT and the status FIFO's size say. 0: the FIFOs are full, nothing queued;
 * 1: queued; 3: queued and INT_STS & INT_EN changed between zero and nonzero. */
uint32_t wf_rx_queue(wf_port_t *p, const uint8_t *frame, uint32_t n, uint32_t fcs, uint32_t status)
{
    static const uint32_t align_of[4] = {4, 16, 32, 4};
    uint32_t *r = p->regs;
    uint32_t rx_cfg = r[p->i_rx_cfg];
    uint32_t offset = (rx_cfg >> 8) & 0x1Fu, align = align_of[rx_cfg >> 30];
    uint32_t words = (offset + n + 4u + align - 1u) / align * align / 4u;
    if (p->rxs.count >= p->rxs_cap || p->rx_count + words > p->rxd_cap || p->rx_ends_count == RX_ENDS) {
        return 0;
    }
    status |= (n + 4u) << 16;
    if (((uint32_t)frame[12] << 8 | frame[13]) > 1500u) {
        status |= RXS_FRAME_TYPE;
    }
    if (!wf_rx_push_frame(p, offset, frame, n, fcs, words, status)) {
        return 0;
    }
    if (p->rx_ends_count) {
        rx_prune_ends(p);  /* (as the model always did: after the push, short of its words) */
    }
    wf_rx_push_end(p, words);
    uint32_t queued = p->rxs.count, fifo_int = r[p->i_fifo_int];
    uint32_t bits = queued > (fifo_int & 0xFFu) ? INT_RSFL : 0;
    if (queued >= p->rxs_cap) {
        bits |= INT_RSFF;
    }
    r[p->i_sts] |= bits;
    return 1u | (irq_int_update(p) << 1);
}

/* RX_DP_CTRL.RX_FFWD: drop the rest of the packet being read. 0 when no packet is queued. */
uint32_t wf_rx_forward(wf_port_t *p)
{
    int64_t popped = rx_prune_ends(p);
    if (!p->rx_ends_count) {
        return 0;
    }
    uint64_t end = p->rx_ends[p->rx_ends_head];
    p->rx_ends_head = (p->rx_ends_head + 1) % RX_ENDS;
    p->rx_ends_count--;
    uint64_t skip = (uint64_t)((int64_t)end - popped);  /* positive: the end was not read past */
    if (skip > p->rx_count) {
        skip = p->rx_count;
    }
    p->rx_head = (uint32_t)((p->rx_head + skip) % p->rx_cap);
    p->rx_count -= (uint32_t)skip;
    return 1;
}

/* The queued packet ends, oldest first, into out (rx_ends_count values). */
void wf_rx_copy_ends(const wf_port_t *p, uint64_t *out)
{
    for (uint32_t i = 0; i < p->rx_ends_count; i++) {
        out[i] = p->rx_ends[(p->rx_ends_head + i) % RX_ENDS];
    }
}

int wf_rx_push_word(wf_port_t *p, uint32_t w)
{
    if (p->rx_count == p->rx_cap) {
        return 0;
    }
    p->rx[(p->rx_head + p->rx_count) % p->rx_cap] = w;
    p->rx_count++;
    return 1;
}

/* Drop up to n words from the head; returns how many went. */
uint32_t wf_rx_skip(wf_port_t *p, uint32_t n)
{
    if (n > p->rx_count) {
        n = p->rx_count;
    }
    p->rx_head = (p->rx_head + n) % p->rx_cap;
    p->rx_count -= n;
    return n;
}

/* Copy the queued words, oldest first, into out (rx_count words). */
void wf_rx_copy(const wf_port_t *p, uint32_t *out)
{
    for (uint32_t i = 0; i < p->rx_count; i++) {
        out[i] = p->rx[(p->rx_head + i) % p->rx_cap];
    }
}
