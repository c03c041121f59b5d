"""YAML definition files that remember where each item is, so errors can name the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from callops.errors import CallopsError


class Located(dict):
    """A YAML mapping that knows the (1-based) line it starts on."""

    line: int = 0
    key_lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings are :class:`Located` and which refuses repeated keys."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    out = Located()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise DefinitionError("a key must be plain text", key_node.start_mark.line + 1)
        if key in out:
            raise DefinitionError(f"repeated key {key!r}", key_node.start_mark.line + 1)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = value_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class DefinitionError(Exception):
    """A problem in a definition file at a line (turned into a CallopsError naming the file)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def load_yaml(text: str, origin: str) -> Any:
    """Parse ``text`` with line-aware mappings; syntax errors name ``origin`` and the line."""
    try:
        return yaml.load(text, Loader=_Loader)
    except DefinitionError as exc:
        raise CallopsError(f"{origin}, line {exc.line}: {exc.message}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CallopsError(f"{origin}{where}: not valid YAML: {problem}") from None


def read_definition(path: Path | str) -> tuple[Any, str]:
    """Read a definition file: (parsed YAML, origin name for messages)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CallopsError(f"cannot read {p}: {exc.strerror}") from None
    return load_yaml(text, str(p)), str(p)


def line_of(node: Any, default: int = 1, key: str | None = None) -> int:
    """The line of ``node[key]`` (or where the mapping starts; ``default`` for plain values)."""
    if key is not None and key in getattr(node, "key_lines", {}):
        return node.key_lines[key]
    return getattr(node, "line", default) or default


def fail(origin: str, node: Any, message: str, key: str | None = None) -> CallopsError:
    """A CallopsError naming the file and the line of ``node`` (of its ``key`` when given)."""
    return CallopsError(f"{origin}, line {line_of(node, key=key)}: {message}")


def require_keys(origin: str, node: Any, what: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    """Refuse a mapping that lacks a required key or has an unknown one."""
    if not isinstance(node, dict):
        raise fail(origin, node, f"{what} must be a mapping (key: value)")
    for key in required:
        if key not in node:
            raise fail(origin, node, f"{what} lacks {key!r}")
    unknown = sorted(set(node) - set(required) - set(optional))
    if unknown:
        raise fail(origin, node, f"{what}: unknown key {unknown[0]!r}; allowed: {', '.join((*required, *optional))}")


LANGS = ("en", "zh-CN")  # every user-facing text of a definition exists in both


def texts(origin: str, node: Any, key: str, what: str) -> dict[str, str]:
    """``node[key]`` as ``{en: ..., zh-CN: ...}``, both non-empty text."""
    value = node.get(key)
    if not isinstance(value, dict) or any(not isinstance(value.get(x), str) or not value.get(x) for x in LANGS):
        raise fail(origin, node, f"{what}: {key} needs text in en and zh-CN", key)
    return {lang: value[lang] for lang in LANGS}


def number(origin: str, node: Any, key: str, what: str, *, minimum: float | None = 0.0) -> float:
    """``node[key]`` as a finite number (not a bool or text), at least ``minimum``."""
    value = node[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or value in (float("inf"),
                                                                                                    float("-inf")):
        raise fail(origin, node, f"{what}: {key} must be a number, not {value!r}", key)
    if minimum is not None and value < minimum:
        raise fail(origin, node, f"{what}: {key} must be at least {minimum:g}, not {value!r}", key)
    return float(value)
