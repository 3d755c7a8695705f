/*
 * uart_echo: interrupt-driven UART0 receive.
 *
 * UART0 RX interrupt (NVIC IRQ 0) puts each byte in a ring buffer; thread
 * mode sleeps in WFI, then echoes each byte in upper case. 'q' ends the
 * program. The reference input is firmware/golden/uart_echo.input.
 */
#include <ctype.h>
#include <stdio.h>

#include "bsp.h"

#define RING_SIZE 64U /* power of two */
#define QUIT_CHAR 'q'

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

static int ring_get(void)
{
    int c = -1;
    __disable_irq();
    while (ring_head == ring_tail) {
        __WFI(); /* wakes on the pending IRQ even with PRIMASK set */
        __enable_irq();
        __disable_irq();
    }
    c = ring[ring_tail % RING_SIZE];
    ring_tail++;
    __enable_irq();
    return c;
}

int main(void)
{
    printf("uart_echo: type text, 'q' quits\n");
    printf("echo> ");
    UART0->INTSTATUS = UART_INT_RX;
    NVIC_ClearPendingIRQ(UART0RX_IRQn);
    NVIC_EnableIRQ(UART0RX_IRQn);
    UART0->CTRL |= UART_CTRL_RX_EN | UART_CTRL_RX_INTEN;
    uint32_t count = 0;
    for (;;) {
        int c = ring_get();
        if (c == QUIT_CHAR) {
            break;
        }
        count++;
        putchar(toupper(c));
        if (c == '\n') {
            printf("echo> ");
        }
    }
    UART0->CTRL &= ~UART_CTRL_RX_INTEN;
    NVIC_DisableIRQ(UART0RX_IRQn);
    printf("\nuart_echo: %lu bytes echoed, overflows %lu\n", (unsigned long)count, (unsigned long)ring_overflows);
    printf("uart_echo: done\n");
    return 0;
}
