"""The structure makes some mistakes impossible; these tests keep it so (DESIGN.md).

- Imports point one way: events -> wallets -> webhooks -> campaigns -> core (webhooks is the
  outbox every app below events writes to). Nothing imports a higher app,
  and there is no way around it either: no model looked up by name (`apps.get_model`) outside
  migrations.
- One function writes an event's status: only events/status.py assigns `status` on an event
  or saves it.
- Money moves only inside `with wallet_ledger(...)`: nobody but wallets/ledger.py builds a
  Ledger or flushes one.
- Modules stay small: about 400 lines at most, outside migrations and tests.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# each may import only the ones before it
LAYERS = [
    "core",
    "audit",
    "campaigns",
    "webhooks",
    "wallets",
    "events",
    "giftcards",
    "coupons",
    "referrals",
    "importing",
    "backoffice",
]
MAX_LINES = 420


def _modules(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path, ast.parse(path.read_text(), filename=str(path))


def _imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("app", LAYERS)
def test_an_app_imports_no_app_above_it(app):
    above = set(LAYERS[LAYERS.index(app) + 1 :])
    offenders = {str(path.relative_to(ROOT)): sorted(_imported(tree) & above) for path, tree in _modules(app)}
    assert {path: found for path, found in offenders.items() if found} == {}


@pytest.mark.parametrize("app", LAYERS)
def test_no_model_is_looked_up_by_name_outside_migrations(app):
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, tree in _modules(app)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "get_model"
    ]
    assert found == []


def _status_writes(tree: ast.AST) -> list[int]:
    """Lines that assign `<x>.status = ...` or `<x>["status"] = ...`, call `setattr(x, "status", ...)`,
    or save or update with "status"."""
    lines = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else []
        for target in targets:
            elements = target.elts if isinstance(target, ast.Tuple) else [target]
            lines += [
                node.lineno
                for t in elements
                if (isinstance(t, ast.Attribute) and t.attr == "status")
                or (isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant) and t.slice.value == "status")
            ]
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", "") == "setattr"
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value == "status"
        ):
            lines.append(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("update", "save"):
            for keyword in node.keywords:
                if keyword.arg == "status" or (
                    keyword.arg == "update_fields" and "status" in ast.unparse(keyword.value)
                ):
                    lines.append(node.lineno)
    return lines


def test_only_events_status_writes_an_event_status():
    writes = {
        str(path.relative_to(ROOT)): _status_writes(tree)
        for app in ("events", "wallets", "campaigns")
        for path, tree in _modules(app)
    }
    writers = {path for path, lines in writes.items() if lines}
    assert writers == {"events/status.py"}, {p: writes[p] for p in writers}


def test_only_the_ledger_module_builds_or_flushes_a_ledger():
    found = []
    for app in LAYERS:
        for path, tree in _modules(app):
            if path.relative_to(ROOT) in (Path("wallets/ledger.py"), Path("wallets/ledger_batch.py")):
                continue  # the ledger module (ledger_batch.py: its many-ledger writer, split out for size)
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                    if name in ("Ledger", "_flush", "flush", "flush_ledgers"):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert found == []


@pytest.mark.parametrize("app", [*LAYERS, "config"])
def test_modules_stay_under_about_400_lines(app):
    sizes = {str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path, _tree in _modules(app)}
    assert {path: n for path, n in sizes.items() if n > MAX_LINES} == {}
