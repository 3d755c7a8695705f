"""Arguments of the Robot keywords: Renode's names, checked, converted.

``@keyword_args`` gives a keyword a ``**unknown`` catch-all, so Robot passes
``name=value`` with a name the keyword does not have as a named argument
(instead of as text for the next positional one), and fails it with one line
naming the argument and the ones the keyword accepts. Values come as Robot
gives them (text, or numbers from ``${1}``): ``to_bool``, ``seconds_ns`` and
``optional_int`` read them as Renode does (``true``/``false``; timeouts in
seconds, ``0.5``, or with a unit, ``500ms``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

_FALSE = ("", "false", "no", "0", "off", "none")
_TRUE = ("true", "yes", "1", "on")


def keyword_args(fn: F) -> F:
    """Fail unknown named arguments with a message naming them and the accepted ones."""
    sig = inspect.signature(fn)
    params = [p for p in sig.parameters.values() if p.name != "self"]
    accepted = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    keyword = " ".join(w.capitalize() for w in fn.__name__.split("_"))

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        unknown = [k for k in kwargs if k not in accepted]
        if unknown:
            names = ", ".join(f"'{k}'" for k in unknown)
            raise AssertionError(f"{keyword}: unknown argument {names} "
                                 f"(accepted: {', '.join(accepted) or 'none'})")
        return fn(self, *args, **kwargs)

    catch_all = inspect.Parameter("unknown", inspect.Parameter.VAR_KEYWORD)
    wrapper.__signature__ = sig.replace(parameters=[*sig.parameters.values(), catch_all])  # type: ignore[attr-defined]
    del wrapper.__wrapped__  # type: ignore[attr-defined]  # Robot must see the catch-all signature
    return wrapper  # type: ignore[return-value]


def to_bool(value: Any, name: str = "value") -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int | float):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise AssertionError(f"{name}: '{value}' is not true or false")


def opt_bool(value: Any, default: bool, name: str = "value") -> bool:
    return default if value is None or value == "" else to_bool(value, name)


def seconds_ns(value: Any, name: str = "timeout") -> int:
    """Renode's timeouts: seconds (``8``, ``0.5``); vboard's too: ``500ms``, ``2s``, ``10us``."""
    from vboard.client import duration_ns

    try:
        ns = duration_ns(value if isinstance(value, int | float) else str(value).strip())
    except ValueError:
        raise AssertionError(f"{name}: '{value}' is not a duration (seconds, or 500ms, 2s, 10us)") from None
    if ns < 0:
        raise AssertionError(f"{name}: '{value}' is negative")
    return ns


def optional_int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(str(value).strip(), 0) if not isinstance(value, int) else value
    except ValueError:
        raise AssertionError(f"{name}: '{value}' is not a number") from None


def pick_tester(testers: dict[int, T], tester_id: Any, kind: str, more_than_one: str) -> T:
    """The tester ``tester_id`` names, or the only one when it names none."""
    tid = optional_int(tester_id, "testerId")
    if tid is None:
        if len(testers) != 1:
            raise AssertionError(f"There are no {kind} testers available." if not testers else more_than_one)
        return next(iter(testers.values()))
    if tid not in testers:
        raise AssertionError(f"{kind[0].upper()}{kind[1:]} tester for given ID={tid} was not found.")
    return testers[tid]


def hex_bytes(text: str, name: str = "bytes") -> bytes:
    """``41 42 0d``, ``41420d``, ``0x41 0x42`` -> bytes."""
    cleaned = "".join(t[2:] if t.lower().startswith("0x") else t for t in str(text).replace(",", " ").split())
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise AssertionError(f"{name}: '{text}' is not hex bytes (e.g. 41 42 0d)") from None
