/* Polled CMSDK UART0 console; newlib's _write goes here (printf -> UART0). */
#ifndef UART_H
#define UART_H

#include <stddef.h>

#include "mps2_an385.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    UART_OK = 0,
    UART_ERR_BAUDDIV = -1,
} uart_err_t;

typedef struct {
    CMSDK_UART_TypeDef *regs;
    uint32_t bauddiv; /* >= UART_BAUDDIV_MIN */
    uint32_t ctrl;    /* UART_CTRL_* enables */
} uart_config_t;

extern const uart_config_t uart0_config;

uart_err_t uart_init(const uart_config_t *cfg);
/* UART0 registers for the console; _write calls it, safe to call again. */
void console_init(void);
/* Make stdout unbuffered; Reset_Handler calls it before main. */
void console_unbuffer(void);
void uart_putc(CMSDK_UART_TypeDef *u, char c);
void uart_write(CMSDK_UART_TypeDef *u, const char *buf, size_t len);
void uart_puts(CMSDK_UART_TypeDef *u, const char *s);

#ifdef __cplusplus
}
#endif

#endif
