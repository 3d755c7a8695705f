/*
 * vboard block clock: virtual time for the Python core without a per-instruction
 * hook, and without a call per block.
 *
 * Unicorn's `count` argument instruments every instruction (a helper call
 * each) and halves the speed of translated code. vboard's Unicorn build
 * (scripts/build_unicorn, "budget-in-blocks") keeps the count in the
 * translated code instead: each block, as it is entered, notes itself and
 * the budget left in a VbIcount (uc_vb_icount); only when nothing is left
 * does it leave, before it runs, for Unicorn's cpu_exec loop to call the
 * UC_HOOK_BLOCK callback below (and then run the block unless the callback
 * stopped or moved the PC); it subtracts its instruction count. `executed`
 * (instructions in the blocks entered) is thus mark - left: the hook is
 * called at the first block boundary at or after `mark`, which is the
 * budget, or the next block while the masks are watched. Once the slice's budget is used up the hook asks Unicorn to stop
 * before the block runs. A slice may thus overshoot its budget by at most
 * one block; the exact number of instructions run is known afterwards from
 * the counts and the final PC.
 *
 * With a stock Unicorn (no uc_vb_icount) the hook is called for every block:
 * vb_block_hook_stock then does the translated code's part itself, the
 * block's count decoded once per block address and cached.
 *
 * No Unicorn headers are needed: the engine's functions are passed in as
 * function pointers by the Python side.
 */
#include <stdint.h>
#include <stddef.h>

typedef int (*uc_emu_stop_fn)(void *uc);
typedef int (*uc_mem_read_fn)(void *uc, uint64_t address, void *bytes, uint64_t size);
typedef int (*uc_reg_read_fn)(void *uc, int regid, void *value);
typedef int (*uc_reg_write_fn)(void *uc, int regid, const void *value);
typedef int (*uc_emu_start_fn)(void *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count);
typedef void (*uc_intr_fn)(void *uc, uint32_t intno, void *user_data);
/* emulator/native/excpath.c, passed in by address */
typedef int (*ex_enter_fn)(void *path, uint32_t n, uint32_t return_address, uint32_t vtor, int stkalign);
typedef int (*ex_return_fn)(void *path, int to_thread, int stkalign);
typedef int (*ex_planned_return_fn)(void *path, uint32_t exc_return);
typedef int (*ex_watched_entry_fn)(void *path, uint32_t at, const uint32_t *masks);
typedef int (*ex_pend_fn)(void *path, const uint32_t *masks);

#define EXC_DECLINED 16   /* excpath.c: a case left to Python, nothing done */
#define EXC_INVPC 8
#define EXC_RETURN_THREAD_MSP 0xFFFFFFF9u
#define EXC_RETURN_THREAD_PSP 0xFFFFFFFDu
#define RET_THREAD_PSP_PLAIN 6 /* excpath.c: ex_return to thread mode on PSP, plain frames only */
#define UNTIL 0xFFFFFF00u /* cortexm.UNTIL */

/* out[]: the order blockclock.py unpacks them in */
enum { OUT_PC, OUT_PRIMASK, OUT_FAULTMASK, OUT_BASEPRI, OUT_RAN, OUT_BEFORE, OUT_IDLE, OUT_TICKS, OUT_STOPPED,
       OUT_WORK, OUT_N };
/* out[OUT_WORK]: what Python has to do at the slice's end, as vb_slice found it */
#define WORK_SYNC 1  /* a natively taken tick's handler runs, or excpath.c logged changes (native_sync) */
#define WORK_PULL 2  /* SysTick registers were written natively (*st_dirty: the model pulls them) */
#define NO_SLICE (-1) /* cortexm.NO_SLICE: `base` between slices */

/* Unicorn's (scripts/build_unicorn): written by the translated code as each block is entered. */
struct vb_icount {
    int64_t left;          /* mark - executed: the block's count comes off after the hook */
    int64_t block_left;    /* `left` when the current block was entered */
    uint64_t block;        /* the current block: address | size in bytes << 32; 0: none */
};

struct block_clock {
    uc_emu_stop_fn emu_stop;
    uc_mem_read_fn mem_read;
    int64_t budget;        /* instructions this slice may run */
    struct vb_icount *ic;  /* the engine's (uc_vb_icount) */
    int64_t mark;          /* `executed` at which the translated code calls the hook */
    int32_t stopped;       /* 1 when this hook asked Unicorn to stop */
    int32_t pad0;
    /* While an exception is pending but masked: stop at the first block whose
     * PRIMASK, FAULTMASK or BASEPRI differ from these (CPSIE/MSR end a block). */
    uc_reg_read_fn reg_read;
    int32_t watch;
    int32_t reg_ids[3];
    uint32_t masks[3];
    uint32_t pad;
    /* Native SysTick (vb_slice's tick_first): while `tick_on`, a SysTick tick due at `tick_next`
     * is taken here (entry at a block boundary, or after a WFI by vb_run) and its
     * return handled by vb_intr_hook, as long as the core sits in thread mode (MSP, or
     * PSP with its frame in RAM) with no mask set; anything else ends the slice so that Python takes the tick.
     * `budget` is then min(slice_budget, tick_next): the hook's one comparison. */
    int32_t tick_on;
    int32_t tick_active;   /* a natively taken handler runs; Python's NVIC does not know yet */
    int64_t slice_budget;  /* the slice's own end (budget without the ticks) */
    int64_t tick_next;     /* `executed` value at which the next tick is due */
    int64_t tick_period;
    int64_t idle;          /* cycles slept in WFI by vb_run: time, not instructions */
    uint64_t ticks;        /* ticks taken natively in this slice */
    uint64_t returns;      /* their returns handled natively */
    uint32_t vtor;
    uint32_t stkalign;
    uint32_t vector;       /* SysTick's vector as Python checked it */
    int32_t reg_ipsr;
    int32_t reg_pc;
    int32_t reg_sp;
    int32_t reg_control;
    int32_t tick_flags;    /* excpath's EXC_* bits of a native entry Python must still act on */
    void *exc_path;
    ex_enter_fn ex_enter;
    ex_return_fn ex_return;
    uc_reg_write_fn reg_write;
    uc_emu_start_fn emu_start;
    uc_intr_fn py_intr;    /* the Python interrupt hook: every interrupt not handled here */
    ex_planned_return_fn ex_planned_return; /* returns from handlers Python entered (excpath.c) */
    ex_watched_entry_fn ex_watched_entry;   /* an entry when the watched masks change (excpath.c) */
    uint64_t entries;      /* entries made by ex_watched_entry in this slice */
    ex_pend_fn ex_pend;    /* a pend by an ICSR write (excpath.c) */
    /* What vb_slice (or vb_report) found when the slice ended, read by Python in one go. */
    int64_t out[OUT_N];
    /* Only with a stock Unicorn: `ic` points at own_ic, and the block counts are cached. */
    struct vb_icount own_ic;
    struct cache_entry {
        uint64_t addr;
        uint32_t size;
        uint32_t count;
    } *cache;  /* CACHE_SLOTS entries */
    /* vb_slice's arguments, set by Python before the call (one pointer to convert instead of
     * five): the engine, the slice's budget, and tick_first and watch, which vb_slice puts back
     * to -1 and 0 (no ticks, no watch) for the next slice. */
    void *uc;
    int64_t next_budget;
    int64_t next_tick_first;
    int32_t next_watch;
    int32_t pad1;
    /* The clock's cycle count when the running slice began (set by Python before vb_slice, which
     * puts NO_SLICE back at its end), for native code that needs the time mid-slice (scsread.c). */
    int64_t base;
    uint64_t total_ticks;      /* ticks taken natively by all slices */
    const int32_t *ret_count;  /* excpath.c's count of logged changes Python has not applied */
    const int64_t *st_dirty;   /* the native SysTick copy's write count (scsread.c), or NULL */
};

#define CACHE_SLOTS 65536u

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

/* Instructions in the blocks entered, the current one included. */
static inline int64_t executed_of(const struct block_clock *bc)
{
    return bc->mark - bc->ic->left;
}

/* `executed` when the current block was entered. */
static inline int64_t block_start_of(const struct block_clock *bc)
{
    return bc->mark - bc->ic->block_left;
}

static inline uint64_t block_addr_of(const struct block_clock *bc)
{
    return (uint32_t)bc->ic->block;
}

static inline uint32_t block_size_of(const struct block_clock *bc)
{
    return (uint32_t)(bc->ic->block >> 32);
}

/* Move `mark`, keeping `executed` and the current block's start. */
static void rebase(struct block_clock *bc, int64_t mark)
{
    int64_t delta = mark - bc->mark;
    bc->ic->left += delta;
    bc->ic->block_left += delta;
    bc->mark = mark;
}

/* The hook next at the budget, or at the next block while the masks are watched. */
void vb_retarget(struct block_clock *bc)
{
    rebase(bc, bc->watch ? executed_of(bc) : bc->budget);
}

static int masks_clear(struct block_clock *bc, void *uc)
{
    for (int i = 0; i < 3; i++) {
        uint32_t value = 1;
        if (bc->reg_read(uc, bc->reg_ids[i], &value) != 0 || value != 0) {
            return 0;
        }
    }
    return 1;
}

static void set_budget(struct block_clock *bc)
{
    bc->budget = bc->tick_on && bc->tick_next < bc->slice_budget ? bc->tick_next : bc->slice_budget;
    vb_retarget(bc);
}

/* Take the due SysTick tick natively, returning to `at`: only from thread mode (on either
 * stack) with PRIMASK, FAULTMASK and BASEPRI clear and no natively taken handler
 * running (Python checked the rest when it armed the ticks). 1: entered. */
static int take_tick(struct block_clock *bc, void *uc, uint32_t at)
{
    uint32_t ipsr = 1, vector = 0;
    if (bc->tick_active || bc->reg_read(uc, bc->reg_ipsr, &ipsr) != 0 || (ipsr & 0x1FFu) != 0 ||
        !masks_clear(bc, uc) || bc->mem_read(uc, (uint64_t)bc->vtor + 4u * 15u, &vector, 4) != 0 ||
        vector != bc->vector) {
        return 0;
    }
    int flags = bc->ex_enter(bc->exc_path, 15u, at, bc->vtor, (int)bc->stkalign);
    if (flags < 0 || (flags & EXC_DECLINED)) {
        return 0;  /* nothing was done */
    }
    bc->tick_active = 1;
    bc->ticks++;
    bc->tick_next += bc->tick_period;
    if (flags != 0) {
        /* Entered, with a stacking error for Python to record: end the slice. */
        bc->tick_flags = flags;
        bc->tick_on = 0;
        bc->budget = 0;
        vb_retarget(bc);
        return 1;
    }
    set_budget(bc);
    return 1;
}

/* UC_HOOK_BLOCK, called (from cpu_exec's loop) only at the first block boundary at or after
 * `mark` (see the top): the budget is used up (or a tick is due), or the masks are watched. */
void vb_block_hook(void *uc, uint64_t address, uint32_t size, void *user_data)
{
    struct block_clock *bc = (struct block_clock *)user_data;
    int64_t executed = executed_of(bc);
    (void)size;
    if (bc->watch) {
        uint32_t masks[3] = {0, 0, 0};
        int changed = 0;
        for (int i = 0; i < 3; i++) {
            bc->reg_read(uc, bc->reg_ids[i], &masks[i]);
            changed |= masks[i] != bc->masks[i];
        }
        if (changed) {
            bc->watch = 0;
            /* Python would take the exception the change lets in at this boundary, unless the
             * slice ends here anyway (its budget, an event due, a stop asked for). */
            int entered = executed < bc->budget
                              ? bc->ex_watched_entry(bc->exc_path, (uint32_t)address, masks) : 0;
            if (entered) {
                /* The PC moved to the handler: this block does not run (as for a tick). */
                bc->entries++;
                if (entered == 2) {
                    bc->budget = 0;  /* a stacking error: Python takes the BusFault first */
                }
                vb_retarget(bc);
                return;
            }
            bc->budget = 0;
            bc->tick_on = 0;
        }
    }
    if (bc->tick_on && executed >= bc->tick_next && executed < bc->slice_budget) {
        if (take_tick(bc, uc, (uint32_t)address)) {
            /* The PC moved to the handler: this block does not run (Unicorn leaves it at
             * its first instruction, the check that follows a block hook). */
            uint32_t target = bc->vector | 1u;
            bc->reg_write(uc, bc->reg_pc, &target);
            return;
        }
        /* Python takes this tick: the slice ends here, where it would have without us. */
        bc->tick_on = 0;
        bc->budget = executed;
    }
    if (executed >= bc->budget) {
        if (!bc->stopped) {
            bc->stopped = 1;
            bc->emu_stop(uc);
        }
        return;
    }
    vb_retarget(bc);
}

/* UC_HOOK_BLOCK with a stock Unicorn, which calls it at every block: what vboard's Unicorn
 * build does in the translated code (note the block, call vb_block_hook once nothing is left,
 * take the block's count off) unless the hook keeps the block from running. */
void vb_block_hook_stock(void *uc, uint64_t address, uint32_t size, void *user_data)
{
    struct block_clock *bc = (struct block_clock *)user_data;
    struct vb_icount *ic = bc->ic;
    ic->block_left = ic->left;
    ic->block = (uint32_t)address | (uint64_t)size << 32;
    if (ic->left <= 0) {
        uint64_t ticks = bc->ticks, entries = bc->entries;
        vb_block_hook(uc, address, size, bc);
        if (bc->stopped || bc->ticks != ticks || bc->entries != entries) {
            return;  /* stopped before it, or a tick or an exception taken in its place */
        }
    }
    struct cache_entry *e = &bc->cache[(uint32_t)((address >> 1) ^ (address >> 17)) & (CACHE_SLOTS - 1)];
    if (e->addr != address || e->size != size) {
        uint8_t code[4096];
        uint32_t len = size < sizeof code ? size : (uint32_t)sizeof code;
        e->count = bc->mem_read(uc, address, code, len) != 0 ? size / 2 : vb_count_thumb(code, len);
        e->addr = address;
        e->size = size;
    }
    ic->left -= e->count;
}

/* Start a slice of `budget` instructions. */
void vb_arm(struct block_clock *bc, int64_t budget)
{
    bc->budget = budget;
    bc->slice_budget = budget;
    bc->tick_on = 0;
    bc->tick_active = 0;
    bc->tick_flags = 0;
    bc->idle = 0;
    bc->ticks = 0;
    bc->returns = 0;
    bc->entries = 0;
    bc->mark = budget;
    bc->ic->left = budget;
    bc->ic->block_left = budget;
    bc->ic->block = 0;
    bc->stopped = 0;
    bc->watch = 0;
}

/* After a slice that ended with the next instruction at `pc`: the instructions
 * it completed (the blocks entered, the last one up to `pc`), and in *before
 * the halfword just below `pc` if it belongs to the last block entered (code
 * the core fetched: never a read of a device window), else 0; 0xBF30 is a WFI. */
static int64_t vb_slice_end(struct block_clock *bc, void *uc, uint64_t pc, uint32_t *before)
{
    uint8_t hw[2];
    uint64_t at = pc & ~(uint64_t)1;
    uint64_t start = block_addr_of(bc);
    uint32_t size = block_size_of(bc);
    *before = 0;
    if (size != 0 && at >= start + 2 && at <= start + size &&
        bc->mem_read(uc, at - 2, hw, 2) == 0) {
        *before = (uint32_t)(hw[0] | (hw[1] << 8));
    }
    if (bc->stopped) {
        return executed_of(bc);
    }
    if (size != 0 && start <= pc && pc < start + size) {
        if (pc == start) {
            return block_start_of(bc);
        }
        uint8_t code[4096];
        uint32_t len = (uint32_t)(pc - start);
        if (len > sizeof code || bc->mem_read(uc, start, code, len) != 0) {
            return block_start_of(bc) + len / 2;
        }
        return block_start_of(bc) + vb_count_thumb(code, len);
    }
    return executed_of(bc);
}

uint64_t vb_sizeof(void)
{
    return sizeof(struct block_clock);
}

/* UC_HOOK_INTR: the return from a natively taken SysTick handler to thread mode on the
 * main or the process stack, when the stacked frame is a plain one, and the returns Python's
 * plan allows from handlers it entered (excpath.c's ex_planned_return); every other interrupt
 * (and those otherwise) goes to the Python hook. */
void vb_intr_hook(void *uc, uint32_t intno, void *user_data)
{
    struct block_clock *bc = (struct block_clock *)user_data;
    if (intno == 8 && bc->tick_active) {
        uint32_t pc = 0, ipsr = 0, control = 1, sp = 0, xpsr = 1;
        bc->reg_read(uc, bc->reg_pc, &pc);
        bc->reg_read(uc, bc->reg_ipsr, &ipsr);
        bc->reg_read(uc, bc->reg_control, &control);
        bc->reg_read(uc, bc->reg_sp, &sp);
        int to_msp = (pc | 1u) == EXC_RETURN_THREAD_MSP;
        if ((to_msp || (pc | 1u) == EXC_RETURN_THREAD_PSP) && (ipsr & 0x1FFu) == 15u && !(control & 2u) &&
            (!to_msp || (bc->mem_read(uc, (uint64_t)sp + 28u, &xpsr, 4) == 0 && (xpsr & 0x1FFu) == 0)) &&
            bc->ex_return(bc->exc_path, to_msp ? 1 : RET_THREAD_PSP_PLAIN, (int)bc->stkalign) == 0) {
            bc->tick_active = 0;
            bc->returns++;
            return;
        }
    } else if (intno == 8) {
        uint32_t pc = 0;
        bc->reg_read(uc, bc->reg_pc, &pc);
        if (bc->ex_planned_return(bc->exc_path, pc | 1u)) {
            return;
        }
    }
    bc->py_intr(uc, intno, NULL);
}

/* An ICSR write of PENDSVSET alone, from the SCS window's write callback (scsread.c) inside a
 * slice: pended by excpath.c's ex_pend when its plan allows it, then what the write's Python path
 * does to this clock: no more native ticks in this slice, and a mask watch, which fires at the
 * next block when the exception preempts now (ex_watched_entry enters it there) or else when the
 * masks change. Declined (0, nothing done) while a natively taken tick's handler runs, a watch is
 * set or the slice stopped. */
int vb_pend(struct block_clock *bc, void *uc)
{
    uint32_t masks[3] = {0, 0, 0};
    if (bc->tick_active || bc->watch || bc->stopped || !bc->ex_pend) {
        return 0;
    }
    for (int i = 0; i < 3; i++) {
        if (bc->reg_read(uc, bc->reg_ids[i], &masks[i]) != 0) {
            return 0;
        }
    }
    int pended = bc->ex_pend(bc->exc_path, masks);
    if (!pended) {
        return 0;
    }
    bc->tick_on = 0;
    for (int i = 0; i < 3; i++) {
        bc->masks[i] = pended == 1 ? 0xFFFFFFFFu : masks[i];
    }
    bc->watch = 1;
    vb_retarget(bc);
    return 1;
}

/* The halfword below `pc` when it is the last instruction of the last block entered. */
static uint32_t before_pc(struct block_clock *bc, void *uc, uint64_t pc)
{
    uint8_t hw[2];
    uint64_t at = pc & ~(uint64_t)1;
    uint64_t block = block_addr_of(bc);
    uint32_t size = block_size_of(bc);
    if (size != 0 && at >= block + 2 && at <= block + size &&
        bc->mem_read(uc, at - 2, hw, 2) == 0) {
        return (uint32_t)(hw[0] | (hw[1] << 8));
    }
    return 0;
}

/* The slice: uc_emu_start from `pc`; while ticks are armed, a WFI in thread mode whose
 * wake-up is the next tick (before the slice's end) sleeps here: the cycles to the tick
 * count as time (`idle`), the tick is taken and emulation goes on in its handler.
 * Returns Unicorn's error code. */
static int vb_run(struct block_clock *bc, void *uc, uint64_t pc)
{
    for (;;) {
        int err = bc->emu_start(uc, pc | 1u, UNTIL, 0, 0);
        if (err != 0 || !bc->tick_on || bc->stopped || bc->tick_active) {
            return err;
        }
        uint32_t now_pc = 0;
        bc->reg_read(uc, bc->reg_pc, &now_pc);
        /* A WFI ends its block, so `executed` is exact here. */
        uint32_t size = block_size_of(bc);
        if (size == 0 || now_pc != block_addr_of(bc) + size ||
            before_pc(bc, uc, now_pc) != 0xBF30u || bc->tick_next >= bc->slice_budget) {
            return 0;
        }
        int64_t executed = executed_of(bc);
        int64_t wake = bc->tick_next > executed ? bc->tick_next : executed;
        if (!take_tick(bc, uc, now_pc)) {
            return 0;
        }
        bc->idle += wake - executed;
        bc->ic->left -= wake - executed;  /* `executed` becomes `wake`, no block entered */
        bc->ic->block_left = bc->ic->left;
        bc->ic->block = 0;
        pc = bc->vector;
        if (wake >= bc->budget && !bc->tick_on) {
            return 0;  /* a stacking error: Python records it before anything runs */
        }
    }
}

/* After a slice (and after Python moved the PC, if it did): the PC, PRIMASK, FAULTMASK and
 * BASEPRI, the instructions the slice completed and the halfword below the PC (vb_slice_end),
 * the cycles slept, the ticks taken, and whether the budget ran out, into out[]. */
void vb_report(struct block_clock *bc, void *uc)
{
    uint32_t pc = 0, before = 0;
    bc->reg_read(uc, bc->reg_pc, &pc);
    for (int i = 0; i < 3; i++) {
        uint32_t value = 0;
        bc->reg_read(uc, bc->reg_ids[i], &value);
        bc->out[OUT_PRIMASK + i] = value;
    }
    bc->out[OUT_PC] = pc;
    int64_t ran = vb_slice_end(bc, uc, pc, &before);
    bc->out[OUT_RAN] = ran > 0 ? ran : 0;
    bc->out[OUT_BEFORE] = before;
    bc->out[OUT_IDLE] = bc->idle;
    bc->out[OUT_TICKS] = (int64_t)bc->ticks;
    bc->out[OUT_STOPPED] = bc->stopped;
}

/* One slice from the current PC, in one call, with the arguments in the state (`next_budget`,
 * `next_tick_first`, `next_watch`, `uc`, `base`): vb_arm(budget); then, with `watch`, the mask watch
 * (bc->masks set by the caller), or with `tick_first` >= 0 native SysTick ticks, the first
 * `tick_first` cycles in and then every bc->tick_period (bc->vector, vtor and stkalign set by the
 * caller); vb_run; vb_report, with out[OUT_WORK] what Python must do after it; `base` NO_SLICE
 * again. Returns Unicorn's error code. */
int vb_slice(struct block_clock *bc)
{
    void *uc = bc->uc;
    int64_t tick_first = bc->next_tick_first;
    int32_t watch = bc->next_watch;
    bc->next_tick_first = -1;
    bc->next_watch = 0;
    vb_arm(bc, bc->next_budget);
    if (watch) {
        bc->watch = 1;
        vb_retarget(bc);
    } else if (tick_first >= 0) {
        bc->tick_on = 1;
        bc->tick_next = tick_first;
        set_budget(bc);
    }
    uint32_t pc = 0;
    bc->reg_read(uc, bc->reg_pc, &pc);
    int err = vb_run(bc, uc, pc);
    vb_report(bc, uc);
    bc->total_ticks += bc->ticks;
    bc->out[OUT_WORK] = (bc->tick_active || (bc->ret_count && *bc->ret_count) ? WORK_SYNC : 0) |
                        (bc->st_dirty && *bc->st_dirty ? WORK_PULL : 0);
    bc->base = NO_SLICE;
    return err;
}
