/* ARM semihosting (via `bkpt 0xab` on M-profile). */
#ifndef SEMIHOST_H
#define SEMIHOST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum semihost_op {
    SEMIHOST_SYS_WRITE0 = 0x04,
    SEMIHOST_SYS_EXIT = 0x18,
    SEMIHOST_SYS_EXIT_EXTENDED = 0x20,
};

#define SEMIHOST_ADP_STOPPED_APPLICATION_EXIT 0x20026UL

/* Generic call: op in r0, argument in r1, result from r0. */
int32_t semihost_call(uint32_t op, const void *arg);
/* Host exit: code 0 via SYS_EXIT(ADP_Stopped_ApplicationExit), other codes
 * via SYS_EXIT_EXTENDED {ADP_Stopped_ApplicationExit, code}. */
__attribute__((noreturn)) void semihost_exit(int code);
/* Write a NUL-terminated string to the host debug console (not UART0). */
void semihost_write0(const char *s);

#ifdef __cplusplus
}
#endif

#endif
