"""Actor:critic budget arithmetic checked by hand (paper section 5, Fig. 3)."""
import numpy as np
import pytest

from rigl_rl.errors import ConfigError
from rigl_rl.sweep import budget
from rigl_rl.sweep import matching
from rigl_rl.sweep.budget import MLPShape
from rigl_rl.sweep.budget import sparsities_for_budget
from rigl_rl.sweep.budget import split_budget
from rigl_rl.sweep.budget import widths_for_budget
from tests.conftest import gin_path

# SAC on HalfCheetah: observation 17, action 6. The actor outputs a mean and a
# scale per action dimension (12); each of the two critics maps 17 + 6 to 1.
ACTOR = MLPShape(17, (256, 256), 12)
CRITIC = MLPShape(17 + 6, (256, 256), 1, copies=2)
# Actor kernels 17*256 + 256*256 + 256*12 = 4352 + 65536 + 3072 = 72960,
# biases 256 + 256 + 12 = 524, total 73484.
# Critic per copy: kernels 23*256 + 256*256 + 256*1 = 5888 + 65536 + 256 =
# 71680, biases 513, total 72193; two copies 143360 + 1026 = 144386.
DENSE = 73484 + 144386  # 217870
DENSE_SHARE = 73484 / DENSE  # 0.3373, the paper's 34:66


def test_sac_counts():
  assert ACTOR.counts() == (72960, 524)
  assert CRITIC.counts() == (143360, 1026)
  assert ACTOR.total() + CRITIC.total() == 217870
  assert DENSE_SHARE == pytest.approx(0.34, abs=0.005)


def test_counts_at_half_width():
  # 128 units: kernels 17*128 + 128*128 + 128*12 = 2176 + 16384 + 1536 =
  # 20096, biases 128 + 128 + 12 = 268.
  assert ACTOR.counts(0.5) == (20096, 268)


def test_no_hidden_bias_keeps_the_output_bias():
  assert MLPShape(17, (256, 256), 12, hidden_bias=False).counts() == (72960,
                                                                       12)
  # Two copies: 2 * 71680 kernels and 2 * 1 output bias.
  assert MLPShape(23, (256, 256), 1, hidden_bias=False,
                  copies=2).counts() == (143360, 2)


def test_split_budget():
  # 0.1 * 217870 = 21787; actor 0.34 * 21787 = 7407.58, critic 14379.42.
  actor, critic = split_budget(0.1, 0.34, ACTOR, CRITIC)
  assert actor == pytest.approx(7407.58)
  assert critic == pytest.approx(14379.42)


def test_sparsities_at_ten_percent():
  # Actor: 1 - (7407.58 - 524) / 72960 = 1 - 6883.58 / 72960 = 0.905653.
  # Critic: 1 - (14379.42 - 1026) / 143360 = 1 - 13353.42 / 143360 = 0.906854.
  got = sparsities_for_budget(0.1, 0.34, ACTOR, CRITIC)
  assert got['actor'] == pytest.approx(1 - 6883.58 / 72960)
  assert got['critic'] == pytest.approx(1 - 13353.42 / 143360)
  assert got['actor'] == pytest.approx(0.905653, abs=1e-6)
  assert got['critic'] == pytest.approx(0.906854, abs=1e-6)


def test_sparsities_active_counts_meet_the_budget():
  got = sparsities_for_budget(0.2, 0.1, ACTOR, CRITIC)
  active = [(1 - got[name]) * shape.counts()[0] + shape.counts()[1]
            for name, shape in (('actor', ACTOR), ('critic', CRITIC))]
  assert active == pytest.approx([0.02 * DENSE, 0.18 * DENSE])


def test_full_budget_at_dense_share_is_the_dense_network():
  got = sparsities_for_budget(1.0, DENSE_SHARE, ACTOR, CRITIC)
  assert got['actor'] == pytest.approx(0.0, abs=1e-9)
  assert got['critic'] == pytest.approx(0.0, abs=1e-9)
  assert widths_for_budget(1.0, DENSE_SHARE, ACTOR, CRITIC) == {
      'actor': 1.0, 'critic': 1.0}


def test_sparsity_with_copies_and_no_hidden_bias():
  critic = MLPShape(23, (256, 256), 1, hidden_bias=False, copies=2)
  # Dense total 73484 + 143362 = 216846; budget 0.5 * 216846 = 108423, critic
  # 0.5 * 108423 = 54211.5: S = 1 - (54211.5 - 2) / 143360.
  got = sparsities_for_budget(0.5, 0.5, ACTOR, critic)
  assert got['critic'] == pytest.approx(1 - 54209.5 / 143360)


# Toy networks with one hidden layer of n units (n = 10 at width 1):
# actor 3 -> n -> 2: kernels 3n + 2n, biases n + 2, total 6n + 2 (62 dense);
# critic 4 -> n -> 1: kernels 4n + n, biases n + 1, total 6n + 1 (61 dense).
TOY_ACTOR = MLPShape(3, (10,), 2)
TOY_CRITIC = MLPShape(4, (10,), 1)


def test_toy_widths_by_hand():
  # Budget 1.0 * 123, actor share 0.25: targets 30.75 and 92.25.
  # Actor 6n + 2: n = 5 gives 32 (1.25 off), n = 4 gives 26 (4.75 off).
  # Critic 6n + 1: n = 15 gives 91 (1.25 off), n = 16 gives 97 (4.75 off).
  got = widths_for_budget(1.0, 0.25, TOY_ACTOR, TOY_CRITIC)
  assert got == {'actor': pytest.approx(0.5), 'critic': pytest.approx(1.5)}
  assert TOY_ACTOR.hidden_at(got['actor']) == (5,)
  assert TOY_CRITIC.hidden_at(got['critic']) == (15,)
  assert TOY_ACTOR.total(got['actor']) == 32
  assert TOY_CRITIC.total(got['critic']) == 91


def test_toy_widths_round_to_the_nearest_count():
  # Budget 2.0 * 123 = 246, share 0.5: actor target 123 = 6n + 2 -> n = 20.17
  # picks n = 20 (122, 1 off) over n = 21 (128, 5 off); critic target 123 =
  # 6n + 1 -> n = 20.33 picks n = 20 (121, 2 off) over 21 (127, 4 off).
  got = widths_for_budget(2.0, 0.5, TOY_ACTOR, TOY_CRITIC)
  assert got == {'actor': pytest.approx(2.0), 'critic': pytest.approx(2.0)}


def test_toy_width_ties_go_to_the_smaller_network():
  # Budget 58/123 of 123 = 58, share 0.5: actor target 29 is halfway between
  # n = 4 (6*4 + 2 = 26) and n = 5 (32); the smaller wins, width 0.4.
  got = widths_for_budget(58 / 123, 0.5, TOY_ACTOR, TOY_CRITIC)
  assert TOY_ACTOR.hidden_at(got['actor']) == (4,)
  assert got['actor'] == pytest.approx(0.4)


@pytest.mark.parametrize('budget,share', [(0.1, 0.34), (0.2, 0.5),
                                          (0.1, 0.1), (1.0, 0.9), (3.0, 0.2)])
def test_sac_widths_are_closest_among_buildable_widths(budget, share):
  # Two unequal hidden layers, so the step function has steps of two sizes.
  actor = MLPShape(17, (256, 64), 12)
  targets = split_budget(budget, share, actor, CRITIC)
  got = widths_for_budget(budget, share, actor, CRITIC)
  for name, shape, target in zip(('actor', 'critic'), (actor, CRITIC),
                                 targets):
    count = shape.total(got[name])
    buildable = {shape.total(w) for w in np.linspace(0, 4 * budget, 20001)}
    assert abs(count - target) <= min(abs(c - target) for c in buildable)
    # Neighbouring unit counts (one unit more or fewer in any layer) are
    # no closer; for one unit in the first layer that is one rounding step.
    units = shape.hidden_at(got[name])
    for i in range(len(units)):
      for step in (-1, 1):
        other = list(units)
        other[i] = max(1, other[i] + step)
        sizes = (shape.input_dim,) + tuple(other) + (shape.output_dim,)
        kernels = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
        biases = sum(other) + shape.output_dim
        neighbour = shape.copies * (kernels + biases)
        assert abs(count - target) <= abs(neighbour - target) or (
            neighbour not in buildable)


def test_widths_above_one_for_large_budgets():
  got = widths_for_budget(4.0, DENSE_SHARE, ACTOR, CRITIC)
  # Roughly 2x width for 4x the (mostly quadratic) parameters.
  assert 1.9 < got['actor'] < 2.1
  assert 1.9 < got['critic'] < 2.1


@pytest.mark.parametrize('budget,share,match', [
    (0.0, 0.34, 'budget_fraction must be > 0'),
    (-0.1, 0.34, 'budget_fraction must be > 0'),
    (0.1, 0.0, r'actor_share must be in \(0, 1\)'),
    (0.1, 1.0, r'actor_share must be in \(0, 1\)'),
])
def test_invalid_arguments(budget, share, match):
  for fn in (split_budget, sparsities_for_budget, widths_for_budget):
    with pytest.raises(ConfigError, match=match):
      fn(budget, share, ACTOR, CRITIC)


def test_sparse_target_above_dense_says_to_widen():
  # Actor target 0.9 * 217870 = 196083 > 73484.
  with pytest.raises(ConfigError, match='use widths_for_budget'):
    sparsities_for_budget(1.0, 0.9, ACTOR, CRITIC)


def test_sparse_target_below_biases_says_to_raise_the_budget():
  # Actor target 0.001 * 217870 * 0.5 = 108.9 < 524 biases.
  with pytest.raises(ConfigError, match='no kernel weight is left.*raise'):
    sparsities_for_budget(0.001, 0.5, ACTOR, CRITIC)


def test_width_target_below_one_unit_says_to_raise_the_budget():
  # One unit per hidden layer: kernels 17 + 1 + 12 = 30, biases 1 + 1 + 12 =
  # 14, total 44 > 0.0002 * 217870 * 0.5 = 21.8.
  assert ACTOR.total(0.0) == 44
  with pytest.raises(ConfigError, match='even 1 unit.*raise budget_fraction'):
    widths_for_budget(0.0002, 0.5, ACTOR, CRITIC)


def test_width_without_hidden_layers_says_to_use_sparsity():
  with pytest.raises(ConfigError, match='use sparsities_for_budget'):
    widths_for_budget(0.5, 0.5, MLPShape(3, (), 2), TOY_CRITIC)


def test_bad_shape():
  with pytest.raises(ConfigError, match='positive integer'):
    MLPShape(17, (256, 0), 12)
  with pytest.raises(ConfigError, match='positive integer'):
    MLPShape(23, (256, 256), 1, copies=0)


@pytest.mark.parametrize('regime', ['sparse', 'dense'])
def test_actor_critic_split_meets_each_networks_share(regime):
  gin_file = gin_path('pendulum_rigl.gin', 'sac')
  # Pendulum: 3 observations, 1 action. Dense actor 3-256-256-2 has
  # 768 + 65536 + 512 kernel and 514 bias parameters = 67330; each critic
  # 4-256-256-1 has 1024 + 65536 + 256 + 513 = 67329, two of them 134658.
  dense_total = 67330 + 134658
  bindings = budget.actor_critic_split([gin_file], [], 0.2, 0.25, regime)
  names = [binding.split(' = ')[0] for binding in bindings]
  if regime == 'sparse':
    assert names == ['ACTOR_SPARSITY', 'CRITIC_SPARSITY']
  else:
    assert names == ['ACTOR_WIDTH', 'CRITIC_WIDTH']
    bindings += ['SPARSITY = 0.0']  # The dense regime: widths only.
  bundle = matching.build_agent([gin_file], bindings)
  sparse = {t.network: t for t in bundle.sparse}
  active = {}
  for name, network in bundle.networks.items():
    total = sum(int(np.prod(v.shape)) for v in network.trainable_variables)
    masked_active, masked_total = sparse[network].target_counts()
    active[name] = total - masked_total + masked_active
  actor_target = 0.2 * 0.25 * dense_total       # 2019.88
  critic_target = 0.2 * 0.75 * dense_total      # 6059.64
  critic_active = active['critic1'] + active['critic2']
  if regime == 'sparse':  # ERK meets a budget up to per-layer rounding.
    assert abs(active['actor'] - actor_target) <= 3
    assert abs(critic_active - critic_target) <= 6
  else:  # Integer layer widths: the closest buildable count, within 5%.
    assert abs(active['actor'] / actor_target - 1) < 0.05
    assert abs(critic_active / critic_target - 1) < 0.05
