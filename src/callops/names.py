"""The characters a name may have when it reaches people: queues, centers, teams and agent ids.

Names come from uploaded files and live events and end up in console pages, exports and alert texts, so
they are checked where they enter (ingest validation, the live event contract): letters and digits of any
script, spaces and a few harmless punctuation marks. Quotes, ``< > = \\ `` and backticks are refused, and a
name cannot start with ``= + - @`` (a spreadsheet would read it as a formula). The same pattern is
understood by pydantic (Rust regex) and by DuckDB (RE2), so both entry points apply exactly one rule.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

NAME_MAX = 100
# \p{L} letters, \p{M} marks, \p{N} digits of any script, \p{Ps}/\p{Pe} brackets (（北京） too).
NAME_PATTERN = r"^[\p{L}\p{N}_][\p{L}\p{M}\p{N}\p{Ps}\p{Pe} _.,:;/#&+|~!?%*-]{0," + str(NAME_MAX - 1) + "}$"
NAME_RULE = (
    f"up to {NAME_MAX} letters, digits, spaces and _ . , : ; / # & + | ~ ! ? % * - ( ) [ ], "
    "starting with a letter, digit or _"
)
# Columns of the canonical tables whose values are names shown in the console.
NAME_COLUMNS = frozenset({"queue", "center", "team", "agent_id"})


@lru_cache(maxsize=1)
def _adapter():  # pydantic's TypeAdapter, built once on first use
    from typing import Annotated

    from pydantic import Field, TypeAdapter

    return TypeAdapter(Annotated[str, Field(pattern=NAME_PATTERN)])


def is_name(value: str) -> bool:
    """Whether ``value`` follows :data:`NAME_PATTERN` with letters every engine knows.

    The regex engines' Unicode tables differ in age (DuckDB's RE2 knows Unicode 15.0, pydantic's Rust regex
    15.1, this Python 3.11 14.0), so a letter assigned recently (CJK extension I, U+2EBF0) is a letter to one
    and not to another. Characters Python does not know yet are refused here, so whatever this accepts the
    ingest check (DuckDB) accepts too.
    """
    from pydantic import ValidationError

    try:
        _adapter().validate_python(value)
    except ValidationError:
        return False
    return all(unicodedata.category(ch) != "Cn" for ch in value)
