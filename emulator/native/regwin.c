/*
 * Register windows served without Python: the MMIO read callback of a device
 * window that answers reads of the registers the model declared fast from the
 * model's own register storage (native memory the model keeps current), and
 * passes every other read to the next callback (the model's Python trampoline,
 * or nothing else). Its write callback stores full-word writes of registers
 * declared fast_write (plain stores, write-one-to-clear/-set bits) in the same
 * storage, unless the write would change a bit of its entry's slow mask or
 * whether a guarded pair of registers has a bit in common (the model's IRQ
 * line): those, and every other write, go to the next write callback.
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
typedef void (*slow_write_t)(void *uc, uint64_t offset, unsigned size, uint64_t value, void *user);

#define RW_READ 1u     /* entry flags: reads may be served */
#define RW_WRITE 2u    /* full-word writes may be served */
#define RW_GUARDS 2

typedef struct {
    int16_t index;     /* register storage index; -1: this word is never fast */
    uint8_t sizes;     /* allowed access sizes as bits: 1, 2, 4 */
    uint8_t held;      /* 1: reads slow while the window holds */
    uint32_t mask;     /* the bits a read returns */
    uint32_t flags;    /* RW_READ, RW_WRITE */
    /* A served write: new = ((old & keep) | (value & store)) & ~(value & w1c) | (value & w1s). */
    uint32_t keep, store, w1c, w1s;
    uint32_t slow;     /* a write changing one of these bits goes to the model */
    uint32_t pad;
} rw_entry_t;

typedef struct {
    slow_read_t slow_read;
    void *slow_user;
    uint32_t *regs;            /* the model's register storage */
    const rw_entry_t *table;   /* nwords entries, word offset 0 first */
    uint32_t nwords;
    uint32_t hold;             /* set by the model: held registers' reads take the slow path */
    uint32_t off;              /* nonzero: every access takes the slow path (register tracing) */
    uint32_t nguards;
    uint64_t fast_reads;
    slow_write_t slow_write;
    void *slow_write_user;
    int32_t guard_a[RW_GUARDS], guard_b[RW_GUARDS];  /* storage indexes of guarded pairs */
    uint64_t fast_writes;
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
    if (e->index < 0 || !(e->flags & RW_READ) || !(e->sizes & size) || (e->held && w->hold)) {
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

/* 1 and the stored value in *out when the window serves this write itself. */
static inline int store(const rw_window_t *w, uint64_t offset, unsigned size, uint32_t v, uint32_t *out,
                        int *index)
{
    if (w->off || size != 4 || offset >= (uint64_t)w->nwords * 4 || (offset & 3) != 0) {
        return 0;
    }
    const rw_entry_t *e = &w->table[offset >> 2];
    if (e->index < 0 || !(e->flags & RW_WRITE)) {
        return 0;
    }
    uint32_t old = w->regs[e->index];
    uint32_t new = (((old & e->keep) | (v & e->store)) & ~(v & e->w1c)) | (v & e->w1s);
    if ((new ^ old) & e->slow) {
        return 0;
    }
    for (uint32_t g = 0; g < w->nguards; g++) {
        int a = w->guard_a[g], b = w->guard_b[g];
        uint32_t va = w->regs[a], vb = w->regs[b];
        uint32_t na = a == e->index ? new : va, nb = b == e->index ? new : vb;
        if (((va & vb) != 0) != ((na & nb) != 0)) {
            return 0;
        }
    }
    *out = new;
    *index = e->index;
    return 1;
}

void rw_write(void *uc, uint64_t offset, unsigned size, uint64_t value, void *user)
{
    rw_window_t *w = user;
    uint32_t v;
    int i;
    if (store(w, offset, size, (uint32_t)value, &v, &i)) {
        w->regs[i] = v;
        w->fast_writes++;
        return;
    }
    w->slow_write(uc, offset, size, value, w->slow_write_user);
}

/* What rw_write would store without the slow path, storing nothing (tests). */
int rw_peek_write(const rw_window_t *w, uint64_t offset, unsigned size, uint64_t value, uint32_t *out)
{
    int i;
    return store(w, offset, size, (uint32_t)value, out, &i);
}
