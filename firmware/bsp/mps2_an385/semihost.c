#include "semihost.h"

int32_t semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return (int32_t)r0;
}

void semihost_exit(int code)
{
    if (code == 0) {
        /* AArch32 SYS_EXIT takes the reason code itself in r1, not a block. */
        semihost_call(SEMIHOST_SYS_EXIT, (const void *)SEMIHOST_ADP_STOPPED_APPLICATION_EXIT);
    } else {
        const uint32_t block[2] = {SEMIHOST_ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
        semihost_call(SEMIHOST_SYS_EXIT_EXTENDED, block);
    }
    for (;;) {
        /* No semihosting host attached: stay here. */
        __asm volatile("b .");
    }
}

void semihost_write0(const char *s)
{
    semihost_call(SEMIHOST_SYS_WRITE0, s);
}
