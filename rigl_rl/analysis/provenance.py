"""What a report was made from: the code's git commit and package versions.

Read without importing the packages (importlib.metadata), so a report can
name TensorFlow's version without loading it.
"""
import importlib.metadata
import os
import platform
import subprocess
from typing import Dict

UNKNOWN = 'unknown'
NOT_INSTALLED = 'not installed'
# The name a report shows -> the distribution pip installs.
PACKAGES = {
    'rigl_rl': 'rigl_rl',
    'tensorflow': 'tensorflow',
    'tf-agents': 'tf-agents',
    'tfmot': 'tensorflow-model-optimization',
    'gin-config': 'gin-config',
    'gymnasium': 'gymnasium',
    'rliable': 'rliable',
}
_CODE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _git(*args: str) -> str:
  """A git command's output in the package's directory.

  Raises:
    OSError, subprocess.SubprocessError: without git, outside a repository,
      or if git takes too long.
  """
  return subprocess.run(
      ['git', '-C', _CODE_DIR, *args], capture_output=True, text=True,
      check=True, timeout=30).stdout.strip()


def git_commit() -> Dict[str, object]:
  """The commit of the rigl_rl code running now.

  Returns:
    {'commit': the hash, or 'unknown' when the code is not in a git checkout
    (e.g. a wheel) or git is missing; 'uncommitted_changes': whether tracked
    files differ from it, or None when unknown}.
  """
  try:
    commit = _git('rev-parse', 'HEAD')
    dirty = bool(_git('status', '--porcelain', '--untracked-files=no'))
  except (OSError, subprocess.SubprocessError):
    return {'commit': UNKNOWN, 'uncommitted_changes': None}
  return {'commit': commit or UNKNOWN,
          'uncommitted_changes': dirty if commit else None}


def versions() -> Dict[str, str]:
  """Installed versions of the packages a result depends on, and Python's."""
  found = {}
  for name, distribution in PACKAGES.items():
    try:
      found[name] = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
      found[name] = NOT_INSTALLED
  found['python'] = platform.python_version()
  return found


def describe_commit(code: Dict[str, object]) -> str:
  """'abc123' or 'abc123 with uncommitted changes' or 'unknown'."""
  if code['uncommitted_changes']:
    return f'{code["commit"]} with uncommitted changes'
  return str(code['commit'])
