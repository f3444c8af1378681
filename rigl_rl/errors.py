"""Errors a user can cause through flags or gin, reported as one line."""


class ConfigError(ValueError):
  """A configuration the user can fix; the message says how."""


def one_line(error: BaseException) -> str:
  """The first line of an error message (gin appends location lines)."""
  text = str(error).strip() or type(error).__name__
  return text.splitlines()[0].strip()
