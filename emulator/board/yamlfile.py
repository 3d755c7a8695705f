"""Reading a YAML description (platform, simulation) strictly, and saying where it is wrong.

``read_yaml(path, what)`` returns ``(data, lines)``: the document, and the
line of every key and list item by its path (``("devices", 3, "base")``).
It refuses what PyYAML would take silently: a key given twice in one
mapping, a file that is not UTF-8 text (a binary file), a file larger than
``MAX_YAML_BYTES``, anchors/aliases (no "billion laughs").

``validate(model, data, lines, path)`` runs a pydantic model over the data
and turns its first error into one line, ``FILE:LINE: key.path: what was
expected`` with the value given cut at 80 characters (``YamlError``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

MAX_YAML_BYTES = 1024 * 1024
MAX_SHOWN = 80
_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")

Key = tuple[Any, ...]
M = TypeVar("M", bound=BaseModel)


class YamlError(ValueError):
    """One line: ``FILE:LINE: key.path: what was expected``."""


def shown(value: Any) -> str:
    """A value as an error message quotes it: at most ``MAX_SHOWN`` characters."""
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def key_path(loc: Key) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "top level"


class _NoDuplicateKeys(yaml.constructor.SafeConstructor):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a plain value", key_node.start_mark) from None
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {shown(key)} given twice (first on line {seen[key]})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


class _StrictLoader(_NoDuplicateKeys, yaml.SafeLoader):
    """PyYAML's own parser: its error messages are the ones a user is shown."""


# libyaml's parser, ten times faster, for a file that parses: any error is reported by parsing the
# file again with ``_StrictLoader`` (the same document either way: the constructor and resolver
# are PyYAML's in both).
_FastLoader = type("_FastLoader", (_NoDuplicateKeys, yaml.CSafeLoader), {}) \
    if getattr(yaml, "__with_libyaml__", False) else None


class _Duplicate(Exception):
    def __init__(self, at: Key, line: int, first: int) -> None:
        super().__init__(at)
        self.at, self.line, self.first = at, line, first


def _lines(node: yaml.Node, at: Key, out: dict[Key, int]) -> None:
    out[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else None
            if key is not None:
                if (*at, key) in out:
                    raise _Duplicate((*at, key), k.start_mark.line + 1, out[(*at, key)])
                out[(*at, key)] = k.start_mark.line + 1
                _lines(v, (*at, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*at, i), out)


def read_yaml(path: Path, what: str) -> tuple[Any, dict[Key, int]]:
    """The document of ``path`` and the line of each key; ``YamlError`` for anything but plain YAML."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_YAML_BYTES + 1)
    except OSError as e:
        raise YamlError(f"{path}: cannot read ({e.strerror or e})") from None
    if len(raw) > MAX_YAML_BYTES:
        raise YamlError(f"{path}: larger than {MAX_YAML_BYTES // 1024} KiB: not a {what} file")
    if b"\0" in raw:
        raise YamlError(f"{path}: a binary file, not a {what} file (YAML text)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise YamlError(f"{path}:{line}: not UTF-8 text: not a {what} file") from None
    if _FastLoader is not None:
        try:
            return _parse(_FastLoader, text, path, what)
        except YamlError:
            pass
    return _parse(_StrictLoader, text, path, what)


def _parse(loader_class: type, text: str, path: Path, what: str) -> tuple[Any, dict[Key, int]]:
    try:
        loader = loader_class(text)
    except yaml.YAMLError as e:  # a character YAML does not allow (the reader checks them first)
        raise YamlError(f"{path}: not valid YAML ({getattr(e, 'reason', type(e).__name__)})") from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise YamlError(f"{path}:1: top level: expected a {what} (a mapping), the file is empty")
        if ("&" in text or "*" in text) and _has_alias_anchor(text):
            raise YamlError(f"{path}: anchors and aliases (&, *) are not allowed in a {what} file")
        lines: dict[Key, int] = {}
        _lines(node, (), lines)
        data = loader.construct_document(node)
    except _Duplicate as d:
        raise YamlError(f"{path}:{d.line}: {key_path(d.at)}: given twice (first on line {d.first})") from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f"{mark.line + 1}" if mark else "1"
        raise YamlError(f"{path}:{line}: not valid YAML ({e.problem or e.context})") from None
    except yaml.YAMLError as e:
        raise YamlError(f"{path}: not valid YAML ({type(e).__name__})") from None
    except RecursionError:
        raise YamlError(f"{path}: nested too deeply for a {what} file") from None
    finally:
        loader.dispose()
    return data, lines


def _has_alias_anchor(text: str) -> bool:
    """Aliases make a small file expand without bound; a platform file has no use for them."""
    return any(isinstance(t, yaml.AliasToken | yaml.AnchorToken) for t in yaml.scan(text))


def line_of(lines: dict[Key, int], loc: Key) -> int:
    """The line of ``loc``, or of the nearest enclosing key that has one."""
    while loc and loc not in lines:
        loc = loc[:-1]
    return lines.get(loc, 1)


_PHRASES = {
    "bool_type": "expected true or false", "int_type": "expected an integer",
    "string_type": "expected a string",
    "float_type": "expected a number", "finite_number": "expected a finite number",
    "dict_type": "expected a mapping", "model_type": "expected a mapping", "model_attributes_type":
    "expected a mapping", "list_type": "expected a list", "string_too_short": "expected a non-empty string",
}


def _phrase(e: Any) -> str:
    kind, ctx = e["type"], e.get("ctx") or {}
    if kind in _PHRASES:
        return _PHRASES[kind]
    for key, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        if key in ctx and kind.startswith(("greater", "less")):
            limit = ctx[key]
            return f"expected a value {word} {limit:#x}" if isinstance(limit, int) and limit >= 0x10000 \
                else f"expected a value {word} {limit}"
    if kind == "string_pattern_mismatch":
        return f"expected text matching {ctx.get('pattern')}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected')}"
    if kind in ("too_short", "too_long"):
        return f"expected {'at least' if kind == 'too_short' else 'at most'} " \
               f"{ctx.get('min_length', ctx.get('max_length'))} items"
    if kind == "string_too_long":
        return f"expected at most {ctx.get('max_length')} characters"
    msg = str(e.get("msg", "invalid"))
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _data_loc(loc: Key, lines: dict[Key, int], keep_last: bool) -> Key:
    """``loc`` without pydantic's union tags (``constrained-int``, ``literal['nmi']``)."""
    kept: Key = ()
    for i, part in enumerate(loc):
        if (*kept, part) in lines or (keep_last and i == len(loc) - 1):
            kept = (*kept, part)
    return kept


def validation_error(path: Path, lines: dict[Key, int], error: ValidationError) -> YamlError:
    """The first of pydantic's errors as one line (alternatives of a union joined with 'or')."""
    errors = error.errors(include_url=False)
    e = errors[0]
    if e["type"] == "missing":
        loc = _data_loc(e["loc"], lines, keep_last=True)
        return YamlError(f"{path}:{line_of(lines, loc)}: {key_path(loc[:-1])}: "
                         f"missing required key '{loc[-1]}'")
    if e["type"] == "extra_forbidden":
        loc = _data_loc(e["loc"], lines, keep_last=True)
        shown_loc = loc if _KEY_RE.fullmatch(str(loc[-1])) else (*loc[:-1], "?")  # maybe a secret's line
        return YamlError(f"{path}:{line_of(lines, loc)}: {key_path(shown_loc)}: unknown key")
    loc = _data_loc(e["loc"], lines, keep_last=False)
    same = [x for x in errors
            if _data_loc(x["loc"], lines, keep_last=False) == loc and x["type"] != "missing"]
    phrases = list(dict.fromkeys(_phrase(x) for x in same))
    what = phrases[0] + "".join(" or " + p.removeprefix("expected ") for p in phrases[1:])
    got = e.get("input")
    quiet = not loc or isinstance(got, dict | list) or e["type"].startswith(("value_error", "assertion"))
    value = "" if quiet else f", got {shown(got)}"  # (the top level is the whole file: never quoted)
    return YamlError(f"{path}:{line_of(lines, loc)}: {key_path(loc)}: {what[:200]}{value}")


def validate(model: type[M], data: Any, lines: dict[Key, int], path: Path, context: Any = None) -> M:
    try:
        return model.model_validate(data, strict=True, context=context)
    except ValidationError as e:
        raise validation_error(path, lines, e) from None
