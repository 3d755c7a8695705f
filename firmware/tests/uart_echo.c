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
#include "uart_rx_ring.h"

#define QUIT_CHAR 'q'

int main(void)
{
    printf("uart_echo: type text, 'q' quits\n");
    printf("echo> ");
    uart_rx_start();
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
