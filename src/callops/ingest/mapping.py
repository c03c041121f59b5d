"""Declarative ingest mappings (YAML), validated on load.

A mapping says how a source file becomes rows of one canonical table:

* ``format`` and reader options (delimiter, header, column names);
* ``parse``: typed parsers for source columns (``date`` with ``yymmdd``,
  ``clock`` for ``h:mm:ss`` times of day, ``timestamp`` as ISO-8601, epoch
  seconds or a strptime format, ``duration``, ``int``, ``float``, ``bool``);
* ``timezone``: the zone of naive source times (default: the tenant's zone);
* ``fields``: canonical column -> expression over source columns (the safe
  language of :mod:`callops.expressions`);
* ``constants``: canonical column -> fixed value;
* ``skip``: row filters that skip rows with a stated reason (counted, not rejected);
* ``key``: the natural key (default: the table's);
* ``attributes``: source columns kept as one JSON object in the table's ``attributes`` column.

A table with a ``sequence`` (``journey_events.seq``) may leave its order column out: the loader
then numbers each group's rows from 0 by time, ties broken by order in the file.

An ``adapter`` mapping (e.g. ``asterisk_queue_log``) names a Python reader for
event logs that need pairing of events; its output is then loaded with the
canonical mapping.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from callops import schema
from callops.errors import CallopsError
from callops.expressions import compile_expression

ParserType = Literal["string", "int", "float", "bool", "date", "clock", "duration", "timestamp"]

DATE_FORMATS = {"yymmdd": "%y%m%d", "yyyymmdd": "%Y%m%d", "iso": "%Y-%m-%d", "dd/mm/yyyy": "%d/%m/%Y"}
TIMESTAMP_FORMATS = ("iso8601", "epoch_s", "epoch_ms")
CLOCK_FORMATS = ("h:mm:ss", "hh:mm:ss", "h:mm")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParseSpec(_Strict):
    """How to turn one source column's text into a typed value."""

    type: ParserType
    format: str | None = None

    @model_validator(mode="after")
    def _check_format(self) -> ParseSpec:
        fmt = self.format
        if self.type == "date" and fmt is not None and fmt not in DATE_FORMATS and "%" not in fmt:
            raise ValueError(f"date format {fmt!r}: use one of {', '.join(DATE_FORMATS)} or a strptime format")
        if self.type == "timestamp" and fmt is not None and fmt not in TIMESTAMP_FORMATS and "%" not in fmt:
            raise ValueError(
                f"timestamp format {fmt!r}: use one of {', '.join(TIMESTAMP_FORMATS)} or a strptime format"
            )
        if self.type in ("clock", "duration") and fmt is not None and fmt not in CLOCK_FORMATS:
            raise ValueError(f"{self.type} format {fmt!r}: use one of {', '.join(CLOCK_FORMATS)}")
        if self.type in ("string", "int", "float", "bool") and fmt is not None:
            raise ValueError(f"type {self.type} takes no format")
        return self

    def describe(self) -> str:
        """Human description used in reject reasons, e.g. ``date (yymmdd)``."""
        return f"{self.type} ({self.format})" if self.format else self.type


class SkipRule(_Strict):
    """Rows for which ``when`` is true are skipped, counted under ``reason``."""

    when: str
    reason: str


class CsvOptions(_Strict):
    """Reader options for delimited text."""

    delimiter: str | None = None  # None: sniffed
    header: bool = True
    quote: str | None = None
    encoding: Literal["utf-8", "utf-16", "latin-1"] = "utf-8"


class Mapping(_Strict):
    """A validated ingest mapping."""

    name: str
    description: str = ""
    table: str | None = None  # None: any table (the canonical mapping)
    format: Literal["auto", "csv", "parquet", "jsonl"] = "auto"
    adapter: str | None = None
    csv: CsvOptions = Field(default_factory=CsvOptions)
    columns: list[str] | None = None  # names for header-less files
    timezone: str | None = None
    parse: dict[str, ParseSpec] = Field(default_factory=dict)
    fields: dict[str, str] = Field(default_factory=dict)
    constants: dict[str, str | int | float | bool] = Field(default_factory=dict)
    skip: list[SkipRule] = Field(default_factory=list)
    key: list[str] | None = None
    # Source columns kept together as a JSON object in the table's ``attributes`` column (event logs).
    attributes: list[str] = Field(default_factory=list)

    @field_validator("table")
    @classmethod
    def _known_table(cls, value: str | None) -> str | None:
        if value is not None and value not in schema.TABLES:
            raise ValueError(f"unknown table {value!r}; expected one of: {', '.join(schema.TABLES)}")
        return value

    @model_validator(mode="after")
    def _check_fields(self) -> Mapping:
        if self.adapter is not None:
            return self
        if self.table is None:
            raise ValueError("a mapping needs `table` (the canonical table it loads)")
        table = schema.TABLES[self.table]
        names = set(table.column_names)
        for group in ("fields", "constants"):
            for col in getattr(self, group):
                if col not in names:
                    raise ValueError(
                        f"{group}.{col}: {self.table} has no column {col!r}; columns: {', '.join(table.column_names)}"
                    )
        overlap = set(self.fields) & set(self.constants)
        if overlap:
            raise ValueError(f"columns given both as fields and constants: {', '.join(sorted(overlap))}")
        mapped = set(self.fields) | set(self.constants)
        if self.attributes:
            if "attributes" not in names:
                raise ValueError(f"attributes: {self.table} has no attributes column")
            if "attributes" in mapped:
                raise ValueError("attributes: the column is given both as a list and as a field")
        derived = table.sequence[0] if table.sequence else None  # numbered by the loader when left out
        missing = [c.name for c in table.columns if c.required and c.name not in mapped and c.name != derived]
        if missing:
            raise ValueError(f"required columns of {self.table} not mapped: {', '.join(missing)}")
        for col in self.key or []:
            if col not in names:
                raise ValueError(f"key column {col!r} is not a column of {self.table}")
        # Syntax and whitelist check now; column names are checked against the file when it is read.
        any_name = _AnyName()
        for col, text in self.fields.items():
            compile_expression(text, any_name, functions=_ANY_FUNCTIONS, what=f"fields.{col}")
        for i, rule in enumerate(self.skip):
            compile_expression(rule.when, any_name, functions=_ANY_FUNCTIONS, what=f"skip[{i}].when")
        return self

    def derives_sequence(self, table: schema.Table) -> bool:
        """True when ``table`` numbers its rows (``Table.sequence``) and this mapping leaves the number out."""
        if self.adapter is not None or table.sequence is None:
            return False
        return table.sequence[0] not in self.fields and table.sequence[0] not in self.constants

    def natural_key(self, table: schema.Table) -> tuple[str, ...]:
        """The key rows are matched on: the mapping's ``key`` or the table's."""
        return tuple(self.key) if self.key else table.key


class _AnyName(set):
    """A set that contains every name (used to check syntax before columns are known)."""

    def __contains__(self, item: object) -> bool:
        return True


def _placeholder_functions() -> dict:
    from callops.expressions import time_functions

    return time_functions("UTC")


_ANY_FUNCTIONS = _placeholder_functions()


def known_table(table_name: str) -> schema.Table:
    """The canonical table ``table_name``; a :class:`CallopsError` (a user mistake) listing the names if unknown."""
    try:
        return schema.get_table(table_name)
    except ValueError as exc:
        raise CallopsError(str(exc)) from None


def canonical_mapping(table_name: str, present: list[str] | None = None) -> Mapping:
    """The mapping for files already in canonical column names: identity fields, typed by the schema.

    With ``present`` (the file's columns) only those columns are mapped; a missing
    required column is an error, columns the schema does not know are ignored.
    """
    table = known_table(table_name)
    columns = [c for c in table.columns if present is None or c.name in present]
    if present is not None:
        missing = [c.name for c in table.columns if c.required and c.name not in present]
        if missing:
            raise CallopsError(
                f"the file lacks required {table.name} column(s) {', '.join(missing)} "
                f"(file columns: {', '.join(present)})"
            )
    parse = {}
    for col in columns:
        kind = {
            schema.ColumnType.STRING: ("string", None),
            schema.ColumnType.INT: ("int", None),
            schema.ColumnType.FLOAT: ("float", None),
            schema.ColumnType.BOOL: ("bool", None),
            schema.ColumnType.TIMESTAMP: ("timestamp", "iso8601"),
            schema.ColumnType.DATE: ("date", "iso"),
        }[col.type]
        parse[col.name] = ParseSpec(type=kind[0], format=kind[1])
    return Mapping(
        name="canonical",
        description="callops' own column names; timestamps ISO-8601 (naive ones in the tenant's zone)",
        table=table.name,
        parse=parse,
        fields={c.name: _quoted(c.name) for c in columns},
    )


def _quoted(name: str) -> str:
    return '"' + name + '"'


def builtin_mapping_names() -> list[str]:
    """Names of the mappings that ship with callops."""
    files = resources.files("callops.ingest.mappings")
    return sorted(["canonical", *(p.name.removesuffix(".yaml") for p in files.iterdir() if p.name.endswith(".yaml"))])


def load_mapping(ref: str, table_name: str) -> Mapping:
    """Resolve ``ref`` (a built-in name or a YAML path) to a validated mapping for ``table_name``."""
    known_table(table_name)
    if ref == "canonical":
        return canonical_mapping(table_name)
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise CallopsError(f"mapping file {ref} does not exist")
        text, origin = path.read_text(encoding="utf-8"), str(path)
    else:
        res = resources.files("callops.ingest.mappings") / f"{ref}.yaml"
        if not res.is_file():
            raise CallopsError(
                f"unknown mapping {ref!r}; built-in mappings: {', '.join(builtin_mapping_names())}, or give a YAML path"
            )
        text, origin = res.read_text(encoding="utf-8"), f"built-in mapping {ref}"
    mapping = parse_mapping(text, origin)
    if mapping.adapter is None and mapping.table != table_name:
        raise CallopsError(f"{origin} loads table {mapping.table!r}, not {table_name!r}")
    return mapping


def parse_mapping(text: str, origin: str = "mapping") -> Mapping:
    """Parse and validate mapping YAML; errors name the place in the file and what is wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # One line: the problem and where it is (PyYAML's own text spans several lines).
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CallopsError(f"{origin}: not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise CallopsError(f"{origin}: expected a mapping (key: value) at the top level")
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"  at {where}: {msg}")
        raise CallopsError(f"{origin} is not a valid mapping:\n" + "\n".join(problems)) from None
    except CallopsError as exc:
        raise CallopsError(f"{origin}: {exc}") from None
