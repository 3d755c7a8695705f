/* MPS2 AN511 (Cortex-M3 DesignStart, QEMU mps2-an511, Mbed OS ARM_CM3DS_MPS2):
 * what differs from the AN385 description in mps2_an385.h, which includes
 * this file when built with -DMPS2_AN511 (make BOARD=an511).
 *
 * Memory: block RAM 256 KiB at 0 (code), SSRAM1 8 MiB at 0x00400000, SRAM
 * 128 KiB at 0x20000000 (data), SSRAM2&3 4 MiB at 0x20400000, PSRAM 16 MiB at
 * 0x21000000. 64 IRQs. UART2-4 move to 0x4002C000-0x4002E000 and every UART
 * has one IRQ for TX and RX (0, 2, 45, 46, 56). The LAN9220 interrupts on IRQ 47.
 */
#ifndef MPS2_AN511_H
#define MPS2_AN511_H

#define MPS2_NUM_IRQS 64
#define MPS2_SCC_ID   0x41045110UL

#define CMSDK_UART2_BASE 0x4002C000UL
#define CMSDK_UART3_BASE 0x4002D000UL
#define CMSDK_UART4_BASE 0x4002E000UL
#define CMSDK_TRNG_BASE    0x4000F000UL /* TZ-TRNG (vboard; QEMU: reads zero) */
#define CMSDK_SYSCTRL_BASE 0x4001F000UL /* CMSDK system controller (vboard; QEMU: reads zero) */

/* IRQ numbers of this image (Mbed OS CMSDK_CM3DS.h; the UARTs and Ethernet as QEMU wires them) */
#define AN511_UART0_IRQn     0
#define AN511_UART1_IRQn     2
#define AN511_PORT2_ALL_IRQn 42
#define AN511_PORT3_ALL_IRQn 43
#define AN511_TRNG_IRQn      44
#define AN511_UART2_IRQn     45
#define AN511_UART3_IRQn     46
#define AN511_ETHERNET_IRQn  47
#define AN511_UART4_IRQn     56
#define MPS2_ETH_IRQn        AN511_ETHERNET_IRQn
#define MPS2_ETH_HANDLER     IRQ47_Handler /* the vector of MPS2_ETH_IRQn */
#define MPS2_GPIO0_PIN0_IRQn 16 /* GPIO0 pins 0-15 on IRQs 16-31 */

#endif
