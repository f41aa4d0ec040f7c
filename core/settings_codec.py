"""A validated config as tagged JSON data and back, with no value of the environment in it.

What :mod:`core.config_snapshot` keeps: each pydantic model becomes ``{"$model": name,
"fields": {...}}`` (its fields, whatever they are, so a section added to the models needs
no edit here), a ``Path``, a tuple and a mapping get a tag of their own, and every string
has the values of the environment variables the load read cut out and named
(:class:`EnvCutter`). Read back, each model is a :class:`SettingsRecord` with the same
attributes, and each node is checked for its shape: nothing in the data is run or imported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.errors import AoError

MAX_DEPTH = 100
"""Deeper than any config can nest (the loader refuses past 64)."""
_PATH = type(Path())
"""The concrete path class a model's ``Path`` field holds on this system."""


class SettingsCodecError(AoError):
    """A value that cannot be written as settings data, or data that is not settings (the
    snapshot is then not kept, or not used: it never reaches the operator)."""


class SettingsRecord:
    """One section of a config rebuilt from a snapshot: its settings, read-only.

    Stands in for the pydantic model of that section: the same attribute names and values,
    equal to another record with the same section and values.
    """

    __slots__ = ("_section", "_values")

    _section: str
    _values: dict[str, Any]

    def __init__(self, section: str, values: dict[str, Any]) -> None:
        """A record of section ``section`` (the model's class name) holding ``values``."""
        object.__setattr__(self, "_section", section)
        object.__setattr__(self, "_values", values)

    def __getattr__(self, name: str) -> Any:
        """The setting ``name``."""
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(
                f"{self._section} (rebuilt from a config snapshot) has no setting {name!r}"
            ) from None

    def __setattr__(self, name: str, value: object) -> None:
        """Refused: a config is read-only, as its models are frozen."""
        raise AttributeError(f"{self._section} is read-only")

    def __delattr__(self, name: str) -> None:
        """Refused: a config is read-only, as its models are frozen."""
        raise AttributeError(f"{self._section} is read-only")

    def __eq__(self, other: object) -> bool:
        """The same section with the same settings."""
        if not isinstance(other, SettingsRecord):
            return NotImplemented
        return (self._section, self._values) == (other._section, other._values)

    def __hash__(self) -> int:
        """As a frozen model's: by its values (which must be hashable for it to work)."""
        return hash((self._section, tuple(self._values.items())))

    def __repr__(self) -> str:
        """``Section(name=value, ...)``, as a model's repr."""
        inner = ", ".join(f"{name}={value!r}" for name, value in self._values.items())
        return f"{self._section}({inner})"


class EnvCutter:
    """Cuts the values of environment variables out of text, naming them instead."""

    def __init__(self, values: Mapping[str, str]) -> None:
        """Cut each of ``values`` (variable name to its non-empty value)."""
        self._names = {value: name for name, value in sorted(values.items())}
        # Longest first: where two values start at one place, the longer one is cut.
        ordered = sorted(self._names, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def cut(self, text: str) -> Any:
        """``text`` itself, or ``{"$text": [piece, {"$env": NAME}, ...]}`` when it holds one."""
        if self._pattern is None:
            return text
        pieces: list[Any] = []
        start = 0
        for match in self._pattern.finditer(text):
            if match.start() > start:
                pieces.append(text[start : match.start()])
            pieces.append({"$env": self._names[match.group()]})
            start = match.end()
        if not pieces:
            return text
        if start < len(text):
            pieces.append(text[start:])
        return {"$text": pieces}


def encode_settings(value: Any, cutter: EnvCutter, depth: int) -> Any:
    """``value`` as tagged JSON data; :class:`SettingsCodecError` for a type it cannot hold."""
    from pydantic import BaseModel

    if depth > MAX_DEPTH:
        raise SettingsCodecError("nested too deep")
    kind = type(value)
    if value is None or kind in (bool, int):
        return value
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise SettingsCodecError("a float JSON cannot hold")
        return value
    if kind is str:
        return cutter.cut(value)
    if kind is _PATH:
        return {"$path": cutter.cut(str(value))}
    if kind in (list, tuple):
        items = [encode_settings(item, cutter, depth + 1) for item in value]
        return items if kind is list else {"$tuple": items}
    if kind is dict:
        return {
            "$dict": [
                [encode_settings(key, cutter, depth + 1), encode_settings(item, cutter, depth + 1)]
                for key, item in value.items()
            ]
        }
    if isinstance(value, BaseModel):
        fields = {
            name: encode_settings(getattr(value, name), cutter, depth + 1)
            for name in type(value).model_fields
        }
        return {"$model": kind.__name__, "fields": fields}
    raise SettingsCodecError(f"a {kind.__name__} value cannot be kept in a snapshot")


class SettingsDecoder:
    """Turns tagged JSON data back into values, each checked for its shape."""

    def __init__(self, values: Mapping[str, str]) -> None:
        """Put back ``values`` (variable name to value) where the data names them."""
        self._values = values

    def text(self, node: Any, depth: int) -> str:
        """A string, with the values of the variables it names put back."""
        if isinstance(node, str):
            return node
        if not (isinstance(node, dict) and set(node) == {"$text"}):
            raise SettingsCodecError("damaged: expected text")
        pieces = node["$text"]
        if not isinstance(pieces, list):
            raise SettingsCodecError("damaged: text")
        out = []
        for piece in pieces:
            if isinstance(piece, str):
                out.append(piece)
            elif isinstance(piece, dict) and set(piece) == {"$env"}:
                name = piece["$env"]
                value = self._values.get(name) if isinstance(name, str) else None
                if value is None:
                    raise SettingsCodecError("damaged: names a variable the load did not read")
                out.append(value)
            else:
                raise SettingsCodecError("damaged: text piece")
        return "".join(out)

    def value(self, node: Any, depth: int) -> Any:
        """The value ``node`` encodes."""
        if depth > MAX_DEPTH:
            raise SettingsCodecError("damaged: nested too deep")
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is list:
            return [self.value(item, depth + 1) for item in node]
        if type(node) is not dict or len(node) not in (1, 2):
            raise SettingsCodecError("damaged: unknown value")
        if set(node) == {"$text"}:
            return self.text(node, depth)
        if set(node) == {"$path"}:
            return Path(self.text(node["$path"], depth))
        if set(node) == {"$tuple"} and type(node["$tuple"]) is list:
            return tuple(self.value(item, depth + 1) for item in node["$tuple"])
        if set(node) == {"$dict"} and type(node["$dict"]) is list:
            return dict(self._pair(pair, depth + 1) for pair in node["$dict"])
        if set(node) == {"$model", "fields"}:
            return self._record(node["$model"], node["fields"], depth + 1)
        raise SettingsCodecError("damaged: unknown tag")

    def _pair(self, pair: Any, depth: int) -> tuple[Any, Any]:
        if not (type(pair) is list and len(pair) == 2):
            raise SettingsCodecError("damaged: mapping entry")
        key = self.value(pair[0], depth)
        try:
            hash(key)
        except TypeError:
            raise SettingsCodecError("damaged: mapping key") from None
        return key, self.value(pair[1], depth)

    def _record(self, section: Any, fields: Any, depth: int) -> SettingsRecord:
        if not (isinstance(section, str) and section.isidentifier()):
            raise SettingsCodecError("damaged: section name")
        if type(fields) is not dict:
            raise SettingsCodecError("damaged: section fields")
        for name in fields:
            # Field names only: a record must not shadow its own machinery.
            if not name.isidentifier() or name.startswith("_"):
                raise SettingsCodecError(f"damaged: field name {name!r}")
        return SettingsRecord(
            section, {name: self.value(item, depth) for name, item in fields.items()}
        )
