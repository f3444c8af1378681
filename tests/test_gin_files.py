"""Every gin file under gin/ parses, and every run config builds."""
import glob
import os

import gin
import pytest

from rigl_rl import config
from rigl_rl.training.loop import Runner
from rigl_rl.errors import ConfigError
from tests.conftest import GIN_DIR

ALL_FILES = sorted(glob.glob(os.path.join(GIN_DIR, '**', '*.gin'),
                             recursive=True))
RUN_FILES = [path for path in ALL_FILES
             if os.path.basename(os.path.dirname(path)) != 'common']


METHODS = ('dense', 'prune', 'static', 'set', 'rigl')
MUJOCO = ('halfcheetah', 'hopper', 'walker2d', 'ant', 'humanoid')
MINATAR = tuple(f'minatar_{game}' for game in (
    'asterix', 'breakout', 'freeway', 'seaquest', 'space_invaders'))
ENVS = {
    'dqn': ('cartpole', 'acrobot', 'mountaincar', 'atari_nature',
            'atari_impala') + MINATAR,
    'sac': MUJOCO + ('pendulum',),
    'ppo': MUJOCO + ('pendulum', 'cartpole'),
}
# agent -> the agent_fn parameters that hold each network's SparseTraining.
SPARSE_PARAMETERS = {
    'dqn': ('dqn_agent.sparse',),
    'sac': ('sac_agent.actor_sparse', 'sac_agent.critic_sparse'),
    'ppo': ('ppo_agent.actor_sparse', 'ppo_agent.value_sparse'),
}


def _agent(path):
  return os.path.relpath(path, GIN_DIR).split(os.sep)[0]


@pytest.mark.parametrize('agent', sorted(ENVS))
def test_every_env_has_every_method(agent):
  names = {os.path.basename(path) for path in RUN_FILES
           if _agent(path) == agent}
  for env in ENVS[agent]:
    for method in METHODS:
      assert f'{env}_{method}.gin' in names


def _bindings(path):
  """The lottery configs name their earlier run; parsing needs no such run."""
  return (['TICKET_RUN_DIR = "/a/finished/run"'] if 'lottery' in path else [])


@pytest.mark.parametrize('path', ALL_FILES,
                         ids=[os.path.relpath(p, GIN_DIR) for p in ALL_FILES])
def test_gin_file_parses(path):
  config.parse([path], _bindings(path))


def test_lottery_without_its_run_names_the_macro_to_set():
  with pytest.raises(ConfigError, match="--gin_bindings='TICKET_RUN_DIR = "):
    config.parse([os.path.join(GIN_DIR, 'dqn', 'cartpole_lottery.gin')], [])


# Baselines that train the dense network (Obando-Ceron et al. 2024, 5.1).
DENSE_BASELINES = ('reset', 'redo', 'weight_decay')


def _method(path):
  stem = os.path.basename(path)[:-len('.gin')]
  return next(method for method in METHODS + DENSE_BASELINES + ('lottery',)
              if stem.endswith('_' + method))
# The lottery ticket needs an earlier run; tests/baselines/ builds it. SAC,
# PPO and MinAtar build every dense base and every method on one env: their
# method files differ only in the dense base they include. Atari's method
# files share MinAtar's (common/pixels_<method>.gin), and an Atari RigL run
# trains in tests/networks/test_conv.py.
def _buildable(path):
  name = os.path.basename(path)
  if _method(path) == 'lottery':
    return False
  if _method(path) == 'dense' or name.startswith(('pendulum_',
                                                   'minatar_breakout_')):
    return True
  return _agent(path) == 'dqn' and not name.startswith(('minatar_', 'atari_'))


BUILDABLE = [path for path in RUN_FILES if _buildable(path)]


def test_cartpole_has_every_baseline():
  names = {os.path.basename(path) for path in RUN_FILES}
  for baseline in DENSE_BASELINES + ('lottery',):
    assert f'cartpole_{baseline}.gin' in names


@pytest.mark.parametrize('path', RUN_FILES,
                         ids=[os.path.relpath(p, GIN_DIR) for p in RUN_FILES])
def test_run_config_names_method_and_macros(path):
  config.parse([path], _bindings(path))
  for macro in ('NUM_ENV_STEPS', 'EVAL_INTERVAL', 'EVAL_EPISODES',
                'CHECKPOINT_INTERVAL', 'SEED'):
    assert gin.query_parameter(f'%{macro}') is not None
  method = _method(path)
  if method in ('dense',) + DENSE_BASELINES:
    for parameter in SPARSE_PARAMETERS[_agent(path)]:
      with pytest.raises(ValueError):
        gin.query_parameter(parameter)
  elif method == 'lottery':
    assert gin.query_parameter('LotteryTicket.run_dir').scoped_selector == (
        'TICKET_RUN_DIR/gin.macro')
  else:
    assert gin.query_parameter('%SPARSITY') == 0.9


@pytest.mark.parametrize('path', BUILDABLE,
                         ids=[os.path.relpath(p, GIN_DIR) for p in BUILDABLE])
def test_run_config_builds(path, tmp_path):
  # A small replay: SAC's 1e6 transitions of Humanoid would take 2.8 GB.
  small = (['OffPolicy.replay_capacity = 1000']
           if _agent(path) != 'ppo' else [])
  config.parse([path], small)
  runner = Runner(str(tmp_path / 'run'), verbose=False)
  method = _method(path)
  dense_network = method in ('dense',) + DENSE_BASELINES
  assert runner.bundle.method == ('dense' if dense_network else method)
  assert [type(b).__name__.lower() for b in runner.plasticity_baselines] == (
      [method] if method in ('reset', 'redo') else [])
  counts = runner.bundle.param_counts()
  assert len(counts) == {'dqn': 1, 'sac': 3, 'ppo': 2}[_agent(path)]
  for active, total in counts.values():
    if dense_network or method == 'prune':  # Pruning starts dense.
      assert active == total
    else:
      assert active < 0.2 * total
  assert not os.path.exists(tmp_path / 'run')  # Building writes nothing.


def test_includes_resolve_next_to_the_file_given():
  # gin/dqn and gin/ppo both hold 'cartpole_dense.gin' and
  # 'common/classic_control.gin'; each file must include its own.
  config.parse([os.path.join(GIN_DIR, 'dqn', 'cartpole_rigl.gin')], [])
  assert gin.query_parameter('Runner.agent_fn').selector == 'dqn_agent'
  gin.clear_config()
  config.parse([os.path.join(GIN_DIR, 'ppo', 'cartpole_rigl.gin')], [])
  assert gin.query_parameter('Runner.agent_fn').selector == 'ppo_agent'
