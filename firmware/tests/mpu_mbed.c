/*
 * mpu_mbed: the MPU set up the way Mbed OS's ARMv7-M MPU driver does at boot,
 * then ordinary work under it.
 *
 * Mbed OS asserts DREGION >= 4 from MPU_TYPE, clears every region through
 * RNR/RASR, then programs (ROM end 0x0FFFFFFF, its default):
 * - region 0: 0x00000000, 512 MiB, read-only, executable, subregions 4..7
 *   disabled (only the first 256 MiB is "ROM");
 * - region 3: 0x00000000, 512 MiB, full access, XN, subregions 0..3
 *   disabled (the rest of the code space is RAM);
 * - region 1: 4 GiB, full access, XN, only subregions 1 (SRAM,
 *   0x20000000) and 3 (RAM, 0x60000000) enabled;
 * - region 2: 0x80000000, 512 MiB, full access, XN;
 * and enables it with PRIVDEFENA and HFNMIENA. Under it the program
 * stores to RAM, prints (the UART through the background region), takes
 * SysTick interrupts; a store to the ROM and a jump into SRAM are MemManage
 * faults (DACCVIOL with MMFAR, IACCVIOL), as Mbed's write and execute
 * protection intends.
 */
#include <stdio.h>

#include "bsp.h"
#include "check.h"
#include "fault_common.h"

#define MPU_TYPE (*(volatile uint32_t *)0xE000ED90UL)
#define MPU_CTRL (*(volatile uint32_t *)0xE000ED94UL)
#define MPU_RNR  (*(volatile uint32_t *)0xE000ED98UL)
#define MPU_RBAR (*(volatile uint32_t *)0xE000ED9CUL)
#define MPU_RASR (*(volatile uint32_t *)0xE000EDA0UL)

#define RASR(xn, ap, tex, c, b, srd, size_log2)                                                \
    (((uint32_t)(xn) << 28) | ((uint32_t)(ap) << 24) | ((uint32_t)(tex) << 19) |             \
     ((uint32_t)(c) << 17) | ((uint32_t)(b) << 16) | ((uint32_t)(srd) << 8) |                \
     (((uint32_t)(size_log2) - 1UL) << 1) | 1UL)
#define AP_FULL 3U
#define AP_RO   6U

void store_fn(volatile uint32_t *addr, uint32_t value);
__asm(".text\n.thumb_func\n.global store_fn\n.type store_fn, %function\n"
      "store_fn: str r1, [r0]\n bx lr\n");

static volatile uint32_t ticks;
static volatile uint32_t ram_words[64];
/* "bx lr" as data: executing it would return at once. */
static volatile uint16_t ram_code[2] __attribute__((aligned(4))) = {0x4770, 0x4770};

static volatile uint32_t mm_count, mm_mmfsr, mm_mmfar, mm_pc;

void SysTick_Handler(void)
{
    ticks++;
}

FAULT_TRAMPOLINE(MemManage_Handler, memmanage_c)
void memmanage_c(exc_frame_t *frame)
{
    mm_count++;
    mm_mmfsr = SCB->CFSR & 0xFFUL;
    mm_mmfar = SCB->MMFAR;
    mm_pc = frame->pc;
    SCB->CFSR = SCB->CFSR;
    /* Carry on after the faulting access: past the store, or back to the caller of the jump. */
    if (mm_mmfsr & 0x01UL) {
        frame->pc = frame->lr & ~1UL;
    } else {
        frame->pc += 2U;
    }
}

static void mbed_style_mpu_init(void)
{
    __DSB();
    uint32_t regions = (MPU_TYPE >> 8) & 0xFFUL;
    printf("MPU_TYPE.DREGION %lu\n", (unsigned long)regions);
    result("at least 4 regions (Mbed asserts it)", regions >= 4U);
    MPU_CTRL = 0;
    for (uint32_t i = 0; i < regions; i++) {
        MPU_RNR = i;
        MPU_RASR = 0;
    }
    MPU_RBAR = 0x00000000UL | 0x10UL | 0U;
    MPU_RASR = RASR(0, AP_RO, 0, 1, 0, 0xF0, 29);
    MPU_RBAR = 0x00000000UL | 0x10UL | 3U;
    MPU_RASR = RASR(1, AP_FULL, 0, 1, 0, 0x0F, 29);
    MPU_RBAR = 0x00000000UL | 0x10UL | 1U;
    MPU_RASR = RASR(1, AP_FULL, 1, 1, 1, 0xF5, 32);
    MPU_RBAR = 0x80000000UL | 0x10UL | 2U;
    MPU_RASR = RASR(1, AP_FULL, 0, 1, 0, 0x00, 29);
    MPU_CTRL = 4UL | 2UL | 1UL; /* PRIVDEFENA | HFNMIENA | ENABLE */
    __DSB();
    __ISB();
    for (uint32_t i = 0; i < 4U; i++) {
        MPU_RNR = i;
        printf("region %lu: RBAR 0x%08lx RASR 0x%08lx\n", (unsigned long)i, (unsigned long)MPU_RBAR,
               (unsigned long)MPU_RASR);
    }
    printf("MPU_CTRL 0x%08lx\n", (unsigned long)MPU_CTRL);
}

int main(void)
{
    printf("mpu_mbed: start\n");
    SCB->SHCSR |= 1UL << 16; /* MEMFAULTENA */
    mbed_style_mpu_init();

    uint32_t sum = 0;
    for (uint32_t i = 0; i < 64U; i++) {
        ram_words[i] = i * 3U;
    }
    for (uint32_t i = 0; i < 64U; i++) {
        sum += ram_words[i];
    }
    result("RAM is read-write under the MPU", sum == 3U * 63U * 64U / 2U);

    result("SysTick started", systick_start(1000U, 1) == SYSTICK_OK);
    uint32_t start = ticks;
    while (ticks - start < 5U) {
        __WFI();
    }
    result("SysTick interrupts under the MPU", ticks - start >= 5U);

    store_fn((volatile uint32_t *)0x00000100UL, 0);
    printf("store to ROM: MemManage %lu, MMFSR 0x%02lx\n", (unsigned long)mm_count, (unsigned long)mm_mmfsr);
    result("  MMFAR is the ROM address", mm_mmfar == 0x00000100UL);
    result("  stacked PC is the store", (mm_pc & ~1UL) == fn_addr((void (*)(void))store_fn));

    mm_count = 0;
    ((void (*)(void))((uintptr_t)ram_code | 1U))();
    printf("jump into SRAM: MemManage %lu, MMFSR 0x%02lx\n", (unsigned long)mm_count, (unsigned long)mm_mmfsr);
    result("  stacked PC is the SRAM address", (mm_pc & ~1UL) == (uint32_t)(uintptr_t)ram_code);

    systick_stop();
    MPU_CTRL = 0;
    __DSB();
    __ISB();
    printf("mpu_mbed: done\n");
    return check_failures;
}
