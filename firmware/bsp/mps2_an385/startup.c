/*
 * Startup for MPS2-AN385: vector table (16 system + 32 IRQ entries),
 * Reset_Handler, weak default handlers.
 *
 * Default handlers are a plain `b .` dead loop: the vboard emulator detects
 * a branch-to-self in a fault handler and prints its own fault report, so
 * these must stay a single self-branch (no stack use, no prints).
 */
#include <stdint.h>

#include "bsp.h"

extern uint32_t __etext_data; /* LMA of .data */
extern uint32_t __data_start__, __data_end__;
extern uint32_t __bss_start__, __bss_end__;
extern uint32_t __StackTop;

int main(void);
void Reset_Handler(void);
void __libc_init_array(void);

uint32_t SystemCoreClock = MPS2_SYSCLK_HZ;

__attribute__((weak)) void SystemInit(void)
{
    SystemCoreClock = MPS2_SYSCLK_HZ;
}

/* newlib's __libc_init_array calls _init (normally from crti.o, which
 * -nostartfiles leaves out); constructors come from .init_array. */
void _init(void);
void _init(void) {}

#define DEAD_LOOP_HANDLER(name)                                                \
    __attribute__((weak, naked)) void name(void) { __asm volatile("b ."); }

DEAD_LOOP_HANDLER(NMI_Handler)
DEAD_LOOP_HANDLER(HardFault_Handler)
DEAD_LOOP_HANDLER(MemManage_Handler)
DEAD_LOOP_HANDLER(BusFault_Handler)
DEAD_LOOP_HANDLER(UsageFault_Handler)
DEAD_LOOP_HANDLER(Default_Handler)

#define WEAK_ALIAS(name) void name(void) __attribute__((weak, alias("Default_Handler")))

WEAK_ALIAS(SVC_Handler);
WEAK_ALIAS(DebugMon_Handler);
WEAK_ALIAS(PendSV_Handler);
WEAK_ALIAS(SysTick_Handler);
WEAK_ALIAS(UART0RX_Handler);
WEAK_ALIAS(UART0TX_Handler);
WEAK_ALIAS(UART1RX_Handler);
WEAK_ALIAS(UART1TX_Handler);
WEAK_ALIAS(UART2RX_Handler);
WEAK_ALIAS(UART2TX_Handler);
WEAK_ALIAS(PORT0_ALL_Handler);
WEAK_ALIAS(PORT1_ALL_Handler);
WEAK_ALIAS(TIMER0_Handler);
WEAK_ALIAS(TIMER1_Handler);
WEAK_ALIAS(DUALTIMER_Handler);
WEAK_ALIAS(SPI_Handler);
WEAK_ALIAS(UARTOVF_Handler);
WEAK_ALIAS(ETHERNET_Handler);
WEAK_ALIAS(I2S_Handler);
WEAK_ALIAS(TSC_Handler);
WEAK_ALIAS(PORT2_ALL_Handler);
WEAK_ALIAS(PORT3_ALL_Handler);
WEAK_ALIAS(UART3RX_Handler);
WEAK_ALIAS(UART3TX_Handler);
WEAK_ALIAS(UART4RX_Handler);
WEAK_ALIAS(UART4TX_Handler);
WEAK_ALIAS(ADCSPI_Handler);
WEAK_ALIAS(SHIELDSPI_Handler);
WEAK_ALIAS(PORT0_0_Handler);
WEAK_ALIAS(PORT0_1_Handler);
WEAK_ALIAS(PORT0_2_Handler);
WEAK_ALIAS(PORT0_3_Handler);
WEAK_ALIAS(PORT0_4_Handler);
WEAK_ALIAS(PORT0_5_Handler);
WEAK_ALIAS(PORT0_6_Handler);
WEAK_ALIAS(PORT0_7_Handler);
#if MPS2_NUM_IRQS > 32
/* AN511 (make BOARD=an511): IRQs 32-63 by number (mps2_an511.h names them). */
#define IRQ_ALIASES(X) X(32) X(33) X(34) X(35) X(36) X(37) X(38) X(39) X(40) X(41) X(42) X(43) \
    X(44) X(45) X(46) X(47) X(48) X(49) X(50) X(51) X(52) X(53) X(54) X(55) X(56) X(57) X(58)   \
    X(59) X(60) X(61) X(62) X(63)
#define IRQ_ALIAS(n) WEAK_ALIAS(IRQ##n##_Handler);
#define IRQ_ENTRY(n) IRQ##n##_Handler,
IRQ_ALIASES(IRQ_ALIAS)
#endif

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used)) const vector_t __isr_vector[16 + MPS2_NUM_IRQS] = {
    (vector_t)(uintptr_t)&__StackTop,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    0,
    0,
    0,
    0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
    UART0RX_Handler,   /* 0 */
    UART0TX_Handler,   /* 1 */
    UART1RX_Handler,   /* 2 */
    UART1TX_Handler,   /* 3 */
    UART2RX_Handler,   /* 4 */
    UART2TX_Handler,   /* 5 */
    PORT0_ALL_Handler, /* 6 */
    PORT1_ALL_Handler, /* 7 */
    TIMER0_Handler,    /* 8 */
    TIMER1_Handler,    /* 9 */
    DUALTIMER_Handler, /* 10 */
    SPI_Handler,       /* 11 */
    UARTOVF_Handler,   /* 12 */
    ETHERNET_Handler,  /* 13 */
    I2S_Handler,       /* 14 */
    TSC_Handler,       /* 15 */
    PORT2_ALL_Handler, /* 16 */
    PORT3_ALL_Handler, /* 17 */
    UART3RX_Handler,   /* 18 */
    UART3TX_Handler,   /* 19 */
    UART4RX_Handler,   /* 20 */
    UART4TX_Handler,   /* 21 */
    ADCSPI_Handler,    /* 22 */
    SHIELDSPI_Handler, /* 23 */
    PORT0_0_Handler,   /* 24 */
    PORT0_1_Handler,   /* 25 */
    PORT0_2_Handler,   /* 26 */
    PORT0_3_Handler,   /* 27 */
    PORT0_4_Handler,   /* 28 */
    PORT0_5_Handler,   /* 29 */
    PORT0_6_Handler,   /* 30 */
    PORT0_7_Handler,   /* 31 */
#if MPS2_NUM_IRQS > 32
    IRQ_ALIASES(IRQ_ENTRY)
#endif
};

__attribute__((noreturn)) void Reset_Handler(void)
{
    const uint32_t *src = &__etext_data;
    for (uint32_t *dst = &__data_start__; dst < &__data_end__;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &__bss_start__; dst < &__bss_end__;) {
        *dst++ = 0;
    }
    SystemInit();
    console_init();
    console_unbuffer();
    __libc_init_array();
    int rc = main();
    semihost_exit(rc);
}
