/*
 * The System Control Space's hot reads served without Python: SysTick's
 * current value (SYST_CVR, 0x018) and control and status (SYST_CSR, 0x010),
 * and the SCB's ICSR (0xD04), word reads only. Every other read goes to the
 * next callback (the SCS model's Python trampoline). Writes: see sr_write.
 *
 * CVR is computed as emulator/cpu/systick.py's SysTick.value() computes it,
 * from the counter's programming (which the model copies here whenever it
 * changes) and the clock's cycle count: the clock's count when the slice
 * began plus the block clock's progress into it (clock.now inside a slice):
 * its mark less the budget left when the current block was entered.
 *
 * CSR is the model's CSR (copied here) with COUNTFLAG worked out as
 * SysTick.countflag() does, from the programming and the cycle the flag was
 * last cleared at; the read clears it as Python's does, by storing the cycle
 * of the read as that cycle, which the model takes from here. A COUNTFLAG
 * the model keeps in CSR itself (restored from a snapshot) is Python's to
 * clear.
 *
 * ICSR is the IPSR read from the core (VECTACTIVE) plus an image of the
 * fields that depend on the NVIC's pending, enabled and priority state,
 * which the model stores after computing ICSR in Python and which is valid
 * until that state changes (emulator/cpu/nvic.py drops it). RETTOBASE is
 * worked out here from the IPSR and the active set: the model's (stored as
 * "none", "only n" or "several") plus SysTick while the block clock runs a
 * natively taken tick handler Python does not know of yet.
 *
 * Plain registers: the words whose value is a plain copy of the model's
 * state (AIRCR, the NVIC's priority bytes IPR and SHPR1-3, the enabled set
 * ISER/ICER), which the model copies into `plain` whenever that state
 * changes (emulator/cpu/scs.py, publish_plain). `plain_sizes` holds, per
 * word, the access sizes the register table allows (bit 1, 2, 4; 0: not
 * served here); an aligned read of an allowed size is answered from the
 * copy, any other goes to Python as before.
 *
 * Writes: a word write of ICSR whose only action bit is PENDSVSET (an RTOS's yield) made inside a
 * slice is offered to the block clock's vb_pend (blockclock.c), which pends PendSV natively when
 * the CPU's plan allows it (excpath.c's ex_pend). Word writes of SysTick's CSR, RVR and CVR made
 * inside a slice are served here (st_write) as SysTick.write_csr/write_reload/write_current do
 * them, into the native copy, with the changes of SysTick's clock event they would make
 * recorded for the model to apply (SysTick.pull: before anything in Python reads SysTick or
 * schedules an event, and at the slice's end); refused (Python's, as before) while a natively
 * taken tick's handler runs or native changes wait for native_sync, when an event would be
 * scheduled before the slice's end (the slice was budgeted to the old one), and under
 * register tracing. Every other write, and one declined, goes to the next write callback (the
 * model's Python trampoline).
 *
 * Built by emulator/native/native_lib.py; the layout is mirrored in
 * emulator/cpu/scsread.py.
 */
#include <stdint.h>

typedef uint64_t (*slow_read_t)(void *uc, uint64_t offset, unsigned size, void *user);
typedef int (*uc_reg_read_fn)(void *uc, int regid, void *value);
typedef void (*slow_write_t)(void *uc, uint64_t offset, unsigned size, uint64_t value, void *user);
typedef int (*pend_fn)(void *state, void *uc);

#define SYST_CSR 0x010u
#define SYST_CVR 0x018u
#define SYST_RVR 0x014u
#define ST_ENABLE 1u
#define ST_CLKSOURCE 4u
#define ST_MAX 0xFFFFFFu
#define ST_NO_OP (-2)
#define ST_NONE (-1)
#define ST_COUNTFLAG (1u << 16)
#define ICSR 0xD04u
#define SYSTICK 15
#define RETTOBASE (1u << 11)
#define ACTIVE_SEVERAL (-1)
#define NO_SLICE (-1) /* cortexm.NO_SLICE */
#define SCS_WORDS 0x400u
/* ICSR's action bits: NMIPENDSET, PENDSVSET, PENDSVCLR, PENDSTSET, PENDSTCLR (the others are read-only) */
#define ICSR_ACTIONS 0x9E000000u
#define ICSR_PENDSVSET (1u << 28)

typedef struct {
    slow_read_t slow_read;
    void *slow_user;
    const int64_t *base;         /* the clock's cycle count when the running slice began, or
                                    NO_SLICE: a read between slices (a debugger's) is Python's */
    const int64_t *mark;         /* the block clock's: *mark - *block_left is the cycles into */
    const int64_t *block_left;   /* the slice (blockclock.c's block_start_of) */
    const int32_t *tick_active;  /* the block clock's: a natively taken SysTick handler runs */
    const int32_t *tick_flags;   /* the block clock's: that entry left work for Python */
    uc_reg_read_fn reg_read;
    int32_t reg_ipsr;
    uint32_t off;                /* nonzero: every read takes the slow path (register tracing) */
    /* SysTick's programming (systick.py) */
    int64_t st_enabled;
    int64_t st_cycles_per_tick;
    int64_t st_start;
    int64_t st_start_value;
    int64_t st_reload;
    int64_t st_stopped_value;
    /* SysTick's CSR (systick.py), and the cycle COUNTFLAG was last cleared at, which the
       model reads from here */
    int64_t st_csr;
    int64_t st_flag_cleared_at;
    int64_t st_dirty;            /* writes served since the model last pulled the programming */
    int64_t st_op1;              /* the first change of the clock event since then (ST_NO_OP: none;
                                    ST_NONE: cancelled; else re-armed at that cycle) */
    int64_t st_cur;              /* the event's cycle after the writes (ST_NONE: none) */
    int64_t st_draws;            /* events the writes after the first would have scheduled */
    /* (SysTick.pull reads st_enabled..st_draws, in this order, in one piece) */
    /* ICSR without VECTACTIVE and RETTOBASE, while icsr_valid */
    uint32_t icsr_valid;
    uint32_t icsr_bits;
    int32_t active;              /* the model's active set: 0 none, n only n, ACTIVE_SEVERAL */
    uint32_t pad;
    uint64_t fast_reads;
    /* the plain registers' values and allowed sizes, per word */
    uint32_t plain[SCS_WORDS];
    uint8_t plain_sizes[SCS_WORDS];
    /* writes */
    slow_write_t slow_write;
    void *slow_write_user;
    pend_fn pend;                /* blockclock.c's vb_pend, or NULL: every write is Python's */
    void *pend_state;
    uint64_t fast_writes;
    /* SysTick's writes (st_write below) */
    uint32_t st_writes;          /* nonzero: CSR, RVR and CVR word writes are served here */
    uint32_t st_pad;
    int32_t *tick_on;            /* the block clock's: an SCS write ends native ticks */
    const int32_t *ret_count;    /* excpath.c's log of native changes Python has not applied */
    const int64_t *slice_budget; /* the block clock's: the slice ends at *base + *slice_budget */
    int64_t st_ref_cpt;          /* core cycles per reference clock tick (CLKSOURCE=0) */
    uint64_t st_fast_writes;
} scs_read_t;

uint64_t sr_sizeof(void) { return sizeof(scs_read_t); }

/* SysTick's programming, as the native copy holds it (st_load): what the reads compute from, and
 * what st_write works on (copied out, changed, copied back when served). */
typedef struct {
    int64_t enabled, cpt, start, start_value, reload, stopped_value, csr, cleared, op1, cur, draws;
    int64_t slice_end;
    int refused;
} st_t;

/* SysTick._count: the running counter's value at `now` (now >= start, cpt > 0). */
static int64_t st_count(const st_t *t, int64_t now)
{
    int64_t n = (now - t->start) / t->cpt;
    int64_t reload = t->reload, start_value = t->start_value;
    int64_t first = start_value ? start_value : (reload ? reload + 1 : 0);
    if (!first) {
        return 0;
    }
    if (n < first) {
        return start_value ? start_value - n : (n == 0 ? 0 : reload + 1 - n);
    }
    if (!reload) {
        return 0;
    }
    int64_t m = (n - first) % (reload + 1);
    return m == 0 ? 0 : reload + 1 - m;
}

/* SysTick._countflag_at. */
static int st_countflag_at(const st_t *t, int64_t now)
{
    if ((t->csr & ST_COUNTFLAG) || !(t->csr & ST_ENABLE)) {
        return (t->csr & ST_COUNTFLAG) != 0;
    }
    int64_t cpt = t->cpt, start = t->start, reload = t->reload;
    int64_t first = t->start_value ? t->start_value : (reload ? reload + 1 : 0);
    if (!first || (now - start) / cpt < first) {
        return 0;
    }
    int64_t cleared = t->cleared;
    if (cleared <= start) {
        return 1;
    }
    int64_t cleared_ticks = (cleared - start) / cpt;
    if (cleared_ticks < first) {
        return 1;
    }
    if (!reload) {
        return 0;
    }
    int64_t period = reload + 1;
    return (now - start) / cpt - first >= ((cleared_ticks - first) / period + 1) * period;
}

/* The native copy's programming (op1, cur, draws, slice_end: none yet). */
static st_t st_load(const scs_read_t *s)
{
    st_t t = {s->st_enabled, s->st_cycles_per_tick, s->st_start, s->st_start_value, s->st_reload,
              s->st_stopped_value, s->st_csr, s->st_flag_cleared_at, ST_NO_OP, ST_NONE, 0, 0, 0};
    return t;
}

/* clock.now inside the running slice: 1 and the cycle in *now, or 0 between slices. */
static int now_of(const scs_read_t *s, int64_t *now)
{
    int64_t base = *s->base;
    if (base == NO_SLICE) {
        return 0;
    }
    *now = base + (*s->mark - *s->block_left);
    return 1;
}

/* SysTick.read_csr(): 1 and the value in *out (COUNTFLAG cleared), or 0 when Python must answer. */
static int csr(scs_read_t *s, uint32_t *out)
{
    int64_t now;
    if ((s->st_csr & ST_COUNTFLAG) || !now_of(s, &now)) {
        return 0;
    }
    uint32_t v = (uint32_t)s->st_csr & 0x7u;
    if (v & ST_ENABLE) {
        if (now < s->st_start || s->st_cycles_per_tick <= 0) {
            return 0;  /* never the case; Python's floor division decides it */
        }
        st_t t = st_load(s);
        if (st_countflag_at(&t, now)) {
            v |= ST_COUNTFLAG;
        }
    }
    s->st_flag_cleared_at = now;
    *out = v;
    return 1;
}

/* SysTick.value(): 1 and the value in *out, or 0 when Python must answer. */
static int cvr(const scs_read_t *s, uint32_t *out)
{
    if (!s->st_enabled) {
        *out = (uint32_t)s->st_stopped_value;
        return 1;
    }
    int64_t now;
    if (!now_of(s, &now)) {
        return 0;
    }
    if (now < s->st_start || s->st_cycles_per_tick <= 0) {
        return 0;  /* never the case; Python's floor division decides it */
    }
    st_t t = st_load(s);
    *out = (uint32_t)st_count(&t, now);
    return 1;
}

static int icsr(const scs_read_t *s, void *uc, uint32_t *out)
{
    uint32_t ipsr = 0;
    if (!s->icsr_valid || *s->tick_flags || s->reg_read(uc, s->reg_ipsr, &ipsr) != 0) {
        return 0;
    }
    ipsr &= 0x1FFu;
    int32_t active = s->active;
    if (*s->tick_active && active != SYSTICK) {
        active = active == 0 ? SYSTICK : ACTIVE_SEVERAL;
    }
    uint32_t v = ipsr | s->icsr_bits;
    if (ipsr && (active == 0 || active == (int32_t)ipsr)) {
        v |= RETTOBASE;
    }
    *out = v;
    return 1;
}

/* 1 and the value in *out when this read is served here (a CSR read clears COUNTFLAG), else 0. */
static int serve(scs_read_t *s, void *uc, uint64_t offset, unsigned size, uint32_t *out)
{
    if (s->off || offset >= 4u * SCS_WORDS || (size != 1 && size != 2 && size != 4)
            || (offset & (size - 1))) {
        return 0;
    }
    if (s->plain_sizes[offset >> 2] & size) {
        uint32_t word = s->plain[offset >> 2] >> (8u * (offset & 3u));
        *out = size == 4 ? word : word & ((1u << (8u * size)) - 1u);
        return 1;
    }
    if (size != 4) {
        return 0;
    }
    if (offset == SYST_CVR) {
        return cvr(s, out);
    }
    if (offset == SYST_CSR) {
        return csr(s, out);
    }
    if (offset == ICSR) {
        return icsr(s, uc, out);
    }
    return 0;
}

uint64_t sr_read(void *uc, uint64_t offset, unsigned size, void *user)
{
    scs_read_t *s = user;
    uint32_t v;
    if (serve(s, uc, offset, size, &v)) {
        s->fast_reads++;
        return v;
    }
    return s->slow_read(uc, offset, size, s->slow_user);
}

/* What sr_read would answer without the slow path, counting nothing (tests); a CSR read
   served clears COUNTFLAG as the firmware's does. */
int sr_peek(scs_read_t *s, void *uc, uint64_t offset, unsigned size, uint32_t *out)
{
    return serve(s, uc, offset, size, out);
}

/* What SysTick does to its clock event (`when`: the cycle of the next 1->0 transition, or
 * ST_NONE: cancelled), recorded: the first change as it is (SysTick.pull applies it to the event
 * the model has, keeping one re-armed for its own cycle), each later one against the cycle before
 * it, counting the events Python would schedule. Refused when an event would be scheduled before
 * the slice's end: the slice would run past it. */
static void st_event(st_t *t, int64_t when)
{
    if (when >= 0 && when < t->slice_end) {
        t->refused = 1;
    }
    if (t->op1 == ST_NO_OP) {
        t->op1 = t->cur = when;
    } else if (!(t->cur >= 0 && when == t->cur)) {
        if (when >= 0) {
            t->draws++;
        }
        t->cur = when;
    }
}

/* SysTick._restart: count on from `value` at `at`; `written_at`: the write's cycle. */
static void st_restart(st_t *t, int64_t value, int64_t at, int64_t written_at)
{
    t->start = at;
    t->start_value = value;
    if (t->cleared < written_at) {
        t->cleared = written_at;
    }
    int64_t first = value ? value : (t->reload ? t->reload + 1 : 0);
    st_event(t, first ? at + first * t->cpt : ST_NONE);
}

/* SysTick.write_csr / write_reload / write_current at `now` on *t; 0: refused. */
static int st_apply(st_t *t, int64_t ref_cpt, uint64_t offset, uint32_t value, int64_t now)
{
    if (offset == SYST_CSR) {
        int64_t was = t->csr, flag;
        if (was & ST_ENABLE) {
            flag = st_countflag_at(t, now) ? ST_COUNTFLAG : 0;
        } else {
            flag = was & ST_COUNTFLAG;
        }
        int64_t c = t->csr = flag | (value & 0x7u);
        if (c & ST_ENABLE) {
            if ((was & ST_ENABLE) && !((was ^ c) & ST_CLKSOURCE)) {
                return 1;  /* counts on as it did */
            }
            int64_t current = (was & ST_ENABLE) ? st_count(t, now) : t->stopped_value;
            t->cpt = (c & ST_CLKSOURCE) ? 1 : ref_cpt;
            t->enabled = 1;
            st_restart(t, current, now, now);
        } else if (was & ST_ENABLE) {
            t->stopped_value = st_count(t, now);
            t->enabled = 0;
            st_event(t, ST_NONE);
        }
        return 1;
    }
    if (offset == SYST_RVR) {
        int64_t reload = value & ST_MAX;
        if (t->csr & ST_ENABLE) {
            if (st_countflag_at(t, now)) {
                t->csr |= ST_COUNTFLAG;
            }
            int64_t current = st_count(t, now);
            t->reload = reload;
            st_restart(t, current, now - (now - t->start) % t->cpt, now);
        } else {
            t->reload = reload;
        }
        return 1;
    }
    /* SYST_CVR: any write clears the counter and COUNTFLAG */
    t->csr &= ~(int64_t)ST_COUNTFLAG;
    t->cleared = now;
    t->stopped_value = 0;
    if (t->csr & ST_ENABLE) {
        st_restart(t, 0, now, now);
    }
    return 1;
}

/* A word write of SYST_CSR, SYST_RVR or SYST_CVR inside a slice: 1 when served here. */
static int st_write(scs_read_t *s, uint64_t offset, uint32_t value)
{
    int64_t now;
    if (!s->st_writes || s->off || *s->tick_active || *s->ret_count || !now_of(s, &now)) {
        return 0;
    }
    st_t t = st_load(s);
    t.slice_end = *s->base + *s->slice_budget;
    if (s->st_dirty) {
        t.op1 = s->st_op1;
        t.cur = s->st_cur;
        t.draws = s->st_draws;
    }
    if (now < t.start || t.cpt <= 0 || s->st_ref_cpt <= 0) {
        return 0;  /* never the case; Python's floor division decides it */
    }
    if (!st_apply(&t, s->st_ref_cpt, offset, value, now) || t.refused) {
        return 0;
    }
    s->st_enabled = t.enabled;
    s->st_cycles_per_tick = t.cpt;
    s->st_start = t.start;
    s->st_start_value = t.start_value;
    s->st_reload = t.reload;
    s->st_stopped_value = t.stopped_value;
    s->st_csr = t.csr;
    s->st_flag_cleared_at = t.cleared;
    s->st_op1 = t.op1;
    s->st_cur = t.cur;
    s->st_draws = t.draws;
    s->st_dirty++;
    *s->tick_on = 0;  /* as any SCS write through Python: no more native ticks in this slice */
    return 1;
}

void sr_write(void *uc, uint64_t offset, unsigned size, uint64_t value, void *user)
{
    scs_read_t *s = user;
    if (size == 4 && (offset == SYST_CSR || offset == SYST_RVR || offset == SYST_CVR) &&
        st_write(s, offset, (uint32_t)value)) {
        s->st_fast_writes++;
        return;
    }
    if (offset == ICSR && size == 4 && ((uint32_t)value & ICSR_ACTIONS) == ICSR_PENDSVSET && !s->off &&
        s->pend && *s->base != NO_SLICE && s->pend(s->pend_state, uc)) {
        s->fast_writes++;
        return;
    }
    s->slow_write(uc, offset, size, value, s->slow_write_user);
}
