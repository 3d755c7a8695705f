/*
 * MPS2-AN385 (Cortex-M3, 25 MHz) register definitions for vboard firmware.
 *
 * Sources: ARM DDI0403E (ARMv7-M ARM) for the System Control Space,
 * ARM DDI0479 (CMSDK) for the UART, timers and dual timer, ARM AN385 and
 * QEMU hw/misc/mps2-scc.c, hw/misc/mps2-fpgaio.c for the SCC and FPGAIO.
 * QEMU hw/arm/mps2.c for the memory map and IRQ numbers.
 *
 * Programs use the structs and named masks here; no magic numbers.
 */
#ifndef MPS2_AN385_H
#define MPS2_AN385_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define __IO volatile
#define __I  volatile const
#define __O  volatile

#define BIT(n) (1UL << (n))

/* ---------------------------------------------------------------- clocks */
#define MPS2_SYSCLK_HZ 25000000UL /* CPU, SysTick CLKSOURCE=1, APB devices */

/* ------------------------------------------------------------- memory map */
#define MPS2_SSRAM1_BASE   0x00000000UL /* 4 MiB, code */
#define MPS2_SSRAM1_SIZE   0x00400000UL
#define MPS2_BLOCKRAM_BASE 0x01000000UL /* 16 KiB FPGA block RAM */
#define MPS2_BLOCKRAM_SIZE 0x00004000UL
#define MPS2_SSRAM23_BASE  0x20000000UL /* 4 MiB, data */
#define MPS2_SSRAM23_SIZE  0x00400000UL
#define MPS2_PSRAM_BASE    0x21000000UL /* 16 MiB */
#define MPS2_PSRAM_SIZE    0x01000000UL

#define CMSDK_TIMER0_BASE    0x40000000UL
#define CMSDK_TIMER1_BASE    0x40001000UL
#define CMSDK_DUALTIMER_BASE 0x40002000UL
#define CMSDK_UART0_BASE     0x40004000UL
#define CMSDK_UART1_BASE     0x40005000UL
#ifndef MPS2_AN511
#define CMSDK_UART2_BASE     0x40006000UL
#define CMSDK_UART3_BASE     0x40007000UL
#define CMSDK_UART4_BASE     0x40009000UL
#endif
#define CMSDK_WATCHDOG_BASE  0x40008000UL
#define CMSDK_GPIO0_BASE     0x40010000UL
#define CMSDK_GPIO1_BASE     0x40011000UL
#define CMSDK_GPIO2_BASE     0x40012000UL
#define CMSDK_GPIO3_BASE     0x40013000UL
#define MPS2_FPGAIO_BASE     0x40028000UL
#define MPS2_SCC_BASE        0x4002F000UL
#define MPS2_ETH_BASE        0x40200000UL /* LAN9118 */

/* ------------------------------------------------------------ IRQ numbers */
typedef enum {
    UART0RX_IRQn = 0,
    UART0TX_IRQn = 1,
    UART1RX_IRQn = 2,
    UART1TX_IRQn = 3,
    UART2RX_IRQn = 4,
    UART2TX_IRQn = 5,
    PORT0_ALL_IRQn = 6,
    PORT1_ALL_IRQn = 7,
    TIMER0_IRQn = 8,
    TIMER1_IRQn = 9,
    DUALTIMER_IRQn = 10,
    SPI_IRQn = 11,
    UARTOVF_IRQn = 12,
    ETHERNET_IRQn = 13,
    I2S_IRQn = 14,
    TSC_IRQn = 15,
    PORT2_ALL_IRQn = 16,
    PORT3_ALL_IRQn = 17,
    UART3RX_IRQn = 18,
    UART3TX_IRQn = 19,
    UART4RX_IRQn = 20,
    UART4TX_IRQn = 21,
    ADCSPI_IRQn = 22,
    SHIELDSPI_IRQn = 23,
    /* 24..31: GPIO port 0 pins 0-7 on hardware. QEMU ORs the shield SPIs
     * into 24; 25..31 have no device in QEMU and are free for software. */
    PORT0_0_IRQn = 24,
    PORT0_1_IRQn = 25,
    PORT0_2_IRQn = 26,
    PORT0_3_IRQn = 27,
    PORT0_4_IRQn = 28,
    PORT0_5_IRQn = 29,
    PORT0_6_IRQn = 30,
    PORT0_7_IRQn = 31,
} IRQn_Type;

#ifdef MPS2_AN511
#include "mps2_an511.h" /* bsp/mps2_an511/: what the AN511 image changes */
#else
#define MPS2_NUM_IRQS 32
#define MPS2_SCC_ID   0x41043850UL
#define MPS2_ETH_IRQn ETHERNET_IRQn
#define MPS2_ETH_HANDLER ETHERNET_Handler /* the vector of MPS2_ETH_IRQn */
#define MPS2_GPIO0_PIN0_IRQn PORT0_0_IRQn /* pins 0-7 on 24-31 */
#endif

/* Exception numbers (vector index) */
#define EXC_NMI        2
#define EXC_HARDFAULT  3
#define EXC_MEMMANAGE  4
#define EXC_BUSFAULT   5
#define EXC_USAGEFAULT 6
#define EXC_SVCALL     11
#define EXC_DEBUGMON   12
#define EXC_PENDSV     14
#define EXC_SYSTICK    15
#define EXC_IRQ0       16

/* --------------------------------------------------------- CMSDK APB UART */
typedef struct {
    __IO uint32_t DATA;      /* 0x00 */
    __IO uint32_t STATE;     /* 0x04 */
    __IO uint32_t CTRL;      /* 0x08 */
    __IO uint32_t INTSTATUS; /* 0x0C read: INTSTATUS, write: INTCLEAR (W1C) */
    __IO uint32_t BAUDDIV;   /* 0x10 */
} CMSDK_UART_TypeDef;

#define UART_STATE_TXFULL   BIT(0)
#define UART_STATE_RXFULL   BIT(1)
#define UART_STATE_TXOVR    BIT(2)
#define UART_STATE_RXOVR    BIT(3)
#define UART_CTRL_TX_EN     BIT(0)
#define UART_CTRL_RX_EN     BIT(1)
#define UART_CTRL_TX_INTEN  BIT(2)
#define UART_CTRL_RX_INTEN  BIT(3)
#define UART_CTRL_TXO_INTEN BIT(4)
#define UART_CTRL_RXO_INTEN BIT(5)
#define UART_CTRL_HSTEST    BIT(6)
#define UART_INT_TX         BIT(0)
#define UART_INT_RX         BIT(1)
#define UART_INT_TXO        BIT(2)
#define UART_INT_RXO        BIT(3)
#define UART_BAUDDIV_MIN    16UL

#define UART0 ((CMSDK_UART_TypeDef *)CMSDK_UART0_BASE)
#define UART1 ((CMSDK_UART_TypeDef *)CMSDK_UART1_BASE)
#define UART2 ((CMSDK_UART_TypeDef *)CMSDK_UART2_BASE)

/* -------------------------------------------------------- CMSDK APB timer */
typedef struct {
    __IO uint32_t CTRL;      /* 0x00 */
    __IO uint32_t VALUE;     /* 0x04 */
    __IO uint32_t RELOAD;    /* 0x08 */
    __IO uint32_t INTSTATUS; /* 0x0C read: INTSTATUS, write: INTCLEAR (W1C) */
} CMSDK_TIMER_TypeDef;

#define TIMER_CTRL_EN        BIT(0)
#define TIMER_CTRL_SELEXTEN  BIT(1)
#define TIMER_CTRL_SELEXTCLK BIT(2)
#define TIMER_CTRL_IRQEN     BIT(3)
#define TIMER_INT            BIT(0)

#define TIMER0 ((CMSDK_TIMER_TypeDef *)CMSDK_TIMER0_BASE)
#define TIMER1 ((CMSDK_TIMER_TypeDef *)CMSDK_TIMER1_BASE)

/* --------------------------------------------------------- CMSDK dual timer */
typedef struct {
    __IO uint32_t LOAD;    /* +0x00 */
    __I  uint32_t VALUE;   /* +0x04 */
    __IO uint32_t CONTROL; /* +0x08 */
    __O  uint32_t INTCLR;  /* +0x0C */
    __I  uint32_t RIS;     /* +0x10 */
    __I  uint32_t MIS;     /* +0x14 */
    __IO uint32_t BGLOAD;  /* +0x18 */
    uint32_t RESERVED;     /* +0x1C */
} CMSDK_DUALTIMER_SINGLE_TypeDef;

typedef struct {
    CMSDK_DUALTIMER_SINGLE_TypeDef TIMER[2]; /* 0x00, 0x20 */
} CMSDK_DUALTIMER_TypeDef;

#define DUALTIMER_CTRL_ONESHOT      BIT(0)
#define DUALTIMER_CTRL_SIZE32       BIT(1)
#define DUALTIMER_CTRL_PRESCALE_Pos 2
#define DUALTIMER_CTRL_PRESCALE_Msk (3UL << DUALTIMER_CTRL_PRESCALE_Pos)
#define DUALTIMER_CTRL_PRESCALE_1   (0UL << DUALTIMER_CTRL_PRESCALE_Pos)
#define DUALTIMER_CTRL_PRESCALE_16  (1UL << DUALTIMER_CTRL_PRESCALE_Pos)
#define DUALTIMER_CTRL_PRESCALE_256 (2UL << DUALTIMER_CTRL_PRESCALE_Pos)
#define DUALTIMER_CTRL_INTEN        BIT(5)
#define DUALTIMER_CTRL_PERIODIC     BIT(6)
#define DUALTIMER_CTRL_ENABLE       BIT(7)
#define DUALTIMER_INT               BIT(0)

#define DUALTIMER ((CMSDK_DUALTIMER_TypeDef *)CMSDK_DUALTIMER_BASE)

/* ------------------------------------------------------------------- SCC */
typedef struct {
    __IO uint32_t CFG0;         /* 0x000 remap */
    __IO uint32_t CFG1;         /* 0x004 LEDs */
    __IO uint32_t CFG2;         /* 0x008 */
    __I  uint32_t CFG3;         /* 0x00C switches */
    __I  uint32_t CFG4;         /* 0x010 board revision */
    uint32_t RESERVED0[35];
    __IO uint32_t CFGDATA_RTN;  /* 0x0A0 */
    __IO uint32_t CFGDATA_OUT;  /* 0x0A4 */
    __IO uint32_t CFGCTRL;      /* 0x0A8 */
    __I  uint32_t CFGSTAT;      /* 0x0AC */
    uint32_t RESERVED1[20];
    __IO uint32_t DLL;          /* 0x100 */
    uint32_t RESERVED2[957];
    __I  uint32_t AID;          /* 0xFF8 */
    __I  uint32_t ID;           /* 0xFFC */
} MPS2_SCC_TypeDef;

#define SCC_ID_AN385 0x41043850UL

#define SCC ((MPS2_SCC_TypeDef *)MPS2_SCC_BASE)

/* ---------------------------------------------------------------- FPGAIO */
typedef struct {
    __IO uint32_t LED0;     /* 0x00 */
    uint32_t RESERVED0;
    __I  uint32_t BUTTON;   /* 0x08 */
    uint32_t RESERVED1;
    __IO uint32_t CLK1HZ;   /* 0x10 */
    __IO uint32_t CLK100HZ; /* 0x14 */
    __IO uint32_t COUNTER;  /* 0x18 */
    __IO uint32_t PRESCALE; /* 0x1C */
    __IO uint32_t PSCNTR;   /* 0x20 */
    uint32_t RESERVED2[10];
    __IO uint32_t MISC;     /* 0x4C */
} MPS2_FPGAIO_TypeDef;

#define FPGAIO_LED0_Msk 0x3UL /* two user LEDs */

#define FPGAIO ((MPS2_FPGAIO_TypeDef *)MPS2_FPGAIO_BASE)

/* ------------------------------------------------------- CMSDK AHB GPIO */
typedef struct {
    __IO uint32_t DATA;       /* 0x000 read: pins; write: DATAOUT */
    __IO uint32_t DATAOUT;    /* 0x004 */
    uint32_t RESERVED0[2];
    __IO uint32_t OUTENSET;   /* 0x010 */
    __IO uint32_t OUTENCLR;   /* 0x014 */
    __IO uint32_t ALTFUNCSET; /* 0x018 */
    __IO uint32_t ALTFUNCCLR; /* 0x01C */
    __IO uint32_t INTENSET;   /* 0x020 */
    __IO uint32_t INTENCLR;   /* 0x024 */
    __IO uint32_t INTTYPESET; /* 0x028 1 = edge */
    __IO uint32_t INTTYPECLR; /* 0x02C */
    __IO uint32_t INTPOLSET;  /* 0x030 1 = rising / high */
    __IO uint32_t INTPOLCLR;  /* 0x034 */
    __IO uint32_t INTSTATUS;  /* 0x038 read: INTSTATUS, write: INTCLEAR */
    uint32_t RESERVED1[241];
    __IO uint32_t MASKLOWBYTE[256];  /* 0x400: index = mask of bits 7:0 */
    __IO uint32_t MASKHIGHBYTE[256]; /* 0x800: index = mask of bits 15:8 */
} CMSDK_GPIO_TypeDef;

#define GPIO0 ((CMSDK_GPIO_TypeDef *)CMSDK_GPIO0_BASE)
#define GPIO1 ((CMSDK_GPIO_TypeDef *)CMSDK_GPIO1_BASE)
#define GPIO2 ((CMSDK_GPIO_TypeDef *)CMSDK_GPIO2_BASE)
#define GPIO3 ((CMSDK_GPIO_TypeDef *)CMSDK_GPIO3_BASE)

/* ---------------------------------------------------- CMSDK APB watchdog */
typedef struct {
    __IO uint32_t LOAD;   /* 0x000 */
    __I  uint32_t VALUE;  /* 0x004 */
    __IO uint32_t CTRL;   /* 0x008 */
    __O  uint32_t INTCLR; /* 0x00C */
    __I  uint32_t RIS;    /* 0x010 */
    __I  uint32_t MIS;    /* 0x014 */
    uint32_t RESERVED0[762];
    __IO uint32_t LOCK;   /* 0xC00 */
    uint32_t RESERVED1[191];
    __IO uint32_t ITCR;   /* 0xF00 */
    __O  uint32_t ITOP;   /* 0xF04 */
} CMSDK_WATCHDOG_TypeDef;

#define WATCHDOG_CTRL_INTEN BIT(0)
#define WATCHDOG_CTRL_RESEN BIT(1)
#define WATCHDOG_UNLOCK_KEY 0x1ACCE551UL

#define WATCHDOG ((CMSDK_WATCHDOG_TypeDef *)CMSDK_WATCHDOG_BASE)

/* ---------------------------------------------- System Control Space (SCS) */
#define SCS_BASE     0xE000E000UL
#define SYSTICK_BASE (SCS_BASE + 0x0010UL)
#define NVIC_BASE    (SCS_BASE + 0x0100UL)
#define SCB_BASE     (SCS_BASE + 0x0D00UL)
#define STIR_ADDR    (SCS_BASE + 0x0F00UL)

typedef struct {
    __I  uint32_t CPUID; /* 0x00 */
    __IO uint32_t ICSR;  /* 0x04 */
    __IO uint32_t VTOR;  /* 0x08 */
    __IO uint32_t AIRCR; /* 0x0C */
    __IO uint32_t SCR;   /* 0x10 */
    __IO uint32_t CCR;   /* 0x14 */
    __IO uint8_t  SHP[12]; /* 0x18 SHPR1..3: priority of exceptions 4..15 */
    __IO uint32_t SHCSR; /* 0x24 */
    __IO uint32_t CFSR;  /* 0x28 */
    __IO uint32_t HFSR;  /* 0x2C */
    __IO uint32_t DFSR;  /* 0x30 */
    __IO uint32_t MMFAR; /* 0x34 */
    __IO uint32_t BFAR;  /* 0x38 */
    __IO uint32_t AFSR;  /* 0x3C */
} SCB_TypeDef;

#define SCB ((SCB_TypeDef *)SCB_BASE)

#define CPUID_CORTEX_M3_R0P1 0x410FC231UL

/* ICSR */
#define SCB_ICSR_VECTACTIVE_Msk 0x1FFUL
#define SCB_ICSR_RETTOBASE      BIT(11)
#define SCB_ICSR_VECTPENDING_Pos 12
#define SCB_ICSR_VECTPENDING_Msk (0x1FFUL << SCB_ICSR_VECTPENDING_Pos)
#define SCB_ICSR_ISRPENDING     BIT(22)
#define SCB_ICSR_PENDSTCLR      BIT(25)
#define SCB_ICSR_PENDSTSET      BIT(26)
#define SCB_ICSR_PENDSVCLR      BIT(27)
#define SCB_ICSR_PENDSVSET      BIT(28)
#define SCB_ICSR_NMIPENDSET     BIT(31)

/* AIRCR */
#define SCB_AIRCR_VECTRESET      BIT(0)
#define SCB_AIRCR_VECTCLRACTIVE  BIT(1)
#define SCB_AIRCR_SYSRESETREQ    BIT(2)
#define SCB_AIRCR_PRIGROUP_Pos   8
#define SCB_AIRCR_PRIGROUP_Msk   (7UL << SCB_AIRCR_PRIGROUP_Pos)
#define SCB_AIRCR_ENDIANNESS     BIT(15)
#define SCB_AIRCR_VECTKEY_Pos    16
#define SCB_AIRCR_VECTKEY_Msk    (0xFFFFUL << SCB_AIRCR_VECTKEY_Pos)
#define SCB_AIRCR_VECTKEY        (0x05FAUL << SCB_AIRCR_VECTKEY_Pos)

/* SCR */
#define SCB_SCR_SLEEPONEXIT BIT(1)
#define SCB_SCR_SLEEPDEEP   BIT(2)
#define SCB_SCR_SEVONPEND   BIT(4)

/* CCR */
#define SCB_CCR_NONBASETHRDENA BIT(0)
#define SCB_CCR_USERSETMPEND   BIT(1)
#define SCB_CCR_UNALIGN_TRP    BIT(3)
#define SCB_CCR_DIV_0_TRP      BIT(4)
#define SCB_CCR_BFHFNMIGN      BIT(8)
#define SCB_CCR_STKALIGN       BIT(9)

/* SHCSR */
#define SCB_SHCSR_MEMFAULTACT    BIT(0)
#define SCB_SHCSR_BUSFAULTACT    BIT(1)
#define SCB_SHCSR_USGFAULTACT    BIT(3)
#define SCB_SHCSR_SVCALLACT      BIT(7)
#define SCB_SHCSR_MONITORACT     BIT(8)
#define SCB_SHCSR_PENDSVACT      BIT(10)
#define SCB_SHCSR_SYSTICKACT     BIT(11)
#define SCB_SHCSR_USGFAULTPENDED BIT(12)
#define SCB_SHCSR_MEMFAULTPENDED BIT(13)
#define SCB_SHCSR_BUSFAULTPENDED BIT(14)
#define SCB_SHCSR_SVCALLPENDED   BIT(15)
#define SCB_SHCSR_MEMFAULTENA    BIT(16)
#define SCB_SHCSR_BUSFAULTENA    BIT(17)
#define SCB_SHCSR_USGFAULTENA    BIT(18)

/* CFSR = MMFSR [7:0] | BFSR [15:8] | UFSR [31:16] */
#define SCB_CFSR_IACCVIOL    BIT(0)
#define SCB_CFSR_DACCVIOL    BIT(1)
#define SCB_CFSR_MUNSTKERR   BIT(3)
#define SCB_CFSR_MSTKERR     BIT(4)
#define SCB_CFSR_MMARVALID   BIT(7)
#define SCB_CFSR_IBUSERR     BIT(8)
#define SCB_CFSR_PRECISERR   BIT(9)
#define SCB_CFSR_IMPRECISERR BIT(10)
#define SCB_CFSR_UNSTKERR    BIT(11)
#define SCB_CFSR_STKERR      BIT(12)
#define SCB_CFSR_BFARVALID   BIT(15)
#define SCB_CFSR_UNDEFINSTR  BIT(16)
#define SCB_CFSR_INVSTATE    BIT(17)
#define SCB_CFSR_INVPC       BIT(18)
#define SCB_CFSR_NOCP        BIT(19)
#define SCB_CFSR_UNALIGNED   BIT(24)
#define SCB_CFSR_DIVBYZERO   BIT(25)

/* HFSR */
#define SCB_HFSR_VECTTBL  BIT(1)
#define SCB_HFSR_FORCED   BIT(30)
#define SCB_HFSR_DEBUGEVT BIT(31)

/* SysTick */
typedef struct {
    __IO uint32_t CTRL;  /* 0x00 SYST_CSR */
    __IO uint32_t LOAD;  /* 0x04 SYST_RVR */
    __IO uint32_t VAL;   /* 0x08 SYST_CVR */
    __I  uint32_t CALIB; /* 0x0C SYST_CALIB */
} SysTick_TypeDef;

#define SysTick ((SysTick_TypeDef *)SYSTICK_BASE)

#define SysTick_CTRL_ENABLE    BIT(0)
#define SysTick_CTRL_TICKINT   BIT(1)
#define SysTick_CTRL_CLKSOURCE BIT(2)
#define SysTick_CTRL_COUNTFLAG BIT(16)
#define SysTick_LOAD_Msk       0x00FFFFFFUL

/* NVIC */
typedef struct {
    __IO uint32_t ISER[8]; /* 0x000 */
    uint32_t RESERVED0[24];
    __IO uint32_t ICER[8]; /* 0x080 */
    uint32_t RESERVED1[24];
    __IO uint32_t ISPR[8]; /* 0x100 */
    uint32_t RESERVED2[24];
    __IO uint32_t ICPR[8]; /* 0x180 */
    uint32_t RESERVED3[24];
    __I  uint32_t IABR[8]; /* 0x200 */
    uint32_t RESERVED4[56];
    __IO uint8_t  IPR[240]; /* 0x300 */
} NVIC_TypeDef;

#define NVIC ((NVIC_TypeDef *)NVIC_BASE)
#define NVIC_STIR (*(__O uint32_t *)STIR_ADDR)

/* Exception return values */
#define EXC_RETURN_HANDLER    0xFFFFFFF1UL
#define EXC_RETURN_THREAD_MSP 0xFFFFFFF9UL
#define EXC_RETURN_THREAD_PSP 0xFFFFFFFDUL

/* CONTROL */
#define CONTROL_nPRIV BIT(0)
#define CONTROL_SPSEL BIT(1)

/* xPSR */
#define XPSR_SPREALIGN BIT(9) /* stacked xPSR: 4 bytes of padding were added */
#define XPSR_T         BIT(24)

/* ------------------------------------------------- core helper intrinsics */
static inline void __enable_irq(void) { __asm volatile("cpsie i" ::: "memory"); }
static inline void __disable_irq(void) { __asm volatile("cpsid i" ::: "memory"); }
static inline void __WFI(void) { __asm volatile("wfi" ::: "memory"); }
static inline void __WFE(void) { __asm volatile("wfe" ::: "memory"); }
static inline void __SEV(void) { __asm volatile("sev" ::: "memory"); }
static inline void __DSB(void) { __asm volatile("dsb 0xF" ::: "memory"); }
static inline void __ISB(void) { __asm volatile("isb 0xF" ::: "memory"); }
static inline void __NOP(void) { __asm volatile("nop"); }

static inline uint32_t __get_PRIMASK(void)
{
    uint32_t r;
    __asm volatile("mrs %0, primask" : "=r"(r));
    return r;
}
static inline void __set_PRIMASK(uint32_t v) { __asm volatile("msr primask, %0" ::"r"(v) : "memory"); }
static inline uint32_t __get_BASEPRI(void)
{
    uint32_t r;
    __asm volatile("mrs %0, basepri" : "=r"(r));
    return r;
}
static inline void __set_BASEPRI(uint32_t v) { __asm volatile("msr basepri, %0" ::"r"(v) : "memory"); }
static inline uint32_t __get_CONTROL(void)
{
    uint32_t r;
    __asm volatile("mrs %0, control" : "=r"(r));
    return r;
}
static inline void __set_CONTROL(uint32_t v) { __asm volatile("msr control, %0" ::"r"(v) : "memory"); }
static inline uint32_t __get_IPSR(void)
{
    uint32_t r;
    __asm volatile("mrs %0, ipsr" : "=r"(r));
    return r;
}
static inline uint32_t __get_PSP(void)
{
    uint32_t r;
    __asm volatile("mrs %0, psp" : "=r"(r));
    return r;
}
static inline void __set_PSP(uint32_t v) { __asm volatile("msr psp, %0" ::"r"(v) : "memory"); }
static inline uint32_t __get_MSP(void)
{
    uint32_t r;
    __asm volatile("mrs %0, msp" : "=r"(r));
    return r;
}

/* ------------------------------------------------------------ NVIC helpers */
static inline void NVIC_EnableIRQ(IRQn_Type n) { NVIC->ISER[(uint32_t)n >> 5] = BIT((uint32_t)n & 31U); }
static inline void NVIC_DisableIRQ(IRQn_Type n)
{
    NVIC->ICER[(uint32_t)n >> 5] = BIT((uint32_t)n & 31U);
    __DSB();
    __ISB();
}
static inline void NVIC_SetPendingIRQ(IRQn_Type n) { NVIC->ISPR[(uint32_t)n >> 5] = BIT((uint32_t)n & 31U); }
static inline void NVIC_ClearPendingIRQ(IRQn_Type n) { NVIC->ICPR[(uint32_t)n >> 5] = BIT((uint32_t)n & 31U); }
static inline uint32_t NVIC_GetPendingIRQ(IRQn_Type n)
{
    return (NVIC->ISPR[(uint32_t)n >> 5] >> ((uint32_t)n & 31U)) & 1U;
}
static inline uint32_t NVIC_GetActive(IRQn_Type n) { return (NVIC->IABR[(uint32_t)n >> 5] >> ((uint32_t)n & 31U)) & 1U; }
/* Priorities are given as the full 8-bit field. The AN385 FPGA implements
 * 3 priority bits (7:5) while QEMU implements 8, so portable programs only
 * use multiples of 0x20. */
static inline void NVIC_SetPriority(IRQn_Type n, uint8_t prio) { NVIC->IPR[(uint32_t)n] = prio; }
static inline void SCB_SetSystemPriority(uint32_t exc_num, uint8_t prio) { SCB->SHP[exc_num - 4U] = prio; }

#ifdef __cplusplus
}
#endif

#endif /* MPS2_AN385_H */
