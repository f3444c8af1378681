"""The width at which a dense network has a sparse network's active count."""
import pytest

from rigl_rl.errors import ConfigError
from rigl_rl.sweep import matching
from tests.conftest import gin_path


def _mlp_count(width):
  """4-h-h-2 MLP with biases, h = round(512 * width)."""
  h = max(1, int(round(512 * width)))
  return 4 * h + h + h * h + h + h * 2 + 2


def test_matched_width_picks_the_closest_step():
  # h^2 + 8h + 2: h = 162 gives 27542, h = 163 gives 27875.
  width = matching.matched_width(_mlp_count, 27548)
  assert int(round(512 * width)) == 162
  width = matching.matched_width(_mlp_count, 27800)  # 258 from 162, 75 from 163
  assert int(round(512 * width)) == 163
  # An exact count is hit exactly.
  assert _mlp_count(matching.matched_width(_mlp_count, 27542)) == 27542
  assert matching.matched_width(_mlp_count, _mlp_count(1.0)) == pytest.approx(
      1.0, abs=1e-3)


def test_matched_width_refuses_targets_out_of_range():
  with pytest.raises(ValueError, match='outside'):
    matching.matched_width(_mlp_count, _mlp_count(1.0) + 1)


def test_target_active_params_counts_final_masks():
  dense = matching.target_active_params([gin_path('cartpole_dense.gin')], [])
  assert dense == 4 * 512 + 512 + 512 * 512 + 512 + 512 * 2 + 2 == 266242
  bindings = ['SPARSITY = 0.9']
  static = matching.target_active_params([gin_path('cartpole_static.gin')],
                                         bindings)
  # Pruning starts dense but is counted at its final masks.
  prune = matching.target_active_params([gin_path('cartpole_prune.gin')],
                                        bindings)
  assert static == prune
  # Biases (1026) are never masked; kernels keep about 10%.
  assert static - 1026 == pytest.approx(0.1 * (266242 - 1026), abs=3)


def test_matched_dense_width_gives_the_sparse_count():
  bindings = ['mlp_layers.hidden_units = (64, 64)', 'SPARSITY = 0.8']
  target = matching.target_active_params([gin_path('cartpole_rigl.gin')],
                                         bindings)
  width = matching.matched_dense_width(
      [gin_path('cartpole_rigl.gin'), gin_path('cartpole_set.gin')],
      gin_path('cartpole_dense.gin'), bindings, 'mlp_layers.width')
  h = int(round(64 * width))
  dense = 4 * h + h + h * h + h + 2 * h + 2
  neighbours = [4 * k + k + k * k + k + 2 * k + 2 for k in (h - 1, h + 1)]
  assert all(abs(dense - target) <= abs(n - target) for n in neighbours)
  assert dense == matching.target_active_params(
      [gin_path('cartpole_dense.gin')],
      ['mlp_layers.hidden_units = (64, 64)', f'mlp_layers.width = {width!r}'])


def test_matched_dense_width_refuses_files_of_different_size():
  # Acrobot's 6 inputs and 3 actions make a bigger network than CartPole's.
  with pytest.raises(ConfigError, match='different active parameter counts'):
    matching.matched_dense_width(
        [gin_path('cartpole_rigl.gin'), gin_path('acrobot_rigl.gin')],
        gin_path('cartpole_dense.gin'), ['SPARSITY = 0.8'], 'mlp_layers.width')
