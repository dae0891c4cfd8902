"""Reading a seed file (YAML or JSON) and pointing every error at its line or key path.

YAML is composed into nodes first (`yaml.compose` style, with PyYAML's marks), and every key
path is mapped to the line and column where it is written; JSON errors name the key path
(`orgs[0].mdm_servers[1].certificate`). The same `Locator` serves the later apply phase, so
a certificate that does not parse or a server name that does not exist is reported at its
line too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from ..core.errors import ControlError
from .schemas import SeedFile

PathKey = tuple[str | int, ...]
Format = Literal["yaml", "json"]
YAML_MEDIA_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
MAX_ERRORS = 20


class SeedError(ControlError):
    """A seed file problem: 422 `invalid_seed`, with `path`, `line` and `column` when known."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None, **details: Any):
        where = ", ".join(
            part
            for part in (
                f"line {line}" if line is not None else "",
                f"column {details['column']}" if details.get("column") is not None else "",
            )
            if part
        )
        prefix = f"{where}: " if where else ""
        prefix += f"{path}: " if path else ""
        known = {"path": path, "line": line, **details}
        super().__init__(
            422, "invalid_seed", prefix + message, **{k: v for k, v in known.items() if v is not None}
        )
        self.reason = message


def format_path(path: PathKey) -> str:
    """("orgs", 0, "mdm_servers", 1, "certificate") → "orgs[0].mdm_servers[1].certificate"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass
class Locator:
    """Key path → (line, column), 1-based; empty for JSON, whose errors name the path only."""

    marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def error(self, path: PathKey, message: str, **details: Any) -> SeedError:
        mark = None
        for end in range(len(path), -1, -1):  # the key itself, else the nearest enclosing one
            mark = self.marks.get(path[:end])
            if mark is not None:
                break
        line, column = mark if mark is not None else (None, None)
        return SeedError(message, path=format_path(path) or None, line=line, column=column, **details)

    @contextmanager
    def at(self, path: PathKey) -> Iterator[None]:
        """Report a service's ControlError raised inside the block at `path` (its message kept)."""
        try:
            yield
        except SeedError:
            raise
        except ControlError as exc:
            raise self.error(path, exc.message) from exc


@dataclass
class SeedDocument:
    spec: SeedFile
    locator: Locator
    base_dir: Path  # relative certificate paths are read from here


def format_for(filename: str | None = None, content_type: str | None = None) -> Format:
    if content_type is not None:
        media = content_type.split(";")[0].strip().lower()
        return "yaml" if media in YAML_MEDIA_TYPES else "json"
    return "json" if filename is not None and filename.lower().endswith(".json") else "yaml"


def parse(text: str, *, fmt: Format, base_dir: Path) -> SeedDocument:
    """Parse and validate; raises SeedError naming the first problem's line or key path."""
    locator = Locator()
    if fmt == "yaml":
        data = _load_yaml(text, locator)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SeedError(f"not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from None
    if not isinstance(data, dict):
        raise SeedError("the seed file must be a mapping with an `orgs` list (and optionally `faults`)")
    try:
        spec = SeedFile.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, locator) from None
    return SeedDocument(spec=spec, locator=locator, base_dir=base_dir)


def read_file(path: Path) -> SeedDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(f"cannot read seed file {path}: {exc}") from None
    return parse(text, fmt=format_for(path.name), base_dir=path.resolve().parent)


def _load_yaml(text: str, locator: Locator) -> Any:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _collect_marks(node, (), locator.marks)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is None:
            raise SeedError(f"not valid YAML: {problem}") from None
        raise SeedError(f"not valid YAML: {problem}", line=mark.line + 1, column=mark.column + 1) from None
    except yaml.YAMLError as exc:
        raise SeedError(f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()


def _collect_marks(node: yaml.Node, path: PathKey, marks: dict[PathKey, tuple[int, int]]) -> None:
    """A key's mark is where the key is written (the line a reader looks for); items at their start."""
    marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                raise SeedError(f"duplicate key {key!r}", path=format_path(child), line=line, column=column)
            seen.add(key)
            marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _collect_marks(value_node, child, marks)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_marks(item, (*path, index), marks)


def _validation_error(exc: ValidationError, locator: Locator) -> SeedError:
    """Every problem in `errors`; the message names the first, an unknown key first (a typo
    gives both "unknown key 'serial'" and "missing key 'serial_number'", and the first says why)."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    problems: list[dict[str, Any]] = []
    for error in errors[:MAX_ERRORS]:
        path = _path_of(error)
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = f"unknown key {path[-1]!r}"
        elif error["type"] == "missing":
            message = f"missing key {error['loc'][-1]!r}"
        located = locator.error(path, message)
        problems.append(
            {"path": located.details.get("path"), "line": located.details.get("line"), "message": message}
        )
    first = problems[0]
    extra = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
    return locator.error(_path_of(errors[0]), first["message"] + extra, errors=problems)


def _path_of(error: Any) -> PathKey:
    path: PathKey = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("<")))
    return path[:-1] if error["type"] == "missing" else path
