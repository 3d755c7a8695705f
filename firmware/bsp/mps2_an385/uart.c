#include "uart.h"

#include <stdio.h>
#include <string.h>

const uart_config_t uart0_config = {
    .regs = UART0,
    .bauddiv = UART_BAUDDIV_MIN,
    .ctrl = UART_CTRL_TX_EN | UART_CTRL_RX_EN,
};

static int console_ready;
static int console_unbuffered;

uart_err_t uart_init(const uart_config_t *cfg)
{
    if (cfg->bauddiv < UART_BAUDDIV_MIN) {
        return UART_ERR_BAUDDIV;
    }
    cfg->regs->BAUDDIV = cfg->bauddiv;
    cfg->regs->CTRL = cfg->ctrl;
    return UART_OK;
}

void console_init(void)
{
    if (!console_ready) {
        console_ready = 1;
        (void)uart_init(&uart0_config);
    }
}

void console_unbuffer(void)
{
    if (!console_unbuffered) {
        console_unbuffered = 1;
        /* Unbuffered: every byte reaches UART0 before a fault or an exit.
         * Must not run from inside _write (it would reset a FILE in use). */
        setvbuf(stdout, NULL, _IONBF, 0);
    }
}

void uart_putc(CMSDK_UART_TypeDef *u, char c)
{
    while (u->STATE & UART_STATE_TXFULL) {
    }
    u->DATA = (uint8_t)c;
}

void uart_write(CMSDK_UART_TypeDef *u, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uart_putc(u, buf[i]);
    }
}

void uart_puts(CMSDK_UART_TypeDef *u, const char *s)
{
    uart_write(u, s, strlen(s));
}
