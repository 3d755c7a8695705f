/*
 * microbench_idle: the baseline of the per-event micro-benchmarks (scripts/bench
 * events): start up, print one line, exit. Its CPU time is what the other
 * microbench_* programs spend besides their events.
 */
#include <stdio.h>

#include "bsp.h"

int main(void)
{
    printf("microbench_idle: done\n");
    return 0;
}
