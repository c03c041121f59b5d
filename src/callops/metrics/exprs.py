"""Turn a user-written expression (SQL syntax) into an Ibis expression, never into SQL text.

The text is first checked by :func:`callops.expressions.compile_expression` (the
project's whitelist of node types, functions and column names); the parsed tree
is then translated node by node into Ibis, so the same filter runs on DuckDB and
Spark and nothing the user typed reaches the SQL unparsed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

import ibis
import ibis.expr.types as ir
import sqlglot
from sqlglot import exp

from callops.errors import CallopsError
from callops.expressions import compile_expression

Resolver = Callable[[str], ir.Value]


def parse_checked(text: str, columns: Iterable[str], *, what: str) -> exp.Expression:
    """Validate ``text`` against the whitelist and the known ``columns``; return its sqlglot tree.

    The tree is shared between calls (cached): transform it with ``copy=True`` (the default).
    """
    return _parse_checked(text, frozenset(columns), what)


@functools.lru_cache(maxsize=4096)
def _parse_checked(text: str, columns: frozenset[str], what: str) -> exp.Expression:
    compile_expression(text, columns, functions={"seconds_between": (2, lambda a: "")}, what=what)
    return sqlglot.parse_one(text, read="duckdb")


def column_names(tree: exp.Expression) -> set[str]:
    """Names of the columns an expression refers to."""
    return {c.name for c in tree.find_all(exp.Column)}


def to_ibis(tree: exp.Expression, resolve: Resolver, *, what: str = "expression") -> ir.Value:
    """Translate a checked sqlglot tree into an Ibis value; ``resolve`` maps a column name to a value.

    Operands of the wrong type (``-queue``, ``not queue``, ``seconds_between(queue, queue)``) are the caller's
    mistake: they raise :class:`CallopsError` (a 400), not whatever Ibis raised (issue 21).
    """
    try:
        return _Translator(resolve, what).visit(tree)
    except (TypeError, AttributeError, ValueError, OverflowError, RecursionError) as exc:
        kind = type(exc).__name__
        raise CallopsError(f"{what}: {tree.sql()!r} does not fit the types of its columns ({kind})") from None


def _lit(node: exp.Literal) -> ir.Value:
    if node.is_string:
        return ibis.literal(node.this)
    text = node.this
    return ibis.literal(float(text)) if any(ch in text for ch in ".eE") else ibis.literal(int(text))


class _Translator:
    def __init__(self, resolve: Resolver, what: str) -> None:
        self.resolve = resolve
        self.what = what

    def visit(self, node: exp.Expression) -> ir.Value:
        v = self.visit
        match node:
            case exp.Column():
                return self.resolve(node.name)
            case exp.Literal():
                return _lit(node)
            case exp.Boolean():
                return ibis.literal(bool(node.this))
            case exp.Null():
                return ibis.null()
            case exp.Paren():
                return v(node.this)
            case exp.And():
                return v(node.left) & v(node.right)
            case exp.Or():
                return v(node.left) | v(node.right)
            case exp.Not():
                return ~v(node.this)
            case exp.EQ():
                return v(node.left) == v(node.right)
            case exp.NEQ():
                return v(node.left) != v(node.right)
            case exp.GT():
                return v(node.left) > v(node.right)
            case exp.GTE():
                return v(node.left) >= v(node.right)
            case exp.LT():
                return v(node.left) < v(node.right)
            case exp.LTE():
                return v(node.left) <= v(node.right)
            case exp.Add():
                return v(node.left) + v(node.right)
            case exp.Sub():
                return v(node.left) - v(node.right)
            case exp.Mul():
                return v(node.left) * v(node.right)
            case exp.Div():
                return v(node.left) / v(node.right).nullif(0)
            case exp.Neg():
                return -v(node.this)
            case exp.Is():
                if isinstance(node.expression, exp.Null):
                    return v(node.this).isnull()
                raise self._refuse(node)
            case exp.In():
                return v(node.this).isin([v(e) for e in node.expressions])
            case exp.Between():
                return v(node.this).between(v(node.args["low"]), v(node.args["high"]))
            case exp.Like():
                return v(node.this).like(node.expression.this)
            case exp.ILike():
                return v(node.this).ilike(node.expression.this)
            case exp.Case():
                return self._case(node)
            case exp.If():
                return ibis.ifelse(v(node.this), v(node.args["true"]), v(node.args.get("false") or exp.Null()))
            case exp.Coalesce():
                return ibis.coalesce(v(node.this), *[v(e) for e in node.expressions])
            case exp.Nullif():
                return v(node.this).nullif(v(node.expression))
            case exp.Abs():
                return v(node.this).abs()
            case exp.Lower():
                return v(node.this).lower()
            case exp.Upper():
                return v(node.this).upper()
            case exp.Greatest():
                return ibis.greatest(v(node.this), *[v(e) for e in node.expressions])
            case exp.Least():
                return ibis.least(v(node.this), *[v(e) for e in node.expressions])
            case exp.Anonymous() if node.name.lower() == "seconds_between":
                start, end = (v(e) for e in node.expressions)
                return end.epoch_seconds() - start.epoch_seconds()
        raise self._refuse(node)

    def _case(self, node: exp.Case) -> ir.Value:
        if node.this is not None:
            raise CallopsError(f"{self.what}: write CASE WHEN <condition> THEN ..., not CASE <value> WHEN ...")
        builder = ibis.cases(*[(self.visit(w.this), self.visit(w.args["true"])) for w in node.args["ifs"]],
                             else_=self.visit(node.args["default"]) if node.args.get("default") else None)
        return builder

    def _refuse(self, node: exp.Expression) -> CallopsError:
        return CallopsError(f"{self.what}: {node.sql(dialect='duckdb')!r} is not supported in metric expressions")
