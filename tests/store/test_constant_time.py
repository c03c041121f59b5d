"""Secrets are compared in constant time: a static check of the source (timing is too noisy to test directly).

Swapping ``hmac.compare_digest`` for ``==`` leaves every functional test green, so the source is read instead:
the token check must call ``hmac.compare_digest`` (or ``secrets.compare_digest``) on the hashes, and no ``==`` or
``!=`` anywhere in the package may compare a value whose name says it is a secret, hash, digest or token.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import callops
from callops.store import tokens

SRC = Path(callops.__file__).parent
SECRET = re.compile(r"secret|hash|digest|password|signature|bearer|plain", re.I)
TOKEN = re.compile(r"token", re.I)
# sim/ routes contacts with "tokens" of a Petri-net-like router: not secrets.
NOT_SECRET_TOKENS = ("sim/",)


def _is_compare_digest(call: ast.AST) -> bool:
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "compare_digest"
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id in ("hmac", "secrets")
    )


def _names(node: ast.AST) -> list[str]:
    """The names an operand is made of: the last attribute of a dotted name (``models.ApiToken.prefix`` is a
    ``prefix``), everything inside calls, f-strings and other expressions."""
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Subscript):
        return _names(node.value)
    out = []
    for x in ast.walk(node):
        if isinstance(x, ast.Name):
            out.append(x.id)
        elif isinstance(x, ast.Attribute):
            out.append(x.attr)
    return out


def _function(tree: ast.Module, name: str) -> ast.FunctionDef:
    return next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name)


def test_token_hashes_are_compared_with_compare_digest() -> None:
    """verify_token compares ``hash_token(plain)`` with the stored hash through compare_digest, nothing else."""
    fn = _function(ast.parse(Path(tokens.__file__).read_text(encoding="utf-8")), "verify_token")
    calls = [n for n in ast.walk(fn) if _is_compare_digest(n)]
    assert len(calls) == 1, "verify_token must call hmac.compare_digest (or secrets.compare_digest) once"
    args = [ast.unparse(a) for a in calls[0].args]
    assert any(a.startswith("hash_token(") for a in args) and any("stored_hash" in a for a in args), args
    eq = [ast.unparse(n) for n in ast.walk(fn) if isinstance(n, ast.Compare)
          and any(isinstance(o, (ast.Eq, ast.NotEq)) for o in n.ops)]  # fmt: skip
    assert eq == [], f"verify_token compares with ==: {eq}"


def test_metrics_scrape_token_is_compared_with_compare_digest() -> None:
    """The /metrics scrape token (a shared secret from the environment) is compared in constant time too."""
    path = SRC / "api" / "monitoring.py"
    fn = _function(ast.parse(path.read_text(encoding="utf-8")), "tenant_labels_allowed")
    assert any(_is_compare_digest(n) for n in ast.walk(fn)), "tenant_labels_allowed must use compare_digest"


def test_no_secret_is_compared_with_equality() -> None:
    """No ``==``/``!=`` in the package has an operand named like a secret (hash, digest, token, ...)."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare) or not any(isinstance(o, (ast.Eq, ast.NotEq)) for o in node.ops):
                continue
            names = [n for side in (node.left, *node.comparators) for n in _names(side)]
            hit = any(SECRET.search(n) for n in names) or (
                not rel.startswith(NOT_SECRET_TOKENS) and any(TOKEN.search(n) for n in names)
            )
            if hit:
                found.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
    assert found == [], "compare secrets with hmac.compare_digest:\n" + "\n".join(found)


def test_the_check_sees_an_equality_on_a_token() -> None:
    """The scanner itself flags the mutation it is there for (so the test above can fail)."""
    bad = ast.parse("def verify_token(plain, stored_hash):\n    return hash_token(plain) == stored_hash\n")
    node = next(n for n in ast.walk(bad) if isinstance(n, ast.Compare))
    assert any(SECRET.search(n) for s in (node.left, *node.comparators) for n in _names(s))
    assert not any(_is_compare_digest(n) for n in ast.walk(bad))
