"""What the binaries share: their common flags, a quiet start-up, and how
errors end them.

A user's mistake ends a binary with one `error:` line; a bug ends it with its
traceback and everything held back during start-up. Imports nothing heavy
(absl and rigl_rl.errors only): binaries parse flags and hold stderr before
TensorFlow loads.
"""
import contextlib
import os
import sys
import tempfile
from typing import Callable, List, Optional
import warnings

from absl import app
from absl import flags
from absl import logging

from rigl_rl.errors import ConfigError
from rigl_rl.errors import one_line


def define_root_dir(help_text: str, unless: Optional[str] = None) -> None:
  """Defines --root_dir, a run directory, required unless a flag is set.

  Args:
    help_text: the flag's help.
    unless: a boolean flag, defined before, that makes --root_dir optional
      when set (e.g. 'list', which lists instead of running).
  """
  # Named for the binary, so that its --help lists the flag.
  flags.DEFINE_string('root_dir', None, help_text, module_name=sys.argv[0])
  if unless is None:
    flags.mark_flag_as_required('root_dir')
  else:
    flags.register_multi_flags_validator(
        ['root_dir', unless],
        lambda values: values[unless] or values['root_dir'] is not None,
        message=f'--root_dir must have a value (or pass --{unless})')


def existing_dir(flag: str, path: str, what: str) -> None:
  """Raises ConfigError unless `path`, given as --`flag`, is a directory.

  Args:
    flag: the flag's name, e.g. 'root_dir'.
    path: its value.
    what: what the directory should be, e.g. 'a run directory'.
  """
  if not path:
    raise ConfigError(f'--{flag} is empty; pass {what}')
  if not os.path.exists(path):
    raise ConfigError(f'--{flag}={path} does not exist; pass {what}')
  if not os.path.isdir(path):
    raise ConfigError(f'--{flag}={path} is a file; pass {what}')


def writable_dir(flag: str, path: str) -> None:
  """Raises ConfigError unless `path`, given as --`flag`, is a directory
  this process can write in, or can make one.

  Checked before any work, so that a run never stops at its first write.
  """
  if not path:
    raise ConfigError(f'--{flag} is empty; pass a directory, e.g. '
                      f'--{flag}=/tmp/runs/cartpole_rigl')
  existing = os.path.abspath(path)
  while not os.path.exists(existing):  # The directory that would hold it.
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    raise ConfigError(f'--{flag}={path}: {existing} is a file, not a '
                      'directory; pass another path')
  if not os.access(existing, os.W_OK | os.X_OK):
    raise ConfigError(f'--{flag}={path}: {existing} is not writable; pass a '
                      'directory you can write in')


def define_gin_flags() -> None:
  """Defines --gin_files and --gin_bindings, both repeatable."""
  flags.DEFINE_multi_string('gin_files', [], 'Gin files, parsed in order.',
                            module_name=sys.argv[0])
  flags.DEFINE_multi_string('gin_bindings', [],
                            "Gin bindings, e.g. 'SPARSITY = 0.95'.",
                            module_name=sys.argv[0])


def quiet() -> None:
  """Keeps a binary's output to its progress lines.

  Silences TensorFlow's C++ notices, absl INFO lines (TF's one per
  checkpoint, rliable's one per estimate) and the SyntaxWarnings autograph
  raises on the TF-Agents code it converts. Call before TensorFlow loads.
  """
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  logging.set_verbosity(logging.WARNING)
  warnings.filterwarnings('ignore', category=SyntaxWarning,
                          module='.*__autograph_generated_file')


# The flags with which absl prints help and exits.
_HELP_FLAGS = ('-?', '--help', '-help', '--helpshort', '-helpshort',
               '--helpfull', '-helpfull')


def _parse_flags(argv: List[str]) -> List[str]:
  """absl's flag parsing, but help, which was asked for, exits with 0.

  absl exits with 1 after printing help, as if it were an error.
  """
  try:
    return app.parse_flags_with_usage(argv)
  except SystemExit as e:
    if e.code == 1 and any(arg in _HELP_FLAGS for arg in argv[1:]):
      sys.exit(0)
    raise


def run(main: Callable[[], None]) -> None:
  """Parses the flags and runs `main`; positional arguments are an error."""

  def main_of_argv(argv):
    if len(argv) > 1:
      sys.exit(f'error: unexpected arguments {argv[1:]}')
    main()

  app.run(main_of_argv, flags_parser=_parse_flags)


@contextlib.contextmanager
def user_errors():
  """Ends the process with one `error:` line for a ConfigError in the block."""
  try:
    yield
  except ConfigError as e:
    sys.exit(f'error: {one_line(e)}')


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


@contextlib.contextmanager
def startup():
  """Holds stderr while the block starts the library up.

  A ConfigError in the block propagates with the held output dropped: it
  says what to fix. Any other error is a bug: the held output is replayed,
  then the error propagates with its traceback.

  Yields:
    A HeldOutput: what start-up wrote, e.g. for the run's startup.log.
  """
  output = HeldOutput()  # Empty, should holding stderr itself fail.
  try:
    with held_stderr() as output:
      yield output
  except ConfigError:
    raise
  except Exception:  # pylint: disable=broad-except
    sys.stderr.write(output.text())
    raise

