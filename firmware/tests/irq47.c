/*
 * irq47: the board's Ethernet controller interrupts through the NVIC: IRQ 47
 * on the AN511 (the second bank of NVIC registers: ISER1, ISPR1, IABR1), IRQ 13
 * on the AN385. The LAN9118/LAN9220 raises its software interrupt: IRQ_CFG =
 * IRQ_EN | IRQ_POL | IRQ_TYPE (push-pull, active high: the line is asserted the
 * same way on QEMU and on vboard), then INT_EN.SW_INT_EN, which sets INT_STS.SW_INT.
 * The handler acknowledges it (W1C) and disables it; the line drops and the
 * handler runs exactly once. Printed: IPSR in the handler and the NVIC bits.
 */
#include <stdio.h>

#include "bsp.h"
#include "check.h"
#include "lan9118/lan9118_regs.h"

#define ETH ((LAN9118_TypeDef *)MPS2_ETH_BASE)
#define ETH_IRQ ((IRQn_Type)MPS2_ETH_IRQn)

static volatile uint32_t entries, ipsr_seen, sts_seen, active_seen;

void MPS2_ETH_HANDLER(void)
{
    entries++;
    ipsr_seen = __get_IPSR();
    active_seen = NVIC_GetActive(ETH_IRQ);
    sts_seen = ETH->INT_STS;
    ETH->INT_STS = LAN9118_INT_SW_INT; /* W1C */
    ETH->INT_EN = 0;
}

int main(void)
{
    uint32_t bank = (uint32_t)MPS2_ETH_IRQn >> 5, bit = BIT((uint32_t)MPS2_ETH_IRQn & 31U);
    printf("irq47: Ethernet on IRQ %u (NVIC bank %lu, bit 0x%08lx)\n", MPS2_ETH_IRQn, (unsigned long)bank,
           (unsigned long)bit);
    ETH->INT_EN = 0;
    ETH->INT_STS = 0xFFFFFFFFUL;
    ETH->IRQ_CFG = LAN9118_IRQ_CFG_IRQ_EN | LAN9118_IRQ_CFG_IRQ_POL | LAN9118_IRQ_CFG_IRQ_TYPE;
    NVIC_ClearPendingIRQ(ETH_IRQ);
    NVIC_SetPriority(ETH_IRQ, 0x40);
    NVIC_EnableIRQ(ETH_IRQ);
    result("irq47: ISER shows the enable", (NVIC->ISER[bank] & bit) != 0);
    result("irq47: nothing pending yet", (NVIC->ISPR[bank] & bit) == 0 && entries == 0);

    __disable_irq();
    ETH->INT_EN = LAN9118_INT_SW_INT; /* SW_INT_EN 0 -> 1 sets SW_INT */
    __DSB();
    result("irq47: SW_INT pends the IRQ while PRIMASK is set", (NVIC->ISPR[bank] & bit) != 0 && entries == 0);
    __enable_irq();
    __DSB();
    __ISB();
    printf("irq47: handler entries %lu, IPSR %lu, active %lu, INT_STS.SW_INT %lu\n", (unsigned long)entries,
           (unsigned long)ipsr_seen, (unsigned long)active_seen, (unsigned long)(sts_seen >> 31));
    result("irq47: acknowledged: not pending, not active", (NVIC->ISPR[bank] & bit) == 0 &&
                                                               (NVIC->IABR[bank] & bit) == 0);
    NVIC_DisableIRQ(ETH_IRQ);
    result("irq47: ICER disables", (NVIC->ISER[bank] & bit) == 0);
    printf("irq47: done\n");
    return check_failures;
}
