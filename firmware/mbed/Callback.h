/* mbed::Callback (Mbed OS 6 platform/Callback.h): a copyable function object
 * holding a function pointer, a functor/lambda or an object+member function in
 * a small fixed buffer (no heap). Functors larger than the buffer do not
 * compile (static_assert). */
#ifndef MBED_CALLBACK_H
#define MBED_CALLBACK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <new>
#include <type_traits>
#include <utility>

#ifndef MBED_CALLBACK_STORAGE_WORDS
#define MBED_CALLBACK_STORAGE_WORDS 4 /* 16 bytes: member pointer + object, or a lambda with 4 captures */
#endif

namespace mbed {

template <typename Signature>
class Callback;

namespace detail {
struct CallbackStorage {
    alignas(8) unsigned char bytes[MBED_CALLBACK_STORAGE_WORDS * sizeof(void *)];
};
} // namespace detail

template <typename R, typename... ArgTs>
class Callback<R(ArgTs...)> {
public:
    Callback() noexcept : _ops(nullptr) {}
    Callback(std::nullptr_t) noexcept : _ops(nullptr) {}

    Callback(R (*func)(ArgTs...)) : _ops(nullptr)
    {
        if (func) {
            generate(FuncPtr{func});
        }
    }

    template <typename T, typename U>
    Callback(U *obj, R (T::*method)(ArgTs...)) : _ops(nullptr)
    {
        generate(Method<T, R (T::*)(ArgTs...)>{static_cast<T *>(obj), method});
    }
    template <typename T, typename U>
    Callback(const U *obj, R (T::*method)(ArgTs...) const) : _ops(nullptr)
    {
        generate(Method<const T, R (T::*)(ArgTs...) const>{static_cast<const T *>(obj), method});
    }
    /* Mbed 5 order: method first. */
    template <typename T, typename U>
    Callback(R (T::*method)(ArgTs...), U *obj) : Callback(obj, method) {}

    /* Function with a bound first argument: Callback(func, arg). */
    template <typename T, typename U,
              typename = std::enable_if_t<std::is_convertible<U *, T *>::value>>
    Callback(R (*func)(T *, ArgTs...), U *arg) : _ops(nullptr)
    {
        generate(BoundArg<T *>{func, arg});
    }

    /* Any functor or lambda callable with ArgTs... */
    template <typename F,
              typename = std::enable_if_t<!std::is_same<std::decay_t<F>, Callback>::value &&
                                          !std::is_pointer<std::decay_t<F>>::value &&
                                          !std::is_same<std::decay_t<F>, std::nullptr_t>::value &&
                                          std::is_invocable_r<R, std::decay_t<F> &, ArgTs...>::value>>
    Callback(F f) : _ops(nullptr)
    {
        generate(std::move(f));
    }

    Callback(const Callback &other) : _ops(other._ops)
    {
        if (_ops) {
            _ops->copy(_storage, other._storage);
        }
    }
    Callback(Callback &&other) noexcept : Callback(static_cast<const Callback &>(other)) {}

    ~Callback()
    {
        if (_ops) {
            _ops->destroy(_storage);
        }
    }

    Callback &operator=(const Callback &that)
    {
        if (this != &that) {
            this->~Callback();
            new (this) Callback(that);
        }
        return *this;
    }
    Callback &operator=(Callback &&that) noexcept { return *this = static_cast<const Callback &>(that); }
    Callback &operator=(std::nullptr_t) noexcept
    {
        this->~Callback();
        _ops = nullptr;
        return *this;
    }

    R call(ArgTs... args) const { return _ops->call(_storage, std::forward<ArgTs>(args)...); }
    R operator()(ArgTs... args) const { return call(std::forward<ArgTs>(args)...); }
    explicit operator bool() const noexcept { return _ops != nullptr; }

    friend bool operator==(const Callback &f, std::nullptr_t) noexcept { return !f; }
    friend bool operator!=(const Callback &f, std::nullptr_t) noexcept { return bool(f); }

    /* Mbed's static thunk: calls a Callback through a void pointer. */
    static R thunk(void *func, ArgTs... args) { return static_cast<Callback *>(func)->call(args...); }

private:
    struct Ops {
        R (*call)(const detail::CallbackStorage &, ArgTs...);
        void (*copy)(detail::CallbackStorage &, const detail::CallbackStorage &);
        void (*destroy)(detail::CallbackStorage &);
    };

    struct FuncPtr {
        R (*func)(ArgTs...);
        R operator()(ArgTs... args) const { return func(std::forward<ArgTs>(args)...); }
    };
    template <typename T, typename M>
    struct Method {
        T *obj;
        M method;
        R operator()(ArgTs... args) const { return (obj->*method)(std::forward<ArgTs>(args)...); }
    };
    template <typename P>
    struct BoundArg {
        R (*func)(P, ArgTs...);
        P arg;
        R operator()(ArgTs... args) const { return func(arg, std::forward<ArgTs>(args)...); }
    };

    template <typename F>
    void generate(F f)
    {
        static_assert(sizeof(F) <= sizeof(detail::CallbackStorage),
                      "functor too large for mbed::Callback (raise MBED_CALLBACK_STORAGE_WORDS)");
        static_assert(alignof(F) <= alignof(detail::CallbackStorage), "functor over-aligned");
        static const Ops ops = {
            [](const detail::CallbackStorage &s, ArgTs... args) -> R {
                F &fn = *const_cast<F *>(reinterpret_cast<const F *>(s.bytes));
                return static_cast<R>(fn(std::forward<ArgTs>(args)...));
            },
            [](detail::CallbackStorage &d, const detail::CallbackStorage &s) {
                new (d.bytes) F(*reinterpret_cast<const F *>(s.bytes));
            },
            [](detail::CallbackStorage &s) { reinterpret_cast<F *>(s.bytes)->~F(); },
        };
        new (_storage.bytes) F(std::move(f));
        _ops = &ops;
    }

    mutable detail::CallbackStorage _storage;
    const Ops *_ops;
};

template <typename R, typename... ArgTs>
Callback<R(ArgTs...)> callback(R (*func)(ArgTs...) = nullptr)
{
    return Callback<R(ArgTs...)>(func);
}
template <typename R, typename... ArgTs>
Callback<R(ArgTs...)> callback(const Callback<R(ArgTs...)> &func)
{
    return func;
}
template <typename T, typename U, typename R, typename... ArgTs>
Callback<R(ArgTs...)> callback(U *obj, R (T::*method)(ArgTs...))
{
    return Callback<R(ArgTs...)>(obj, method);
}
template <typename T, typename U, typename R, typename... ArgTs>
Callback<R(ArgTs...)> callback(const U *obj, R (T::*method)(ArgTs...) const)
{
    return Callback<R(ArgTs...)>(obj, method);
}
template <typename T, typename U, typename R, typename... ArgTs>
Callback<R(ArgTs...)> callback(R (*func)(T *, ArgTs...), U *arg)
{
    return Callback<R(ArgTs...)>(func, arg);
}

namespace detail {
template <typename F>
struct lambda_sig;
template <typename C, typename R, typename... A>
struct lambda_sig<R (C::*)(A...) const> {
    using type = R(A...);
};
template <typename C, typename R, typename... A>
struct lambda_sig<R (C::*)(A...)> {
    using type = R(A...);
};
} // namespace detail

/* callback(lambda): deduces the signature from operator(). */
template <typename F, typename = std::enable_if_t<std::is_class<std::decay_t<F>>::value>>
Callback<typename detail::lambda_sig<decltype(&std::decay_t<F>::operator())>::type> callback(F &&f)
{
    return Callback<typename detail::lambda_sig<decltype(&std::decay_t<F>::operator())>::type>(
        std::forward<F>(f));
}

} // namespace mbed

#endif
