"""A YAML loader that remembers where every value came from.

PyYAML's compose API gives a node tree with source marks; this module turns that tree into
plain Python values plus a table of 1-based line/column marks keyed by the value's path
(``("projects", "app", "path")``), so config errors can point at the exact key or value.

It also refuses what ``yaml.safe_load`` silently accepts: a key given twice in one mapping
(the last one would win without a word). Scanner and parser errors, tabs used for
indentation included, become :class:`YamlError` with a message that says what to change.

Hostile documents are refused before they cost anything: nesting deeper than
:data:`MAX_DEPTH` (PyYAML's composer recurses once per level and would raise
``RecursionError``), and aliases that expand to more than :data:`MAX_VALUES` values (the
"billion laughs": a few lines that would expand to billions), counted on the node graph
before anything is built. A NUL or other character YAML does not allow is reported with
its position.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.errors import AoError

__all__ = [
    "Mark",
    "MarkedDocument",
    "NodeMarks",
    "YamlError",
    "YamlPath",
    "YamlProblem",
    "load_marked",
]

YamlPath = tuple[str | int, ...]
"""Where a value sits in the document: mapping keys and sequence indexes from the root."""

_MERGE_TAG = "tag:yaml.org,2002:merge"
MAX_VALUES = 100_000
"""Aliases let a tiny file expand into billions of values; no config needs this many."""
_MAX_VALUES = MAX_VALUES
MAX_DEPTH = 64
"""Deepest nesting accepted (aliases included); a config nests five or six levels."""


@dataclass(frozen=True, order=True)
class Mark:
    """A position in the source text, 1-based like an editor shows it."""

    line: int
    column: int


@dataclass(frozen=True)
class NodeMarks:
    """Where one value was written, and how."""

    value: Mark
    """Start of the value itself."""
    key: Mark | None = None
    """Start of the key that holds the value; None for the root and sequence items."""
    source_text: str | None = None
    """The scalar exactly as written when YAML read it as a non-string (``1.10``, ``yes``).

    Config fields that want text use this instead of the number or bool YAML 1.1 made of it.
    """


@dataclass(frozen=True)
class YamlProblem:
    """One thing wrong with the YAML text, located in it."""

    line: int
    column: int
    path: YamlPath
    message: str


class YamlError(AoError):
    """The text is not YAML this loader accepts; ``problems`` says where and why."""

    def __init__(self, problems: list[YamlProblem]) -> None:
        super().__init__("\n".join(f"{p.line}:{p.column}: {p.message}" for p in problems))
        self.problems = problems


@dataclass
class MarkedDocument:
    """Plain Python data (dicts, lists, scalars) plus the marks of every value in it."""

    data: Any
    marks: dict[YamlPath, NodeMarks] = field(default_factory=dict)

    def nearest(self, path: YamlPath) -> tuple[YamlPath, NodeMarks]:
        """The marks of ``path``, or of its nearest ancestor that was written in the file."""
        for end in range(len(path), -1, -1):
            found = self.marks.get(path[:end])
            if found is not None:
                return path[:end], found
        return (), NodeMarks(Mark(1, 1))

    def value_mark(self, path: YamlPath) -> Mark:
        """Where the value at ``path`` starts (or its nearest written ancestor's value)."""
        return self.nearest(path)[1].value

    def key_mark(self, path: YamlPath) -> Mark:
        """Where the key holding ``path`` starts; falls back to the value when there is none."""
        marks = self.nearest(path)[1]
        return marks.key or marks.value


def _mark(node_mark: yaml.Mark) -> Mark:
    return Mark(node_mark.line + 1, node_mark.column + 1)


def _line_at(text: str, index: int) -> str:
    lines = text.splitlines()
    return lines[index] if 0 <= index < len(lines) else ""


def _syntax_problem(text: str, error: yaml.YAMLError) -> YamlProblem:
    """Turn a PyYAML scanner/parser/reader error into one located, one-line problem."""
    if isinstance(error, yaml.reader.ReaderError):
        before = text[: error.position]
        line = before.count("\n") + 1
        column = error.position - (before.rfind("\n") + 1) + 1
        char = error.character
        if isinstance(char, int):  # the reader reports a code point
            shown = f"U+{char:04X}" + (" (NUL)" if char == 0 else "")
        else:
            shown = repr(char)
        return YamlProblem(
            line, column, (), f"invalid YAML: character {shown} is not allowed; remove it"
        )
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        line_text = _line_at(text, mark.line)
        indentation = line_text[: len(line_text) - len(line_text.lstrip(" \t"))]
        if "\t" in indentation:
            # PyYAML reports the tab wherever its scanner tripped; point at the first tab.
            column = indentation.index("\t") + 1
            return YamlProblem(
                mark.line + 1, column, (), "tabs are not allowed for indentation; use spaces"
            )
        if line_text[mark.column : mark.column + 1] == "\t":
            return YamlProblem(
                mark.line + 1,
                mark.column + 1,
                (),
                "a tab is not allowed here; use spaces (tabs are not YAML whitespace)",
            )
        problem = " ".join((error.problem or "syntax error").split())
        context = " ".join((error.context or "").split())
        message = f"invalid YAML: {problem}"
        if context:
            where = ""
            if error.context_mark is not None and error.context_mark.line != mark.line:
                where = f" that started at line {error.context_mark.line + 1}"
            message = f"{message} ({context}{where})"
        return YamlProblem(mark.line + 1, mark.column + 1, (), message)
    return YamlProblem(1, 1, (), f"invalid YAML: {' '.join(str(error).split())}")


def _describe_key(node: Node) -> str:
    if isinstance(node, ScalarNode):
        return repr(node.value)
    return "a mapping" if isinstance(node, MappingNode) else "a list"


class _Builder:
    """Walks a composed node tree once, building values and marks, collecting problems."""

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.marks: dict[YamlPath, NodeMarks] = {}
        self.problems: list[YamlProblem] = []
        self._open: set[int] = set()
        self._built = 0

    def build(self, node: Node, path: YamlPath, key: Mark | None) -> Any:
        """The plain value of ``node``, recording its marks under ``path``."""
        if id(node) in self._open:
            where = _mark(node.start_mark)
            self.problems.append(
                YamlProblem(where.line, where.column, path, "an alias refers to itself")
            )
            return None
        self._built += 1
        if self._built > _MAX_VALUES:
            raise YamlError(
                [YamlProblem(1, 1, (), f"the document expands to more than {_MAX_VALUES} values")]
            )
        self._open.add(id(node))
        try:
            return self._build(node, path, key)
        finally:
            self._open.discard(id(node))

    def _build(self, node: Node, path: YamlPath, key: Mark | None) -> Any:
        if isinstance(node, ScalarNode):
            try:
                value = self.loader.construct_object(node, deep=True)
            except ValueError:
                # Python refuses an int of more than 4,300 digits (a DoS guard); no setting
                # takes one, so it is refused here rather than as a traceback.
                where = _mark(node.start_mark)
                self.problems.append(
                    YamlProblem(where.line, where.column, path, "this number is far too long")
                )
                return None
            source = None
            if value is not None and not isinstance(value, str):
                source = node.value
            self.marks[path] = NodeMarks(_mark(node.start_mark), key, source)
            return _plain_scalar(value)
        self.marks[path] = NodeMarks(_mark(node.start_mark), key)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, index), None) for index, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        return None

    def _mapping(self, node: MappingNode, path: YamlPath) -> dict[str, Any]:
        # Duplicates are judged on the keys written here, before `<<:` merges add theirs:
        # a key that overrides a merged one is intended, a key written twice is not.
        first_seen: dict[str, Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                continue
            where = _mark(key_node.start_mark)
            earlier = first_seen.get(key_node.value)
            if earlier is None:
                first_seen[key_node.value] = where
                continue
            self.problems.append(
                YamlProblem(
                    where.line,
                    where.column,
                    (*path, key_node.value),
                    f"duplicate key {key_node.value!r} at line {where.line} "
                    f"(first defined at line {earlier.line}); keep only one",
                )
            )
        try:
            self.loader.flatten_mapping(node)
        except yaml.MarkedYAMLError as error:
            where = _mark(error.problem_mark or node.start_mark)
            message = " ".join(f"{error.context or ''} {error.problem or ''}".split())
            self.problems.append(YamlProblem(where.line, where.column, path, message))
            return {}
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                where = _mark(key_node.start_mark)
                self.problems.append(
                    YamlProblem(
                        where.line,
                        where.column,
                        path,
                        f"keys must be plain names, not {_describe_key(key_node)}",
                    )
                )
                continue
            # The key as written: `1:` stays "1" and `on:` stays "on" (not YAML 1.1's True).
            name = str(key_node.value)
            result[name] = self.build(value_node, (*path, name), _mark(key_node.start_mark))
        return result


def _plain_scalar(value: Any) -> Any:
    """Keep JSON-like scalars; dates and bytes become text so nothing downstream sees them."""
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing to compose deeper than :data:`MAX_DEPTH`."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        """Compose one node, counting how deep the composer has recursed."""
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                where = _mark(event.start_mark)
                raise YamlError([_too_deep(where)])
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _too_deep(where: Mark) -> YamlProblem:
    return YamlProblem(
        where.line, where.column, (), f"nested deeper than {MAX_DEPTH} levels; flatten it"
    )


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_expansion(root: Node) -> None:
    """Refuse a graph that would expand too big or too deep once aliases are followed.

    Each distinct node is visited once (an alias is the same node object again), so this
    costs the size of the text, not of the expansion. Iterative: the graph may be deep.
    """
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children = _children(node)
        if finished:
            # A child still open is an alias to an ancestor: the builder reports that loop.
            size = 1 + sum(sizes.get(id(child), 1) for child in children)
            depth = 1 + max((depths.get(id(child), 1) for child in children), default=0)
            where = _mark(node.start_mark)
            if size > MAX_VALUES:
                message = (
                    f"the document expands to more than {MAX_VALUES:,} values (aliases "
                    "repeating aliases); write the values out"
                )
                raise YamlError([YamlProblem(where.line, where.column, (), message)])
            if depth > MAX_DEPTH:
                raise YamlError([_too_deep(where)])
            sizes[key], depths[key] = size, depth
            open_nodes.discard(key)
            continue
        if key in sizes or key in open_nodes:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def load_marked(text: str) -> MarkedDocument | None:
    """Parse one YAML document; None when it holds nothing (empty or comments only).

    Raises :class:`YamlError` for invalid YAML, tabs in indentation, several documents,
    duplicate keys and self-referencing aliases, each problem with its line and column.
    """
    try:
        # The reader checks every character up front: a NUL raises here already.
        loader = _BoundedLoader(text)
    except yaml.YAMLError as error:
        raise YamlError([_syntax_problem(text, error)]) from None
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as error:
            raise YamlError([_syntax_problem(text, error)]) from None
        if root is None:
            return None
        _check_expansion(root)
        builder = _Builder(loader)
        try:
            data = builder.build(root, (), None)
        except yaml.YAMLError as error:
            raise YamlError([_syntax_problem(text, error)]) from None
        if builder.problems:
            raise YamlError(sorted(builder.problems, key=lambda p: (p.line, p.column)))
        return MarkedDocument(data, builder.marks)
    finally:
        loader.dispose()
