"""Start-up helpers for the binaries. Imports nothing heavy."""
import contextlib
import os
import sys
import tempfile


class HeldOutput:
  """What was written to stderr while it was held; complete once released."""

  def __init__(self):
    self._text = ''

  def text(self) -> str:
    return self._text


@contextlib.contextmanager
def held_stderr():
  """Holds everything written to file descriptor 2, C++ logging included.

  TensorFlow, absl and gym print notices while importing and initialising;
  the binaries hold them so a configuration error reads as one line, and
  decide afterwards whether to replay, save or drop them.

  Yields:
    A HeldOutput.
  """
  sys.stderr.flush()
  saved = os.dup(2)
  output = HeldOutput()
  with tempfile.TemporaryFile() as held:
    os.dup2(held.fileno(), 2)
    try:
      yield output
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      held.seek(0)
      output._text = held.read().decode(errors='replace')  # pylint: disable=protected-access
