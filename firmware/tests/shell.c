/*
 * shell: a small interactive console like the RTOS shells Renode's UART
 * suites drive (robot_tests/renode_compat). It echoes what is typed, ends a
 * command on CR or LF (echoed as CR LF), and prints the prompt "shell> ".
 *
 *   echo TEXT      prints TEXT
 *   lines N        prints "line 1" .. "line N" (N <= 9)
 *   bytes          prints the raw bytes 00 01 7f 80 fe ff, then CR LF
 *   color          prints "OK" in green (SGR escape sequences around it)
 *   partial        prints "progress: 50%" without ending the line, then
 *                  after 10 ms of board time " done" and the line end
 *   led on|off     FPGAIO user LED 0
 *   gpio N on|off  GPIO0 pin N (0..15) as an output driving high or low
 *   blink N MS     toggles LED 0 N times, one toggle every MS ms
 *   quiet MS       prints nothing for MS ms, then "quiet: done"
 *   panic          prints "PANIC: requested" (the shell goes on)
 *   exit           ends the program with exit code 0
 *
 * Time comes from SysTick at 1 kHz; input from the UART0 RX interrupt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bsp.h"
#include "uart_rx_ring.h"

#define LINE_MAX  80U
#define TICK_HZ   1000U

void SysTick_Handler(void)
{
    systick_isr_tick();
}

static void out(const char *s)
{
    uart_puts(UART0, s);
}

static void set_led(int on)
{
    FPGAIO->LED0 = (FPGAIO->LED0 & ~1U) | (on ? 1U : 0U);
}

static void print_bytes(void)
{
    static const uint8_t raw[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, '\r', '\n'};
    for (size_t i = 0; i < sizeof raw; i++) {
        uart_putc(UART0, (char)raw[i]);
    }
}

static void run(char *line)
{
    char *arg = strchr(line, ' ');
    if (arg != NULL) {
        *arg++ = '\0';
    } else {
        arg = line + strlen(line);
    }
    char buf[LINE_MAX + 16];
    if (strcmp(line, "echo") == 0) {
        snprintf(buf, sizeof buf, "%s\r\n", arg);
        out(buf);
    } else if (strcmp(line, "lines") == 0) {
        long n = strtol(arg, NULL, 10);
        for (long i = 1; i <= n && i <= 9; i++) {
            snprintf(buf, sizeof buf, "line %ld\r\n", i);
            out(buf);
        }
    } else if (strcmp(line, "bytes") == 0) {
        print_bytes();
    } else if (strcmp(line, "color") == 0) {
        out("\x1b[32mOK\x1b[0m\r\n");
    } else if (strcmp(line, "partial") == 0) {
        out("progress: 50%");
        systick_wait_ticks(10);
        out(" done\r\n");
    } else if (strcmp(line, "led") == 0) {
        set_led(strcmp(arg, "on") == 0);
        out(strcmp(arg, "on") == 0 ? "led: on\r\n" : "led: off\r\n");
    } else if (strcmp(line, "gpio") == 0) {
        char *rest = NULL;
        long pin = strtol(arg, &rest, 10);
        if (pin >= 0 && pin < 16) {
            uint32_t bit = 1UL << pin;
            int on = strstr(rest, "on") != NULL;
            GPIO0->DATAOUT = on ? (GPIO0->DATAOUT | bit) : (GPIO0->DATAOUT & ~bit);
            GPIO0->OUTENSET = bit;
            snprintf(buf, sizeof buf, "gpio: pin %ld %s\r\n", pin, on ? "on" : "off");
            out(buf);
        }
    } else if (strcmp(line, "blink") == 0) {
        char *rest = NULL;
        long n = strtol(arg, &rest, 10);
        long ms = strtol(rest, NULL, 10);
        for (long i = 0; i < n && ms > 0; i++) {
            systick_wait_ticks((uint32_t)ms);
            FPGAIO->LED0 ^= 1U;
        }
        out("blink: done\r\n");
    } else if (strcmp(line, "quiet") == 0) {
        systick_wait_ticks((uint32_t)strtol(arg, NULL, 10));
        out("quiet: done\r\n");
    } else if (strcmp(line, "panic") == 0) {
        out("PANIC: requested\r\n");
    } else if (line[0] != '\0') {
        snprintf(buf, sizeof buf, "%s: command not found\r\n", line);
        out(buf);
    }
}

int main(void)
{
    (void)systick_start(TICK_HZ, 1);
    out("shell: booting\r\n");
    out("shell: ready\r\n");
    uart_rx_start();
    char line[LINE_MAX + 1];
    size_t len = 0;
    out("shell> ");
    for (;;) {
        int c = ring_get();
        if (c == '\r' || c == '\n') {
            out("\r\n");
            line[len] = '\0';
            if (strcmp(line, "exit") == 0) {
                break;
            }
            run(line);
            len = 0;
            out("shell> ");
        } else if (len < LINE_MAX) {
            line[len++] = (char)c;
            uart_putc(UART0, (char)c);
        }
    }
    out("shell: bye\r\n");
    systick_stop();
    return 0;
}
