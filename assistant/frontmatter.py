"""Split YAML front matter off an article's text, within bounds a hostile file cannot pass.

``split_front_matter`` returns the metadata mapping and the text after it. Front matter is
there only if the first line is exactly ``---``; it ends at a line ``---`` or ``...``. It is
parsed as safe YAML (no Python objects), dates are kept as the strings written (the caller
decides what a bad date means), and before any of it is built it is refused if it is over
``MAX_FRONT_MATTER_CHARS``, nested deeper than ``MAX_YAML_DEPTH`` or expands past
``MAX_YAML_EXPANSION`` through its aliases: a YAML "billion laughs" costs time and memory in
proportion to its own size. Every refusal is a ``FrontMatterError`` whose message says what
is wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

MAX_FRONT_MATTER_CHARS = 64_000
"""Front matter is a few lines of metadata; tens of kilobytes of it is a mistake or an attack."""
MAX_YAML_DEPTH = 20
"""Nesting levels front matter may have, aliases followed (``tags: [a, b]`` has 3)."""
MAX_YAML_EXPANSION = 100_000
"""Nodes plus scalar characters front matter may expand to, each use of an alias (``*name``)
counted in full. Without aliases this is about the size of the text; a 340-byte "billion
laughs" would expand to 9**9 strings."""


class FrontMatterError(Exception):
    """The front matter cannot be used; the message says why and what to do.

    Not a ``ValueError``: raised from inside the YAML loader, it must pass the handler for the
    parser's own errors unchanged.
    """


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML that keeps dates as strings (a bad date is a warning, not a YAML error) and
    refuses front matter nested or expanding past the bounds above before building any of it.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1  # the composer recurses: a deep document must stop before Python does
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise FrontMatterError(_too_deep())
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_data(self) -> Any:
        node = self.get_single_node()  # aliases are shared nodes here: cheap to compose
        if node is None:
            return None
        _check_expansion(node)
        return self.construct_document(node)


_FrontMatterLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


def _too_deep() -> str:
    return (
        f"front matter is nested more than {MAX_YAML_DEPTH} levels deep; "
        "write it as 'key: value' lines (title, source, published, url, author)"
    )


def _check_expansion(root: yaml.Node) -> None:
    """Raise FrontMatterError if the node graph, aliases expanded, is cyclic, too deep or too big.

    Each node is measured once (its expanded size and height are remembered), so this is linear
    in the composed document even when the expansion is exponential.
    """
    measured: dict[int, tuple[int, int]] = {}
    open_nodes: set[int] = set()

    def measure(node: yaml.Node, depth: int) -> tuple[int, int]:
        if depth > MAX_YAML_DEPTH:  # before descending: a chain of aliases can be long
            raise FrontMatterError(_too_deep())
        key = id(node)
        if key in measured:
            size, height = measured[key]
        elif key in open_nodes:
            raise FrontMatterError(
                "front matter has an alias (*name) inside its own anchor (&name), so it never "
                "ends; write the metadata out without aliases"
            )
        else:
            open_nodes.add(key)
            if isinstance(node, yaml.ScalarNode):
                children: list[yaml.Node] = []
                size, height = 1 + len(node.value), 0
            elif isinstance(node, yaml.MappingNode):
                children = [part for pair in node.value for part in pair]
                size, height = 1, 0
            else:
                children = list(node.value)
                size, height = 1, 0
            for child in children:
                child_size, child_height = measure(child, depth + 1)
                size, height = size + child_size, max(height, child_height + 1)
                if size > MAX_YAML_EXPANSION:
                    raise FrontMatterError(
                        f"front matter expands to more than {MAX_YAML_EXPANSION:,} values and "
                        "characters through its aliases (*name); write the metadata out "
                        "without aliases"
                    )
            open_nodes.discard(key)
            measured[key] = size, height
        if depth + height > MAX_YAML_DEPTH:
            raise FrontMatterError(_too_deep())
        return size, height

    measure(root, 1)


def split_front_matter(text: str) -> tuple[Mapping[str, Any], str]:
    """(front matter mapping, body). No front matter unless the first line is exactly ``---``."""
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return {}, text
    end = next((i for i, line in enumerate(lines[1:], 1) if line.rstrip() in ("---", "...")), None)
    if end is None:
        raise FrontMatterError(
            "front matter opened by '---' on line 1 is never closed; "
            "add a line '---' after it, or remove the first line"
        )
    front = "\n".join(lines[1:end])
    if len(front) > MAX_FRONT_MATTER_CHARS:
        raise FrontMatterError(
            f"front matter is {len(front):,} characters, over the limit of "
            f"{MAX_FRONT_MATTER_CHARS:,}; keep only the metadata in it (title, source, "
            "published, url, author) and put the text below the closing '---'"
        )
    try:
        meta = yaml.load(front, Loader=_FrontMatterLoader)
    except (yaml.YAMLError, ValueError) as exc:
        raise FrontMatterError(
            f"front matter is not valid YAML: {_yaml_error(exc)}; fix it"
        ) from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise FrontMatterError(
            f"front matter is a YAML {type(meta).__name__}, not a mapping; "
            "write it as 'key: value' lines (title, source, published, url, author)"
        )
    return meta, "\n".join(lines[end + 1 :])


def _yaml_error(exc: Exception) -> str:
    """The YAML error on one line, with the line number counted in the whole file."""
    mark = getattr(exc, "problem_mark", None)
    what = " ".join(filter(None, [getattr(exc, "context", None), getattr(exc, "problem", None)]))
    if mark is None or not what:
        return " ".join(str(exc).split())
    return f"{what} (line {mark.line + 2}, column {mark.column + 1})"
