"""Errors a user can cause through flags or gin, reported as one line."""


class ConfigError(ValueError):
  """A configuration the user can fix; the message says how."""
