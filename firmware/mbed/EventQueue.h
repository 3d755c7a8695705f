/* events::EventQueue and events::Event (Mbed OS 6 events/EventQueue.h, Event.h)
 * for a single-threaded board: events live in fixed slots carved from the
 * queue's buffer; dispatch() runs due events and, while idle, polls the network
 * stack (vnet) so sockets keep working and sigio callbacks are delivered. */
#ifndef MBED_EVENTQUEUE_H
#define MBED_EVENTQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include <chrono>
#include <new>
#include <tuple>
#include <type_traits>
#include <utility>

#include "Callback.h"

#ifndef EVENTS_ITEM_DATA
#define EVENTS_ITEM_DATA 24 /* bytes for a bound function and its arguments */
#endif

namespace events {

class EventQueue;

namespace detail {
struct Item {
    Item *next;
    EventQueue *queue;
    uint32_t due;        /* queued item: due time; Event state: delay */
    int32_t period;      /* < 0: one shot */
    int id;              /* queued item: its id; Event state: last posted id */
    int refs;            /* Event state: references */
    void (*invoke)(Item *);
    void (*destroy)(Item *);
    void (*fn)();        /* Event state: typed call thunk */
    alignas(8) unsigned char data[EVENTS_ITEM_DATA];
};

template <size_t N, typename... Ts>
struct drop_args;
template <typename... Ts>
struct drop_args<0, Ts...> {
    using type = void(Ts...);
};
template <size_t N, typename T, typename... Ts>
struct drop_args<N, T, Ts...> {
    using type = typename drop_args<N - 1, Ts...>::type;
};
} // namespace detail

#define EVENTS_EVENT_SIZE (sizeof(::events::detail::Item))
#define EVENTS_QUEUE_SIZE (32 * EVENTS_EVENT_SIZE)

template <typename F>
class Event;

class EventQueue {
public:
    using duration = std::chrono::duration<int, std::milli>;

    /* size in bytes (a multiple of EVENTS_EVENT_SIZE); buffer NULL: allocated. */
    explicit EventQueue(unsigned size = EVENTS_QUEUE_SIZE, unsigned char *buffer = nullptr);
    ~EventQueue();
    EventQueue(const EventQueue &) = delete;
    EventQueue &operator=(const EventQueue &) = delete;

    /* ms < 0: until break_dispatch(); 0: run what is due and return. */
    void dispatch(int ms = -1);
    void dispatch_for(duration ms) { dispatch(ms.count()); }
    void dispatch_forever() { dispatch(-1); }
    void dispatch_once() { dispatch(0); }
    void break_dispatch();

    bool cancel(int id);
    int time_left(int id);
    /* Milliseconds until the next event is due; -1 if none. */
    int next_due_ms() const;

    template <typename F, typename... Args>
    int call(F f, Args... args)
    {
        return call_in(0, f, args...);
    }
    template <typename T, typename U, typename R, typename... Ps, typename... Args>
    int call(U *obj, R (T::*method)(Ps...), Args... args)
    {
        return call_in(0, obj, method, args...);
    }

    template <typename F, typename... Args>
    int call_in(int ms, F f, Args... args)
    {
        return post_fn(ms, -1, [f, args...]() mutable { f(args...); });
    }
    template <typename T, typename U, typename R, typename... Ps, typename... Args>
    int call_in(int ms, U *obj, R (T::*method)(Ps...), Args... args)
    {
        T *o = obj;
        return post_fn(ms, -1, [o, method, args...]() mutable { (o->*method)(args...); });
    }
    template <typename Rep, typename Per, typename... Rest>
    int call_in(std::chrono::duration<Rep, Per> d, Rest... rest)
    {
        return call_in(int(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()), rest...);
    }

    template <typename F, typename... Args>
    int call_every(int ms, F f, Args... args)
    {
        return post_fn(ms, ms, [f, args...]() mutable { f(args...); });
    }
    template <typename T, typename U, typename R, typename... Ps, typename... Args>
    int call_every(int ms, U *obj, R (T::*method)(Ps...), Args... args)
    {
        T *o = obj;
        return post_fn(ms, ms, [o, method, args...]() mutable { (o->*method)(args...); });
    }
    template <typename Rep, typename Per, typename... Rest>
    int call_every(std::chrono::duration<Rep, Per> d, Rest... rest)
    {
        return call_every(int(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()), rest...);
    }

    /* event(f, bound...): an Event taking f's remaining parameters. */
    template <typename R, typename... Ps, typename... Cs>
    Event<typename detail::drop_args<sizeof...(Cs), Ps...>::type> event(R (*func)(Ps...), Cs... cs);
    template <typename T, typename U, typename R, typename... Ps, typename... Cs>
    Event<typename detail::drop_args<sizeof...(Cs), Ps...>::type> event(U *obj, R (T::*method)(Ps...), Cs... cs);
    template <typename R, typename... Ps, typename... Cs>
    Event<typename detail::drop_args<sizeof...(Cs), Ps...>::type> event(mbed::Callback<R(Ps...)> cb, Cs... cs);

    /* internals, used by Event */
    detail::Item *alloc_item();
    void free_item(detail::Item *it);
    int schedule(detail::Item *it, int delay_ms, int period_ms);

private:
    template <typename F>
    int post_fn(int ms, int period, F f)
    {
        static_assert(sizeof(F) <= EVENTS_ITEM_DATA, "too many/large arguments for an event (raise EVENTS_ITEM_DATA)");
        detail::Item *it = alloc_item();
        if (!it) {
            return 0;
        }
        new (it->data) F(std::move(f));
        it->invoke = [](detail::Item *i) { (*reinterpret_cast<F *>(i->data))(); };
        it->destroy = [](detail::Item *i) { reinterpret_cast<F *>(i->data)->~F(); };
        return schedule(it, ms, period);
    }
    void run_due();

    unsigned char *_buffer;
    bool _own_buffer;
    detail::Item *_free;
    detail::Item *_queue;
    detail::Item *_running;
    bool _running_cancelled;
    volatile bool _break;
    int _next_id;
};

template <typename... As>
class Event<void(As...)> {
public:
    Event() : _st(nullptr) {}

    template <typename F>
    Event(EventQueue *q, F f) : _st(nullptr)
    {
        static_assert(sizeof(F) <= EVENTS_ITEM_DATA, "too many/large bound arguments (raise EVENTS_ITEM_DATA)");
        detail::Item *st = q->alloc_item();
        if (!st) {
            return;
        }
        new (st->data) F(std::move(f));
        st->refs = 1;
        st->due = 0;
        st->period = -1;
        st->id = 0;
        st->queue = q;
        st->destroy = [](detail::Item *i) { reinterpret_cast<F *>(i->data)->~F(); };
        Thunk t = [](detail::Item *i, As... as) { (*reinterpret_cast<F *>(i->data))(as...); };
        st->fn = reinterpret_cast<void (*)()>(t);
        _st = st;
    }

    Event(const Event &e) : _st(e._st)
    {
        if (_st) {
            _st->refs++;
        }
    }
    Event &operator=(const Event &that)
    {
        if (this != &that) {
            this->~Event();
            new (this) Event(that);
        }
        return *this;
    }
    ~Event()
    {
        if (_st && --_st->refs == 0) {
            _st->destroy(_st);
            _st->queue->free_item(_st);
        }
        _st = nullptr;
    }

    void delay(int ms)
    {
        if (_st) {
            _st->due = uint32_t(ms);
        }
    }
    void period(int ms)
    {
        if (_st) {
            _st->period = ms;
        }
    }
    template <typename Rep, typename Per>
    void delay(std::chrono::duration<Rep, Per> d)
    {
        delay(int(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
    }
    template <typename Rep, typename Per>
    void period(std::chrono::duration<Rep, Per> d)
    {
        period(int(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
    }

    /* Queue one call; returns its id, 0 when out of slots. */
    int post(As... args) const
    {
        if (!_st) {
            return 0;
        }
        using Payload = std::pair<detail::Item *, std::tuple<As...>>;
        static_assert(sizeof(Payload) <= EVENTS_ITEM_DATA, "event arguments too large");
        detail::Item *it = _st->queue->alloc_item();
        if (!it) {
            return 0;
        }
        _st->refs++;
        new (it->data) Payload(_st, std::tuple<As...>(args...));
        it->invoke = [](detail::Item *i) {
            Payload *p = reinterpret_cast<Payload *>(i->data);
            Thunk t = reinterpret_cast<Thunk>(p->first->fn);
            std::apply([&](auto &...as) { t(p->first, as...); }, p->second);
        };
        it->destroy = [](detail::Item *i) {
            Payload *p = reinterpret_cast<Payload *>(i->data);
            detail::Item *st = p->first;
            p->~Payload();
            if (--st->refs == 0) {
                st->destroy(st);
                st->queue->free_item(st);
            }
        };
        _st->id = _st->queue->schedule(it, int(_st->due), _st->period);
        return _st->id;
    }
    void call(As... args) const { post(args...); }
    void operator()(As... args) const { call(args...); }
    void cancel() const
    {
        if (_st && _st->id) {
            _st->queue->cancel(_st->id);
        }
    }
    static void thunk(void *func, As... args) { static_cast<Event *>(func)->call(args...); }

private:
    using Thunk = void (*)(detail::Item *, As...);
    detail::Item *_st;
};

template <typename R, typename... Ps, typename... Cs>
Event<typename detail::drop_args<sizeof...(Cs), Ps...>::type> EventQueue::event(R (*func)(Ps...), Cs... cs)
{
    using Ev = Event<typename detail::drop_args<sizeof...(Cs), Ps...>::type>;
    return Ev(this, [func, cs...](auto &&...as) { func(cs..., std::forward<decltype(as)>(as)...); });
}
template <typename T, typename U, typename R, typename... Ps, typename... Cs>
Event<typename detail::drop_args<sizeof...(Cs), Ps...>::type> EventQueue::event(U *obj, R (T::*method)(Ps...),
                                                                                 Cs... cs)
{
    using Ev = Event<typename detail::drop_args<sizeof...(Cs), Ps...>::type>;
    T *o = obj;
    return Ev(this, [o, method, cs...](auto &&...as) { (o->*method)(cs..., std::forward<decltype(as)>(as)...); });
}
template <typename R, typename... Ps, typename... Cs>
Event<typename detail::drop_args<sizeof...(Cs), Ps...>::type> EventQueue::event(mbed::Callback<R(Ps...)> cb,
                                                                                 Cs... cs)
{
    using Ev = Event<typename detail::drop_args<sizeof...(Cs), Ps...>::type>;
    return Ev(this, [cb, cs...](auto &&...as) { cb(cs..., std::forward<decltype(as)>(as)...); });
}

/* The shared queue (Mbed's mbed_event_queue()): dispatched by every blocking
 * wait of this layer that is not itself running inside one of its events. */
EventQueue *mbed_event_queue();
EventQueue *mbed_highprio_event_queue();

} // namespace events

#endif
