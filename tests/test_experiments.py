"""The shipped experiments: found by name, a local file first, and listed."""
import os

import pytest

from rigl_rl import experiments
from rigl_rl.errors import ConfigError
from tests import conftest


def test_a_shipped_name_resolves_to_its_file(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)  # No local dqn/ here.
  path = experiments.resolve('dqn/cartpole_rigl.gin')
  assert os.path.samefile(path, conftest.gin_path('cartpole_rigl.gin'))
  assert os.path.isabs(path)


def test_a_local_file_wins_over_a_shipped_one(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  (tmp_path / 'dqn').mkdir()
  (tmp_path / 'dqn' / 'cartpole_rigl.gin').write_text('SEED = 1\n')
  assert experiments.resolve('dqn/cartpole_rigl.gin') == 'dqn/cartpole_rigl.gin'
  absolute = str(tmp_path / 'dqn' / 'cartpole_rigl.gin')
  assert experiments.resolve(absolute) == absolute


def test_an_absolute_path_is_never_a_shipped_name(tmp_path):
  with pytest.raises(ConfigError, match='not found'):
    experiments.resolve(os.path.join(str(tmp_path), 'nope.gin'))


def test_the_repository_path_run_elsewhere_names_the_shipped_one(
    tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  with pytest.raises(ConfigError) as error:
    experiments.resolve('gin/dqn/cartpole_rigl.gin', 'in experiments[0]')
  message = str(error.value)
  assert message.startswith(
      "gin file 'gin/dqn/cartpole_rigl.gin' in experiments[0] not found")
  assert message.endswith('name the shipped one dqn/cartpole_rigl.gin')
  with pytest.raises(ConfigError, match='rigl-train --list'):
    experiments.resolve('dqn/cartpole_nope.gin')


def test_a_shipped_file_is_named_the_same_from_any_checkout(tmp_path):
  name = 'dqn/cartpole_rigl.gin'
  # The repository's gin/ and the package's link to it name one file.
  assert experiments.shipped_name(conftest.gin_path('cartpole_rigl.gin')) == name
  assert experiments.shipped_name(os.path.join(
      experiments.GIN_DIR, 'dqn', 'cartpole_rigl.gin')) == name
  assert experiments.shipped_name(name) == name
  own = str(tmp_path / 'dqn' / 'cartpole_rigl.gin')  # A user's copy.
  assert experiments.shipped_name(own) == own


def test_shipped_groups_by_agent_and_environment():
  shipped = experiments.shipped()
  assert list(shipped) == ['der', 'dqn', 'drqe', 'iqn', 'm_iqn', 'ppo',
                          'rainbow', 'sac']
  # In methods.GIN_STEMS order; the baselines only on DQN CartPole.
  assert shipped['dqn']['cartpole'] == [
      'dense', 'prune', 'static', 'set', 'rigl', 'lottery', 'reset', 'redo',
      'weight_decay']
  # Paper 000's fixed topologies on Breakout and Space Invaders only.
  fixed = [f'fixed_{topology}_{training}'
           for topology in ('dense', 'random', 'spatial', 'l1', 'predictive')
           for training in ('frozen', 'learned')] + ['fixed_l1_source']
  assert shipped['dqn']['minatar_space_invaders'] == [
      'dense', 'prune', 'static', 'set', 'rigl'] + fixed
  assert shipped['dqn']['minatar_asterix'] == [
      'dense', 'prune', 'static', 'set', 'rigl']
  assert 'cartpole' in shipped['ppo'] and 'cartpole' not in shipped['sac']
  assert 'common' not in shipped['dqn']
  # Rainbow on MinAtar Breakout and Atari; DER on Atari 100k only.
  assert sorted(shipped['rainbow']) == ['atari_impala', 'atari_nature',
                                        'minatar_breakout']
  assert sorted(shipped['der']) == ['atari_impala', 'atari_nature']
  assert shipped['der']['atari_nature'] == ['dense', 'prune', 'static',
                                            'set', 'rigl']
  # DrQ(eps) on Atari 100k only; IQN and M-IQN as Rainbow.
  assert sorted(shipped['drqe']) == ['atari_impala', 'atari_nature']
  for agent in ('iqn', 'm_iqn'):
    assert sorted(shipped[agent]) == ['atari_impala', 'atari_nature',
                                      'minatar_breakout']
