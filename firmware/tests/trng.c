/*
 * trng: the AN511's TZ-TRNG (0x4000F000) driven the way Mbed OS's TZ-TRNG
 * driver does it before lwIP seeds from it: write SAMPLE_CNT1 until it reads
 * back, source off, TRNG_CONFIG, TRNG_DEBUG_CONTROL (bypasses), IMR, ICR,
 * source on, poll RNG_ISR for EHR_VALID, read the six EHR words, source off.
 * Twenty-two EHRs (the driver's start-up test: 528 bytes) must all arrive and
 * be different. vboard's model is seeded, so the words are the same every run
 * (printed as a checksum). On QEMU 7.2 the window reads as zero: the first
 * loop never ends, which is where Mbed OS firmware hangs there.
 */
#include <stdio.h>

#include "bsp.h"
#include "check.h"

#ifdef MPS2_AN511

#define TRNG_REG(off) (*(volatile uint32_t *)(CMSDK_TRNG_BASE + (off)))
#define RNG_IMR            TRNG_REG(0x100)
#define RNG_ISR            TRNG_REG(0x104)
#define RNG_ICR            TRNG_REG(0x108)
#define TRNG_CONFIG        TRNG_REG(0x10C)
#define EHR_DATA(i)        TRNG_REG(0x114 + 4 * (i))
#define RND_SOURCE_ENABLE  TRNG_REG(0x12C)
#define SAMPLE_CNT1        TRNG_REG(0x130)
#define TRNG_DEBUG_CONTROL TRNG_REG(0x138)
#define EHR_WORDS 6
#define EHRS      22
#define SAMPLE_RATIO 200U

static uint32_t words[EHRS * EHR_WORDS];

static void read_ehr(uint32_t *out)
{
    do {
        SAMPLE_CNT1 = SAMPLE_RATIO;
    } while (SAMPLE_CNT1 != SAMPLE_RATIO);
    RND_SOURCE_ENABLE = 0;
    TRNG_CONFIG = 0;
    TRNG_DEBUG_CONTROL = 0xA;
    RNG_IMR = 0xFFFFFFC5UL;
    RNG_ICR = 0xFFFFFFFFUL;
    RND_SOURCE_ENABLE = 1;
    while (!(RNG_ISR & 1)) {
    }
    for (int i = 0; i < EHR_WORDS; i++) {
        out[i] = EHR_DATA(i);
    }
    RND_SOURCE_ENABLE = 0;
    RNG_ICR = 0xFFFFFFFFUL;
}

int main(void)
{
    printf("trng: start-up test, %d EHRs\n", EHRS);
    for (int n = 0; n < EHRS; n++) {
        read_ehr(&words[n * EHR_WORDS]);
    }
    int distinct = 1;
    uint32_t sum = 0;
    for (int i = 0; i < EHRS * EHR_WORDS; i++) {
        sum = sum * 31U + words[i];
        for (int j = 0; j < i; j++) {
            distinct &= words[i] != words[j];
        }
    }
    result("trng: 132 words, all different", distinct);
    printf("trng: checksum 0x%08lx\n", (unsigned long)sum);
    printf("trng: done\n");
    return check_failures;
}
#else
int main(void)
{
    printf("trng: this board has no TZ-TRNG (the AN511 build has: make BOARD=an511)\n");
    printf("trng: done\n");
    return 0;
}
#endif
