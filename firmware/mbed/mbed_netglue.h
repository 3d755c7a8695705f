/* Internal: the single-threaded run loop under the Mbed layer. Every blocking
 * call of this layer (socket ops, DNS, EventFlags waits, sleep_for, dispatch)
 * loops on netglue::service(), which dispatches the shared event queue (unless
 * called from inside one of its events, as a blocked Mbed thread would not run
 * it either), delivers pending sigio/status callbacks, and otherwise sleeps in
 * vnet_wait() until an interrupt, the next event or max_wait_ms. */
#ifndef MBED_NETGLUE_H
#define MBED_NETGLUE_H

#include <stdint.h>

namespace mbed {
namespace netglue {

/* Board time in milliseconds (vnet's SysTick clock). */
uint32_t now_ms();
/* One turn of the run loop, sleeping at most max_wait_ms when idle. */
void service(uint32_t max_wait_ms);
/* Remaining ms of a timeout started at `start` (timeout < 0: forever -> UINT32_MAX). */
uint32_t remaining(uint32_t start, int32_t timeout_ms);

/* A hook run by service() (sockets, interfaces); intrusive list. */
struct Pollable {
    Pollable *next_pollable = nullptr;
    bool pending = false;
    virtual void deliver() = 0;
    void link();
    void unlink();
    void mark(); /* pending = true; service() will call deliver() */

protected:
    ~Pollable() = default;
};

} // namespace netglue
} // namespace mbed

#endif
