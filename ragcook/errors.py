"""Errors a reader can act on. The CLI prints their message on one line and exits non-zero."""


class RagcookError(Exception):
    """Base class: bad input or a missing resource, with a message that says what to do."""


class DataError(RagcookError, ValueError):
    """A dataset file is missing, malformed or inconsistent."""


class ModelNotFound(RagcookError, FileNotFoundError):
    """A model folder is missing; the message names the pip package that ships it."""


def warn(message: str) -> None:
    """One line on stderr, ``ragcook: warning: ...``: for input that is skipped, not fatal."""
    import sys

    print(f"ragcook: warning: {message}", file=sys.stderr)
