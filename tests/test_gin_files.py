"""Every gin file under gin/ parses, and every run config builds, reading
every binding and macro it sets."""
import glob
import os

import gin
import pytest

from rigl_rl import config
from rigl_rl import methods
from rigl_rl.envs import names
from rigl_rl.training.loop import Runner
from rigl_rl.errors import ConfigError
from tests.conftest import GIN_DIR

ALL_FILES = sorted(glob.glob(os.path.join(GIN_DIR, '**', '*.gin'),
                             recursive=True))
RUN_FILES = [path for path in ALL_FILES
             if os.path.basename(os.path.dirname(path)) != 'common']


MUJOCO = tuple(names.gin_name(spec) for spec in names.MUJOCO)
MINATAR = tuple(names.gin_name(names.pixel_spec(names.MINATAR, game))
                for game in names.MINATAR_GAMES)
# DQN takes discrete actions, SAC continuous ones, PPO both.
PENDULUM = names.gin_name('Pendulum-v1')
DISCRETE = tuple(names.gin_name(spec) for spec in names.CLASSIC_CONTROL
                 if names.gin_name(spec) != PENDULUM)
ENVS = {
    'dqn': DISCRETE + ('atari_nature', 'atari_impala') + MINATAR,
    'sac': MUJOCO + (PENDULUM,),
    'ppo': MUJOCO + (PENDULUM, names.gin_name('CartPole-v1')),
    'rainbow': ('atari_nature', 'atari_impala', names.gin_name(
        names.pixel_spec(names.MINATAR, 'breakout'))),
    'der': ('atari_nature', 'atari_impala'),  # Atari 100k
    # Atari 100k (004 Table 1).
    'drqe': ('atari_nature', 'atari_impala'),
    'iqn': ('minatar_breakout', 'atari_nature', 'atari_impala'),
    'm_iqn': ('minatar_breakout', 'atari_nature', 'atari_impala'),
}
# agent -> the agent_fn parameters that hold each network's SparseTraining.
SPARSE_PARAMETERS = {
    'dqn': ('dqn_agent.sparse',),
    'drqe': ('dqn_agent.sparse',),
    'iqn': ('iqn_agent.sparse',),
    'm_iqn': ('iqn_agent.sparse',),
    'sac': ('sac_agent.actor_sparse', 'sac_agent.critic_sparse'),
    'ppo': ('ppo_agent.actor_sparse', 'ppo_agent.value_sparse'),
    'rainbow': ('rainbow_agent.sparse',),
    'der': ('rainbow_agent.sparse',),
}


def _agent(path):
  return os.path.relpath(path, GIN_DIR).split(os.sep)[0]


@pytest.mark.parametrize('agent', sorted(ENVS))
def test_every_env_has_every_method(agent):
  files = {os.path.basename(path) for path in RUN_FILES
           if _agent(path) == agent}
  for env in ENVS[agent]:
    for method in methods.CORE:
      assert f'{env}_{method}.gin' in files


# The configs that read an earlier run or a file name it in a macro; parsing
# needs no such run or file.
_SOURCE_MACROS = {
    methods.LOTTERY: 'TICKET_RUN_DIR = "/a/finished/run"',
    'fixed_l1': 'L1_SOURCE_RUN_DIR = "/a/finished/run"',
    'fixed_predictive': 'PREDICTIVE_MASK = "/a/mask.npy"',
}
_FROM_SOURCE = ('lottery', 'l1', 'predictive')


def _bindings(path):
  name = os.path.basename(path)
  if methods.FIXED_L1_SOURCE in name:  # The source itself reads nothing.
    return []
  return [binding for stem, binding in _SOURCE_MACROS.items() if stem in name]


@pytest.mark.parametrize('path', ALL_FILES,
                         ids=[os.path.relpath(p, GIN_DIR) for p in ALL_FILES])
def test_gin_file_parses(path):
  config.parse([path], _bindings(path))


def test_lottery_without_its_run_names_the_macro_to_set():
  with pytest.raises(ConfigError, match="--gin_bindings='TICKET_RUN_DIR = "):
    config.parse([os.path.join(GIN_DIR, 'dqn', 'cartpole_lottery.gin')], [])


# The lottery ticket needs an earlier run; tests/baselines/ builds it. SAC,
# PPO and MinAtar build every dense base and every method on one env: their
# method files differ only in the dense base they include. Atari's method
# files share MinAtar's (common/pixels_<method>.gin), and an Atari RigL run
# trains in tests/networks/test_conv.py.
def _buildable(path):
  name, method = os.path.basename(path), methods.gin_stem(path)
  if method == methods.LOTTERY or any(
      f'fixed_{source}_' in name for source in _FROM_SOURCE):
    return False  # tests/baselines/ and tests/sparsity/ build those.
  if method in methods.FIXED_STEMS + (methods.FIXED_L1_SOURCE,):
    return True
  if method == methods.DENSE or name.startswith(('pendulum_',
                                                 'minatar_breakout_')):
    return True
  return _agent(path) == 'dqn' and not name.startswith(('minatar_', 'atari_'))


BUILDABLE = [path for path in RUN_FILES if _buildable(path)]


def test_cartpole_has_every_baseline():
  files = {os.path.basename(path) for path in RUN_FILES}
  for baseline in methods.DENSE_BASELINES + (methods.LOTTERY,):
    assert f'cartpole_{baseline}.gin' in files


@pytest.mark.parametrize('path', RUN_FILES,
                         ids=[os.path.relpath(p, GIN_DIR) for p in RUN_FILES])
def test_run_config_names_method_and_macros(path):
  config.parse([path], _bindings(path))
  for macro in ('NUM_ENV_STEPS', 'EVAL_INTERVAL', 'EVAL_EPISODES',
                'CHECKPOINT_INTERVAL', 'SEED'):
    assert gin.query_parameter(f'%{macro}') is not None
  method = methods.recorded_method(methods.gin_stem(path))
  if method in (methods.DENSE,) + methods.DENSE_BASELINES:
    for parameter in SPARSE_PARAMETERS[_agent(path)]:
      with pytest.raises(ValueError):
        gin.query_parameter(parameter)
  elif method.startswith('fixed_'):  # The topology fixes the sparsity.
    assert gin.query_parameter('dqn_agent.sparse').selector == 'FixedTopology'
    assert gin.query_parameter('FixedTopology.layer') == 'hidden_0'
  elif method == methods.LOTTERY:
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
  with config.building():  # Every binding of the files is read.
    runner = Runner(str(tmp_path / 'run'), verbose=False)
  method = methods.gin_stem(path)
  dense_network = method in (methods.DENSE,) + methods.DENSE_BASELINES or (
      methods.recorded_method(method) == methods.DENSE)
  assert runner.bundle.method == methods.recorded_method(method)
  assert runner.bundle.algorithm == _agent(path)  # What results.json records.
  assert [type(b).__name__.lower() for b in runner.plasticity_baselines] == (
      [method] if method in ('reset', 'redo') else [])
  counts = runner.bundle.param_counts()
  assert len(counts) == {'dqn': 1, 'sac': 3, 'ppo': 2, 'rainbow': 1,
                         'der': 1, 'drqe': 1, 'iqn': 1,
                         'm_iqn': 1}[_agent(path)]
  frozen = method.endswith('_frozen')
  for active, total in counts.values():
    # Pruning starts dense; a frozen hidden layer is not trained, so the
    # output layer (dense) is all that counts.
    if dense_network or method == 'prune' or frozen:
      assert active == total
    else:
      assert active < 0.2 * total
  if method in methods.FIXED_STEMS + (methods.FIXED_L1_SOURCE,):
    # 000 Table 1: HL 400x1600 / 600x1800, OL 1600x3 / 1800x4.
    shapes = {tuple(v.shape) for v in runner.bundle.networks['q'].variables
              if v.name.endswith('kernel:0')}
    assert shapes == ({(400, 1600), (1600, 3)}
                      if 'breakout' in path else {(600, 1800), (1800, 4)})
  assert not os.path.exists(tmp_path / 'run')  # Building writes nothing.


def test_includes_resolve_next_to_the_file_given():
  # gin/dqn and gin/ppo both hold 'cartpole_dense.gin' and
  # 'common/classic_control.gin'; each file must include its own.
  config.parse([os.path.join(GIN_DIR, 'dqn', 'cartpole_rigl.gin')], [])
  assert gin.query_parameter('Runner.agent_fn').selector == 'dqn_agent'
  gin.clear_config()
  config.parse([os.path.join(GIN_DIR, 'ppo', 'cartpole_rigl.gin')], [])
  assert gin.query_parameter('Runner.agent_fn').selector == 'ppo_agent'


@pytest.mark.parametrize('method', methods.CORE)
def test_classic_control_follows_the_reference_code(method):
  # google-research/rigl rigl/rl/tfagents: dqn_train_eval.py and
  # configs/dqn_gym_{dense,sparse,pruning}_config.gin.
  config.parse([os.path.join(GIN_DIR, 'dqn', f'cartpole_{method}.gin')], [])
  query = gin.query_parameter
  assert query('Runner.env_name') == 'CartPole-v0'
  # 1,000 random env steps, then 100,000 of one env step and one train step.
  assert query('%NUM_ENV_STEPS') - query('OffPolicy.initial_collect_steps') \
      == 100_000
  assert (query('dqn_agent.epsilon_initial'), query('dqn_agent.epsilon_final'),
          query('dqn_agent.eval_epsilon')) == (0.01, 0.01, 0.0)
  assert query('dqn_agent.td_loss') == 'mse'
  assert query('dqn_agent.adam_epsilon') == 1e-7
  if method in ('prune', 'set', 'rigl'):
    window = gin.get_configurable('UpdateSchedule')().bind(100_000)
    steps = window.update_steps()
    first = 20_000 if method == 'prune' else 0
    assert (steps[0], steps[-1], steps[1] - steps[0]) == (first, 75_000, 1000)


@pytest.mark.parametrize('game,units,frozen,learned', [
    ('breakout', 1600, 0.1, 1e-4),
    ('space_invaders', 1800, 1e-4, 1e-4),
])
def test_fixed_topologies_follow_000s_tables(game, units, frozen, learned):
  query = gin.query_parameter
  for training, step_size in (('frozen', frozen), ('learned', learned)):
    gin.clear_config()
    config.parse([os.path.join(GIN_DIR, 'dqn',
                               f'minatar_{game}_fixed_random_{training}.gin')],
                 [])
    assert query('FlatQNet.hidden_units') == units  # Table 1
    assert query('FlatQNet.train_hidden') == (training == 'learned')
    assert query('dqn_agent.learning_rate') == step_size  # Tables 2, 3
    assert (query('dqn_agent.epsilon_initial'), query('dqn_agent.epsilon_final'),
            query('dqn_agent.gamma'), query('%NUM_ENV_STEPS')) == (
                0.1, 0.1, 0.99, 5_000_000)  # Table 1
    assert query('minatar.minimal_action_set')  # Table 1: 3 / 4 outputs
  for topology in ('spatial', 'l1'):  # Table 3's 1e-5 rows.
    gin.clear_config()
    config.parse([os.path.join(
        GIN_DIR, 'dqn', f'minatar_{game}_fixed_{topology}_learned.gin')],
        _bindings(f'fixed_{topology}_learned'))
    assert query('dqn_agent.learning_rate') == (
        1e-5 if game == 'space_invaders' else 1e-4)
  gin.clear_config()
  config.parse([os.path.join(GIN_DIR, 'dqn',
                             f'minatar_{game}_fixed_l1_source.gin')], [])
  assert query('FlatQNet.hidden_l1') == {'breakout': 2.5e-5,
                                         'space_invaders': 2e-5}[game]


# 004 Appendix F: Table 2's Rainbow column and Table 1's DER column, for
# both networks (the width and layer counts are the networks' own).
_TABLES = {
    'rainbow': {'rainbow_agent.adam_epsilon': 1.5e-4,
                'rainbow_agent.learning_rate': 6.25e-5,
                'rainbow_agent.epsilon_decay_steps': 250000,
                'OffPolicy.initial_collect_steps': 20000,
                'OffPolicy.update_horizon': 3,
                'OffPolicy.replay_ratio': 0.25,
                'OffPolicy.replay_capacity': 1000000,
                'atari.sticky_action_probability': 0.25},
    'der': {'rainbow_agent.adam_epsilon': 1.5e-4,
            'rainbow_agent.learning_rate': 1e-4,
            'rainbow_agent.epsilon_decay_steps': 2000,
            'OffPolicy.initial_collect_steps': 1600,
            'OffPolicy.update_horizon': 10,
            'OffPolicy.replay_ratio': 1.0,
            # Table 1's 1M is "a proxy for unbounded" (DER.gin:44): the
            # 100k steps of the run fit.
            'OffPolicy.replay_capacity': 100000,
            'atari.sticky_action_probability': 0.0,
            '%NUM_ENV_STEPS': 100000},
}


@pytest.mark.parametrize('agent', sorted(_TABLES))
@pytest.mark.parametrize('network', ['nature', 'impala'])
def test_rainbow_and_der_follow_004s_tables(agent, network):
  config.parse([os.path.join(GIN_DIR, agent, f'atari_{network}_dense.gin')],
               [])
  query = gin.query_parameter
  assert query('rainbow_agent.algorithm') == agent
  assert query('rainbow_agent.num_atoms') == 51
  assert (query('rainbow_agent.v_min'), query('rainbow_agent.v_max')) == (
      -10.0, 10.0)
  assert (query('rainbow_agent.gamma'), query('rainbow_agent.epsilon_final'),
          query('OffPolicy.batch_size'), query('OffPolicy.reward_clip')) == (
              0.99, 0.01, 32, 1.0)
  assert query('OffPolicy.replay').selector == 'PrioritizedFrameReplay'
  torso = {'nature': 'NatureCNN', 'impala': 'ImpalaResNet'}[network]
  assert query(f'{torso}.weight_decay') == 0.0  # Tables 1, 2: 0
  for name, value in _TABLES[agent].items():
    assert query(name) == value, name


# 004 Appendix F: Table 1's DrQ(eps) column and Table 2's IQN and M-IQN
# columns, for both networks.
_QUANTILE_TABLE = {
    'iqn_agent.adam_epsilon': 3.125e-4, 'iqn_agent.learning_rate': 5e-5,
    'iqn_agent.kappa': 1.0, 'iqn_agent.num_tau_samples': 64,
    'iqn_agent.num_tau_prime_samples': 64,
    'iqn_agent.num_quantile_samples': 32, 'iqn_agent.gamma': 0.99,
    'iqn_agent.epsilon_final': 0.01, 'iqn_agent.epsilon_decay_steps': 250000,
    'OffPolicy.initial_collect_steps': 20000, 'OffPolicy.update_horizon': 3,
    'OffPolicy.replay_ratio': 0.25, 'OffPolicy.replay_capacity': 1000000,
    'OffPolicy.batch_size': 32, 'OffPolicy.reward_clip': 1.0,
    'atari.sticky_action_probability': 0.25,
}
_VALUE_TABLES = {
    'drqe': {'dqn_agent.algorithm': 'drqe',
             'dqn_agent.adam_epsilon': 1.5e-4, 'dqn_agent.learning_rate': 1e-4,
             'dqn_agent.gamma': 0.99, 'dqn_agent.epsilon_final': 0.01,
             'dqn_agent.epsilon_decay_steps': 5000,
             'OffPolicy.initial_collect_steps': 1600,
             'OffPolicy.update_horizon': 10, 'OffPolicy.replay_ratio': 1.0,
             'OffPolicy.replay_capacity': 1000000, 'OffPolicy.batch_size': 32,
             'OffPolicy.reward_clip': 1.0,
             'atari.sticky_action_probability': 0.0,
             'DrQAugmentation.pad': 4, '%NUM_ENV_STEPS': 100000},
    'iqn': _QUANTILE_TABLE,
    'm_iqn': dict(_QUANTILE_TABLE, **{'Munchausen.tau': 0.03,
                                      'Munchausen.alpha': 0.9,
                                      'Munchausen.clip_min': -1.0}),
}


@pytest.mark.parametrize('agent', sorted(_VALUE_TABLES))
@pytest.mark.parametrize('network', ['nature', 'impala'])
def test_drqe_iqn_and_m_iqn_follow_004s_tables(agent, network):
  config.parse([os.path.join(GIN_DIR, agent, f'atari_{network}_dense.gin')],
               [])
  query = gin.query_parameter
  torso = {'nature': 'NatureCNN', 'impala': 'ImpalaResNet'}[network]
  assert query(f'{torso}.weight_decay') == 0.0  # Tables 1, 2: 0
  for name, value in _VALUE_TABLES[agent].items():
    assert query(name) == value, name
  if agent == 'm_iqn':
    assert query('iqn_agent.munchausen').selector == 'Munchausen'
