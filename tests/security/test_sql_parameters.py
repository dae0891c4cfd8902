"""Only bound parameters in SQL (issue 8 §5): no SQL text is built from values at run time.

Walks the AST of every module under app/ and flags a call that hands the database a string
built by an f-string, `%` formatting, `.format()` or concatenation — directly, or through a
local variable assigned that way in the same function. The few places that splice a
*constant* fragment (never a value) are allow-listed below with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
SQL_CALLS = {
    "text", "cached_text", "execute", "exec_driver_sql", "executemany", "fetch", "fetchrow", "fetchval",
    "scalar", "scalars", "copy_records_to_table", "copy_to_table", "copy_from_query", "prepare",
}  # fmt: skip
ALLOWED = {
    # `where` is one of two constant fragments written in this module's callers
    # (serial_number = ANY(:serials) / org_id = :org AND ...); every value is bound.
    ("devices/locking.py", "lock_device_ids"),
    # CTEs from faults.consume_sql: constant fragments chosen by `kind` (itself bound as :f_kind).
    ("faults/service.py", "_consume_endpoint_kind"),
    # CTEs chosen by which bookkeeping is due; journal column names come from a constant tuple.
    ("traffic/service.py", "finish"),
    # Page statements built once per protocol version from wire_sql's constant column expressions,
    # the constant VISIBLE_IN_SYNC_SQL (dep_emulator.profiles.throttle) and faults.consume_sql fragments.
    ("feed/read.py", "fetch_page_sql"),
    ("feed/read.py", "sync_page_sql"),
    # The inventory list page, built once per combination of filters from constant column
    # expressions and constant predicates; every value (org, filters, cursor, limit) is bound (issue 15).
    ("inventory/listing.py", "list_page_sql"),
    # The resolve statements, built once at import from constant fragments (faults.consume_sql).
    ("traffic/service.py", "<module>"),
    # The feed's session lookup, built once at import from constant scalar sub-selects (clock, cursor key).
    ("session/service.py", "<module>"),
    # POST /devices on the hot pool: built once per protocol version from wire_sql's constant
    # column expressions (issue 15); the server and serials are bound.
    ("feed/read.py", "details_sql"),
    # The journal's group-commit INSERT, built once at import from the table's column names and
    # types; every value is bound, one array per column (issue 15).
    ("journal/service.py", "<module>"),
    # `scope` is one of two constant predicates (server or org); values are bound.
    ("churn/service.py", "_delete"),
    # Set-based assignment: the snapshot expression from dep_emulator.feed.wire_sql (column names in
    # code) and a constant `fresh` predicate; every value is bound.
    ("bulk/assign.py", "_write"),
    # Set-based release: the constant plan and seq-range sub-selects (_PLAN, _FIRSTS) and a
    # constant jsonb literal for a replacement; every value is bound.
    ("bulk/release.py", "release_set"),
    ("bulk/release.py", "_audit"),
    # Apple's built-in service's devices: the constant VISIBLE predicate, written in the module; the
    # org, server, cursor and limit are bound.
    ("abm/mdm_devices.py", "<module>"),
}


def _is_built(node: ast.AST | None) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return (
            any(
                isinstance(side, ast.Constant | ast.JoinedStr) and isinstance(getattr(side, "value", ""), str)
                for side in (node.left, node.right)
            )
            or _is_built(node.left)
            or _is_built(node.right)
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return isinstance(node.func.value, ast.Constant)
    return False


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _sql_argument(call: ast.Call) -> ast.AST | None:
    """The SQL a call is given: its first argument, or for dep_emulator.core.driver's helpers
    (`driver.fetchrow(conn, sql, params)`) its second."""
    on_driver = isinstance(call.func, ast.Attribute) and ast.unparse(call.func.value) == "driver"
    index = 1 if on_driver else 0
    return call.args[index] if len(call.args) > index else None


def _own_nodes(scope: ast.AST) -> list[ast.AST]:
    """Nodes of `scope` not inside a nested function (those are scanned as their own scope)."""
    nodes, stack = [], list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        nodes.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))
    return nodes


def offenders(source: str, relative: str) -> list[str]:
    tree = ast.parse(source)
    scopes: list[tuple[str, ast.AST]] = [("<module>", tree)]
    scopes += [(n.name, n) for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    found = []
    for name, scope in scopes:
        nodes = _own_nodes(scope)
        built_names = {
            target.id
            for node in nodes
            if isinstance(node, ast.Assign) and _is_built(node.value)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in nodes:
            if not isinstance(node, ast.Call) or _call_name(node) not in SQL_CALLS or not node.args:
                continue
            first = _sql_argument(node)
            if first is None:
                continue
            dynamic = _is_built(first) or (isinstance(first, ast.Name) and first.id in built_names)
            if dynamic and (relative, name) not in ALLOWED:
                found.append(f"app/{relative}:{node.lineno} in {name}: {ast.unparse(first)[:80]}")
    return sorted(found, key=lambda f: int(f.split(":")[1].split()[0]))


def test_sql_text_is_never_built_from_values() -> None:
    found = []
    for path in sorted(APP.rglob("*.py")):
        found += offenders(path.read_text(), path.relative_to(APP).as_posix())
    assert found == []


def test_the_scanner_catches_what_it_looks_for() -> None:
    bad = """
async def f(db, serial, table):
    await db.execute(text(f"SELECT * FROM device WHERE serial_number = '{serial}'"))
    await db.execute(text("SELECT * FROM device WHERE serial_number = '%s'" % serial))
    query = "DELETE FROM " + table
    await conn.execute(query)
    await conn.fetch("SELECT {}".format(serial))
    await driver.fetchrow(conn, "SELECT " + serial, {})
    await db.execute(text("SELECT * FROM device WHERE serial_number = :s"), {"s": serial})
"""
    found = [line.split(":")[1] for line in offenders(bad, "x.py")]
    assert found == ["3 in f", "4 in f", "6 in f", "7 in f", "8 in f"]
