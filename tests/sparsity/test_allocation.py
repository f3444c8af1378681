"""Allocation values computed by hand (DESIGN section 4)."""
import gin
import pytest

from rigl_rl.errors import ConfigError
from rigl_rl.sparsity import allocation
from rigl_rl.sparsity import erdos_renyi
from rigl_rl.sparsity import erk
from rigl_rl.sparsity import uniform

# The CartPole DQN MLP: 4 -> 512 -> 512 -> 2.
MLP = {'hidden_0': (4, 512), 'hidden_1': (512, 512), 'output': (512, 2)}


def test_uniform_gives_every_layer_the_target():
  assert uniform(MLP, 0.9) == {
      'hidden_0': 0.9, 'hidden_1': 0.9, 'output': 0.9}


def test_uniform_dense_list_stays_dense():
  got = uniform(MLP, 0.9, dense_layers=['output'])
  assert got == {'hidden_0': 0.9, 'hidden_1': 0.9, 'output': 0.0}


def test_erk_makes_small_layers_dense_and_solves_the_budget():
  # Raw ERK densities: hidden_0 516/2048, hidden_1 1024/262144, output
  # 514/1024. Budget 0.1 * 265216 = 26521.6. First epsilon
  # 26521.6 / (516 + 1024 + 514) = 12.91 makes output (raw 0.502) dense; the
  # next, (26521.6 - 1024) / (516 + 1024) = 16.56, makes hidden_0 dense; then
  # hidden_1 holds 26521.6 - 1024 - 2048 = 23449.6 of 262144: density 0.08945.
  got = erk(MLP, 0.9)
  assert got['output'] == 0.0
  assert got['hidden_0'] == 0.0
  assert got['hidden_1'] == pytest.approx(1 - 23449.6 / 262144)


def test_erk_active_count_matches_the_budget():
  shapes = {'a': (64, 64), 'b': (64, 128), 'c': (128, 64)}
  got = erk(shapes, 0.8)
  active = sum((1 - got[n]) * s[0] * s[1] for n, s in shapes.items())
  assert active == pytest.approx(0.2 * (4096 + 8192 + 8192))
  # Density ∝ (n_in + n_out) / (n_in n_out): a is 128/4096, b and c 192/8192.
  density_a, density_b = 1 - got['a'], 1 - got['b']
  assert density_a / density_b == pytest.approx((128 / 4096) / (192 / 8192))
  assert got['b'] == pytest.approx(got['c'])


def test_erk_uses_the_conv_kernel_dims_and_er_does_not():
  shapes = {'conv': (3, 3, 16, 32), 'dense': (32, 32)}
  kernel = erk(shapes, 0.9)
  er = erdos_renyi(shapes, 0.9)
  # ERK raw: conv 54/4608, dense 64/1024; ER raw: conv 48/512, dense 64/1024.
  # Budget 0.1 * (4608 + 1024) = 563.2; no layer reaches density 1.
  eps_erk = 563.2 / (54 + 64)
  assert 1 - kernel['conv'] == pytest.approx(eps_erk * 54 / 4608)
  assert 1 - kernel['dense'] == pytest.approx(eps_erk * 64 / 1024)
  eps_er = 563.2 / (48 / 512 * 4608 + 64)
  assert 1 - er['conv'] == pytest.approx(eps_er * 48 / 512)
  assert 1 - er['dense'] == pytest.approx(eps_er * 64 / 1024)


def test_erk_power_scale_zero_is_uniform_density():
  got = erk(MLP, 0.9, power_scale=0.0)
  assert got == pytest.approx({'hidden_0': 0.9, 'hidden_1': 0.9, 'output': 0.9})


def test_gin_binds_the_erk_power_scale_only():
  gin.parse_config('erk.power_scale = 0.0')
  assert erk(MLP, 0.9) == pytest.approx(uniform(MLP, 0.9))
  # The network, not gin, gives shapes, sparsity and dense layers.
  with pytest.raises(ValueError, match='denylist'):
    gin.parse_config('erk.sparsity = 0.5')


def test_erk_dense_list_is_out_of_the_budget():
  got = erk(MLP, 0.9, dense_layers=['hidden_0'])
  # Budget over hidden_1 and output: 0.1 * 263168 = 26316.8; output turns
  # dense (1024), hidden_1 keeps 25292.8.
  assert got['hidden_0'] == 0.0
  assert got['output'] == 0.0
  assert got['hidden_1'] == pytest.approx(1 - 25292.8 / 262144)


@pytest.mark.parametrize('sparsity', [-0.1, 1.0, 1.5])
def test_sparsity_outside_unit_interval_is_an_error(sparsity):
  for method in allocation.ALLOCATIONS:
    with pytest.raises(ConfigError, match=r'\[0, 1\)'):
      method(MLP, sparsity)


@pytest.mark.parametrize('method', allocation.ALLOCATIONS,
                         ids=lambda method: method.__name__)
def test_unknown_dense_layer_is_an_error(method):
  with pytest.raises(ConfigError, match='unknown layers'):
    method(MLP, 0.5, dense_layers=['nope'])
