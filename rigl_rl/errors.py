"""Errors a user can cause through flags or gin, reported as one line."""


class ConfigError(ValueError):
  """A configuration the user can fix; the message says how."""


def one_line(error: BaseException) -> str:
  """The first line of an error message (gin appends location lines)."""
  text = str(error).strip() or type(error).__name__
  return text.splitlines()[0].strip()


class ExportMismatch(RuntimeError):
  """An exported policy picks other actions than the trained network."""


class Interrupted(Exception):
  """A run that SIGINT or SIGTERM stopped, its checkpoint saved.

  Attributes:
    signal: the signal's number.
    results: its results.json as written when it stopped.
  """

  def __init__(self, signal: int, root_dir: str, results: dict):
    super().__init__(f'stopped by signal {signal} at env step '
                     f'{results["env_steps_done"]}, checkpoint saved; train '
                     f'{root_dir} again to resume')
    self.signal = signal
    self.results = results
