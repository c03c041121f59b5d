"""A small, safe expression language for mappings and filters.

Expressions are written in SQL syntax (``case when outcome = 'AGENT' then
'answered' end``), parsed by sqlglot, checked against a whitelist of node
types, functions and column names, and rendered to DuckDB SQL. Nothing is ever
``eval``-ed and no text is pasted into SQL unparsed: anything outside the
whitelist (sub-queries, unknown functions, unknown columns, stars) is refused
with a message that names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from callops.errors import CallopsError

_ALLOWED_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Case,
    exp.If,
    exp.And,
    exp.Or,
    exp.Not,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.Neg,
    exp.DPipe,
    exp.Coalesce,
    exp.Nullif,
    exp.Abs,
    exp.Lower,
    exp.Upper,
    exp.Trim,
    exp.Greatest,
    exp.Least,
    exp.Length,
    exp.Round,
    exp.Substring,
    exp.Concat,
    exp.Anonymous,
    exp.Tuple,
)

# Extra functions: name -> (arity, renderer taking rendered argument SQL).
FunctionRenderer = Callable[[list[str]], str]


def _base_functions() -> dict[str, tuple[int, FunctionRenderer]]:
    return {
        "seconds_between": (2, lambda a: f"(epoch({a[1]}) - epoch({a[0]}))"),
        # rollover(clock, start): a time of day in seconds, plus a day when it is more than
        # 12 hours before `start` (the event crossed midnight after a start late in the day).
        "rollover": (2, lambda a: f"({a[0]} + CASE WHEN {a[0]} < {a[1]} - 43200 THEN 86400 ELSE 0 END)"),
        "starts_with": (2, lambda a: f"starts_with({a[0]}, {a[1]})"),
        "regexp_matches": (2, lambda a: f"regexp_matches({a[0]}, {a[1]})"),
    }


def time_functions(timezone: str) -> dict[str, tuple[int, FunctionRenderer]]:
    """Functions whose meaning depends on the source time zone of a mapping.

    ``combine(date, seconds)`` is the local instant ``seconds`` after midnight of
    ``date`` in ``timezone``, returned in UTC; seconds past 86400 roll into the
    next day, which is how clock times after midnight are expressed.
    """
    zone = timezone.replace("'", "''")
    return {
        "combine": (
            2,
            lambda a: f"timezone('{zone}', CAST({a[0]} AS TIMESTAMP) + to_seconds(CAST({a[1]} AS BIGINT)))",
        ),
    }


MAX_LENGTH = 4000
MAX_DEPTH = 16  # nested parentheses; checked on the text, before the (recursive) parser sees it
MAX_DIGITS = 18  # a number literal fits a 64-bit integer


def check_shape(text: str, what: str = "expression") -> None:
    """Refuse text too long, nested too deep or with too large a number, before parsing (issue 21)."""
    if len(text) > MAX_LENGTH:
        raise CallopsError(f"{what}: longer than {MAX_LENGTH} characters")
    depth = deepest = 0
    quote: str | None = None
    digits = 0
    for ch in text:
        if quote is not None:
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
        digits = digits + 1 if ch.isdigit() else 0
        if digits > MAX_DIGITS:
            raise CallopsError(f"{what}: a number with more than {MAX_DIGITS} digits")
    if deepest > MAX_DEPTH:
        raise CallopsError(f"{what}: parentheses nested deeper than {MAX_DEPTH}")


def compile_expression(
    text: str,
    columns: Iterable[str],
    *,
    functions: dict[str, tuple[int, FunctionRenderer]] | None = None,
    column_sql: Callable[[str], str] | None = None,
    what: str = "expression",
) -> str:
    """Parse ``text``, check it against the whitelist and return DuckDB SQL.

    ``columns`` are the names the expression may refer to; ``column_sql`` maps a
    name to the SQL that stands for it (default: the quoted identifier).
    """
    known = columns if isinstance(columns, set) else set(columns)
    funcs = {**_base_functions(), **(functions or {})}
    if not isinstance(text, str) or not text.strip():
        raise CallopsError(f"{what}: empty expression")
    check_shape(text, what)
    try:
        tree = sqlglot.parse_one(text, read="duckdb")
    except (ParseError, TokenError) as exc:
        first = str(exc).splitlines()[0]
        raise CallopsError(f"{what}: cannot parse {text!r}: {first}") from None
    if tree is None:
        raise CallopsError(f"{what}: cannot parse {text!r}")
    for node in tree.walk():
        if not isinstance(node, _ALLOWED_NODES):
            raise CallopsError(f"{what}: {node.key.upper()} is not allowed in {text!r}")
        if isinstance(node, exp.Column):
            if node.table:
                raise CallopsError(f"{what}: qualified names such as {node.sql()!r} are not allowed")
            if node.name not in known:
                listing = ", ".join(sorted(known))
                raise CallopsError(f"{what}: unknown column {node.name!r} in {text!r}; known columns: {listing}")
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name not in funcs:
                raise CallopsError(
                    f"{what}: unknown function {node.name!r} in {text!r}; "
                    f"allowed: coalesce, nullif, abs, lower, upper, trim, greatest, least, length, round, "
                    f"substring, concat, {', '.join(sorted(funcs))}"
                )
            arity = funcs[name][0]
            if len(node.expressions) != arity:
                raise CallopsError(f"{what}: {name}() takes {arity} arguments in {text!r}")
    render_column = column_sql or _quote
    # Columns first, then custom functions deepest-first so nested calls see rendered arguments.
    # Rendered SQL is held in Var nodes, which sqlglot prints verbatim.
    tree = tree.transform(
        lambda n: exp.Var(this=render_column(n.name)) if isinstance(n, exp.Column) else n
    )
    calls = sorted(tree.find_all(exp.Anonymous), key=lambda n: n.depth, reverse=True)
    for call in calls:
        args = [a.sql(dialect="duckdb") for a in call.expressions]
        rendered = exp.Var(this="(" + funcs[call.name.lower()][1](args) + ")")
        if call is tree:
            tree = rendered
        else:
            call.replace(rendered)
    return tree.sql(dialect="duckdb")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_identifier(name: str) -> str:
    """Quote ``name`` as a DuckDB identifier."""
    return _quote(name)


def quote_literal(value: str) -> str:
    """Quote ``value`` as a DuckDB string literal."""
    return "'" + value.replace("'", "''") + "'"
