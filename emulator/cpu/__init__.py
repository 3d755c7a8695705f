"""The Cortex-M3 core on Unicorn and its system registers: exceptions, NVIC, SCS, SysTick, MPU."""
