"""Pages and API endpoints are thin: load → one operation → render or dump (see `pharmacy/operations.py`).

This test reads every `views.py` and `api.py` (and the home page) and fails on what belongs in the operations
layer: a query (SQLAlchemy, `db.session`, paging by hand), a commit or rollback, or a rule (raising a domain
error, deciding by an object's status). One parametrised case per file, so a failure names the file and line.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "pharmacy"
ENTRY_POINTS = sorted([*ROOT.glob("*/views.py"), *ROOT.glob("*/api.py"), ROOT / "home.py"])

DB_CALLS = {"commit", "rollback", "flush", "execute", "scalar", "scalars", "paginate", "begin_nested", "add",
            "add_all", "delete", "get", "query"}
DOMAIN_ERRORS = {"DomainError", "InvalidInput", "NotFound", "Forbidden", "Conflict", "Unprocessable"}


def _violations(source: str) -> list[str]:
    tree = ast.parse(source)
    found = []

    def at(node, what):
        found.append(f"line {node.lineno}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.split(".")[0] == "sqlalchemy":
                at(node, f"imports {module}")
            if module.endswith("extensions") and any(alias.name == "db" for alias in node.names):
                at(node, "imports db")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sqlalchemy":
                    at(node, f"imports {alias.name}")
        elif isinstance(node, ast.Attribute) and node.attr == "session":
            at(node, "uses db.session")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in {"select", "text", "func"}:
                at(node, f"builds SQL with {func.id}()")
            if (isinstance(func, ast.Attribute) and func.attr in DB_CALLS and isinstance(func.value, ast.Attribute)
                    and func.value.attr == "session"):
                at(node, f"calls session.{func.attr}()")
            if isinstance(func, ast.Attribute) and func.attr in {"commit", "rollback", "paginate", "offset"}:
                at(node, f"calls .{func.attr}()")
        elif isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = exc.id if isinstance(exc, ast.Name) else exc.attr if isinstance(exc, ast.Attribute) else ""
            if name in DOMAIN_ERRORS:
                at(node, f"raises {name} (a rule: it belongs in the operation or its schema)")
        elif isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                if isinstance(side, ast.Attribute) and side.attr == "status":
                    at(node, "decides by .status (a rule: it belongs in the operation)")
                    break
    return found


@pytest.mark.parametrize("path", ENTRY_POINTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_entry_point_holds_no_query_commit_or_rule(path):
    found = _violations(path.read_text(encoding="utf-8"))
    assert found == [], f"{path.relative_to(ROOT.parent)}:\n  " + "\n  ".join(found)


@pytest.mark.parametrize("snippet, expected", [
    ("from ..extensions import db\n", "imports db"),
    ("from sqlalchemy import select\n", "imports sqlalchemy"),
    ("def v():\n    db.session.rollback()\n", "db.session"),
    ("def v():\n    rows = select(X).where(X.a == 1)\n", "builds SQL"),
    ("def v(order):\n    if order.status == 'draft':\n        pass\n", "decides by .status"),
    ("def v():\n    raise InvalidInput('x')\n", "raises InvalidInput"),
    ("def v(q):\n    return q.offset(10)\n", ".offset()"),
])
def test_the_reader_sees_each_kind_of_violation(snippet, expected):
    assert any(expected in found for found in _violations(snippet)), _violations(snippet)


def test_a_thin_view_passes():
    thin = ("from flask import render_template\nfrom . import operations\n\n"
            "def v(order_id):\n    order = load_in_scope(current_user, Order, order_id)\n"
            "    return render_template('x.html', result=operations.ship(current_user, order, {}))\n")
    assert _violations(thin) == []
