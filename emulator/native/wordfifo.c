/*
 * Data FIFO ports served without Python: the MMIO callbacks of a device
 * window whose word reads pop a receive ring and whose word writes append to
 * a transmit buffer, within a budget the device model grants. Every other
 * access goes to the model's own callbacks (Python trampolines).
 *
 * Built by emulator/native/native_lib.py; the struct layout is mirrored there.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint64_t (*slow_read_t)(void *uc, uint64_t offset, unsigned size, void *user);
typedef void (*slow_write_t)(void *uc, uint64_t offset, unsigned size, uint64_t value, void *user);

typedef struct {
    slow_read_t slow_read;
    slow_write_t slow_write;
    void *slow_read_user;    /* the slow read's user data (a register window, or none) */
    uint32_t rx_lo, rx_hi;   /* window offsets whose word reads pop rx */
    uint32_t tx_lo, tx_hi;   /* window offsets whose word writes append to tx */
    uint32_t *rx;            /* ring of rx_cap words */
    uint32_t rx_cap, rx_head, rx_count;
    uint32_t tx_credit;      /* words the fast path may still append */
    uint32_t *tx;            /* tx_cap words, drained by the model */
    uint32_t tx_cap, tx_count;
    uint64_t fast_reads, fast_writes;
    /* A level register the model keeps current (e.g. the LAN9118's RX_FIFO_INF):
     * a word read at level_off returns (level_count << 16) | (bytes queued in rx),
     * each field saturated at 0xFF / 0xFFFF. level_off = 0xFFFFFFFF: none. */
    uint32_t level_off, level_count;
    uint64_t level_reads;
} wf_port_t;

uint64_t wf_sizeof(void) { return sizeof(wf_port_t); }

uint64_t wf_read(void *uc, uint64_t offset, unsigned size, void *user)
{
    wf_port_t *p = user;
    if (size == 4 && offset >= p->rx_lo && offset < p->rx_hi && p->rx_count != 0) {
        uint32_t v = p->rx[p->rx_head];
        p->rx_head = p->rx_head + 1 == p->rx_cap ? 0 : p->rx_head + 1;
        p->rx_count--;
        p->fast_reads++;
        return v;
    }
    if (size == 4 && offset == p->level_off) {
        uint32_t n = p->level_count > 0xFFu ? 0xFFu : p->level_count;
        uint32_t bytes = 4u * p->rx_count;
        p->level_reads++;
        return (n << 16) | (bytes > 0xFFFFu ? 0xFFFFu : bytes);
    }
    return p->slow_read(uc, offset, size, p->slow_read_user);
}

void wf_write(void *uc, uint64_t offset, unsigned size, uint64_t value, void *user)
{
    wf_port_t *p = user;
    if (size == 4 && offset >= p->tx_lo && offset < p->tx_hi && p->tx_credit != 0 && p->tx_count < p->tx_cap) {
        p->tx[p->tx_count++] = (uint32_t)value;
        p->tx_credit--;
        p->fast_writes++;
        return;
    }
    p->slow_write(uc, offset, size, value, NULL);
}

/* Append n bytes as little-endian words (the last one zero-padded); returns
 * the words pushed, 0 when they do not fit. */
uint32_t wf_rx_push_bytes(wf_port_t *p, const uint8_t *data, uint32_t n)
{
    uint32_t words = (n + 3) / 4;
    if (words > p->rx_cap - p->rx_count) {
        return 0;
    }
    uint32_t tail = (p->rx_head + p->rx_count) % p->rx_cap;
    for (uint32_t i = 0; i < words; i++) {
        uint32_t w = 0;
        uint32_t left = n - 4 * i;
        memcpy(&w, data + 4 * i, left < 4 ? left : 4);
        p->rx[tail] = w;
        tail = tail + 1 == p->rx_cap ? 0 : tail + 1;
    }
    p->rx_count += words;
    return words;
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
