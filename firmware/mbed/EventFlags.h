/* rtos::EventFlags (Mbed OS 6 rtos/EventFlags.h) for a single thread: waits
 * run the board's loop (shared event queue, network stack) until the flags
 * are set by an event, a sigio callback or an interrupt handler. */
#ifndef MBED_EVENTFLAGS_H
#define MBED_EVENTFLAGS_H

#include <stdint.h>

#include <chrono>

#include "mbed_rtos_types.h"

namespace rtos {

class EventFlags {
public:
    EventFlags() : _flags(0) {}
    explicit EventFlags(const char *) : _flags(0) {}

    uint32_t set(uint32_t flags);
    uint32_t clear(uint32_t flags = 0x7fffffff);
    uint32_t get() const { return _flags; }
    /* Returns the flags before clearing, or osFlagsErrorTimeout. millisec 0: no wait. */
    uint32_t wait_all(uint32_t flags = 0, uint32_t millisec = osWaitForever, bool clear = true);
    uint32_t wait_any(uint32_t flags = 0, uint32_t millisec = osWaitForever, bool clear = true);
    uint32_t wait_all_for(uint32_t flags, Kernel::Clock::duration_u32 rel_time, bool clear = true)
    {
        return wait_all(flags, rel_time.count(), clear);
    }
    uint32_t wait_any_for(uint32_t flags, Kernel::Clock::duration_u32 rel_time, bool clear = true)
    {
        return wait_any(flags, rel_time.count(), clear);
    }

private:
    uint32_t wait(uint32_t flags, uint32_t millisec, bool clear, bool all);
    volatile uint32_t _flags;
};

} // namespace rtos

#endif
