"""Where MuJoCo writes its warnings.

MuJoCo appends each warning (a deprecated attribute in a model file, an
unstable simulation) to MUJOCO_LOG.TXT in the current directory, besides
stderr. A run writes nothing outside its run directory, so the factory and
the run loop say where it goes instead, for the block they run.
"""
import contextlib
from typing import Iterator, Optional

from rigl_rl.envs import names

# Beside a MuJoCo run's other files.
LOG_FILE = 'mujoco.log'


@contextlib.contextmanager
def written_to(path: Optional[str]) -> Iterator[None]:
  """MuJoCo's warnings go to stderr and to `path` inside the block, not to
  MUJOCO_LOG.TXT in the current directory; the previous setting is restored
  after it.

  Args:
    path: the file MuJoCo appends to; None writes no file.
  """
  import mujoco  # pylint: disable=g-import-not-at-top  # Only for MuJoCo envs.
  config = mujoco.MjLogConfig.get()
  saved = config.logfile, config.logto_file
  config.logto_file = path is not None
  if path is not None:
    config.logfile = path
  config.set()
  try:
    yield
  finally:
    config = mujoco.MjLogConfig.get()
    config.logfile, config.logto_file = saved
    config.set()


def written_for(env_name: str, path: Optional[str]):
  """`written_to(path)` for a MuJoCo environment; nothing for another, whose
  run needs no MuJoCo (nor its import)."""
  if env_name not in names.MUJOCO:
    return contextlib.nullcontext()
  return written_to(path)
