"""Errors that carry a message meant for the user (no traceback is shown for these)."""


class CallopsError(Exception):
    """A problem the user can fix: bad input, unknown name, missing file."""


class NotFound(CallopsError):  # noqa: N818 - reads better at call sites than NotFoundError
    """A named thing (tenant, table, mapping, load) does not exist."""


class Unavailable(CallopsError):  # noqa: N818 - a state, like NotFound
    """Something this answer depends on (another process, a broker) did not answer in time: try again (503)."""
