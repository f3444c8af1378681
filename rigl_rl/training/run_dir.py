"""The run directory: its config guard and atomic file writes."""
import atexit
import json
import os
import tempfile

from rigl_rl.errors import ConfigError

CONFIG_FILE = 'config.gin'
RESULTS_FILE = 'results.json'
LOCK_FILE = '.lock'
# The online networks as they start and as they finish (lottery tickets).
NETWORKS_DIR = 'networks'
INITIAL_NETWORKS = os.path.join(NETWORKS_DIR, 'initial')
FINAL_NETWORKS = os.path.join(NETWORKS_DIR, 'final')
# What a run writes; a directory holding any of these belongs to a run.
RUN_FILES = (CONFIG_FILE, RESULTS_FILE, 'checkpoints', 'train', 'eval',
             NETWORKS_DIR)


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


def lock(root_dir: str) -> None:
  """Marks `root_dir` as used by this process until it exits.

  A lock left by a process that has died (e.g. SIGKILL) is taken over.

  Raises:
    ConfigError: if another live process holds the lock.
  """
  path = os.path.join(root_dir, LOCK_FILE)
  try:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
  except FileExistsError:
    with open(path) as f:
      text = f.read().strip()
    holder = int(text) if text.isdigit() else None
    if holder is not None and holder != os.getpid() and _alive(holder):
      raise ConfigError(
          f'{root_dir} is in use by process {holder}; wait for it to end or '
          'stop it, then run again') from None
    write_atomic(path, str(os.getpid()))
  else:
    with os.fdopen(fd, 'w') as f:
      f.write(str(os.getpid()))
  atexit.register(_unlock, path)


def _unlock(path: str) -> None:
  try:
    with open(path) as f:
      if f.read().strip() == str(os.getpid()):
        os.remove(path)
  except FileNotFoundError:
    pass


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
