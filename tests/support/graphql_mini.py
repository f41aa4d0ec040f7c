"""A small GraphQL engine for the GitHub stand-in: parse a query, resolve it, price it.

It understands what GitHub clients send: an optional ``query Name($v: T)`` header, fields
with aliases and arguments (literals, variables, lists, input objects, enums), inline
fragments (``... on CheckRun``) and ``__typename``. Resolution walks the selection against
resolver functions, so an answer holds exactly the fields asked for: a client that forgets
a field does not get it. Connections follow GitHub's rules (``first``/``last`` required when
nodes are asked for, 1 to 100) and the query's cost follows GitHub's documented formula: each
connection needs one request per item of its enclosing connections; the sum over all
connections, divided by 100 and rounded, with a minimum of 1.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(
    r"""(?P<skip>[\s,]+|\#[^\n]*)
      | (?P<spread>\.\.\.)
      | (?P<punct>[{}()\[\]:!$=@])
      | (?P<string>"(?:\\.|[^"\\])*")
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<name>[_A-Za-z][_0-9A-Za-z]*)""",
    re.VERBOSE,
)


class GraphQLError(Exception):
    """The whole query is refused (syntax, unknown field, bad pagination)."""


@dataclass(frozen=True)
class Var:
    """A ``$name`` in an argument, filled from the request's variables."""

    name: str


@dataclass
class Field:
    """One field of a selection set."""

    name: str
    alias: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    selections: list[Field | Fragment] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The name it has in the answer."""
        return self.alias or self.name


@dataclass
class Fragment:
    """``... on Type { ... }``."""

    on: str
    selections: list[Field | Fragment]


Selection = Field | Fragment


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None:
                raise GraphQLError(f"Parse error on {text[pos : pos + 10]!r}")
            pos = match.end()
            kind = match.lastgroup or ""
            if kind != "skip":
                self.tokens.append((kind, match.group()))
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (value is not None and token[1] != value):
            raise GraphQLError(f"Parse error: expected {value or 'more'}, got {token[1]!r}")
        self.pos += 1
        return token

    def document(self) -> list[Selection]:
        kind, value = self.peek()
        if kind == "name" and value in ("mutation", "subscription"):
            raise GraphQLError(f"the stand-in serves queries only, not {value}")
        if kind == "name" and value == "query":
            self.take()
            if self.peek()[0] == "name":
                self.take()
            if self.peek()[1] == "(":
                depth = 0
                while True:  # variable definitions: types are not checked
                    _, tok = self.take()
                    depth += {"(": 1, ")": -1}.get(tok, 0)
                    if depth == 0:
                        break
        selections = self.selection_set()
        if self.peek()[0] != "end":
            raise GraphQLError(f"Parse error: unexpected {self.peek()[1]!r}")
        return selections

    def selection_set(self) -> list[Selection]:
        self.take("{")
        out: list[Selection] = []
        while self.peek()[1] != "}":
            if self.peek()[0] == "spread":
                self.take()
                self.take("on")
                out.append(Fragment(self.take()[1], self.selection_set()))
                continue
            name = self.take()[1]
            alias = None
            if self.peek()[1] == ":":
                self.take()
                alias, name = name, self.take()[1]
            args: dict[str, Any] = {}
            if self.peek()[1] == "(":
                self.take()
                while self.peek()[1] != ")":
                    arg = self.take()[1]
                    self.take(":")
                    args[arg] = self.value()
                self.take(")")
            subs = self.selection_set() if self.peek()[1] == "{" else []
            out.append(Field(name, alias, args, subs))
        self.take("}")
        return out

    def value(self) -> Any:
        kind, tok = self.take()
        if tok == "$":
            return Var(self.take()[1])
        if kind == "string":
            return json.loads(tok)
        if kind == "number":
            return float(tok) if any(c in tok for c in ".eE") else int(tok)
        if tok == "[":
            items = []
            while self.peek()[1] != "]":
                items.append(self.value())
            self.take("]")
            return items
        if tok == "{":
            obj = {}
            while self.peek()[1] != "}":
                key = self.take()[1]
                self.take(":")
                obj[key] = self.value()
            self.take("}")
            return obj
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(tok, tok)
        raise GraphQLError(f"Parse error: unexpected {tok!r}")


def parse(query: str) -> list[Selection]:
    """The top-level selection set of ``query``."""
    return _Parser(query).document()


def _fields(selections: list[Selection], typename: str | None = None) -> list[Field]:
    """The fields that apply to ``typename`` (every fragment's when None)."""
    out: list[Field] = []
    for sel in selections:
        if isinstance(sel, Fragment):
            if typename is None or sel.on == typename:
                out.extend(_fields(sel.selections, typename))
        else:
            out.append(sel)
    return out


def _limit(args: dict[str, Any]) -> int | None:
    value = args.get("first", args.get("last"))
    return value if isinstance(value, int) else None


def cost(selections: list[Selection]) -> int:
    """GitHub's rate-limit cost of a query (points), from its selection alone."""

    def requests(sels: list[Selection], multiplier: int) -> int:
        total = 0
        for sel in _fields(sels):
            limit = _limit(sel.args)
            if limit is not None:
                total += multiplier
                total += requests(sel.selections, multiplier * limit)
            else:
                total += requests(sel.selections, multiplier)
        return total

    return max(1, int(requests(selections, 1) / 100 + 0.5))


@dataclass(frozen=True)
class Obj:
    """A resolved object: its GraphQL type name and the Python value behind it."""

    type: str
    value: Any


@dataclass(frozen=True)
class Page:
    """What a connection resolver returns: all items (and an optional total)."""

    items: list[Any]
    total: int | None = None


class FieldError(Exception):
    """One field could not be resolved: null in the answer plus an entry in ``errors``."""

    def __init__(self, message: str, kind: str = "NOT_FOUND") -> None:
        """``kind`` is GitHub's error ``type``."""
        super().__init__(message)
        self.kind = kind


Resolver = Callable[[Any, dict[str, Any]], Any]


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def _index(cursor: Any) -> int:
    try:
        return int(base64.b64decode(str(cursor)).decode().split(":", 1)[1])
    except (ValueError, IndexError) as exc:
        raise GraphQLError(f"invalid cursor {cursor!r}") from exc


class Executor:
    """Resolves one parsed query against ``resolvers[(type, field)]``."""

    def __init__(
        self,
        resolvers: dict[tuple[str, str], Resolver],
        connections: set[tuple[str, str]],
        variables: dict[str, Any] | None = None,
    ) -> None:
        """``connections`` lists the (type, field) pairs that paginate."""
        self.resolvers = resolvers
        self.connections = connections
        self.variables = variables or {}
        self.errors: list[dict[str, Any]] = []

    def run(self, selections: list[Selection], root: Any = None) -> dict[str, Any]:
        """The ``data`` object of the answer; ``root`` is the value behind ``Query``."""
        return self._object("Query", root, selections, [])

    def _object(
        self, typename: str, value: Any, selections: list[Selection], path: list[Any]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for sel in _fields(selections, typename):
            try:
                out[sel.key] = self._field(typename, value, sel, [*path, sel.key])
            except FieldError as exc:
                self.errors.append(
                    {"type": exc.kind, "path": [*path, sel.key], "message": str(exc)}
                )
                out[sel.key] = None
        return out

    def _args(self, args: dict[str, Any]) -> dict[str, Any]:
        def fill(value: Any) -> Any:
            if isinstance(value, Var):
                return self.variables.get(value.name)
            if isinstance(value, list):
                return [fill(v) for v in value]
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            return value

        return {k: fill(v) for k, v in args.items()}

    def _field(self, typename: str, value: Any, sel: Field, path: list[Any]) -> Any:
        if sel.name == "__typename":
            return typename
        resolver = self.resolvers.get((typename, sel.name))
        if resolver is None:
            raise GraphQLError(f"Field '{sel.name}' doesn't exist on type '{typename}'")
        args = self._args(sel.args)
        result = resolver(value, args)
        if (typename, sel.name) in self.connections:
            return self._connection(sel, args, result, path)
        return self._complete(result, sel, path)

    def _complete(self, result: Any, sel: Field, path: list[Any]) -> Any:
        if result is None:
            return None
        if isinstance(result, Obj):
            if not sel.selections:
                raise GraphQLError(f"Field must have selections (field '{sel.name}')")
            return self._object(result.type, result.value, sel.selections, path)
        if isinstance(result, list):
            return [self._complete(r, sel, [*path, i]) for i, r in enumerate(result)]
        if sel.selections:
            raise GraphQLError(f"Selections can't be made on scalars (field '{sel.name}')")
        return result

    def _connection(self, sel: Field, args: dict[str, Any], page: Page, path: list[Any]) -> Any:
        wants_items = any(f.name in ("nodes", "edges") for f in _fields(sel.selections))
        first, last = args.get("first"), args.get("last")
        if wants_items and first is None and last is None:
            raise GraphQLError(
                f"You must provide a `first` or `last` value to properly paginate the "
                f"`{sel.name}` connection."
            )
        for name, value in (("first", first), ("last", last)):
            if value is not None and not (isinstance(value, int) and 1 <= value <= 100):
                raise GraphQLError(
                    f"Requesting {value} records on the `{sel.name}` connection exceeds the "
                    f"`{name}` limit of 100 records."
                )
        items = page.items
        start = _index(args["after"]) + 1 if args.get("after") else 0
        if isinstance(first, int):
            end = min(len(items), start + first)
        else:
            end = len(items)
            if isinstance(last, int):
                start = max(start, end - last)
        window = list(range(start, end))
        out: dict[str, Any] = {}
        for sub in _fields(sel.selections):
            if sub.name == "__typename":
                out[sub.key] = "Connection"
            elif sub.name == "totalCount":
                out[sub.key] = page.total if page.total is not None else len(items)
            elif sub.name == "nodes":
                out[sub.key] = [
                    self._complete(items[i], sub, [*path, sub.key, n]) for n, i in enumerate(window)
                ]
            elif sub.name == "edges":
                edges = []
                for n, i in enumerate(window):
                    edge: dict[str, Any] = {}
                    for part in _fields(sub.selections):
                        if part.name == "cursor":
                            edge[part.key] = _cursor(i)
                        elif part.name == "node":
                            edge[part.key] = self._complete(
                                items[i], part, [*path, sub.key, n, part.key]
                            )
                    edges.append(edge)
                out[sub.key] = edges
            elif sub.name == "pageInfo":
                info = {
                    "hasNextPage": end < len(items),
                    "hasPreviousPage": start > 0,
                    "endCursor": _cursor(end - 1) if window else None,
                    "startCursor": _cursor(start) if window else None,
                }
                out[sub.key] = {f.key: info.get(f.name) for f in _fields(sub.selections)}
            else:
                raise GraphQLError(f"Field '{sub.name}' doesn't exist on a connection")
        return out
