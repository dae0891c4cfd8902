"""Domains depend one way (../shared/style.md): read every import under app/ and fail on a cycle.

A domain is a folder of app/ (`devices`, `feed`, `orgs`, ...); a module at the top of app/
(`api.py`, `main.py`, `models.py`, ...) is the composition root and counts as a domain of its own.
The ground floor, `core`, imports no domain. Any two domains that import each other, directly or
through others, fail the test with the files and names that make each direction.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"
PACKAGE = "dep_emulator"
GROUND_FLOOR = "core"


@dataclass(frozen=True)
class Edge:
    """One import that makes `source` depend on `target`: where it stands and what it names."""

    source: str
    target: str
    file: str
    line: int
    names: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.names}"


def domain_of(parts: tuple[str, ...]) -> str:
    """The domain of a module path under app/ (`('devices', 'models')` -> `devices`)."""
    return parts[0]


def _imported(node: ast.AST, package: tuple[str, ...], root: Path) -> list[tuple[tuple[str, ...], str]]:
    """(module path under app/, the names as written) for each module of ours the node imports."""
    found: list[tuple[tuple[str, ...], str]] = []
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            module = (*base, *(node.module.split(".") if node.module else ()))
        elif node.module and (node.module == PACKAGE or node.module.startswith(PACKAGE + ".")):
            module = tuple(node.module.split(".")[1:])
        else:
            return found
        for alias in node.names:
            # `from . import feed` names a module; `from .models import Device` a name in one.
            target = (*module, alias.name)
            path = root.joinpath(*target)
            is_module = path.with_suffix(".py").exists() or (path / "__init__.py").exists()
            written = f"{'.' * node.level}{node.module or ''} import {alias.name}"
            found.append((target if is_module else module, written))
    elif isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.startswith(PACKAGE + "."):
                found.append((tuple(alias.name.split(".")[1:]), f"import {alias.name}"))
    return found


def domain_edges(root: Path = APP) -> list[Edge]:
    """Every import from one domain into another, anywhere in a module (lazy imports included)."""
    edges: list[Edge] = []
    for file in sorted(root.rglob("*.py")):
        relative = file.relative_to(root)
        parts = relative.with_suffix("").parts
        package = relative.parent.parts
        source = domain_of(parts)
        for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
            for module, written in _imported(node, package, root):
                if not module:  # the package itself (`from . import x` at the top of app/)
                    continue
                target = domain_of(module)
                if target != source:
                    edges.append(Edge(source, target, f"app/{relative}", getattr(node, "lineno", 0), written))
    return edges


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one domain (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _shortest_cycle(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    """A shortest cycle through the group's first domain, within the group (breadth first)."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & members):
                if nxt == start:
                    return paths[node]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    return group


def violations(edges: list[Edge]) -> list[str]:
    """What breaks the one-way rule, in words: core importing a domain, domains importing each
    other (both directions with their imports), and a longer cycle among domains where no two import
    each other (one such loop, hop by hop)."""
    problems = [f"core imports the domain {e.target}: {e}" for e in edges if e.source == GROUND_FLOOR]
    by_pair: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        by_pair[edge.source, edge.target].append(edge)
        graph[edge.source].add(edge.target)

    def hop(source: str, target: str) -> list[str]:
        return [f"  {source} -> {target}:", *(f"    {edge}" for edge in by_pair[source, target])]

    mutual = set()
    for source, target in sorted(by_pair):
        if source < target and (target, source) in by_pair:
            mutual.update((source, target))
            lines = [f"{source} and {target} import each other", *hop(source, target), *hop(target, source)]
            problems.append("\n".join(lines))
    for group in _cycles(graph):
        if mutual & set(group):  # named above; a longer loop through them usually goes with it
            continue
        loop = _shortest_cycle(graph, group)
        if len(loop) > 2:
            lines = [f"these domains depend on each other: {' -> '.join([*loop, loop[0]])}"]
            for source, target in zip(loop, [*loop[1:], loop[0]], strict=True):
                lines.extend(hop(source, target))
            problems.append("\n".join(lines))
    return problems


def test_domains_depend_one_way() -> None:
    problems = violations(domain_edges())
    assert not problems, "\n\n".join(problems)


def test_the_check_names_a_back_import_and_core_importing_a_domain(tmp_path: Path) -> None:
    """The rule itself fails where it should, with the files and names involved."""
    for folder, source in {
        "core": "from ..orgs.models import Org\n",
        "orgs": "from ..core import db\nfrom ..devices import locking\n",
        "devices": "from ..orgs.models import Org\n",
        "feed": "from ..devices.models import Device\n",
    }.items():
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
        (tmp_path / folder / "service.py").write_text(source)
    (tmp_path / "orgs" / "models.py").write_text("")
    (tmp_path / "devices" / "models.py").write_text("")
    (tmp_path / "devices" / "locking.py").write_text("")

    problems = violations(domain_edges(tmp_path))

    assert problems[0] == (
        "core imports the domain orgs: app/core/service.py:1 imports ..orgs.models import Org"
    )
    assert problems[1:] == [  # core and orgs, then devices and orgs; feed -> devices runs one way
        "core and orgs import each other\n"
        "  core -> orgs:\n    app/core/service.py:1 imports ..orgs.models import Org\n"
        "  orgs -> core:\n    app/orgs/service.py:1 imports ..core import db",
        "devices and orgs import each other\n"
        "  devices -> orgs:\n    app/devices/service.py:1 imports ..orgs.models import Org\n"
        "  orgs -> devices:\n    app/orgs/service.py:2 imports ..devices import locking",
    ]


def test_the_check_names_a_longer_cycle_hop_by_hop(tmp_path: Path) -> None:
    for folder, source in {
        "orgs": "from ..feed import read\n",
        "devices": "from ..orgs.models import Org\n",
        "feed": "from ..devices.models import Device\n",
    }.items():
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "service.py").write_text(source)
    for module in ("orgs/models.py", "devices/models.py", "feed/read.py"):
        (tmp_path / module).write_text("")

    assert violations(domain_edges(tmp_path)) == [
        "these domains depend on each other: devices -> orgs -> feed -> devices\n"
        "  devices -> orgs:\n    app/devices/service.py:1 imports ..orgs.models import Org\n"
        "  orgs -> feed:\n    app/orgs/service.py:1 imports ..feed import read\n"
        "  feed -> devices:\n    app/feed/service.py:1 imports ..devices.models import Device"
    ]
