/* rtos::ThisThread (Mbed OS 6 rtos/ThisThread.h): sleeping keeps the board's
 * loop running (shared event queue, network stack). */
#ifndef MBED_THISTHREAD_H
#define MBED_THISTHREAD_H

#include <stdint.h>

#include <chrono>

#include "mbed_rtos_types.h"

namespace rtos {
namespace ThisThread {
void sleep_for(uint32_t millisec);
template <typename Rep, typename Per>
void sleep_for(std::chrono::duration<Rep, Per> rel_time)
{
    sleep_for(uint32_t(std::chrono::duration_cast<std::chrono::milliseconds>(rel_time).count()));
}
void yield();
} // namespace ThisThread
} // namespace rtos

#endif
