"""Parsing gin files and bindings, with errors a user can act on."""
import logging
import os
import re
from typing import Sequence

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


def parse(gin_files: Sequence[str], gin_bindings: Sequence[str]) -> None:
  """Parses gin files, then bindings; unknown names are errors.

  Includes resolve relative to the directory of each file given.

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
  # gin searches includes in every directory ever added, first added first;
  # gin/sac and gin/ppo hold files of the same names ('common/mujoco.gin'),
  # so the search path is set to this call's directories, then restored.
  # Each file's parent directory comes after its own, so that files under
  # common/ find the other common files of their agent.
  search_path = gin.config._LOCATION_PREFIXES  # pylint: disable=protected-access
  saved = list(search_path)
  directories = [os.path.dirname(os.path.abspath(path)) for path in gin_files]
  search_path[:] = [''] + directories + [os.path.dirname(d)
                                         for d in directories]
  # gin's package-resource reader logs an error for every search path that
  # misses before the one that hits; its real failures are raised, not logged.
  logging.disable(logging.ERROR)
  try:
    gin.parse_config_files_and_bindings(gin_files, gin_bindings)
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
  finally:
    logging.disable(logging.NOTSET)
    search_path[:] = saved


def one_line(error: BaseException) -> str:
  """The first line of an error message (gin appends location lines)."""
  text = str(error).strip() or type(error).__name__
  return text.splitlines()[0].strip()


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
