/*
 * mpu_regions: the Cortex-M3 MPU (PMSAv7, 8 regions) and MemManage.
 *
 * Layout as an RTOS sets it up: region 0 the code memory (read-only,
 * executable), region 1 the data RAM (full access, XN), the background
 * region for privileged device accesses (PRIVDEFENA). Then, each on its own
 * 4 KiB page (1 KiB for the code page):
 * - a store to a read-only region: MemManage DACCVIOL|MMARVALID, MMFAR =
 *   the address, stacked PC = the store;
 * - a call into an XN region: MemManage IACCVIOL (MMFAR not valid), stacked
 *   PC = the function;
 * - an unprivileged load from a privileged-only region (AP=0b001):
 *   MemManage DACCVIOL;
 * - the first case with MemManage disabled: HardFault, HFSR.FORCED.
 * Each handler records MMFSR/MMFAR/HFSR and the stacked PC, then opens the
 * region (or restores privilege) and returns, so the access runs again and
 * succeeds.
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
#define MPU_RBAR_A2 (*(volatile uint32_t *)0xE000EDACUL)
#define MPU_RASR_A2 (*(volatile uint32_t *)0xE000EDB0UL)

#define CTRL_ENABLE     1UL
#define CTRL_PRIVDEFENA 4UL
#define RBAR_VALID      (1UL << 4)
#define RASR_XN         (1UL << 28)
#define AP_PRIV_RW      (1UL << 24)
#define AP_FULL         (3UL << 24)
#define AP_RO           (6UL << 24)
#define RASR_SIZE(log2) (((uint32_t)(log2) - 1UL) << 1)
#define RASR_ENABLE     1UL
#define SHCSR_MEMFAULTENA (1UL << 16)
#define MMFSR_IACCVIOL  0x01UL
#define MMFSR_DACCVIOL  0x02UL
#define MMFSR_MMARVALID 0x80UL

#define R_CODE 0U
#define R_RAM  1U
#define R_RO   2U
#define R_XN   3U
#define R_PRIV 4U

/* One instruction each, so a stacked PC can be compared with the function's address. */
void store_fn(volatile uint32_t *addr, uint32_t value);
uint32_t load_fn(volatile uint32_t *addr);
uint32_t xn_fn(void);
__asm(".text\n.thumb_func\n.global store_fn\n.type store_fn, %function\n"
      "store_fn: str r1, [r0]\n bx lr\n"
      ".thumb_func\n.global load_fn\n.type load_fn, %function\n"
      "load_fn: ldr r0, [r0]\n bx lr\n"
      /* xn_fn alone on a 1 KiB page of code */
      ".section .text.xn_page,\"ax\",%progbits\n.balign 1024\n"
      ".thumb_func\n.global xn_fn\n.type xn_fn, %function\n"
      "xn_fn: movs r0, #42\n bx lr\n.balign 1024\n.text\n");

static volatile uint32_t ro_page[1024] __attribute__((aligned(4096)));
static volatile uint32_t priv_page[1024] __attribute__((aligned(4096)));

typedef struct {
    uint32_t mmfsr, mmfar, hfsr, pc, count;
} fault_seen_t;

static volatile fault_seen_t seen;
static volatile uint32_t open_region; /* the region a handler disables to let the access pass */

static void region(uint32_t n, uint32_t base, uint32_t rasr)
{
    MPU_RBAR = base | RBAR_VALID | n;
    MPU_RASR = rasr;
}

static void record(const exc_frame_t *frame)
{
    seen.mmfsr = SCB->CFSR & 0xFFUL;
    seen.mmfar = SCB->MMFAR;
    seen.hfsr = SCB->HFSR;
    seen.pc = frame->pc;
    seen.count++;
    SCB->CFSR = SCB->CFSR;
    SCB->HFSR = SCB->HFSR;
    MPU_RNR = open_region;
    MPU_RASR = 0;
    __DSB();
    __ISB();
}

FAULT_TRAMPOLINE(MemManage_Handler, memmanage_c)
void memmanage_c(exc_frame_t *frame)
{
    record(frame);
    __set_CONTROL(__get_CONTROL() & ~1UL); /* back to privileged thread mode */
}

FAULT_TRAMPOLINE(HardFault_Handler, hardfault_c)
void hardfault_c(exc_frame_t *frame)
{
    record(frame);
}

static void expect(const char *what, uint32_t mmfsr, uint32_t pc, uint32_t mmfar)
{
    printf("%s: MMFSR=0x%02lx HFSR=0x%08lx faults=%lu\n", what, (unsigned long)seen.mmfsr,
           (unsigned long)seen.hfsr, (unsigned long)seen.count);
    result("  MMFSR", seen.mmfsr == mmfsr);
    result("  stacked PC is the faulting instruction", (seen.pc & ~1UL) == (pc & ~1UL));
    if (mmfsr & MMFSR_MMARVALID) {
        result("  MMFAR is the address", seen.mmfar == mmfar);
    }
    seen.count = 0;
}

static void setup(void)
{
    uint32_t type = MPU_TYPE;
    printf("MPU_TYPE 0x%08lx (DREGION %lu)\n", (unsigned long)type, (unsigned long)((type >> 8) & 0xFFUL));
    MPU_CTRL = 0;
    /* 16 MiB each: the code and data memories of both the AN385 and the AN511 */
    region(R_CODE, 0x00000000UL, AP_RO | RASR_SIZE(24) | RASR_ENABLE);
    region(R_RAM, 0x20000000UL, RASR_XN | AP_FULL | RASR_SIZE(24) | RASR_ENABLE);
    MPU_RNR = R_CODE;
    printf("region 0: RBAR 0x%08lx RASR 0x%08lx\n", (unsigned long)MPU_RBAR, (unsigned long)MPU_RASR);
    MPU_RNR = R_RO;
    MPU_RBAR_A2 = (uint32_t)(uintptr_t)ro_page; /* alias A2, region from RNR */
    MPU_RASR_A2 = RASR_XN | AP_RO | RASR_SIZE(12) | RASR_ENABLE;
    result("alias A2 wrote region 2", MPU_RBAR == ((uint32_t)(uintptr_t)ro_page | R_RO));
    SCB->SHCSR |= SHCSR_MEMFAULTENA;
    MPU_CTRL = CTRL_ENABLE | CTRL_PRIVDEFENA;
    __DSB();
    __ISB();
    printf("MPU_CTRL 0x%08lx\n", (unsigned long)MPU_CTRL);
}

int main(void)
{
    printf("mpu_regions: start\n");
    setup();

    result("read-only page is readable", load_fn(&ro_page[4]) == 0);

    open_region = R_RO;
    store_fn(&ro_page[4], 0x5A);
    expect("store to read-only", MMFSR_DACCVIOL | MMFSR_MMARVALID, (uint32_t)(uintptr_t)store_fn,
           (uint32_t)(uintptr_t)&ro_page[4]);
    result("  the store ran again after the handler", ro_page[4] == 0x5A);

    region(R_XN, (uint32_t)(uintptr_t)xn_fn & ~1UL, RASR_XN | AP_RO | RASR_SIZE(10) | RASR_ENABLE);
    __DSB();
    __ISB();
    open_region = R_XN;
    uint32_t v = xn_fn();
    expect("call into XN", MMFSR_IACCVIOL, (uint32_t)(uintptr_t)xn_fn, 0);
    result("  the function ran after the handler", v == 42);

    region(R_PRIV, (uint32_t)(uintptr_t)priv_page, RASR_XN | AP_PRIV_RW | RASR_SIZE(12) | RASR_ENABLE);
    priv_page[1] = 0x1234;
    open_region = R_PRIV;
    __set_CONTROL(__get_CONTROL() | 1UL); /* unprivileged thread mode */
    __ISB();
    v = load_fn(&priv_page[1]);
    uint32_t control = __get_CONTROL();
    expect("unprivileged load", MMFSR_DACCVIOL | MMFSR_MMARVALID, (uint32_t)(uintptr_t)load_fn,
           (uint32_t)(uintptr_t)&priv_page[1]);
    result("  privileged again, the load ran", (control & 1UL) == 0 && v == 0x1234);

    region(R_RO, (uint32_t)(uintptr_t)ro_page, RASR_XN | AP_RO | RASR_SIZE(12) | RASR_ENABLE);
    SCB->SHCSR &= ~SHCSR_MEMFAULTENA;
    __DSB();
    __ISB();
    open_region = R_RO;
    store_fn(&ro_page[5], 0xA5);
    expect("store with MemManage disabled", MMFSR_DACCVIOL | MMFSR_MMARVALID, (uint32_t)(uintptr_t)store_fn,
           (uint32_t)(uintptr_t)&ro_page[5]);
    result("  HardFault FORCED", seen.hfsr == (1UL << 30));

    MPU_CTRL = 0;
    __DSB();
    __ISB();
    printf("mpu_regions: done\n");
    return check_failures;
}
