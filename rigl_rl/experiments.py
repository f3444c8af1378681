"""The experiments rigl_rl ships: its gin files, found by name.

The gin files live in the repository's gin/ and install with the package as
`rigl_rl/gin` (in a checkout, a link to gin/), so that an installed rigl_rl
runs `--gin_files=dqn/cartpole_rigl.gin` from any directory. Imports nothing
heavy: `rigl-train --list` reads it without TensorFlow.
"""
import collections
import glob
import os
from typing import Dict, List

from rigl_rl import methods
from rigl_rl.errors import ConfigError

# <agent>/<env>_<method>.gin below it; the files under <agent>/common/ only
# complete one.
GIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'gin')
_COMMON = 'common'


def resolve(path: str, where: str = '') -> str:
  """The gin file that `path` names: a local file, else a shipped one.

  A path to an existing file, relative to the working directory or
  absolute, wins; a relative path that names no local file is looked up
  among the shipped experiments, as <agent>/<env>_<method>.gin.

  Args:
    path: a gin file's path, or a shipped experiment's name such as
      'dqn/cartpole_rigl.gin'.
    where: where `path` was given, for the error, e.g. 'in experiments[0]'.

  Returns:
    The path of an existing file: `path` itself if it exists, else the
    shipped file's absolute path.

  Raises:
    ConfigError: if neither exists.
  """
  if os.path.isfile(path):
    return path
  shipped = os.path.join(GIN_DIR, path)
  if not os.path.isabs(path) and os.path.isfile(shipped):
    return shipped
  # gin/dqn/x.gin, as the repository's docs write it, run elsewhere.
  parts = os.path.normpath(path).split(os.sep)
  if len(parts) > 2 and os.path.isfile(os.path.join(GIN_DIR, *parts[-2:])):
    fix = f'name the shipped one {"/".join(parts[-2:])}'
  else:
    fix = 'rigl-train --list lists the shipped experiments'
  raise ConfigError(f'gin file {path!r}{" " + where if where else ""} not '
                    f'found (relative paths start at '
                    f'{os.getcwd()}, shipped names such as '
                    f'dqn/cartpole_rigl.gin at {GIN_DIR}); {fix}')


def shipped_name(path: str) -> str:
  """The name that finds `path` from any checkout or install.

  Args:
    path: a gin file's path.

  Returns:
    For a shipped gin file, its name below the gin dir, such as
    'dqn/cartpole_rigl.gin', which `resolve` finds wherever rigl_rl lives;
    for any other file, `path` as it is.
  """
  real, root = os.path.realpath(path), os.path.realpath(GIN_DIR)
  if os.path.commonpath([real, root]) == root:
    return os.path.relpath(real, root).replace(os.sep, '/')
  return path


def shipped() -> Dict[str, Dict[str, List[str]]]:
  """The shipped experiments: agent -> environment -> its methods' names.

  Each name is the <method> of a gin file <agent>/<env>_<method>.gin, in
  the order of methods.GIN_STEMS; agents and environments are sorted.
  """
  found = collections.defaultdict(lambda: collections.defaultdict(list))
  for path in sorted(glob.glob(os.path.join(GIN_DIR, '*', '*.gin'))):
    agent = os.path.basename(os.path.dirname(path))
    stem = methods.gin_stem(path)
    name = os.path.splitext(os.path.basename(path))[0]
    found[agent][name[:-len(stem) - 1]].append(stem)
  order = methods.GIN_STEMS.index
  return {agent: {env: sorted(stems, key=order) for env, stems in envs.items()}
          for agent, envs in sorted(found.items())}


def listing() -> str:
  """What `rigl-train --list` prints: the shipped experiments by agent and
  environment, and how to name one."""
  experiments = shipped()
  width = max(len(env) for envs in experiments.values() for env in envs)
  lines = ['Shipped experiments: --gin_files=<agent>/<env>_<method>.gin, e.g. '
           '--gin_files=dqn/cartpole_rigl.gin', '']
  for agent, envs in experiments.items():
    lines.append(f'{agent}:')
    lines += [f'  {env:<{width}}  {" ".join(stems)}'
              for env, stems in envs.items()]
  lines += ['', f'Files in {GIN_DIR}; those under <agent>/{_COMMON}/ only '
            'complete a run config.']
  return '\n'.join(lines)
