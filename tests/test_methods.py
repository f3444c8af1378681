"""The method registry agrees with the classes that implement the methods."""
import pytest

from rigl_rl import baselines
from rigl_rl import methods
from rigl_rl import sparsity


def test_each_sparse_method_names_its_updater():
  assert tuple(methods.UPDATERS) == methods.SPARSE
  for method, updater in methods.UPDATERS.items():
    assert getattr(sparsity, updater).name == method


def test_baselines_record_the_registry_names():
  assert baselines.LotteryTicket.method == methods.LOTTERY
  assert {baselines.Reset.name, baselines.ReDo.name} < set(
      methods.DENSE_BASELINES)


@pytest.mark.parametrize('path,stem', [
    ('gin/dqn/cartpole_rigl.gin', 'rigl'),
    ('minatar_space_invaders_dense.gin', 'dense'),
    ('gin/dqn/cartpole_reset.gin', 'reset'),
    ('gin/dqn/cartpole_weight_decay.gin', 'weight_decay'),
    ('gin/dqn/common/classic_control_lottery.gin', 'lottery'),
    ('minatar_breakout_fixed_dense_frozen.gin', 'fixed_dense_frozen'),
    ('minatar_breakout_fixed_random_learned.gin', 'fixed_random_learned'),
    ('minatar_space_invaders_fixed_l1_source.gin', 'fixed_l1_source'),
])
def test_gin_stem(path, stem):
  assert methods.gin_stem(path) == stem


def test_a_gin_file_named_after_no_method_is_an_error():
  with pytest.raises(ValueError, match='<env>_<method>.gin'):
    methods.gin_stem('gin/dqn/common/atari.gin')


@pytest.mark.parametrize('stem,method', [
    ('rigl', 'rigl'), ('lottery', 'lottery'), ('reset', 'dense'),
    ('fixed_dense_frozen', 'dense'), ('fixed_l1_source', 'dense'),
    ('fixed_random_frozen', 'fixed_random'),
    ('fixed_predictive_learned', 'fixed_predictive'),
])
def test_recorded_method(stem, method):
  assert methods.recorded_method(stem) == method


def test_fixed_topologies_record_their_registry_names():
  assert sparsity.FixedTopology(sparsity.Random(), 'hidden_0').method == (
      'fixed_random')
  assert sparsity.Spatial.name == 'spatial'
  assert baselines.L1Mask.name == 'l1'
  assert {f'fixed_{name}' for name in methods.FIXED_TOPOLOGIES} == {
      methods.recorded_method(stem) for stem in methods.FIXED_STEMS} - {
          methods.DENSE}
