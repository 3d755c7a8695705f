/*
 * vboard block clock: a native UC_HOOK_BLOCK callback that keeps virtual
 * time for the Python core without a per-instruction hook.
 *
 * Unicorn's `count` argument instruments every instruction (a helper call
 * each) and halves the speed of translated code. This hook runs once per
 * translated block instead: it adds the block's instruction count (decoded
 * once per block address and cached) and, once the slice's budget is used
 * up, asks Unicorn to stop before the next block runs. A slice may thus
 * overshoot its budget by at most one block; the exact number of
 * instructions run is known afterwards from the counts and the final PC.
 *
 * No Unicorn headers are needed: the engine's uc_emu_stop and uc_mem_read
 * are passed in as function pointers by the Python side.
 */
#include <stdint.h>
#include <string.h>

typedef int (*uc_emu_stop_fn)(void *uc);
typedef int (*uc_mem_read_fn)(void *uc, uint64_t address, void *bytes, uint64_t size);
typedef int (*uc_reg_read_fn)(void *uc, int regid, void *value);

#define CACHE_SLOTS 65536u

struct block_clock {
    uc_emu_stop_fn emu_stop;
    uc_mem_read_fn mem_read;
    int64_t budget;        /* instructions this slice may run */
    int64_t executed;      /* instructions in the blocks entered, current block included */
    int64_t block_start;   /* `executed` when the current block was entered */
    uint64_t block_addr;   /* address of the current block */
    uint32_t block_size;   /* bytes of the current block */
    int32_t stopped;       /* 1 when this hook asked Unicorn to stop */
    uint64_t blocks;       /* blocks entered, for statistics */
    /* While an exception is pending but masked: stop at the first block whose
     * PRIMASK, FAULTMASK or BASEPRI differ from these (CPSIE/MSR end a block). */
    uc_reg_read_fn reg_read;
    int32_t watch;
    int32_t reg_ids[3];
    uint32_t masks[3];
    uint32_t pad;
    /* One 16-byte entry per slot: a hit touches a single cache line. */
    struct cache_entry {
        uint64_t addr;
        uint32_t size;
        uint32_t count;
    } cache[CACHE_SLOTS];
};

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define COLD __attribute__((noinline, cold))

/* Thumb-2: a halfword whose top five bits are 0b11101, 0b11110 or 0b11111
 * starts a 32-bit instruction. */
uint32_t vb_count_thumb(const uint8_t *code, uint32_t size)
{
    uint32_t n = 0;
    uint32_t off = 0;
    while (off + 1 < size) {
        uint16_t hw = (uint16_t)(code[off] | (code[off + 1] << 8));
        off += ((hw >> 11) >= 0x1D) ? 4 : 2;
        n++;
    }
    return n;
}

static inline void enter_block(struct block_clock *bc, uint64_t address, uint32_t size,
                               int64_t executed, uint32_t n)
{
    bc->blocks++;
    bc->block_start = executed;
    bc->block_addr = address;
    bc->block_size = size;
    bc->executed = executed + n;
}

static inline struct cache_entry *slot_of(struct block_clock *bc, uint64_t address)
{
    return &bc->cache[(uint32_t)((address >> 1) ^ (address >> 17)) & (CACHE_SLOTS - 1)];
}

/* The rare cases: the budget is used up, the masks are watched, or the block was never
 * seen (decoded here, the only place a code buffer lives). */
static COLD void block_hook_slow(void *uc, uint64_t address, uint32_t size, struct block_clock *bc)
{
    if (bc->watch) {
        for (int i = 0; i < 3; i++) {
            uint32_t value = 0;
            bc->reg_read(uc, bc->reg_ids[i], &value);
            if (value != bc->masks[i]) {
                bc->watch = 0;
                bc->budget = 0;
                break;
            }
        }
    }
    if (bc->executed >= bc->budget) {
        if (!bc->stopped) {
            bc->stopped = 1;
            bc->emu_stop(uc);
        }
        return;
    }
    struct cache_entry *e = slot_of(bc, address);
    uint32_t n = e->count;
    if (e->addr != address || e->size != size) {
        uint8_t code[4096];
        uint32_t len = size < sizeof code ? size : (uint32_t)sizeof code;
        n = bc->mem_read(uc, address, code, len) != 0 ? size / 2 : vb_count_thumb(code, len);
        e->addr = address;
        e->size = size;
        e->count = n;
    }
    enter_block(bc, address, size, bc->executed, n);
}

/* The hit path (every block): a budget check and a cache lookup, no stack frame; anything
 * else is a tail call to the slow path. */
void vb_block_hook(void *uc, uint64_t address, uint32_t size, void *user_data)
{
    struct block_clock *bc = (struct block_clock *)user_data;
    int64_t executed = bc->executed;
    struct cache_entry *e = slot_of(bc, address);
    if (UNLIKELY((bc->watch | (executed >= bc->budget)) || e->addr != address || e->size != size)) {
        block_hook_slow(uc, address, size, bc);
        return;
    }
    enter_block(bc, address, size, executed, e->count);
}

/* Start a slice of `budget` instructions. */
void vb_arm(struct block_clock *bc, int64_t budget)
{
    bc->budget = budget;
    bc->executed = 0;
    bc->block_start = 0;
    bc->block_addr = 0;
    bc->block_size = 0;
    bc->stopped = 0;
    bc->watch = 0;
}

/* After a slice that ended with the next instruction at `pc`: the instructions
 * it completed (the blocks entered, the last one up to `pc`), and in *before
 * the halfword just below `pc` if it belongs to the last block entered (code
 * the core fetched: never a read of a device window), else 0; 0xBF30 is a WFI. */
int64_t vb_slice_end(struct block_clock *bc, void *uc, uint64_t pc, uint32_t *before)
{
    uint8_t hw[2];
    uint64_t at = pc & ~(uint64_t)1;
    uint64_t block = bc->block_addr;
    *before = 0;
    if (bc->block_size != 0 && at >= block + 2 && at <= block + bc->block_size &&
        bc->mem_read(uc, at - 2, hw, 2) == 0) {
        *before = (uint32_t)(hw[0] | (hw[1] << 8));
    }
    if (bc->stopped) {
        return bc->executed;
    }
    uint64_t start = bc->block_addr;
    if (bc->block_size != 0 && start <= pc && pc < start + bc->block_size) {
        if (pc == start) {
            return bc->block_start;
        }
        uint8_t code[4096];
        uint32_t len = (uint32_t)(pc - start);
        if (len > sizeof code || bc->mem_read(uc, start, code, len) != 0) {
            return bc->block_start + len / 2;
        }
        return bc->block_start + vb_count_thumb(code, len);
    }
    return bc->executed;
}

void vb_invalidate(struct block_clock *bc)
{
    memset(bc->cache, 0xFF, sizeof bc->cache);
}

uint64_t vb_sizeof(void)
{
    return sizeof(struct block_clock);
}
