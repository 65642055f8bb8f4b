"""The shape of the code, read from its source: no import circle, one owner of a change's status.

Both read the files with `ast`, so a deferred import inside a function counts as much as one at
the top; only imports under `if TYPE_CHECKING:` (never run) are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSOLE = ROOT / "console"


def _modules() -> dict[str, Path]:
    found = {}
    for path in CONSOLE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _runtime_nodes(tree: ast.AST):
    """Every node except those under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _runtime_nodes(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                graph[name] |= {alias.name for alias in node.names if alias.name in modules}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                targets = {base} | {f"{base}.{alias.name}" for alias in node.names}
                graph[name] |= {
                    target for target in targets if target in modules and target != name
                }
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each a circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def test_the_import_graph_has_no_circle_deferred_or_not():
    graph = _import_graph()
    assert (
        "console.dataflow.fleet.actions" in graph["console.dataflow.views.fleet"]
    )  # the graph is real
    assert _circles(graph) == []


def test_a_circle_is_found_when_there_is_one():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c"]]


# --- One owner of a change's status ----------------------------------------------------------

LIFECYCLE_MODULE = CONSOLE / "dataflow" / "changes" / "lifecycle.py"
FLEET_LIFECYCLE_MODULE = CONSOLE / "dataflow" / "fleet" / "lifecycle.py"
WRITES = {"create", "update", "get_or_create", "update_or_create", "bulk_create"}


def _status_writes(
    path: Path, model: str = "ChangeRequest", related: str = "changes", event: str = "ChangeEvent"
) -> list[str]:
    """Lines of `path` that write a status of `model` (or of its `related` manager) or an
    `event` row, or assign `.status` on something named like the model."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = ast.unparse(node.func.value)
            on_model = model in receiver or receiver.endswith(related)
            sets_status = any(keyword.arg == "status" for keyword in node.keywords)
            if node.func.attr in WRITES and (
                (on_model and sets_status) or receiver.startswith(f"{event}.")
            ):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)[:80]}")
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == "status"
                    and related.rstrip("s") in ast.unparse(target.value).lower()
                ):
                    found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_only_the_lifecycle_module_writes_a_change_status_or_its_timeline():
    offenders = [
        line
        for path in sorted((CONSOLE / "dataflow").rglob("*.py"))
        if path != LIFECYCLE_MODULE and "migrations" not in path.parts
        for line in _status_writes(path)
    ]
    assert offenders == []
    # The rule sees the writes the lifecycle module itself makes.
    assert len(_status_writes(LIFECYCLE_MODULE)) >= 4


def test_only_the_fleet_lifecycle_module_writes_a_fleet_status_or_its_history():
    fleet = {"model": "FleetChange", "related": "fleets", "event": "FleetEvent"}
    offenders = [
        line
        for path in sorted((CONSOLE / "dataflow").rglob("*.py"))
        if path != FLEET_LIFECYCLE_MODULE and "migrations" not in path.parts
        for line in _status_writes(path, **fleet)
    ]
    assert offenders == []
    assert len(_status_writes(FLEET_LIFECYCLE_MODULE, **fleet)) >= 3


def test_the_status_sets_are_read_off_the_lifecycle_table():
    from console.dataflow.models import (
        FINAL,
        IN_FLIGHT,
        INITIAL,
        LIFECYCLE,
        TRACKING,
        TRANSITIONS,
        WITH_SCP,
        ChangeRequest,
    )

    assert list(LIFECYCLE) == list(ChangeRequest.Status.values)
    assert [status for status, moves in TRANSITIONS.items() if not moves] == FINAL
    assert set(IN_FLIGHT) | set(FINAL) == set(LIFECYCLE) and not set(IN_FLIGHT) & set(FINAL)
    assert set(TRACKING) < set(WITH_SCP) < set(IN_FLIGHT)
    assert set(INITIAL) <= set(LIFECYCLE)
    # Every move goes to a status of the table.
    assert all(moves <= set(LIFECYCLE) for moves in TRANSITIONS.values())


def test_nothing_imports_upwards():
    """Pages and the API import the rest, never the other way round; notifications are a leaf."""
    graph = _import_graph()
    importers = {
        "console.dataflow.views": {"console.dataflow.urls"},
        "console.dataflow.api": {
            "console.urls",
            "console.settings",
            "console.dataflow.management",
        },
        "console.dataflow.forms": {"console.dataflow.views", "console.dataflow.api"},
        "console.dataflow.notifications": {"console.dataflow.apps", "console.dataflow.tasks"},
    }
    for package, allowed in importers.items():
        for module, targets in graph.items():
            if module.startswith(package):
                continue
            if any(target.startswith(package) for target in targets):
                assert any(module.startswith(a) for a in allowed), f"{module} imports {package}"


# --- Size and complexity ---------------------------------------------------------------------
# The limits of issue "A house you can see": no module over 500 lines, no function over 60,
# at most 8 functions of complexity C (11-20) and none D or worse. Tables of data are aside:
# the simulator's rules (one branch per documented SCP rule) and the demo's seed data.
DATA_TABLES = {CONSOLE / "simulator" / "rules.py", CONSOLE / "simulator" / "seed.py"}
MODULE_LINES = 500
FUNCTION_LINES = 60
COMPLEX_FUNCTIONS = 8


def _code_files() -> list[Path]:
    return sorted(
        path
        for path in CONSOLE.rglob("*.py")
        if "migrations" not in path.parts and path not in DATA_TABLES
    )


def test_no_module_is_over_500_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _code_files()
        if (lines := len(path.read_text().splitlines())) > MODULE_LINES
    }
    assert long == {}


def test_no_function_is_over_60_lines():
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)"
        for path in _code_files()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (lines := node.end_lineno - node.lineno + 1) > FUNCTION_LINES
    ]
    assert long == []


def _complexities() -> list[tuple[int, str]]:
    from radon.complexity import cc_visit

    found = []
    for path in _code_files():
        for block in cc_visit(path.read_text()):
            for function in [block, *getattr(block, "methods", [])]:
                if not hasattr(function, "methods"):  # a function or a method, not a class
                    found.append((function.complexity, f"{path.name}:{function.fullname}"))
    return found


def test_few_functions_are_complex_and_none_very():
    complexities = _complexities()
    assert len(complexities) > 500  # every function is measured
    complex_ones = sorted((c, name) for c, name in complexities if c > 10)
    assert [name for c, name in complex_ones if c > 20] == []
    assert len(complex_ones) <= COMPLEX_FUNCTIONS, complex_ones
