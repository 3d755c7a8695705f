/* vboard BSP for MPS2-AN385: one include for programs. */
#ifndef BSP_H
#define BSP_H

#include "mps2_an385.h"
#include "semihost.h"
#include "systick.h"
#include "uart.h"

#ifdef __cplusplus
extern "C" {
#endif

extern uint32_t SystemCoreClock;
void SystemInit(void);

#ifdef __cplusplus
}
#endif

#endif
