"""The Rainbow bundle trains on its weighted cross-entropy, reports it per
example for priorities, and runs sparse (RigL) through the run loop as
rainbow and as DER."""
import functools
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory

from rigl_rl.agents import losses
from rigl_rl.agents import rainbow
from rigl_rl.errors import ConfigError
from rigl_rl.networks import mlp
from tests import conftest

OBSERVATION = tensor_spec.BoundedTensorSpec([4], tf.float32, -1.0, 1.0)
TIME_STEP_SPEC = ts.time_step_spec(OBSERVATION)
ACTION_SPEC = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1)
SMALL_MLP = functools.partial(mlp.mlp_layers, hidden_units=(16,))


def _batch(size, seed):
  rng = np.random.default_rng(seed)
  observation = lambda: tf.constant(rng.uniform(-1, 1, [size, 4]),
                                    tf.float32)
  first = ts.TimeStep(step_type=tf.zeros([size], tf.int32),
                      reward=tf.zeros([size]), discount=tf.ones([size]),
                      observation=observation())
  after = ts.TimeStep(
      step_type=tf.ones([size], tf.int32),
      reward=tf.constant(rng.uniform(-1, 1, size), tf.float32),
      discount=tf.constant(rng.integers(0, 2, size), tf.float32),
      observation=observation())
  return trajectory.Transition(
      time_step=first,
      action_step=policy_step.PolicyStep(
          tf.constant(rng.integers(0, 2, size), tf.int64)),
      next_time_step=after)


def test_train_step_minimises_the_weighted_cross_entropy():
  bundle = rainbow.rainbow_agent(TIME_STEP_SPEC, ACTION_SPEC, seed=0,
                                 network_fn=SMALL_MLP, num_atoms=11,
                                 v_min=-5.0, v_max=5.0, gamma=0.9)
  (trained,) = bundle.trained
  kernels = [v for v in trained.network.trainable_variables
             if 'kernel' in v.name]
  assert kernels[-1].shape == (16, 2 * 11)  # actions x atoms logits
  experience = _batch(8, seed=1)
  weights = tf.constant([1.0, 0.5, 0.25, 1.0, 0.1, 0.9, 0.3, 0.7])
  per_example = trained.per_example_loss(experience).numpy()
  assert per_example.shape == (8,)
  assert np.all(per_example > 0)
  before = [k.numpy() for k in kernels]
  loss_info = bundle.agent.train(experience, weights=weights)
  # The loss it stepped on is the importance-weighted mean; the priorities
  # see each example's own cross-entropy.
  np.testing.assert_allclose(float(loss_info.loss),
                             np.mean(weights.numpy() * per_example),
                             rtol=1e-5)
  np.testing.assert_allclose(bundle.example_losses(loss_info), per_example,
                             rtol=1e-5)
  assert int(bundle.agent.train_step_counter) == 1
  assert all(np.any(k.numpy() != b) for k, b in zip(kernels, before))
  assert bundle.algorithm == 'rainbow' and bundle.method == 'dense'


def test_actions_are_greedy_in_the_distributions_means():
  bundle = rainbow.rainbow_agent(TIME_STEP_SPEC, ACTION_SPEC, seed=0,
                                 network_fn=SMALL_MLP, num_atoms=5,
                                 v_min=-2.0, v_max=2.0, eval_epsilon=0.0)
  step = _batch(16, seed=2).time_step
  logits = losses.categorical_logits(bundle.trained[0].network,
                                     step.observation, 2, 5)
  means = losses.categorical_q_values(logits, tf.linspace(-2.0, 2.0, 5))
  rng = tf.random.Generator.from_seed(0)
  np.testing.assert_array_equal(bundle.eval_action(step, rng),
                                np.argmax(means.numpy(), axis=-1))
  # What DqnAgent's own policies see are those means too.
  q_values, _ = bundle.agent._q_network(step.observation)  # pylint: disable=protected-access
  np.testing.assert_allclose(q_values, means, rtol=1e-6)


def test_noisy_nets_collect_greedily_on_noisy_values_and_evaluate_without():
  bundle = rainbow.rainbow_agent(TIME_STEP_SPEC, ACTION_SPEC, seed=0,
                                 network_fn=SMALL_MLP, num_atoms=5,
                                 v_min=-2.0, v_max=2.0, noisy=True,
                                 dueling=True, double_q=True,
                                 eval_epsilon=0.0, noisy_sigma0=2.0)
  network = bundle.trained[0].network
  names = [layer.name for layer in network.layers]
  assert names == ['hidden_0', 'output']  # NoisyDense, DuelingHead
  noise = bundle.agent.noise_rng
  step = _batch(64, seed=3).time_step
  support = tf.linspace(-2.0, 2.0, 5)

  def greedy(training):
    logits = losses.categorical_logits(network, step.observation, 2, 5,
                                       training=training)
    return np.argmax(losses.categorical_q_values(logits, support).numpy(), -1)

  state = noise.state.numpy()
  expected = greedy(True)
  noise.reset(state)
  assert np.any(expected != greedy(False))  # The noise changes actions.
  noise.reset(state)
  # Epsilon 0 from the first env step (Dopamine's zero_epsilon), whatever
  # the epsilon schedule says, and the same noise draws as `greedy`.
  rng = tf.random.Generator.from_seed(0)
  np.testing.assert_array_equal(
      bundle.collect_action(step, tf.constant(0, tf.int64), rng), expected)
  # Evaluation: noise off, the means' argmax, and no noise drawn.
  state = noise.state.numpy()
  np.testing.assert_array_equal(bundle.eval_action(step, rng), greedy(False))
  np.testing.assert_array_equal(noise.state.numpy(), state)


@pytest.mark.parametrize('binding, message', [
    ('v_min', 'v_min'),
    ('algorithm', 'algorithm'),
    ('num_atoms', 'num_atoms'),
])
def test_bad_values_are_config_errors(binding, message):
  bad = {'v_min': {'v_min': 10.0, 'v_max': 10.0},
         'algorithm': {'algorithm': 'c51'},
         'num_atoms': {'num_atoms': 1}}[binding]
  with pytest.raises(ConfigError, match=message):
    rainbow.rainbow_agent(TIME_STEP_SPEC, ACTION_SPEC, seed=0,
                          network_fn=SMALL_MLP, **bad)


def test_continuous_actions_are_a_config_error():
  box = tensor_spec.BoundedTensorSpec([1], tf.float32, -1.0, 1.0)
  with pytest.raises(ConfigError, match='discrete actions'):
    rainbow.rainbow_agent(TIME_STEP_SPEC, box, seed=0, network_fn=SMALL_MLP)


# DER's own values (gin/der/common/atari_100k.gin) on MinAtar Breakout.
DER_ON_MINATAR = ("rainbow_agent.algorithm = 'der'",
                  'OffPolicy.update_horizon = 10',
                  'OffPolicy.replay_ratio = 1.0',
                  'rainbow_agent.double_q = True')


# ...and Dopamine's full Rainbow head, as gin/der/common/atari_100k.gin.
FULL_RAINBOW = ('rainbow_agent.noisy = True', 'rainbow_agent.dueling = True')
# The masked kernels: the conv, then hidden and output Dense layers, or
# (noisy, dueling) hidden mu, sigma, advantage mu, sigma, value mu, sigma.
PLAIN_RANKS = [4, 2, 2]
FULL_RAINBOW_RANKS = [4, 2, 2, 2, 2, 2, 2]


@pytest.mark.parametrize('agent, extra, train_steps, ranks', [
    ('rainbow', (), 75, PLAIN_RANKS),  # (400 - 100) env steps at 0.25
    ('der', DER_ON_MINATAR, 300, PLAIN_RANKS),  # at 1
    ('der', DER_ON_MINATAR + FULL_RAINBOW, 300, FULL_RAINBOW_RANKS),
])
def test_rigl_smoke_run_on_minatar_stays_exactly_sparse(tmp_path, agent,
                                                       extra, train_steps,
                                                       ranks):
  root = tmp_path / 'run'
  runner = conftest.train_in_process(
      root, 'rainbow', 'minatar_breakout_rigl.gin', 'rigl',
      list(conftest.MINATAR_SMOKE_BINDINGS) + list(extra))
  assert runner.train_step == train_steps
  with open(os.path.join(root, 'results.json')) as f:
    results = json.load(f)
  assert (results['agent'], results['method']) == (agent, 'rigl')
  # Priorities come from the cross-entropies (about ln 51 = 3.9 at first,
  # so sqrt of it is above the initial maximum 1).
  assert float(runner.experience.memory.sampler.tree.max_priority) > 1.5
  (network,) = runner.bundle.sparse
  assert [layer.mask.shape.rank for layer in network.layers] == ranks
  moved = False
  for index, layer in enumerate(network.layers):
    mask, kernel = layer.mask.numpy(), layer.kernel.numpy()
    assert set(np.unique(mask)) <= {0.0, 1.0}
    zeros = int(round(network.sparsities[layer.layer.name] * mask.size))
    assert int((mask == 0).sum()) == zeros
    assert not kernel[mask == 0].any()  # Every masked entry is exactly 0.
    moved |= bool(np.any(network.ever_active[index].numpy() != (mask > 0)))
  for targets in network.target_layers:
    for target_layer in targets:
      assert not target_layer.kernel.numpy()[target_layer.mask.numpy() == 0
                                            ].any()
  assert moved  # RigL moved connections, from this agent's gradients.
