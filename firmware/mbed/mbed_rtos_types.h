/* CMSIS-RTOS2 constants and rtos::Kernel clock types used by Mbed's rtos API. */
#ifndef MBED_RTOS_TYPES_H
#define MBED_RTOS_TYPES_H

#include <stdint.h>

#include <chrono>

#define osWaitForever 0xFFFFFFFFU
#define osFlagsWaitAny 0x00000000U
#define osFlagsWaitAll 0x00000001U
#define osFlagsNoClear 0x00000002U
#define osFlagsError 0x80000000U
#define osFlagsErrorUnknown 0xFFFFFFFFU
#define osFlagsErrorTimeout 0xFFFFFFFEU
#define osFlagsErrorResource 0xFFFFFFFDU
#define osFlagsErrorParameter 0xFFFFFFFCU

namespace rtos {
namespace Kernel {
struct Clock {
    using rep = int64_t;
    using period = std::milli;
    using duration = std::chrono::duration<rep, period>;
    using duration_u32 = std::chrono::duration<uint32_t, std::milli>;
    using time_point = std::chrono::time_point<Clock>;
    static constexpr bool is_steady = true;
    static time_point now();
};
constexpr Clock::duration_u32 wait_for_u32_forever(osWaitForever);
/* Board milliseconds since the stack's clock started. */
uint64_t get_ms_count();
} // namespace Kernel
} // namespace rtos

#endif
