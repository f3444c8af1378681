"""Dropping one known, harmless library message while a block runs."""
import contextlib
import logging


class _DropMessage(logging.Filter):
  """Drops the log records whose message starts with `prefix`."""

  def __init__(self, prefix: str):
    super().__init__()
    self.prefix = prefix

  def filter(self, record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith(self.prefix)


@contextlib.contextmanager
def without(logger: logging.Logger, prefix: str):
  """`logger` drops the messages that start with `prefix` inside the block,
  and nothing else; it is left as it was after it."""
  dropped = _DropMessage(prefix)
  logger.addFilter(dropped)
  try:
    yield
  finally:
    logger.removeFilter(dropped)
