/*
 * cpubench: CPU-bound integer benchmark, about 100 million Cortex-M3
 * instructions, with SysTick interrupting at 1 kHz. Built with
 * -DCPUBENCH_SCALE=N every part runs N times its rounds (firmware/Makefile
 * builds cpubench_long.elf so, about 1.78 G instructions, for scripts/bench);
 * its checksums differ from the golden ones, and both engines must agree.
 *
 * Parts: linked list build/reverse/sum, 16x16 matrix multiply, a state
 * machine over pseudo-random input, bitwise CRC-32 over a buffer. Each prints
 * a checksum; a final combined checksum covers all. Only checksums go to
 * UART0 (deterministic); the SysTick count, which depends on the engine's
 * speed, goes to the semihosting console.
 */
#include <stdio.h>

#include "bsp.h"

#ifndef CPUBENCH_SCALE
#define CPUBENCH_SCALE 1U
#endif

#define LIST_NODES   1000U
#define LIST_ROUNDS  (1080U * CPUBENCH_SCALE)
#define MAT_N        16U
#define MAT_ROUNDS   (360U * CPUBENCH_SCALE)
#define FSM_INPUT    4096U
#define FSM_ROUNDS   (720U * CPUBENCH_SCALE)
#define CRC_BYTES    1024U
#define CRC_ROUNDS   (144U * CPUBENCH_SCALE)
#define CRC32_POLY   0xEDB88320UL
#define LCG_MUL      1664525UL
#define LCG_INC      1013904223UL

void SysTick_Handler(void)
{
    systick_isr_tick();
}

static uint32_t lcg_state;

static uint32_t lcg(void)
{
    lcg_state = lcg_state * LCG_MUL + LCG_INC;
    return lcg_state;
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    h ^= v;
    h *= 0x01000193UL; /* FNV-1a prime */
    return h ^ (h >> 15);
}

/* ------------------------------------------------------------ list */
typedef struct node {
    struct node *next;
    uint32_t value;
} node_t;

static node_t pool[LIST_NODES];

static uint32_t bench_list(void)
{
    uint32_t sum = 0;
    lcg_state = 1;
    for (uint32_t r = 0; r < LIST_ROUNDS; r++) {
        node_t *head = NULL;
        for (uint32_t i = 0; i < LIST_NODES; i++) {
            pool[i].value = lcg() >> 8;
            pool[i].next = head;
            head = &pool[i];
        }
        node_t *prev = NULL;
        while (head != NULL) {
            node_t *next = head->next;
            head->next = prev;
            prev = head;
            head = next;
        }
        uint32_t pos = 0;
        for (node_t *n = prev; n != NULL; n = n->next) {
            sum += n->value ^ pos++;
        }
        sum = mix(sum, r);
    }
    return sum;
}

/* ------------------------------------------------------------ matrix */
static int32_t ma[MAT_N][MAT_N], mb[MAT_N][MAT_N], mc[MAT_N][MAT_N];

static uint32_t bench_matrix(void)
{
    uint32_t h = 0;
    lcg_state = 2;
    for (uint32_t i = 0; i < MAT_N; i++) {
        for (uint32_t j = 0; j < MAT_N; j++) {
            ma[i][j] = (int32_t)(lcg() >> 24) - 128;
            mb[i][j] = (int32_t)(lcg() >> 24) - 128;
        }
    }
    for (uint32_t r = 0; r < MAT_ROUNDS; r++) {
        for (uint32_t i = 0; i < MAT_N; i++) {
            for (uint32_t j = 0; j < MAT_N; j++) {
                int32_t acc = 0;
                for (uint32_t k = 0; k < MAT_N; k++) {
                    acc += ma[i][k] * mb[k][j];
                }
                mc[i][j] = acc;
            }
        }
        ma[r % MAT_N][(r * 7U) % MAT_N] = mc[(r * 3U) % MAT_N][r % MAT_N] & 0xFF;
        h = mix(h, (uint32_t)mc[r % MAT_N][(r * 5U) % MAT_N]);
    }
    return h;
}

/* ------------------------------------------------------ state machine */
typedef enum { ST_IDLE, ST_WORD, ST_NUMBER, ST_SPACE, ST_PUNCT, ST_COUNT } fsm_state_t;

static uint8_t fsm_input[FSM_INPUT];

static fsm_state_t fsm_class(uint8_t c)
{
    if (c < 40U) {
        return ST_SPACE;
    }
    if (c < 120U) {
        return ST_WORD;
    }
    if (c < 200U) {
        return ST_NUMBER;
    }
    return ST_PUNCT;
}

static uint32_t bench_fsm(void)
{
    uint32_t counts[ST_COUNT] = {0};
    uint32_t h = 0;
    lcg_state = 3;
    for (uint32_t i = 0; i < FSM_INPUT; i++) {
        fsm_input[i] = (uint8_t)(lcg() >> 24);
    }
    for (uint32_t r = 0; r < FSM_ROUNDS; r++) {
        fsm_state_t st = ST_IDLE;
        uint32_t token = 0;
        for (uint32_t i = 0; i < FSM_INPUT; i++) {
            uint8_t c = fsm_input[i];
            fsm_state_t next = fsm_class(c);
            switch (st) {
            case ST_WORD:
                token = (next == ST_WORD) ? token * 31U + c : (counts[ST_WORD]++, token ^ 0x55U);
                break;
            case ST_NUMBER:
                token = (next == ST_NUMBER) ? token * 10U + (c & 7U) : (counts[ST_NUMBER]++, token + 1U);
                break;
            case ST_PUNCT:
                counts[ST_PUNCT]++;
                token ^= c;
                break;
            case ST_SPACE:
                counts[ST_SPACE] += (next != ST_SPACE);
                break;
            default:
                counts[ST_IDLE]++;
                break;
            }
            st = next;
        }
        fsm_input[r % FSM_INPUT] ^= (uint8_t)token;
        h = mix(h, token);
    }
    for (unsigned s = 0; s < ST_COUNT; s++) {
        h = mix(h, counts[s]);
    }
    return h;
}

/* ------------------------------------------------------------ CRC-32 */
static uint8_t crc_buf[CRC_BYTES];

static uint32_t crc32_bitwise(uint32_t crc, const uint8_t *p, uint32_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int b = 0; b < 8; b++) {
            crc = (crc >> 1) ^ (CRC32_POLY & (0U - (crc & 1U)));
        }
    }
    return ~crc;
}

static uint32_t bench_crc(void)
{
    uint32_t crc = 0;
    lcg_state = 4;
    for (uint32_t i = 0; i < CRC_BYTES; i++) {
        crc_buf[i] = (uint8_t)(lcg() >> 16);
    }
    for (uint32_t r = 0; r < CRC_ROUNDS; r++) {
        crc = crc32_bitwise(crc, crc_buf, CRC_BYTES);
        crc_buf[r % CRC_BYTES] ^= (uint8_t)crc;
    }
    return crc;
}

int main(void)
{
    static const uint8_t check[] = "123456789";
    printf("cpubench: start\n");
    printf("cpubench: crc32(\"123456789\") = 0x%08lx\n", (unsigned long)crc32_bitwise(0, check, 9));
    (void)systick_start(1000U, 1);
    uint32_t list = bench_list();
    printf("cpubench: list   0x%08lx\n", (unsigned long)list);
    uint32_t mat = bench_matrix();
    printf("cpubench: matrix 0x%08lx\n", (unsigned long)mat);
    uint32_t fsm = bench_fsm();
    printf("cpubench: fsm    0x%08lx\n", (unsigned long)fsm);
    uint32_t crc = bench_crc();
    printf("cpubench: crc32  0x%08lx\n", (unsigned long)crc);
    systick_stop();
    const uint32_t parts[4] = {list, mat, fsm, crc};
    uint32_t all = crc32_bitwise(0, (const uint8_t *)parts, sizeof parts);
    printf("cpubench: combined 0x%08lx\n", (unsigned long)all);
    char msg[64];
    snprintf(msg, sizeof msg, "cpubench: %lu systicks\n", (unsigned long)systick_ticks());
    semihost_write0(msg);
    printf("cpubench: done\n");
    return 0;
}
