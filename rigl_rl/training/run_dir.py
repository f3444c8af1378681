"""The run directory: its config guard and atomic file writes."""
import atexit
import json
import os
import socket
import tempfile
from typing import Optional, Tuple

from rigl_rl.errors import ConfigError

CONFIG_FILE = 'config.gin'
RESULTS_FILE = 'results.json'
LOCK_FILE = '.lock'
# How bin/sweep made a run: its gin files, bindings and labels.
SWEEP_RUN_FILE = 'sweep_run.json'
# The spec bin/sweep ran, copied into the sweep dir; an earlier, different one
# is kept as sweep_spec.<n>.yaml.
SWEEP_SPEC_FILE = 'sweep_spec.yaml'
# The online networks as they start and as they finish (lottery tickets).
NETWORKS_DIR = 'networks'
INITIAL_NETWORKS = os.path.join(NETWORKS_DIR, 'initial')
FINAL_NETWORKS = os.path.join(NETWORKS_DIR, 'final')
# What a run writes; a directory holding any of these belongs to a run.
RUN_FILES = (CONFIG_FILE, RESULTS_FILE, 'checkpoints', 'train', 'eval',
             NETWORKS_DIR)


def is_earlier_sweep_spec(name: str) -> bool:
  """Whether a file name is an earlier spec of a sweep dir,
  sweep_spec.<n>.yaml."""
  stem, ext = os.path.splitext(SWEEP_SPEC_FILE)
  middle = name[len(stem) + 1:-len(ext)]
  return (name.startswith(stem + '.') and name.endswith(ext) and
          middle.isdigit())


def write_atomic(path: str, text: str) -> None:
  """Writes `text` to `path` so that readers never see a partial file."""
  directory = os.path.dirname(path) or '.'
  fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-')
  with os.fdopen(fd, 'w') as f:
    f.write(text)
  # mkstemp makes 0600 files; give the usual umask-based mode instead.
  umask = os.umask(0)
  os.umask(umask)
  os.chmod(tmp, 0o666 & ~umask)
  os.replace(tmp, path)


def write_json(path: str, data) -> None:
  write_atomic(path, json.dumps(data, indent=1) + '\n')


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def _me() -> Tuple[int, str]:
  """This process as a lock names it: (PID, host)."""
  return os.getpid(), socket.gethostname()


def _holder(path: str) -> Optional[Tuple[int, str]]:
  """(pid, host) of the lock at `path`; None if it is missing or garbled."""
  try:
    with open(path) as f:
      fields = f.read().split()
  except (FileNotFoundError, UnicodeDecodeError):
    return None
  if len(fields) != 2 or not fields[0].isdigit():
    return None
  return int(fields[0]), fields[1]


def _in_use(root_dir: str, holder: Tuple[int, str]) -> ConfigError:
  pid, host = holder
  return ConfigError(
      f'{root_dir} is in use by process {pid} on {host}; wait for it to end '
      f'or stop it, then run again (if it has ended, delete '
      f'{os.path.join(root_dir, LOCK_FILE)})')


def lock(root_dir: str) -> None:
  """Marks `root_dir` as used by this process until it exits.

  The lock file appears with its content at once (a hard link to a written
  file). A lock left by a dead process of this host (e.g. after SIGKILL) is
  taken over; one of another host is never, since its process cannot be
  checked from here.

  Raises:
    ConfigError: if another live process, or any process of another host,
      holds the lock.
  """
  path = os.path.join(root_dir, LOCK_FILE)
  fd, tmp = tempfile.mkstemp(dir=root_dir, prefix='.lock-')
  try:
    with os.fdopen(fd, 'w') as f:
      f.write('%d %s\n' % _me())
    try:
      os.link(tmp, path)
    except FileExistsError:
      holder = _holder(path)
      if holder is not None and holder != _me():
        if holder[1] != _me()[1] or _alive(holder[0]):
          raise _in_use(root_dir, holder) from None
      os.replace(tmp, path)
      # Another process may have taken it over at the same moment.
      if _holder(path) != _me():
        raise _in_use(root_dir, _holder(path)) from None
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
  atexit.register(_unlock, path)


def check_lock(root_dir: str) -> None:
  """Before a write: makes sure this process still holds the run's lock.

  A deleted lock is written again.

  Raises:
    ConfigError: if another process holds it now (it took the run over, so
      this one must stop without writing).
  """
  path = os.path.join(root_dir, LOCK_FILE)
  holder = _holder(path)
  if holder == _me():
    return
  if holder is None:
    lock(root_dir)
    return
  pid, host = holder
  raise ConfigError(
      f'{path} now names process {pid} on {host}: another process took this '
      'run over, so this one stops without writing more')


def _unlock(path: str) -> None:
  if _holder(path) == _me():
    os.remove(path)


def finished(root_dir: str) -> bool:
  """Whether the run's results.json says it finished (False if unreadable)."""
  try:
    with open(os.path.join(root_dir, RESULTS_FILE)) as f:
      return json.load(f).get('finished') is True
  except (OSError, ValueError, AttributeError):
    return False


def claim(root_dir: str, config: str) -> bool:
  """Makes `root_dir` the home of a run of `config`, or refuses.

  Args:
    root_dir: the run directory.
    config: the operative gin config of the run about to start.

  Returns:
    True if `root_dir` already held a run of the same config (a resume).

  Raises:
    ConfigError: if `root_dir` holds a run of another config, run files
      without a config, or a run another live process is training; nothing
      on disk is touched then.
  """
  if os.path.exists(root_dir) and not os.path.isdir(root_dir):
    raise ConfigError(f'--root_dir {root_dir} is a file; pass a directory')
  path = os.path.join(root_dir, CONFIG_FILE)
  if os.path.exists(path):
    lock(root_dir)  # Before reading: a live run must not be resumed twice.
    with open(path) as f:
      if f.read() == config:
        return True
    raise ConfigError(
        f'{root_dir} holds a run of a different configuration (its config is '
        f'{path}); pass a new --root_dir, or the same gin files and bindings '
        'to resume that run')
  if os.path.isdir(root_dir):
    found = [name for name in RUN_FILES
             if os.path.exists(os.path.join(root_dir, name))]
    if found:
      raise ConfigError(
          f'{root_dir} holds run files ({", ".join(found)}) but no '
          f'{CONFIG_FILE}, so it cannot be checked; pass a new --root_dir')
  os.makedirs(root_dir, exist_ok=True)
  lock(root_dir)
  write_atomic(path, config)
  return False
