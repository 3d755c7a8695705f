/* Interrupt-driven UART0 receive for the console test programs (header only;
 * not a program; include it once): the RX interrupt moves each byte into a
 * ring (a full ring drops it and counts an overflow); ring_get() sleeps in WFI
 * until a byte is there. */
#ifndef UART_RX_RING_H
#define UART_RX_RING_H

#include <stdint.h>

#include "bsp.h"

#define RING_SIZE 64U /* power of two */

static volatile uint8_t ring[RING_SIZE];
static volatile uint32_t ring_head, ring_tail;
static volatile uint32_t ring_overflows;

void UART0RX_Handler(void)
{
    UART0->INTSTATUS = UART_INT_RX; /* INTCLEAR */
    while (UART0->STATE & UART_STATE_RXFULL) {
        uint8_t b = (uint8_t)UART0->DATA;
        if (ring_head - ring_tail < RING_SIZE) {
            ring[ring_head % RING_SIZE] = b;
            ring_head++;
        } else {
            ring_overflows++;
        }
    }
}

/* Receiving on, with its interrupt (NVIC IRQ 0); nothing stale pending. */
static void uart_rx_start(void)
{
    UART0->INTSTATUS = UART_INT_RX;
    NVIC_ClearPendingIRQ(UART0RX_IRQn);
    NVIC_EnableIRQ(UART0RX_IRQn);
    UART0->CTRL |= UART_CTRL_RX_EN | UART_CTRL_RX_INTEN;
}

/* The next byte received, waiting for it. */
static int ring_get(void)
{
    __disable_irq();
    while (ring_head == ring_tail) {
        __WFI(); /* wakes on the pending IRQ even with PRIMASK set */
        __enable_irq();
        __disable_irq();
    }
    int c = ring[ring_tail % RING_SIZE];
    ring_tail++;
    __enable_irq();
    return c;
}

#endif
