"""The one exception type the CLI turns into a clean one-line error."""


class BreakfixError(Exception):
    """An expected failure with a message meant for the user (no traceback)."""
