"""[4] transform: the JSONPath subset that Batch Transform's InputFilter and OutputFilter accept."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# `[start:end]`: the developer guide says the end index is *included* ($[1:4] = 2nd to 5th column).
# That is not Python's rule and it is unconfirmed on AWS; the emulator follows the guide.
Slice = tuple[int | None, int | None]


class FilterSyntaxError(ValueError):
    """A filter outside the supported subset (`$`, `.name`, `*`, `['a','b']`, `[n,m]`, `[start:end]`)."""


class DataProcessingError(ValueError):
    """A record that a filter cannot be applied to; SageMaker fails the file that holds it."""


@dataclass(frozen=True)
class Names:
    keys: tuple[str, ...]
    single: bool  # `.name` or `['name']` yields the value; `['a','b']` yields an object of those keys


@dataclass(frozen=True)
class Indexes:
    items: tuple[int | Slice, ...]


@dataclass(frozen=True)
class Wildcard:
    pass


Step = Names | Indexes | Wildcard
JsonPath = tuple[Step, ...]

_DOT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*|\*)")
_QUOTED = re.compile(r"""\s*(?:'([^']*)'|"([^"]*)")\s*""")
_INDEX = re.compile(r"\s*(-?\d+)?\s*(?:(:)\s*(-?\d+)?\s*)?")


def parse_path(text: str) -> JsonPath:
    """Parse a filter; `$` alone is the empty path (the whole record)."""
    if not text.startswith("$"):
        raise FilterSyntaxError(f"{text!r} must start with '$'")
    steps: list[Step] = []
    pos = 1
    while pos < len(text):
        dot = _DOT.match(text, pos)
        if dot:
            name = dot.group(1)
            steps.append(Wildcard() if name == "*" else Names((name,), single=True))
            pos = dot.end()
        elif text.startswith("[", pos):
            close = text.find("]", pos)
            if close < 0:
                raise FilterSyntaxError(f"{text!r}: '[' at {pos} is never closed")
            steps.append(_parse_brackets(text, text[pos + 1 : close]))
            pos = close + 1
        else:
            raise FilterSyntaxError(f"{text!r}: unexpected {text[pos:]!r} at {pos}")
    return tuple(steps)


def _parse_brackets(text: str, inner: str) -> Step:
    if inner.strip() == "*":
        return Wildcard()
    parts = inner.split(",")
    if inner.strip()[:1] in ("'", '"'):
        keys = []
        for part in parts:
            match = _QUOTED.fullmatch(part)
            if not match:
                raise FilterSyntaxError(f"{text!r}: [{inner}] mixes names with something else")
            keys.append(match.group(1) if match.group(1) is not None else match.group(2))
        return Names(tuple(keys), single=len(keys) == 1)
    items: list[int | Slice] = []
    for part in parts:
        match = _INDEX.fullmatch(part)
        if not match or (match.group(2) is None and match.group(1) is None):
            raise FilterSyntaxError(f"{text!r}: [{inner}] is not a list of indexes or slices")
        start = int(match.group(1)) if match.group(1) is not None else None
        if match.group(2) is None:
            items.append(start if start is not None else 0)
        else:
            items.append((start, int(match.group(3)) if match.group(3) is not None else None))
    return Indexes(tuple(items))


def _slice(values: list[Any], span: Slice) -> list[Any]:
    start, end = span
    if end is None:
        return values[start:]
    stop = end + 1  # inclusive end, per the developer guide
    return values[start:] if stop == 0 else values[start:stop]


def _index(values: list[Any], index: int) -> Any:
    if not -len(values) <= index < len(values):
        raise DataProcessingError(f"index {index} is outside a record of {len(values)} values")
    return values[index]


def select(value: Any, path: JsonPath) -> Any:
    """Apply a parsed path; steps after a multi-valued step apply to each value it picked."""
    if not path:
        return value
    step, rest = path[0], path[1:]
    if isinstance(step, Names):
        if not isinstance(value, dict):
            raise DataProcessingError(f"cannot take {list(step.keys)} of a {type(value).__name__}")
        if step.single:
            if step.keys[0] not in value:
                raise DataProcessingError(f"record has no key {step.keys[0]!r}")
            return select(value[step.keys[0]], rest)
        # A multi-key filter keeps the keys that exist (the guide's `$['id','SageMakerOutput']`).
        return {key: select(value[key], rest) for key in step.keys if key in value}
    if isinstance(step, Wildcard):
        if isinstance(value, dict):
            return [select(v, rest) for v in value.values()]
        if isinstance(value, list):
            return [select(v, rest) for v in value]
        raise DataProcessingError(f"cannot take * of a {type(value).__name__}")
    if not isinstance(value, list):
        raise DataProcessingError(f"cannot index a {type(value).__name__}")
    if len(step.items) == 1 and isinstance(step.items[0], int):
        return select(_index(value, step.items[0]), rest)
    picked: list[Any] = []
    for item in step.items:
        if isinstance(item, int):
            picked.append(_index(value, item))
        else:
            picked.extend(_slice(value, item))
    return [select(v, rest) for v in picked] if rest else picked


def is_index_only(path: JsonPath) -> bool:
    """CSV rows are arrays of fields, so only one index/slice/wildcard step can apply to them."""
    return not path or (len(path) == 1 and isinstance(path[0], Indexes | Wildcard))
