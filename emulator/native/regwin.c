/*
 * Register windows served without Python: the MMIO read callback of a device
 * window that answers reads of the registers the model declared fast from the
 * model's own register storage (native memory the model keeps current), and
 * passes every other read to the next callback (the model's Python trampoline,
 * or nothing else). Writes never come here.
 *
 * A table entry per word offset says which register answers and how: its
 * index in the storage, the bits a read returns, the access sizes it allows,
 * and whether the window's hold flag sends it to the slow path (a register
 * whose read hook has side effects while the model holds, e.g. a UART STATE
 * that lands a queued byte when read).
 *
 * Built by emulator/native/native_lib.py; the struct layouts are mirrored in
 * emulator/bus/regwin.py.
 */
#include <stdint.h>

typedef uint64_t (*slow_read_t)(void *uc, uint64_t offset, unsigned size, void *user);

typedef struct {
    int16_t index;     /* register storage index; -1: this word is never fast */
    uint8_t sizes;     /* allowed access sizes as bits: 1, 2, 4 */
    uint8_t held;      /* 1: slow while the window holds */
    uint32_t mask;     /* the bits a read returns */
} rw_entry_t;

typedef struct {
    slow_read_t slow_read;
    void *slow_user;
    const uint32_t *regs;      /* the model's register storage */
    const rw_entry_t *table;   /* nwords entries, word offset 0 first */
    uint32_t nwords;
    uint32_t hold;             /* set by the model: held registers take the slow path */
    uint32_t off;              /* nonzero: every read takes the slow path (register tracing) */
    uint32_t pad;
    uint64_t fast_reads;
} rw_window_t;

uint64_t rw_sizeof_entry(void) { return sizeof(rw_entry_t); }
uint64_t rw_sizeof(void) { return sizeof(rw_window_t); }

/* 1 and the value in *out when the window serves this read itself, else 0. */
static inline int serve(const rw_window_t *w, uint64_t offset, unsigned size, uint32_t *out)
{
    if (w->off || offset >= (uint64_t)w->nwords * 4 || (offset & (size - 1)) != 0) {
        return 0;
    }
    const rw_entry_t *e = &w->table[offset >> 2];
    if (e->index < 0 || !(e->sizes & size) || (e->held && w->hold)) {
        return 0;
    }
    uint32_t v = w->regs[e->index] & e->mask;
    if (size < 4) {
        v = (v >> (8 * (offset & 3))) & ((1u << (8 * size)) - 1);
    }
    *out = v;
    return 1;
}

uint64_t rw_read(void *uc, uint64_t offset, unsigned size, void *user)
{
    rw_window_t *w = user;
    uint32_t v;
    if (serve(w, offset, size, &v)) {
        w->fast_reads++;
        return v;
    }
    return w->slow_read(uc, offset, size, w->slow_user);
}

/* What rw_read would answer without the slow path, counting nothing (tests). */
int rw_peek(const rw_window_t *w, uint64_t offset, unsigned size, uint32_t *out)
{
    return serve(w, offset, size, out);
}
