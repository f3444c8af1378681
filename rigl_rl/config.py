"""Parsing gin files and bindings, with errors a user can act on.

gin holds one process-global configuration, and nothing here changes it
behind a caller's back: `parse` adds to it, as gin's own parsing does, and
whoever owns the process (a binary, a test) decides when to clear it;
`parsed` holds a configuration for one block only, and so needs an empty one
on entry and leaves an empty one. Includes are resolved here, next to the
file that includes them, so gin's process-global include search path is
never touched.
"""
import contextlib
import io
import os
import re
from typing import Sequence, Tuple

import gin

# Registers every configurable the gin files may name.
import rigl_rl.agents  # pylint: disable=unused-import
import rigl_rl.analysis.diagnostics  # pylint: disable=unused-import
import rigl_rl.baselines  # pylint: disable=unused-import
import rigl_rl.sparsity  # pylint: disable=unused-import
import rigl_rl.training.experience  # pylint: disable=unused-import
import rigl_rl.training.loop  # pylint: disable=unused-import
from rigl_rl import methods
from rigl_rl.errors import ConfigError
from rigl_rl.errors import one_line

# gin's include statement: `include 'common/mujoco.gin'`, alone on its line.
_INCLUDE = re.compile(r"""^\s*include\s+(['"])(.*)\1\s*(#.*)?$""")
_INCLUDE_KEYWORD = re.compile(r'^\s*include\s')


def _include_path(name: str, including: str) -> str:
  """The file an include statement in `including` names.

  Relative names are looked up next to the including file, then in its
  parent directory (so that files under common/ find the other common files
  of their own agent: gin/sac and gin/ppo both hold 'common/mujoco.gin'),
  then in the working directory.

  Raises:
    ConfigError: if none of those holds the file.
  """
  directory = os.path.dirname(os.path.abspath(including))
  bases = ([''] if os.path.isabs(name) else
           [directory, os.path.dirname(directory), os.getcwd()])
  candidates = [os.path.join(base, name) for base in bases]
  for candidate in candidates:
    if os.path.isfile(candidate):
      return candidate
  raise ConfigError(f'gin file {including!r} includes {name!r}, but none of '
                    f'{", ".join(candidates)} exists')


def _parse_file(path: str, including: Tuple[str, ...] = ()) -> None:
  """Parses a gin file into gin's configuration, its includes in place.

  The text between includes goes to gin as it is, named after the file and
  padded to its line numbers, so that gin's errors point into the file.

  Args:
    path: the gin file.
    including: the files whose includes led here, outermost first.

  Raises:
    ConfigError: for a missing or malformed include, or an include cycle.
  """
  resolved = os.path.abspath(path)
  if resolved in including:
    chain = ' -> '.join(including + (resolved,))
    raise ConfigError(f'gin files include each other in a cycle: {chain}')
  with open(path) as f:
    lines = f.read().splitlines()

  def parse_lines(begin, end):
    text = io.StringIO('\n' * begin + '\n'.join(lines[begin:end]))
    text.name = path
    gin.parse_config(text)

  begin = 0
  for index, line in enumerate(lines):
    match = _INCLUDE.match(line)
    if match:
      parse_lines(begin, index)
      _parse_file(_include_path(match.group(2), path), including + (resolved,))
      begin = index + 1
    elif _INCLUDE_KEYWORD.match(line):
      # Left to gin, it would search its own global path.
      raise ConfigError(f"{path}, line {index + 1}: write includes as "
                        f"include 'file.gin', got {line.strip()!r}")
  parse_lines(begin, len(lines))


def parse(gin_files: Sequence[str], gin_bindings: Sequence[str]) -> None:
  """Parses gin files, then bindings, into gin's configuration, and locks it.

  Unknown names are errors. An include resolves next to the file that holds
  it (see `_include_path`). What gin held before stays; callers that want
  only these files clear gin first, or use `parsed`.

  Args:
    gin_files: gin files, parsed in order.
    gin_bindings: gin bindings, parsed after the files.

  Raises:
    ConfigError: for a missing file or any parse error, in one line.
  """
  if not gin_files:
    raise ConfigError('no --gin_files given; e.g. '
                      '--gin_files=gin/dqn/cartpole_rigl.gin')
  for path in gin_files:
    if not os.path.isfile(path):
      raise ConfigError(f'gin file {path!r} not found (relative paths start '
                        f'at {os.getcwd()})')
  try:
    for path in gin_files:
      _parse_file(path)
    gin.parse_config(gin_bindings)
    gin.finalize()
  except ConfigError:
    raise  # Already one line, naming the include to fix.
  except (ValueError, KeyError, IOError, SyntaxError) as e:
    hint = ''
    if 'matching reference' in str(e):
      updaters = [f'@{name}()' for name in methods.UPDATERS.values()]
      hint = (f'; mask updaters are {", ".join(updaters[:-1])} and '
              f'{updaters[-1]}, agents @dqn_agent, @sac_agent and @ppo_agent')
    macro = re.search(r"No bindings specified for '(\w+)/gin.macro'", str(e))
    if macro:
      raise ConfigError(
          f'gin macro {macro.group(1)} has no value; set it with '
          f"--gin_bindings='{macro.group(1)} = ...'") from e
    raise ConfigError(f'gin: {one_line(e)}{hint}') from e


@contextlib.contextmanager
def parsed(gin_files: Sequence[str], gin_bindings: Sequence[str]):
  """Holds a configuration parsed by `parse` for the length of a block.

  For library code that builds from a configuration of its own, such as
  parameter matching or evaluating a run's checkpoint. gin has a single
  process-global configuration, so this needs it empty on entry and clears
  it on exit: it never discards a configuration it did not parse.

  Args:
    gin_files: gin files, parsed in order.
    gin_bindings: gin bindings, parsed after the files.

  Yields:
    Nothing; gin holds the configuration inside the block.

  Raises:
    RuntimeError: if gin already holds a configuration. Its owner clears it
      (`gin.clear_config()`) when done with it.
    ConfigError: as `parse`.
  """
  if gin.config_str() or gin.config_is_locked():
    raise RuntimeError(
        'gin already holds a configuration; clear it (gin.clear_config()) '
        'once done with it, before building from another')
  try:
    parse(gin_files, gin_bindings)
    yield
  finally:
    gin.clear_config()


def configured_agent(seed: int = 0):
  """The environment spec and a new agent of the parsed config's Runner.

  Builds the agent without episodes, replay or a run directory, e.g. to
  count its parameters or to load a checkpoint into it.

  Returns:
    (environment spec, `AgentBundle`).
  """
  # pylint: disable=g-import-not-at-top
  from rigl_rl.envs import factory
  env_spec = gin.query_parameter('Runner.env_name')
  if isinstance(env_spec, gin.config.ConfigurableReference):  # @atari()
    env_spec = env_spec.scoped_configurable_fn()
  agent_fn = gin.query_parameter('Runner.agent_fn').scoped_configurable_fn
  env = factory.make_environment(env_spec, seed=seed)
  return env_spec, agent_fn(env.time_step_spec(), env.action_spec(),
                            seed=seed)
