"""IQN's quantile Huber loss and the Munchausen term by hand; the agent's
train step, masks and a smoke run with RigL on MinAtar."""
import json
import math

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory

from rigl_rl import config
from rigl_rl.agents import iqn
from rigl_rl.agents import losses
from rigl_rl.errors import ConfigError
from rigl_rl.networks import conv
from rigl_rl.sparsity import allocation
from rigl_rl.sparsity import masking
from rigl_rl.sparsity import updaters
from rigl_rl.training.loop import Runner
from tests import conftest


def test_quantile_huber_loss_by_hand():
  # Two online quantiles at taus 0.25 and 0.75, two target values, kappa 1.
  quantiles = tf.constant([[0.0, 2.0]])
  taus = tf.constant([[0.25, 0.75]])
  targets = tf.constant([[0.5, 3.0]])
  # errors d_ji = target_j - quantile_i:
  #   j=0: 0.5 - 0 = 0.5 (Huber 0.125, weight |0.25 - 0| = 0.25)
  #        0.5 - 2 = -1.5 (Huber 1.5 - 0.5 = 1.0, weight |0.75 - 1| = 0.25)
  #   j=1: 3 - 0 = 3 (Huber 2.5, weight 0.25); 3 - 2 = 1 (Huber 0.5,
  #        weight 0.75)
  # sum over i, mean over j: ((0.03125 + 0.25) + (0.625 + 0.375)) / 2.
  loss = losses.quantile_huber_loss(targets, quantiles, taus, kappa=1.0)
  np.testing.assert_allclose(loss, [0.640625], rtol=1e-6)
  # kappa 2: d = -1.5 and 1 are quadratic now, d = 3 is 2 * (3 - 1) = 4;
  # everything is divided by kappa.
  loss = losses.quantile_huber_loss(targets, quantiles, taus, kappa=2.0)
  expected = ((0.25 * 0.125 + 0.25 * 1.125) + (0.25 * 4 + 0.75 * 0.5)) / 2 / 2
  np.testing.assert_allclose(loss, [expected], rtol=1e-6)


def test_quantile_huber_loss_gradient_is_the_quantile_regression_sign():
  # Small errors: d/dq of the loss is -|tau - 1{d<0}| * d / kappa per
  # target, averaged over the targets: d = 0.2 pulls q up with weight 0.3,
  # d = -0.4 pushes it down with weight 0.7.
  quantiles = tf.Variable([[0.0]])
  with tf.GradientTape() as tape:
    loss = losses.quantile_huber_loss(tf.constant([[0.2, -0.4]]), quantiles,
                                      tf.constant([[0.3]]), kappa=1.0)
  grad = tape.gradient(loss, quantiles)
  np.testing.assert_allclose(grad, [[(-0.3 * 0.2 + 0.7 * 0.4) / 2]],
                             rtol=1e-6)


def test_munchausen_term_by_hand():
  q = tf.constant([[1.0, 1.03], [0.0, 1.0]])
  tau = 0.03
  # Row 0: log softmax(q / tau) = [-log(1 + e), -log(1 + e^-1)], so the
  # action 0 has tau * log pi = -0.03 * log(1 + e) = -0.03940...
  # Row 1: the action 0 is 1/0.03 = 33.3 behind: tau log pi ~ -1.0000 (not
  # clipped at -1 yet); with clip -0.5 it is clipped.
  actions = tf.constant([0, 0])
  bonus = losses.munchausen_bonus(q, actions, tau, alpha=0.9, clip_min=-1.0)
  row1 = tau * -math.log1p(math.exp(-1 / tau)) - 1.0 * 1  # = -1 - tiny
  np.testing.assert_allclose(
      bonus, [0.9 * -0.03 * math.log1p(math.e), 0.9 * max(row1, -1.0)],
      rtol=1e-5)
  clipped = losses.munchausen_bonus(q, actions, tau, 0.9, clip_min=-0.5)
  np.testing.assert_allclose(clipped[1], 0.9 * -0.5, rtol=1e-6)
  # Soft value: sum_a pi(a) (Z(a) - tau log pi(a)) with pi of row 0.
  pi = np.array([1, math.e]) / (1 + math.e)
  z = tf.constant([[[2.0, 4.0]]])  # one tau', two actions
  soft = losses.soft_quantile_values(q[:1], z, tau)
  np.testing.assert_allclose(
      soft, [[np.sum(pi * (np.array([2.0, 4.0]) - tau * np.log(pi)))]],
      rtol=1e-5)


@pytest.mark.parametrize('binding', [dict(tau=0.0), dict(alpha=1.5),
                                     dict(clip_min=0.5)])
def test_munchausen_refuses_bad_values(binding):
  with pytest.raises(ConfigError, match='Munchausen'):
    iqn.Munchausen(**binding)


def _bundle(**kwargs):
  spec = ts.time_step_spec(tensor_spec.BoundedTensorSpec(
      (10, 10, 4), tf.uint8, 0, 1))
  action_spec = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 2)
  return iqn.iqn_agent(spec, action_spec, seed=3,
                       network_fn=conv.minatar_layers, **kwargs)


def _experience(batch=4):
  rng = np.random.default_rng(0)
  step = lambda: ts.TimeStep(
      tf.ones([batch], tf.int32), tf.constant(rng.random(batch), tf.float32),
      tf.ones([batch]), tf.constant(rng.integers(0, 2, (batch, 10, 10, 4)),
                                    tf.uint8))
  return trajectory.Transition(
      step(), policy_step.PolicyStep(tf.constant([0, 1, 2, 0], tf.int64), (),
                                     ()), step())


def test_the_embedding_is_masked_and_erk_covers_every_layer():
  bundle = _bundle(sparse=None)
  assert bundle.algorithm == 'iqn'
  assert _bundle(munchausen=iqn.Munchausen()).algorithm == 'm_iqn'
  sparse = _bundle(sparse=masking.SparseTraining(
      sparsity=0.9, allocation=allocation.erk, updater=updaters.Static()))
  (network,) = sparse.sparse
  assert network.layer_names == ['conv_0', 'quantile_embedding',
                                   'hidden_0', 'output']
  conftest.assert_exactly_sparse(sparse)
  # The quantile network's outputs: [batch, taus, actions].
  out, _ = sparse.networks['q'](tf.zeros([2, 10, 10, 4], tf.uint8),
                                taus=tf.fill([2, 5], 0.5))
  assert out.shape == (2, 5, 3)


def test_train_step_minimises_the_mean_per_example_loss():
  bundle = _bundle()
  agent = bundle.agent
  experience = _experience()
  state = agent.tau_rng.state.numpy()
  loss_info = agent.train(experience)
  agent.tau_rng.state.assign(state)
  # The same draws give the same per-example losses, whose mean is the loss
  # (the MinAtar torso has no weight decay), computed before the step.
  np.testing.assert_allclose(loss_info.loss,
                             np.mean(loss_info.extra.quantile_loss),
                             rtol=1e-6)
  assert loss_info.extra.quantile_loss.shape == (4,)
  assert int(agent.train_step_counter) == 1


@pytest.mark.parametrize('agent', ['iqn', 'm_iqn'])
def test_smoke_run_with_rigl_on_minatar_keeps_masks_sparse(tmp_path, agent):
  gin_file = conftest.gin_path('minatar_breakout_rigl.gin', agent)
  config.parse([gin_file], list(conftest.MINATAR_SMOKE_BINDINGS) +
               ['iqn_agent.target_update_period = 50'])
  runner = Runner(str(tmp_path / 'run'), verbose=False)
  runner.run()
  with open(tmp_path / 'run' / 'results.json') as f:
    assert json.load(f)['agent'] == agent
  assert runner.train_step == 300  # 400 steps, 100 collected first.
  (network,) = runner.bundle.sparse
  assert network.last_update()[0] > 0  # RigL has moved the masks.
  conftest.assert_exactly_sparse(runner.bundle)
  # The checkpoint carries the agent's generator, so a resumed run draws on.
  checkpoint = runner.checkpoints.path(runner.checkpoints.numbers()[-1])
  keys = tf.train.load_checkpoint(checkpoint).get_variable_to_shape_map()
  assert any(key.startswith('agent/tau_rng/') for key in keys)
