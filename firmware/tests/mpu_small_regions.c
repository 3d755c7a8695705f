/*
 * mpu_small_regions: MPU regions and subregions smaller than 1 KiB, as an
 * RTOS with an MPU port gives them to its tasks (FreeRTOS's MPU demo for this
 * board shares 32-byte buffers between unprivileged tasks).
 *
 * One 1 KiB page, privileged-only (region 2), holds for unprivileged code:
 *   +0x000 32 bytes read-write (region 3, the "tracker")
 *   +0x020 32 bytes read-only  (region 4, the "shared" buffer)
 *   +0x200 256 bytes read-write (region 5) with subregion 1 (+0x220) disabled
 * The rest of RAM and the devices are full access (regions 1, 6) so the
 * unprivileged stack and printf work.
 * Unprivileged: the allowed accesses run without a fault; a store to the
 * read-only buffer, a load from the privileged-only rest of the page and a
 * store to the disabled subregion each take MemManage DACCVIOL with MMFAR the
 * exact address. Privileged code reaches the whole page. The handler returns
 * to privileged thread mode, so the access runs again and succeeds.
 */
#include <stdio.h>

#include "bsp.h"
#include "check.h"
#include "fault_common.h"

#define MPU_CTRL (*(volatile uint32_t *)0xE000ED94UL)
#define MPU_RBAR (*(volatile uint32_t *)0xE000ED9CUL)
#define MPU_RASR (*(volatile uint32_t *)0xE000EDA0UL)

#define CTRL_ENABLE     1UL
#define CTRL_PRIVDEFENA 4UL
#define RBAR_VALID      (1UL << 4)
#define RASR_XN         (1UL << 28)
#define AP_PRIV_RW      (1UL << 24)
#define AP_UNPRIV_RO    (2UL << 24)
#define AP_FULL         (3UL << 24)
#define AP_RO           (6UL << 24)
#define RASR_SRD(mask)  ((uint32_t)(mask) << 8)
#define RASR_SIZE(log2) (((uint32_t)(log2) - 1UL) << 1)
#define RASR_ENABLE     1UL
#define SHCSR_MEMFAULTENA (1UL << 16)
#define MMFSR_DACCVIOL  0x02UL
#define MMFSR_MMARVALID 0x80UL

/* One instruction each, so a stacked PC can be compared with the function's address. */
void store_fn(volatile uint32_t *addr, uint32_t value);
uint32_t load_fn(volatile uint32_t *addr);
__asm(".text\n.thumb_func\n.global store_fn\n.type store_fn, %function\n"
      "store_fn: str r1, [r0]\n bx lr\n"
      ".thumb_func\n.global load_fn\n.type load_fn, %function\n"
      "load_fn: ldr r0, [r0]\n bx lr\n");

static volatile uint32_t page[256] __attribute__((aligned(1024)));
#define TRACKER (&page[0])
#define SHARED  (&page[8])
#define PRIVATE (&page[64])
#define SUB_OK  (&page[128])
#define SUB_OFF (&page[136])

static volatile struct {
    uint32_t mmfsr, mmfar, pc, count;
} seen;

static void region(uint32_t n, uint32_t base, uint32_t rasr)
{
    MPU_RBAR = base | RBAR_VALID | n;
    MPU_RASR = rasr;
}

FAULT_TRAMPOLINE(MemManage_Handler, memmanage_c)
void memmanage_c(exc_frame_t *frame)
{
    seen.mmfsr = SCB->CFSR & 0xFFUL;
    seen.mmfar = SCB->MMFAR;
    seen.pc = frame->pc;
    seen.count++;
    SCB->CFSR = SCB->CFSR;
    __set_CONTROL(__get_CONTROL() & ~1UL); /* privileged again: the access runs again and passes */
}

static void unprivileged(void)
{
    __set_CONTROL(__get_CONTROL() | 1UL);
    __ISB();
}

static void no_fault(const char *what, int value_ok)
{
    uint32_t privileged = (__get_CONTROL() & 1UL) == 0;
    printf("%s: faults=%lu\n", what, (unsigned long)seen.count);
    result("  no fault, still unprivileged", seen.count == 0 && !privileged);
    result("  the access took effect", value_ok);
}

static void fault(const char *what, uint32_t pc, volatile uint32_t *addr)
{
    printf("%s: MMFSR=0x%02lx faults=%lu\n", what, (unsigned long)seen.mmfsr, (unsigned long)seen.count);
    result("  MemManage DACCVIOL|MMARVALID", seen.count == 1 && seen.mmfsr == (MMFSR_DACCVIOL | MMFSR_MMARVALID));
    result("  MMFAR is the exact address", seen.mmfar == (uint32_t)(uintptr_t)addr);
    result("  stacked PC is the access", (seen.pc & ~1UL) == (pc & ~1UL));
    seen.count = 0;
}

int main(void)
{
    uint32_t base = (uint32_t)(uintptr_t)page;
    printf("mpu_small_regions: start\n");
    MPU_CTRL = 0;
    region(0, 0x00000000UL, AP_RO | RASR_SIZE(24) | RASR_ENABLE);
    region(1, 0x20000000UL, RASR_XN | AP_FULL | RASR_SIZE(24) | RASR_ENABLE);
    region(2, base, RASR_XN | AP_PRIV_RW | RASR_SIZE(10) | RASR_ENABLE);
    region(3, base, RASR_XN | AP_FULL | RASR_SIZE(5) | RASR_ENABLE);
    region(4, base + 0x20, RASR_XN | AP_UNPRIV_RO | RASR_SIZE(5) | RASR_ENABLE);
    region(5, base + 0x200, RASR_XN | AP_FULL | RASR_SRD(0x02) | RASR_SIZE(8) | RASR_ENABLE);
    region(6, 0x40000000UL, RASR_XN | AP_FULL | RASR_SIZE(29) | RASR_ENABLE); /* UART for printf */
    SCB->SHCSR |= SHCSR_MEMFAULTENA;
    MPU_CTRL = CTRL_ENABLE | CTRL_PRIVDEFENA;
    __DSB();
    __ISB();

    SHARED[0] = 0x11;
    PRIVATE[0] = 0x22;
    result("privileged code reaches the whole page", SHARED[0] == 0x11 && PRIVATE[0] == 0x22);

    unprivileged();
    uint32_t v = load_fn(SHARED);
    no_fault("unprivileged load from the 32-byte read-only buffer", v == 0x11);
    store_fn(TRACKER, 1);
    no_fault("unprivileged store to the 32-byte read-write buffer", TRACKER[0] == 1);
    store_fn(SUB_OK, 3);
    no_fault("unprivileged store to an enabled 32-byte subregion", SUB_OK[0] == 3);

    store_fn(SHARED, 0x33);
    fault("unprivileged store to the read-only buffer", (uint32_t)(uintptr_t)store_fn, SHARED);
    result("  the store ran again privileged", SHARED[0] == 0x33);

    unprivileged();
    v = load_fn(PRIVATE);
    fault("unprivileged load from the privileged-only rest of the page", (uint32_t)(uintptr_t)load_fn, PRIVATE);
    result("  the load ran again privileged", v == 0x22);

    unprivileged();
    store_fn(SUB_OFF, 4);
    fault("unprivileged store to a disabled subregion", (uint32_t)(uintptr_t)store_fn, SUB_OFF);
    result("  the store ran again privileged", SUB_OFF[0] == 4);

    unprivileged();
    store_fn(&TRACKER[7], 5);
    no_fault("unprivileged store to the last word of the read-write buffer", TRACKER[7] == 5);
    store_fn(&TRACKER[8], 6);
    fault("unprivileged store to the word after it", (uint32_t)(uintptr_t)store_fn, &TRACKER[8]);

    MPU_CTRL = 0;
    __DSB();
    __ISB();
    printf("mpu_small_regions: done\n");
    return check_failures;
}
