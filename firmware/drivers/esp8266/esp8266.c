/* ESP8266 NonOS AT 1.7.x driver over UART1; see esp8266.h. */
#include "esp8266.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bsp.h"

#define ESP_UART UART1
#define RING_SIZE 4096u /* power of two */
#define LINE_MAX 300
#define UDPQ_SIZE 3072
#define UDP_HDR 8 /* u16 len, u32 ip, u16 port */

/* ------------------------------------------------------------ transport
 * Two ways in (like Linux NAPI). Idle, no command running: the UART1 RX
 * interrupt fills the ring and calls the rx hook, so URCs reach the
 * application. While a command runs the thread waits for the module anyway:
 * RX_INTEN is off and the thread reads DATA itself, polling STATE about every
 * half character while bytes stream, and sleeping on the RX interrupt after a
 * few characters of silence. The CMSDK UART holds one byte: at 1562500 baud
 * an interrupt per byte would leave 160 cycles for entry, handler, return and
 * the parser (and on an emulator, the exception entry and return per byte cost
 * far more than two register reads). */
static volatile uint8_t ring[RING_SIZE];
static volatile uint32_t r_head, r_tail;
static volatile bool r_stalled;
static volatile uint32_t rx_count, stall_count;
static void (*rx_hook)(void *);
static void *rx_hook_ctx;
static bool uart_ready;
static bool rx_polling;    /* a command runs: RX_INTEN off, the thread reads DATA */
static uint32_t link_baud;
static uint32_t half_char; /* delay_turns() for half a character at link_baud */
#define RX_POLLS 8         /* half characters of silence before sleeping */

static void uart_drain_isr(void)
{
    CMSDK_UART_TypeDef *u = ESP_UART;
    u->INTSTATUS = UART_INT_RX;
    while (u->STATE & UART_STATE_RXFULL) {
        uint32_t h = r_head;
        if (h - r_tail >= RING_SIZE) {
            /* Full: leave the byte in the UART (the module waits), mask the IRQ. */
            r_stalled = true;
            stall_count++;
            NVIC_DisableIRQ(UART1RX_IRQn);
            return;
        }
        ring[h & (RING_SIZE - 1)] = (uint8_t)u->DATA;
        r_head = h + 1;
        rx_count++;
    }
}

static void esp_uart_isr(void)
{
    uart_drain_isr();
    if (rx_hook) {
        rx_hook(rx_hook_ctx);
    }
}

/* Set by uart_setup(): programs that never use the module keep only this stub
 * (the ring buffer and the parser are dropped by --gc-sections). */
static void (*volatile uart1_isr)(void);

void UART1RX_Handler(void);
void UART1RX_Handler(void)
{
    if (uart1_isr) {
        uart1_isr();
    }
}

/* Commands poll (on), idle uses the interrupt (off). */
static void rx_poll_mode(bool on)
{
    rx_polling = on;
    if (!uart_ready) {
        return;
    }
    CMSDK_UART_TypeDef *u = ESP_UART;
    if (on) {
        NVIC_DisableIRQ(UART1RX_IRQn);
        u->CTRL = UART_CTRL_TX_EN | UART_CTRL_RX_EN;
        return;
    }
    u->CTRL = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_INTEN;
    if (!r_stalled) {
        NVIC_EnableIRQ(UART1RX_IRQn);
        /* A byte that landed while polling latched no RX interrupt: let the ISR take it. */
        if (u->STATE & UART_STATE_RXFULL) {
            NVIC_SetPendingIRQ(UART1RX_IRQn);
        }
    }
}

/* The ring is at most half full again: let the UART's byte in. */
static void unstall(void)
{
    __disable_irq();
    r_stalled = false;
    if (!rx_polling) { /* polling reads the UART directly once the ring is empty */
        uart_drain_isr();
        if (!r_stalled) {
            NVIC_EnableIRQ(UART1RX_IRQn);
        }
    }
    __enable_irq();
}

/* The next byte, or -1. Polling, `uart` says whether to look at the UART too
 * (a waiting caller lets sleep_rx() look, half a character later). */
static int rb_get(bool uart)
{
    uint32_t t = r_tail;
    if (t == r_head) {
        if (r_stalled) {
            unstall();
        }
        t = r_tail;
        if (t == r_head) {
            /* Bytes the ISR queued come first; then, polling, the UART itself. */
            if (uart && rx_polling && (ESP_UART->STATE & UART_STATE_RXFULL)) {
                rx_count++;
                return (uint8_t)ESP_UART->DATA;
            }
            return -1;
        }
    }
    uint8_t b = ring[t & (RING_SIZE - 1)];
    r_tail = t + 1;
    if (r_stalled && r_head - r_tail < RING_SIZE / 2) {
        unstall();
    }
    return b;
}

static void uart_tx(const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        while (ESP_UART->STATE & UART_STATE_TXFULL) {
        }
        ESP_UART->DATA = p[i];
    }
}

static uint32_t now(void) { return systick_ticks(); }
static bool expired(uint32_t deadline) { return (int32_t)(now() - deadline) >= 0; }

static void delay_turns(uint32_t n)
{
    while (n--) {
        __asm volatile("");
    }
}

/* Wait for input (rb_get() found none). Polling: look again every half
 * character; after RX_POLLS of silence sleep until the RX interrupt (or the
 * SysTick) and go back to polling. */
static void sleep_rx(void)
{
    bool polling = rx_polling;
    if (polling) {
        CMSDK_UART_TypeDef *u = ESP_UART;
        for (int i = 0; i < RX_POLLS; i++) {
            delay_turns(half_char);
            if (u->STATE & UART_STATE_RXFULL) {
                /* Into the ring (the ISR is off): rb_get() has it without asking again. */
                ring[r_head & (RING_SIZE - 1)] = (uint8_t)u->DATA;
                r_head = r_head + 1;
                rx_count++;
                return;
            }
        }
        rx_poll_mode(false);
    }
    __disable_irq();
    if (r_head == r_tail && !r_stalled) {
        __WFI(); /* UART1 RX or SysTick */
    }
    __enable_irq(); /* the ISR takes what woke us */
    if (polling) {
        rx_poll_mode(true);
    }
}

/* The program's esp8266.serial-baudrate (a strong definition replaces this one). */
__attribute__((weak)) uint32_t esp_serial_baudrate(void) { return MBED_CONF_ESP8266_SERIAL_BAUDRATE; }

static void uart_set_baud(uint32_t baud)
{
    uint32_t div = SystemCoreClock / baud;
    ESP_UART->BAUDDIV = div;
    link_baud = baud;
    half_char = 5u * div / 3u; /* delay_turns() takes ~3 instructions a turn */
}

static void uart_setup(void)
{
    if (uart_ready) {
        return;
    }
    if ((SysTick->CTRL & (SysTick_CTRL_ENABLE | SysTick_CTRL_TICKINT)) !=
        (SysTick_CTRL_ENABLE | SysTick_CTRL_TICKINT)) {
        (void)systick_start(1000, 1);
    }
    uart_set_baud(ESP_DEFAULT_BAUD);
    uart1_isr = esp_uart_isr;
    NVIC_ClearPendingIRQ(UART1RX_IRQn);
    uart_ready = true;
    rx_poll_mode(rx_polling);
}

/* ------------------------------------------------------------ state */
typedef struct {
    bool open;     /* the module has the link */
    bool tcp;
    uint8_t lost;  /* 0, LOST_PEER, LOST_WIFI */
    uint32_t avail; /* passive TCP bytes announced by +IPD */
    uint16_t q_len; /* UDP queue bytes */
    uint8_t q[UDPQ_SIZE];
} link_t;
enum { LOST_PEER = 1, LOST_WIFI = 2 };

static link_t links[ESP_LINKS];
static esp_wifi_state_t wifi_state;
static bool inited, ready_seen, busy_seen;
static int at_ver, sdk_ver;
static esp_event_hook_t ev_hook;
static void *ev_ctx;
static bool in_cmd;
static uint32_t udp_dropped;

void esp_set_rx_hook(void (*hook)(void *), void *ctx)
{
    rx_hook_ctx = ctx;
    rx_hook = hook;
}

void esp_set_event_hook(esp_event_hook_t hook, void *ctx)
{
    ev_ctx = ctx;
    ev_hook = hook;
}

static void emit(int ev, int link)
{
    if (ev_hook) {
        ev_hook(ev, link, ev_ctx);
    }
}

static void set_wifi(esp_wifi_state_t s)
{
    if (wifi_state != s) {
        wifi_state = s;
        emit(ESP_EV_WIFI, -1);
    }
}

static void lose_all_links(uint8_t why)
{
    for (int i = 0; i < ESP_LINKS; i++) {
        if (links[i].open) {
            links[i].open = false;
            links[i].lost = why;
            emit(ESP_EV_LINK, i);
        }
    }
}

/* ------------------------------------------------------------ parser */
static char lb[LINE_MAX + 1];
static int ll;
static bool lb_overflow;
/* binary payloads */
enum { BIN_NONE, BIN_UDP, BIN_RECV };
static int bin_mode, bin_link;
static uint32_t bin_left;
static uint8_t *bin_dst; /* UDP: record data in the link queue, or NULL (dropped) */
static uint8_t *rd_buf;  /* CIPRECVDATA destination */
static size_t rd_cap, rd_got;
static int rd_total; /* n announced by +CIPRECVDATA,n: (-1: none) */

static bool starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* "+IPD,<id>,<len>,<ip>,<port>" (before ':') -> a UDP datagram follows. */
static void begin_ipd_data(const char *l)
{
    int id = -1;
    unsigned long len = 0;
    const char *p = l + 5;
    id = (int)strtol(p, (char **)&p, 10);
    if (*p == ',') {
        len = strtoul(p + 1, (char **)&p, 10);
    }
    uint32_t ip = 0;
    uint16_t port = 0;
    if (*p == ',') {
        unsigned a = 0, b = 0, c = 0, d = 0, pt = 0;
        if (sscanf(p + 1, "%u.%u.%u.%u,%u", &a, &b, &c, &d, &pt) == 5) {
            ip = (uint32_t)(a & 255) | (uint32_t)(b & 255) << 8 | (uint32_t)(c & 255) << 16 |
                 (uint32_t)(d & 255) << 24;
            port = (uint16_t)pt;
        }
    }
    bin_mode = BIN_UDP;
    bin_left = len;
    bin_link = id;
    bin_dst = NULL;
    if (id >= 0 && id < ESP_LINKS && len <= ESP_MAX_SEND) {
        link_t *lk = &links[id];
        if (lk->q_len + UDP_HDR + len <= UDPQ_SIZE) {
            uint8_t *h = lk->q + lk->q_len;
            h[0] = (uint8_t)len;
            h[1] = (uint8_t)(len >> 8);
            memcpy(h + 2, &ip, 4);
            h[6] = (uint8_t)port;
            h[7] = (uint8_t)(port >> 8);
            bin_dst = h + UDP_HDR;
        } else {
            udp_dropped++;
        }
    }
    if (len == 0) {
        bin_mode = BIN_NONE;
    }
}

static void end_ipd_data(void)
{
    if (bin_dst && bin_link >= 0 && bin_link < ESP_LINKS) {
        link_t *lk = &links[bin_link];
        uint16_t len = (uint16_t)(bin_dst[-UDP_HDR] | bin_dst[-UDP_HDR + 1] << 8);
        lk->q_len = (uint16_t)(lk->q_len + UDP_HDR + len);
        emit(ESP_EV_LINK, bin_link);
    }
    bin_dst = NULL;
}

/* A complete text line: URCs are handled here (return true); others go to the command. */
static bool handle_urc(const char *l)
{
    if (strcmp(l, "WIFI CONNECTED") == 0) {
        if (wifi_state == ESP_WIFI_DOWN) {
            set_wifi(ESP_WIFI_CONNECTING);
        }
        return true;
    }
    if (strcmp(l, "WIFI GOT IP") == 0) {
        set_wifi(ESP_WIFI_UP);
        return true;
    }
    if (strcmp(l, "WIFI DISCONNECT") == 0) {
        lose_all_links(LOST_WIFI);
        set_wifi(ESP_WIFI_DOWN);
        return true;
    }
    if (l[0] >= '0' && l[0] <= '4' && l[1] == ',') {
        int id = l[0] - '0';
        if (strcmp(l + 2, "CLOSED") == 0) {
            if (links[id].open) {
                links[id].open = false;
                links[id].lost = LOST_PEER;
                emit(ESP_EV_LINK, id);
            }
            return true;
        }
        if (strcmp(l + 2, "CONNECT") == 0) {
            return true;
        }
    }
    if (starts(l, "+IPD,")) { /* passive: +IPD,<id>,<len> */
        char *p;
        long id = strtol(l + 5, &p, 10);
        if (*p == ',' && id >= 0 && id < ESP_LINKS) {
            links[id].avail += (uint32_t)strtoul(p + 1, NULL, 10);
            emit(ESP_EV_LINK, (int)id);
        }
        return true;
    }
    if (starts(l, "busy ")) {
        busy_seen = true;
        return true;
    }
    if (strcmp(l, "ready") == 0) {
        /* A reboot: the module is back at its power-on rate. */
        uart_set_baud(ESP_DEFAULT_BAUD);
        ready_seen = true;
        inited = false;
        lose_all_links(LOST_WIFI);
        set_wifi(ESP_WIFI_DOWN);
        return true;
    }
    return false;
}

/* Feed one byte; returns a line for the waiting command, or NULL. */
static const char *feed(uint8_t b)
{
    if (bin_mode == BIN_UDP) {
        if (bin_dst) {
            uint16_t len = (uint16_t)(bin_dst[-UDP_HDR] | bin_dst[-UDP_HDR + 1] << 8);
            bin_dst[len - bin_left] = b;
        }
        if (--bin_left == 0) {
            bin_mode = BIN_NONE;
            end_ipd_data();
        }
        return NULL;
    }
    if (bin_mode == BIN_RECV) {
        if (rd_buf && rd_got < rd_cap) {
            rd_buf[rd_got] = b;
        }
        rd_got++;
        if (--bin_left == 0) {
            bin_mode = BIN_NONE;
        }
        return NULL;
    }
    if (b == '\r' || b == '\n') {
        if (ll == 0 && !lb_overflow) {
            return NULL;
        }
        lb[ll] = '\0';
        ll = 0;
        lb_overflow = false;
        /* trim leading spaces (the "> " prompt leaves one) */
        const char *l = lb;
        while (*l == ' ') {
            l++;
        }
        if (!*l || handle_urc(l)) {
            return NULL;
        }
        return l;
    }
    if (ll == 0 && b == '>') {
        lb[0] = '>';
        lb[1] = '\0';
        return lb;
    }
    if (b == ':' && ll > 0) {
        lb[ll] = '\0';
        if (starts(lb, "+IPD,")) {
            ll = 0;
            begin_ipd_data(lb);
            return NULL;
        }
        if (starts(lb, "+CIPRECVDATA,")) {
            ll = 0;
            rd_total = atoi(lb + 13);
            bin_left = (uint32_t)(rd_total > 0 ? rd_total : 0);
            rd_got = 0;
            bin_mode = bin_left ? BIN_RECV : BIN_NONE;
            return NULL;
        }
    }
    if (ll < LINE_MAX) {
        lb[ll++] = (char)b;
    } else {
        lb_overflow = true;
    }
    return NULL;
}

/* Next line for a command; NULL on timeout (wait=false: only what is buffered). */
static const char *next_line(uint32_t deadline, bool wait)
{
    for (;;) {
        int b = rb_get(!wait);
        if (b < 0) {
            if (!wait || expired(deadline)) {
                return NULL;
            }
            sleep_rx();
            continue;
        }
        const char *l = feed((uint8_t)b);
        if (l) {
            return l;
        }
    }
}

/* Wait for the `ready` URC. next_line() would not return for it (URCs are
 * consumed), so check the flag after every byte. */
static bool wait_ready(uint32_t deadline)
{
    while (!ready_seen) {
        int b = rb_get(false);
        if (b >= 0) {
            (void)feed((uint8_t)b); /* lines before `ready` (boot text) are dropped */
        } else if (expired(deadline)) {
            break;
        } else {
            sleep_rx();
        }
    }
    return ready_seen;
}

/* Parse (and drop) what arrives for `ms` (a trailing "<id>,CLOSED", an LF). */
static void settle(uint32_t ms)
{
    uint32_t deadline = now() + ms;
    while (!expired(deadline)) {
        next_line(deadline, true);
    }
}

void esp_poll(void)
{
    if (in_cmd || !uart_ready) {
        return;
    }
    in_cmd = true;
    rx_poll_mode(true);
    while (next_line(0, false)) {
        /* lines nobody waits for (late answers) are dropped */
    }
    rx_poll_mode(false);
    in_cmd = false;
}

/* ------------------------------------------------------------ commands */
enum { R_OK = 1, R_ERROR, R_FAIL, R_PROMPT, R_SEND_OK, R_SEND_FAIL, R_BUSY, R_TIMEOUT };
typedef void (*line_fn)(const char *line, void *ctx);

/* Wait for a final line; info lines go to fn. */
static int at_wait(uint32_t deadline, line_fn fn, void *ctx)
{
    for (;;) {
        busy_seen = false;
        const char *l = next_line(deadline, true);
        if (busy_seen) {
            return R_BUSY;
        }
        if (!l) {
            return R_TIMEOUT;
        }
        if (strcmp(l, "OK") == 0) {
            return R_OK;
        }
        if (strcmp(l, "ERROR") == 0) {
            return R_ERROR;
        }
        if (strcmp(l, "FAIL") == 0) {
            return R_FAIL;
        }
        if (strcmp(l, ">") == 0) {
            return R_PROMPT;
        }
        if (strcmp(l, "SEND OK") == 0) {
            return R_SEND_OK;
        }
        if (strcmp(l, "SEND FAIL") == 0) {
            return R_SEND_FAIL;
        }
        if (fn) {
            fn(l, ctx);
        }
    }
}

static void at_send_line(const char *fmt, va_list ap)
{
    char cmd[LINE_MAX];
    int n = vsnprintf(cmd, sizeof cmd - 2, fmt, ap);
    if (n < 0) {
        n = 0;
    }
    if ((size_t)n > sizeof cmd - 3) {
        n = (int)sizeof cmd - 3;
    }
    cmd[n++] = '\r';
    cmd[n++] = '\n';
    uart_tx(cmd, (size_t)n);
}

/* Send a command and wait for its final line; retried while the module is busy. */
static int at_cmd(uint32_t timeout, line_fn fn, void *ctx, const char *fmt, ...)
{
    uint32_t deadline = now() + timeout;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        at_send_line(fmt, ap);
        va_end(ap);
        int r = at_wait(deadline, fn, ctx);
        if (r != R_BUSY || expired(deadline)) {
            return r == R_BUSY ? R_TIMEOUT : r;
        }
        /* busy p...: the previous command still runs; let it finish, then resend */
        uint32_t pause = now() + 20;
        while (!expired(pause) && !expired(deadline)) {
            next_line(pause, true);
        }
    }
}

#define CMD_BEGIN()                                                                                                    \
    do {                                                                                                               \
        if (in_cmd) {                                                                                                  \
            return ESP_ERR_WOULD_BLOCK;                                                                                \
        }                                                                                                              \
        in_cmd = true;                                                                                                 \
        rx_poll_mode(true);                                                                                            \
    } while (0)
#define CMD_END(v)                                                                                                     \
    do {                                                                                                               \
        int cmd_result_ = (v);                                                                                         \
        rx_poll_mode(false);                                                                                           \
        in_cmd = false;                                                                                                \
        return cmd_result_;                                                                                            \
    } while (0)

/* ------------------------------------------------------------ init */
static void on_gmr(const char *l, void *ctx)
{
    (void)ctx;
    int a = 0, b = 0, c = 0, d = 0;
    if (sscanf(l, "AT version:%d.%d.%d.%d", &a, &b, &c, &d) >= 3) {
        at_ver = a * 1000000 + b * 10000 + c * 100;
    } else if (sscanf(l, "SDK version:%d.%d.%d", &a, &b, &c) == 3) {
        sdk_ver = a * 1000000 + b * 10000 + c * 100;
    }
}

static bool at_available(int tries)
{
    for (int i = 0; i < tries; i++) {
        if (at_cmd(500, NULL, NULL, "AT") == R_OK) {
            return true;
        }
    }
    return false;
}

/* AT+UART_CUR to the program's rate, then UART1 follows (Mbed's at_available()). */
static bool switch_baud(void)
{
    uint32_t baud = esp_serial_baudrate();
    if (baud == link_baud) {
        return true;
    }
    if (baud < 110 || SystemCoreClock / baud < UART_BAUDDIV_MIN) {
        return false;
    }
    if (at_cmd(ESP_MISC_TIMEOUT, NULL, NULL, "AT+UART_CUR=%lu,8,1,0,0", (unsigned long)baud) != R_OK) {
        return false;
    }
    /* The module changes rate once its OK has left the wire; the parser has
     * the line at its CR, so let the LF arrive at the old rate first. */
    settle(2);
    uart_set_baud(baud);
    return at_available(5);
}

static int do_init(void)
{
    uart_setup();
    if (!at_available(30)) { /* power-on boot takes ~0.2 s; input is dropped meanwhile */
        return ESP_ERR_DEVICE_ERROR;
    }
    bool booted = false;
    for (int attempt = 0; attempt < 2 && !booted; attempt++) {
        ready_seen = false;
        if (at_cmd(ESP_MISC_TIMEOUT, NULL, NULL, "AT+RST") != R_OK) {
            continue;
        }
        uart_set_baud(ESP_DEFAULT_BAUD); /* it reboots at its power-on rate */
        booted = wait_ready(now() + ESP_BOOT_TIMEOUT);
    }
    if (!booted || !at_available(5) || !switch_baud()) {
        return ESP_ERR_DEVICE_ERROR;
    }
    if (at_cmd(ESP_MISC_TIMEOUT, NULL, NULL, "ATE0") != R_OK) {
        return ESP_ERR_DEVICE_ERROR;
    }
    at_ver = sdk_ver = -1;
    if (at_cmd(ESP_MISC_TIMEOUT, on_gmr, NULL, "AT+GMR") != R_OK || at_ver < 1070000 || sdk_ver < 2000000) {
        return ESP_ERR_DEVICE_ERROR; /* needs AT >= 1.7 (passive TCP), SDK >= 2 */
    }
    if (at_cmd(ESP_MISC_TIMEOUT, NULL, NULL, "AT+CWMODE_DEF=1") != R_OK ||
        at_cmd(ESP_MISC_TIMEOUT, NULL, NULL, "AT+CIPRECVMODE=1") != R_OK ||
        at_cmd(ESP_CONNECT_TIMEOUT, NULL, NULL, "AT+CWMODE_CUR=1") != R_OK ||
        at_cmd(ESP_CONNECT_TIMEOUT, NULL, NULL, "AT+CIPMUX=1") != R_OK ||
        at_cmd(ESP_MISC_TIMEOUT, NULL, NULL, "AT+CIPDINFO=1") != R_OK) {
        return ESP_ERR_DEVICE_ERROR;
    }
    for (int i = 0; i < ESP_LINKS; i++) {
        links[i].open = false;
        links[i].lost = 0;
        links[i].avail = 0;
        links[i].q_len = 0;
    }
    wifi_state = ESP_WIFI_DOWN;
    inited = true;
    return ESP_OK;
}

int esp_init(void)
{
    if (inited) {
        return ESP_OK;
    }
    CMD_BEGIN();
    int r = do_init();
    CMD_END(r);
}

bool esp_initialized(void) { return inited; }
int esp_at_version(void) { return at_ver; }
int esp_sdk_version(void) { return sdk_ver; }
esp_wifi_state_t esp_wifi_state(void) { return wifi_state; }
uint32_t esp_baud(void) { return link_baud; }
uint32_t esp_rx_bytes(void) { return rx_count; }
uint32_t esp_ring_stalls(void) { return stall_count; }

/* ------------------------------------------------------------ Wi-Fi */
/* Quote an AT string argument: escape " , \ with a backslash. */
static void quote(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 2 < cap; s++) {
        if (*s == '"' || *s == ',' || *s == '\\') {
            out[o++] = '\\';
        }
        out[o++] = *s;
    }
    out[o] = '\0';
}

static void on_cwjap(const char *l, void *ctx)
{
    if (starts(l, "+CWJAP:")) {
        *(int *)ctx = atoi(l + 7);
    }
}

int esp_join(const char *ssid, const char *pass)
{
    char qs[70], qp[135];
    quote(qs, sizeof qs, ssid);
    quote(qp, sizeof qp, pass ? pass : "");
    CMD_BEGIN();
    int code = 0;
    set_wifi(ESP_WIFI_CONNECTING);
    int r = at_cmd(ESP_CONNECT_TIMEOUT + 5000, on_cwjap, &code, "AT+CWJAP_CUR=\"%s\",\"%s\"", qs, qp);
    int ret;
    if (r == R_OK) {
        set_wifi(ESP_WIFI_UP);
        ret = ESP_OK;
    } else {
        switch (r == R_FAIL || r == R_ERROR ? code : -1) {
        case 1: ret = ESP_ERR_CONNECTION_TIMEOUT; break;
        case 2: ret = ESP_ERR_AUTH_FAILURE; break;
        case 3: ret = ESP_ERR_NO_SSID; break;
        case 4: ret = ESP_ERR_DEVICE_ERROR; break;
        case 0: ret = ESP_ERR_DEVICE_ERROR; break; /* plain ERROR */
        case -1: ret = ESP_ERR_CONNECTION_TIMEOUT; break;
        default: ret = ESP_ERR_NO_CONNECTION; break;
        }
        set_wifi(ESP_WIFI_DOWN);
    }
    CMD_END(ret);
}

int esp_quit(void)
{
    CMD_BEGIN();
    int r = at_cmd(ESP_MISC_TIMEOUT, NULL, NULL, "AT+CWQAP");
    /* WIFI DISCONNECT and <id>,CLOSED follow the OK */
    uint32_t deadline = now() + 10;
    while (!expired(deadline) && next_line(deadline, true)) {
    }
    lose_all_links(LOST_WIFI);
    set_wifi(ESP_WIFI_DOWN);
    CMD_END(r == R_OK ? ESP_OK : ESP_ERR_DEVICE_ERROR);
}

typedef struct {
    char *ip, *gw, *mask, *mac;
} addr_ctx_t;

static void copy_quoted(char *dst, size_t cap, const char *p)
{
    const char *q = strchr(p, '"');
    if (!q) {
        return;
    }
    q++;
    size_t n = 0;
    while (q[n] && q[n] != '"' && n + 1 < cap) {
        n++;
    }
    memcpy(dst, q, n);
    dst[n] = '\0';
}

static void on_addr(const char *l, void *vctx)
{
    addr_ctx_t *c = vctx;
    if (c->ip && (starts(l, "+CIFSR:STAIP,") || starts(l, "+CIPSTA_CUR:ip:"))) {
        copy_quoted(c->ip, 16, l);
    } else if (c->mac && starts(l, "+CIFSR:STAMAC,")) {
        copy_quoted(c->mac, 18, l);
    } else if (c->gw && starts(l, "+CIPSTA_CUR:gateway:")) {
        copy_quoted(c->gw, 16, l);
    } else if (c->mask && starts(l, "+CIPSTA_CUR:netmask:")) {
        copy_quoted(c->mask, 16, l);
    }
}

int esp_get_ip(char ip[16])
{
    CMD_BEGIN();
    strcpy(ip, "0.0.0.0");
    addr_ctx_t c = {ip, NULL, NULL, NULL};
    int r = at_cmd(ESP_CONNECT_TIMEOUT, on_addr, &c, "AT+CIFSR");
    CMD_END(r == R_OK ? ESP_OK : ESP_ERR_DEVICE_ERROR);
}

int esp_get_mac(char mac[18])
{
    CMD_BEGIN();
    mac[0] = '\0';
    addr_ctx_t c = {NULL, NULL, NULL, mac};
    int r = at_cmd(ESP_MISC_TIMEOUT, on_addr, &c, "AT+CIFSR");
    CMD_END(r == R_OK && mac[0] ? ESP_OK : ESP_ERR_DEVICE_ERROR);
}

int esp_get_sta(char ip[16], char gw[16], char mask[16])
{
    CMD_BEGIN();
    strcpy(ip, "0.0.0.0");
    strcpy(gw, "0.0.0.0");
    strcpy(mask, "0.0.0.0");
    addr_ctx_t c = {ip, gw, mask, NULL};
    int r = at_cmd(ESP_MISC_TIMEOUT, on_addr, &c, "AT+CIPSTA_CUR?");
    CMD_END(r == R_OK ? ESP_OK : ESP_ERR_DEVICE_ERROR);
}

static void on_cwjap_q(const char *l, void *ctx)
{
    /* +CWJAP_CUR:"<ssid>","<bssid>",<channel>,<rssi> */
    if (starts(l, "+CWJAP_CUR:")) {
        const char *c = strrchr(l, ',');
        if (c) {
            *(int *)ctx = atoi(c + 1);
        }
    }
}

int esp_get_rssi(int *rssi)
{
    CMD_BEGIN();
    int v = 0;
    int r = at_cmd(ESP_CONNECT_TIMEOUT, on_cwjap_q, &v, "AT+CWJAP_CUR?");
    *rssi = v;
    CMD_END(r == R_OK ? ESP_OK : ESP_ERR_DEVICE_ERROR);
}

/* Split "a,"b,c",d" into fields (quotes removed, \-escapes honoured). */
static int split_fields(const char *s, char fields[][34], int max)
{
    int n = 0, o = 0;
    bool q = false;
    for (; *s && n < max; s++) {
        char ch = *s;
        if (q && ch == '\\' && s[1]) {
            ch = *++s;
        } else if (ch == '"') {
            q = !q;
            continue;
        } else if (!q && (ch == ',' || ch == ')')) {
            fields[n][o] = '\0';
            n++;
            o = 0;
            if (ch == ')') {
                break;
            }
            continue;
        }
        if (o < 33) {
            fields[n][o++] = ch;
        }
    }
    if (n < max && o) {
        fields[n][o] = '\0';
        n++;
    }
    return n;
}

typedef struct {
    esp_scan_cb_t cb;
    void *ctx;
    int count;
} scan_ctx_t;

static void on_cwlap(const char *l, void *vctx)
{
    scan_ctx_t *c = vctx;
    if (!starts(l, "+CWLAP:(")) {
        return;
    }
    char f[6][34];
    int n = split_fields(l + 8, f, 6);
    if (n < 5) {
        return;
    }
    esp_ap_t ap;
    memset(&ap, 0, sizeof ap);
    ap.ecn = atoi(f[0]);
    snprintf(ap.ssid, sizeof ap.ssid, "%.32s", f[1]);
    ap.rssi = atoi(f[2]);
    unsigned m[6] = {0};
    if (sscanf(f[3], "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6) {
        for (int i = 0; i < 6; i++) {
            ap.bssid[i] = (uint8_t)m[i];
        }
    }
    ap.channel = atoi(f[4]);
    c->count++;
    if (c->cb) {
        c->cb(&ap, c->ctx);
    }
}

int esp_scan(esp_scan_cb_t cb, void *ctx)
{
    CMD_BEGIN();
    scan_ctx_t c = {cb, ctx, 0};
    int r = at_cmd(2000 + 13 * 1500, on_cwlap, &c, "AT+CWLAP");
    CMD_END(r == R_OK || c.count ? c.count : ESP_ERR_DEVICE_ERROR);
}

static void on_domain(const char *l, void *ctx)
{
    if (starts(l, "+CIPDOMAIN:")) {
        const char *p = l + 11;
        if (*p == '"') {
            p++;
        }
        char *ip = ctx;
        size_t n = 0;
        while (p[n] && p[n] != '"' && n < 15) {
            n++;
        }
        memcpy(ip, p, n);
        ip[n] = '\0';
    }
}

int esp_dns(const char *name, char ip[16])
{
    char qn[260];
    quote(qn, sizeof qn, name);
    CMD_BEGIN();
    ip[0] = '\0';
    int r = at_cmd(ESP_DNS_TIMEOUT, on_domain, ip, "AT+CIPDOMAIN=\"%s\"", qn);
    CMD_END(r == R_OK && ip[0] ? ESP_OK : ESP_ERR_DNS_FAILURE);
}

/* ------------------------------------------------------------ links */
static bool valid(int id) { return id >= 0 && id < ESP_LINKS; }

static void link_reset(int id, bool tcp)
{
    links[id].open = false;
    links[id].tcp = tcp;
    links[id].lost = 0;
    links[id].avail = 0;
    links[id].q_len = 0;
}

static void on_start(const char *l, void *ctx)
{
    if (strcmp(l, "ALREADY CONNECTED") == 0) {
        *(bool *)ctx = true;
    }
}

static int link_start(int id, bool tcp, const char *ip, unsigned port, unsigned a, unsigned b,
                      int nargs)
{
    if (!valid(id)) {
        return ESP_ERR_PARAMETER;
    }
    if (wifi_state != ESP_WIFI_UP) {
        return ESP_ERR_NO_CONNECTION;
    }
    CMD_BEGIN();
    while (next_line(0, false)) {
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        if (links[id].open) {
            at_cmd(ESP_MISC_TIMEOUT, NULL, NULL, "AT+CIPCLOSE=%d", id);
        }
        link_reset(id, tcp);
        bool already = false;
        int r;
        const char *proto = tcp ? "TCP" : "UDP";
        uint32_t to = tcp ? ESP_TCP_CONNECT_TIMEOUT : ESP_MISC_TIMEOUT;
        if (nargs == 2) {
            r = at_cmd(to, on_start, &already, "AT+CIPSTART=%d,\"%s\",\"%s\",%u,%u,%u", id, proto, ip, port, a, b);
        } else if (nargs == 1) {
            r = at_cmd(to, on_start, &already, "AT+CIPSTART=%d,\"%s\",\"%s\",%u,%u", id, proto, ip, port, a);
        } else {
            r = at_cmd(to, on_start, &already, "AT+CIPSTART=%d,\"%s\",\"%s\",%u", id, proto, ip, port);
        }
        if (r == R_OK) {
            links[id].open = true;
            CMD_END(ESP_OK);
        }
        if (already) {
            links[id].open = true; /* close it and retry */
            continue;
        }
        settle(5); /* a trailing <id>,CLOSED must not hit the next user of the id */
        link_reset(id, tcp);
        CMD_END(ESP_ERR_DEVICE_ERROR);
    }
    CMD_END(ESP_ERR_DEVICE_ERROR);
}

int esp_link_open_tcp(int id, const char *ip, uint16_t port, int keepalive)
{
    if (keepalive > 0) {
        return link_start(id, true, ip, port, (unsigned)keepalive, 0, 1);
    }
    return link_start(id, true, ip, port, 0, 0, 0);
}

int esp_link_open_udp(int id, const char *ip, uint16_t port, uint16_t local_port, int mode)
{
    if (local_port) {
        return link_start(id, false, ip, port, local_port, (unsigned)mode, 2);
    }
    return link_start(id, false, ip, port, 0, 0, 0);
}

static void on_send(const char *l, void *ctx)
{
    unsigned n;
    if (sscanf(l, "Recv %u bytes", &n) == 1) {
        *(int *)ctx = (int)n;
    }
}

int esp_link_send(int id, const void *data, size_t len, const char *ip, uint16_t port)
{
    if (!valid(id)) {
        return ESP_ERR_PARAMETER;
    }
    if (!links[id].open) {
        return ESP_ERR_CONNECTION_LOST;
    }
    if (len == 0) {
        return links[id].tcp ? 0 : ESP_ERR_UNSUPPORTED;
    }
    if (len > ESP_MAX_SEND) {
        if (!links[id].tcp) {
            return ESP_ERR_PARAMETER;
        }
        len = ESP_MAX_SEND;
    }
    CMD_BEGIN();
    uint32_t deadline = now() + ESP_SEND_TIMEOUT;
    int r;
    if (ip) {
        r = at_cmd(ESP_SEND_TIMEOUT, NULL, NULL, "AT+CIPSEND=%d,%u,\"%s\",%u", id, (unsigned)len, ip, port);
    } else {
        r = at_cmd(ESP_SEND_TIMEOUT, NULL, NULL, "AT+CIPSEND=%d,%u", id, (unsigned)len);
    }
    if (r == R_OK) {
        r = at_wait(deadline, NULL, NULL);
    }
    if (r != R_PROMPT) {
        int e;
        if (r == R_ERROR) {
            e = links[id].open ? ESP_ERR_DEVICE_ERROR : ESP_ERR_CONNECTION_LOST;
        } else if (r == R_BUSY || r == R_TIMEOUT) {
            e = links[id].tcp ? ESP_ERR_WOULD_BLOCK : ESP_ERR_NO_MEMORY;
        } else {
            e = ESP_ERR_DEVICE_ERROR;
        }
        if (!links[id].open) {
            e = ESP_ERR_CONNECTION_LOST;
        }
        CMD_END(e);
    }
    uart_tx(data, len);
    int recvd = -1;
    deadline = now() + ESP_SEND_TIMEOUT;
    r = at_wait(deadline, on_send, &recvd);
    if (r == R_SEND_OK) {
        CMD_END((int)len);
    }
    if (r == R_SEND_FAIL) {
        CMD_END(!links[id].open ? ESP_ERR_CONNECTION_LOST
                                : links[id].tcp ? ESP_ERR_DEVICE_ERROR : ESP_ERR_NO_MEMORY);
    }
    CMD_END(!links[id].open ? ESP_ERR_CONNECTION_LOST : ESP_ERR_DEVICE_ERROR);
}

int esp_link_recv(int id, void *buf, size_t len)
{
    if (!valid(id)) {
        return ESP_ERR_PARAMETER;
    }
    link_t *lk = &links[id];
    if (lk->avail == 0) {
        if (lk->lost == LOST_WIFI) {
            return ESP_ERR_CONNECTION_LOST;
        }
        if (!lk->open) {
            return 0;
        }
        return ESP_ERR_WOULD_BLOCK;
    }
    if (len == 0) {
        return 0;
    }
    size_t want = len < ESP_MAX_SEND ? len : ESP_MAX_SEND;
    CMD_BEGIN();
    rd_buf = buf;
    rd_cap = want;
    rd_got = 0;
    rd_total = -1;
    int r = at_cmd(ESP_MISC_TIMEOUT, NULL, NULL, "AT+CIPRECVDATA=%d,%u", id, (unsigned)want);
    rd_buf = NULL;
    if (r == R_OK) {
        int n = rd_total > 0 ? rd_total : 0;
        if ((size_t)n > want) {
            n = (int)want;
        }
        if ((uint32_t)n >= lk->avail || (size_t)n < want) {
            lk->avail = 0;
        } else {
            lk->avail -= (uint32_t)n;
        }
        if (n == 0) {
            CMD_END(lk->open ? ESP_ERR_WOULD_BLOCK : (lk->lost == LOST_WIFI ? ESP_ERR_CONNECTION_LOST : 0));
        }
        CMD_END(n);
    }
    if (r == R_BUSY || r == R_TIMEOUT) {
        CMD_END(ESP_ERR_WOULD_BLOCK);
    }
    lk->avail = 0;
    CMD_END(lk->open ? ESP_ERR_DEVICE_ERROR : 0);
}

int esp_link_recvfrom(int id, void *buf, size_t len, uint32_t *ip, uint16_t *port)
{
    if (!valid(id)) {
        return ESP_ERR_PARAMETER;
    }
    link_t *lk = &links[id];
    if (lk->q_len == 0) {
        if (lk->lost == LOST_WIFI) {
            return ESP_ERR_CONNECTION_LOST;
        }
        return ESP_ERR_WOULD_BLOCK;
    }
    uint8_t *h = lk->q;
    uint16_t n = (uint16_t)(h[0] | h[1] << 8);
    if (ip) {
        memcpy(ip, h + 2, 4);
    }
    if (port) {
        *port = (uint16_t)(h[6] | h[7] << 8);
    }
    size_t c = n < len ? n : len;
    memcpy(buf, h + UDP_HDR, c);
    uint16_t rec = (uint16_t)(UDP_HDR + n);
    memmove(lk->q, lk->q + rec, (size_t)(lk->q_len - rec));
    lk->q_len = (uint16_t)(lk->q_len - rec);
    return (int)c;
}

static void on_close(const char *l, void *ctx)
{
    if (starts(l, "UNLINK")) {
        *(bool *)ctx = true;
    }
}

int esp_link_close(int id)
{
    if (!valid(id)) {
        return ESP_ERR_PARAMETER;
    }
    if (!links[id].open) {
        link_reset(id, links[id].tcp);
        return ESP_OK;
    }
    CMD_BEGIN();
    int ret = ESP_ERR_DEVICE_ERROR;
    for (int attempt = 0; attempt < 2; attempt++) {
        bool unlink = false;
        int r = at_cmd(ESP_MISC_TIMEOUT, on_close, &unlink, "AT+CIPCLOSE=%d", id);
        if (r == R_OK || unlink) {
            ret = ESP_OK;
            break;
        }
    }
    link_reset(id, links[id].tcp);
    CMD_END(ret);
}

bool esp_link_open(int id) { return valid(id) && links[id].open; }
bool esp_link_readable(int id)
{
    return valid(id) && (links[id].avail || links[id].q_len || !links[id].open);
}
bool esp_link_lost(int id) { return valid(id) && links[id].lost != 0; }
