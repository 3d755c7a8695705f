"""Requests the control plane cannot serve: ``RuntimeFailure`` carries the gRPC status to answer with."""

from __future__ import annotations


class RuntimeFailure(Exception):
    """A request that cannot be served; ``code`` is the gRPC status name to answer with."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def cut(value: object, limit: int = 80) -> str:
    """A client's value as an error message quotes it: at most ``limit`` characters."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def invalid(message: str) -> RuntimeFailure:
    return RuntimeFailure("INVALID_ARGUMENT", message)


def precondition(message: str) -> RuntimeFailure:
    return RuntimeFailure("FAILED_PRECONDITION", message)


def not_found(message: str) -> RuntimeFailure:
    return RuntimeFailure("NOT_FOUND", message)
