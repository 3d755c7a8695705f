/* The single-threaded run loop under the Mbed layer, the event queues,
 * EventFlags, ThisThread and the C++ runtime bits (-fno-exceptions). */
#include "mbed_netglue.h"

#include <stdlib.h>

#include "EventFlags.h"
#include "EventQueue.h"
#include "ThisThread.h"
#include "vnet.h"

#ifndef MBED_CONF_EVENTS_SHARED_EVENTSIZE_SLOTS
#define MBED_CONF_EVENTS_SHARED_EVENTSIZE_SLOTS 16 /* events pending at once on mbed_event_queue() */
#endif

namespace mbed {
namespace netglue {

static Pollable *g_pollables;
static bool g_pending;
/* > 0 while the shared queue is dispatching (its events "run on its thread"). */
static int g_shared_depth;
static events::EventQueue *g_shared;

uint32_t now_ms()
{
    return vnet_now_ms();
}

uint32_t remaining(uint32_t start, int32_t timeout_ms)
{
    if (timeout_ms < 0) {
        return UINT32_MAX;
    }
    uint32_t elapsed = now_ms() - start;
    return elapsed >= uint32_t(timeout_ms) ? 0 : uint32_t(timeout_ms) - elapsed;
}

void Pollable::link()
{
    for (Pollable *p = g_pollables; p; p = p->next_pollable) {
        if (p == this) {
            return;
        }
    }
    next_pollable = g_pollables;
    g_pollables = this;
}

void Pollable::unlink()
{
    for (Pollable **pp = &g_pollables; *pp; pp = &(*pp)->next_pollable) {
        if (*pp == this) {
            *pp = next_pollable;
            break;
        }
    }
    next_pollable = nullptr;
    pending = false;
}

void Pollable::mark()
{
    pending = true;
    g_pending = true;
}

/* Deliver marked callbacks; the list may change inside a callback, so rescan. */
static bool deliver_pending()
{
    bool any = false;
    while (g_pending) {
        g_pending = false;
        for (Pollable *p = g_pollables; p; p = p->next_pollable) {
            if (p->pending) {
                p->pending = false;
                g_pending = true; /* rescan after the callback */
                any = true;
                p->deliver();
                break;
            }
        }
    }
    return any;
}

void service(uint32_t max_wait_ms)
{
    bool worked = deliver_pending();
    if (g_shared && g_shared_depth == 0 && g_shared->next_due_ms() == 0) {
        g_shared->dispatch(0);
        worked = true;
    }
    if (worked) {
        vnet_poll();
    } else {
        uint32_t wait = max_wait_ms;
        if (g_shared && g_shared_depth == 0) {
            int due = g_shared->next_due_ms();
            if (due >= 0 && uint32_t(due) < wait) {
                wait = uint32_t(due);
            }
        }
        if (wait == 0) {
            vnet_poll();
        } else {
            vnet_wait(wait);
        }
    }
    deliver_pending();
}

} // namespace netglue
} // namespace mbed

using mbed::netglue::now_ms;

namespace events {

using detail::Item;

EventQueue::EventQueue(unsigned size, unsigned char *buffer)
    : _buffer(buffer), _own_buffer(false), _free(nullptr), _queue(nullptr), _running(nullptr),
      _running_cancelled(false), _break(false), _next_id(1)
{
    if (!_buffer) {
        _buffer = static_cast<unsigned char *>(malloc(size));
        _own_buffer = _buffer != nullptr;
        if (!_buffer) {
            size = 0;
        }
    }
    uintptr_t p = (reinterpret_cast<uintptr_t>(_buffer) + alignof(Item) - 1) & ~(uintptr_t)(alignof(Item) - 1);
    uintptr_t end = reinterpret_cast<uintptr_t>(_buffer) + size;
    for (; p + sizeof(Item) <= end; p += sizeof(Item)) {
        Item *it = reinterpret_cast<Item *>(p);
        it->next = _free;
        _free = it;
    }
}

EventQueue::~EventQueue()
{
    while (_queue) {
        Item *it = _queue;
        _queue = it->next;
        it->destroy(it);
    }
    if (_own_buffer) {
        free(_buffer);
    }
}

Item *EventQueue::alloc_item()
{
    Item *it = _free;
    if (it) {
        _free = it->next;
        it->next = nullptr;
        it->queue = this;
    }
    return it;
}

void EventQueue::free_item(Item *it)
{
    it->next = _free;
    _free = it;
}

static void insert_sorted(Item **head, Item *it)
{
    Item **pp = head;
    while (*pp && int32_t((*pp)->due - it->due) <= 0) {
        pp = &(*pp)->next;
    }
    it->next = *pp;
    *pp = it;
}

int EventQueue::schedule(Item *it, int delay_ms, int period_ms)
{
    it->queue = this;
    it->due = now_ms() + uint32_t(delay_ms < 0 ? 0 : delay_ms);
    it->period = period_ms;
    it->id = _next_id++;
    if (_next_id <= 0) {
        _next_id = 1;
    }
    insert_sorted(&_queue, it);
    return it->id;
}

bool EventQueue::cancel(int id)
{
    if (id <= 0) {
        return false;
    }
    if (_running && _running->id == id) {
        _running_cancelled = true;
        return _running->period >= 0;
    }
    for (Item **pp = &_queue; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            Item *it = *pp;
            *pp = it->next;
            it->destroy(it);
            free_item(it);
            return true;
        }
    }
    return false;
}

int EventQueue::time_left(int id)
{
    for (Item *it = _queue; it; it = it->next) {
        if (it->id == id) {
            int32_t left = int32_t(it->due - now_ms());
            return left < 0 ? 0 : left;
        }
    }
    return -1;
}

int EventQueue::next_due_ms() const
{
    if (!_queue) {
        return -1;
    }
    int32_t left = int32_t(_queue->due - now_ms());
    return left < 0 ? 0 : left;
}

void EventQueue::break_dispatch()
{
    _break = true;
}

/* Run the events due now that were queued before this pass started. */
void EventQueue::run_due()
{
    uint32_t now = now_ms();
    int last_id = _next_id - 1;
    while (_queue && int32_t(_queue->due - now) <= 0 && _queue->id <= last_id && !_break) {
        Item *it = _queue;
        _queue = it->next;
        _running = it;
        _running_cancelled = false;
        it->invoke(it);
        _running = nullptr;
        if (it->period >= 0 && !_running_cancelled) {
            it->due += uint32_t(it->period);
            if (int32_t(it->due - now_ms()) < 0) {
                it->due = now_ms();
            }
            insert_sorted(&_queue, it);
        } else {
            it->destroy(it);
            free_item(it);
        }
    }
}

void EventQueue::dispatch(int ms)
{
    const bool shared = this == mbed::netglue::g_shared;
    if (shared) {
        mbed::netglue::g_shared_depth++;
    }
    uint32_t start = now_ms();
    for (;;) {
        run_due();
        if (_break) {
            _break = false;
            break;
        }
        uint32_t left = mbed::netglue::remaining(start, ms);
        if (left == 0) {
            break;
        }
        int due = next_due_ms();
        if (due >= 0 && uint32_t(due) < left) {
            left = uint32_t(due);
        }
        mbed::netglue::service(left);
    }
    if (shared) {
        mbed::netglue::g_shared_depth--;
    }
}

alignas(Item) static unsigned char g_shared_buf[MBED_CONF_EVENTS_SHARED_EVENTSIZE_SLOTS * sizeof(Item)];

EventQueue *mbed_event_queue()
{
    static EventQueue *q;
    if (!q) {
        /* placement new: no exit-time destructor registration */
        alignas(EventQueue) static unsigned char qmem[sizeof(EventQueue)];
        q = new (qmem) EventQueue(sizeof g_shared_buf, g_shared_buf);
        mbed::netglue::g_shared = q;
    }
    return q;
}

EventQueue *mbed_highprio_event_queue()
{
    return mbed_event_queue();
}

} // namespace events

namespace rtos {

uint32_t EventFlags::set(uint32_t flags)
{
    _flags = _flags | (flags & 0x7fffffffU);
    return _flags;
}

uint32_t EventFlags::clear(uint32_t flags)
{
    uint32_t before = _flags;
    _flags = before & ~flags;
    return before;
}

uint32_t EventFlags::wait(uint32_t flags, uint32_t millisec, bool clear, bool all)
{
    uint32_t start = mbed::netglue::now_ms();
    int32_t timeout = millisec == osWaitForever ? -1 : int32_t(millisec);
    for (;;) {
        uint32_t cur = _flags;
        bool ok = flags == 0 ? cur != 0 : all ? (cur & flags) == flags : (cur & flags) != 0;
        if (ok) {
            if (clear) {
                _flags = _flags & ~(flags == 0 ? cur : flags);
            }
            return cur;
        }
        uint32_t left = mbed::netglue::remaining(start, timeout);
        if (left == 0) {
            return osFlagsErrorTimeout;
        }
        mbed::netglue::service(left);
    }
}

uint32_t EventFlags::wait_all(uint32_t flags, uint32_t millisec, bool clear)
{
    return wait(flags, millisec, clear, true);
}

uint32_t EventFlags::wait_any(uint32_t flags, uint32_t millisec, bool clear)
{
    return wait(flags, millisec, clear, false);
}

namespace ThisThread {
void sleep_for(uint32_t millisec)
{
    uint32_t start = mbed::netglue::now_ms();
    for (;;) {
        uint32_t left = mbed::netglue::remaining(start, int32_t(millisec));
        if (left == 0) {
            return;
        }
        mbed::netglue::service(left);
    }
}
void yield()
{
    mbed::netglue::service(0);
}
} // namespace ThisThread

namespace Kernel {
static uint64_t g_ms_high;
static uint32_t g_ms_last;
uint64_t get_ms_count()
{
    uint32_t now = mbed::netglue::now_ms();
    if (now < g_ms_last) {
        g_ms_high += 1ULL << 32;
    }
    g_ms_last = now;
    return g_ms_high | now;
}
Clock::time_point Clock::now()
{
    return time_point(duration(int64_t(get_ms_count())));
}
} // namespace Kernel

} // namespace rtos

/* C++ runtime without exceptions: plain malloc, no std::bad_alloc. */
void *operator new(size_t n)
{
    return malloc(n ? n : 1);
}
void *operator new[](size_t n)
{
    return malloc(n ? n : 1);
}
void *operator new(size_t n, const std::nothrow_t &) noexcept
{
    return malloc(n ? n : 1);
}
void operator delete(void *p) noexcept
{
    free(p);
}
void operator delete[](void *p) noexcept
{
    free(p);
}
void operator delete(void *p, size_t) noexcept
{
    free(p);
}
void operator delete[](void *p, size_t) noexcept
{
    free(p);
}
extern "C" void __cxa_pure_virtual(void)
{
    abort();
}
/* -nostartfiles leaves out crtbegin's __dso_handle; static destructors never
 * run on this board (main returns into semihosting exit), so registering
 * them is a no-op. */
extern "C" {
void *__dso_handle = &__dso_handle;
int __cxa_atexit(void (*)(void *), void *, void *)
{
    return 0;
}
}
