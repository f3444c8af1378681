"""IQN (Dabney et al. 2018) and Munchausen-IQN (Vieillard et al. 2020), with
optionally sparse quantile networks.

As Dopamine's dopamine/jax/agents/implicit_quantile: epsilon-greedy on the
mean of K sampled quantiles, quantile Huber loss between N online and N'
target quantiles, a periodically copied target network. M-IQN is the same
agent with `iqn_agent.munchausen = @Munchausen()`.
"""
from typing import NamedTuple

import gin
import tensorflow as tf
from tf_agents.agents import tf_agent
from tf_agents.policies import tf_policy
from tf_agents.trajectories import policy_step
from tf_agents.utils import common

from rigl_rl import checks
from rigl_rl.agents import base
from rigl_rl.agents import losses
from rigl_rl.agents.dqn import epsilon_greedy_actions
from rigl_rl.errors import ConfigError
from rigl_rl.networks import conv
from rigl_rl.networks import quantile
from rigl_rl.sparsity.sparsifier import Sparsifier


class IqnLossInfo(NamedTuple):
  quantile_loss: tf.Tensor  # [batch], before importance weights


@gin.configurable
class Munchausen:
  """M-IQN's Munchausen term: the reward bonus alpha * clip(tau log pi(a|s),
  clip_min, 0) and the soft bootstrap over pi = softmax(Q_target / tau)."""

  def __init__(self, tau: float = 0.03, alpha: float = 0.9,
               clip_min: float = -1.0):
    """Args:
      tau: the entropy temperature (004 Table 2: 0.03).
      alpha: the bonus scale (Vieillard et al.: 0.9).
      clip_min: l0, the lower clip of tau log pi (Vieillard et al.: -1).

    Raises:
      ConfigError: for tau that is not positive, alpha outside [0, 1] or a
        positive clip_min.
    """
    checks.positive_numbers('Munchausen', tau=tau)
    checks.probabilities('Munchausen', alpha=alpha)
    if not checks.is_number(clip_min) or clip_min > 0:
      raise ConfigError(f'Munchausen.clip_min must be a number <= 0, got '
                        f'{clip_min!r}; fix its binding')
    self.tau, self.alpha, self.clip_min = tau, alpha, clip_min

  def bonus(self, q_values, actions):
    return losses.munchausen_bonus(q_values, actions, self.tau, self.alpha,
                                   self.clip_min)

  def soft_values(self, next_q, next_quantiles):
    return losses.soft_quantile_values(next_q, next_quantiles, self.tau)


def mean_q_values(network, observation, num_taus: int,
                  rng: tf.random.Generator) -> tf.Tensor:
  """[batch, actions]: the mean of `num_taus` quantiles drawn from `rng`."""
  taus = rng.uniform([tf.shape(observation)[0], num_taus])
  return tf.reduce_mean(network(observation, taus=taus, training=False)[0],
                        axis=1)


class GreedyPolicy(tf_policy.TFPolicy):
  """Greedy on the mean of K quantiles: the policy the TF-Agents agent
  exposes (the run loop acts through the bundle's seeded functions)."""

  def __init__(self, time_step_spec, action_spec, network, num_taus: int):
    super().__init__(time_step_spec, action_spec)
    self._network, self._num_taus = network, num_taus

  def _action(self, time_step, policy_state, seed):
    observation = time_step.observation
    taus = tf.random.uniform([tf.shape(observation)[0], self._num_taus],
                             seed=seed)
    q = tf.reduce_mean(self._network(observation, taus=taus)[0], axis=1)
    return policy_step.PolicyStep(
        tf.argmax(q, axis=-1, output_type=self.action_spec.dtype),
        policy_state)


class IqnAgent(tf_agent.TFAgent):
  """One train step: Adam on the mean (importance-weighted) quantile loss
  plus the networks' regularisation, then the periodic target copy
  (variables and masks, as DqnAgent's)."""

  def __init__(self, time_step_spec, action_spec, q_network, target_network,
               optimizer, example_loss, target_update_period: int,
               num_policy_taus: int, seed: int):
    policy = GreedyPolicy(time_step_spec, action_spec, q_network,
                          num_policy_taus)
    super().__init__(time_step_spec, action_spec, policy, policy,
                     train_sequence_length=None,
                     train_step_counter=tf.Variable(0, dtype=tf.int64,
                                                    name='train_step'))
    self._q_network, self._target_network = q_network, target_network
    self._optimizer = optimizer
    self._example_loss = example_loss
    # Owned by the agent, so checkpoints carry where the draws are.
    self.tau_rng = tf.random.Generator.from_seed(seed)
    self._update_target = common.Periodically(
        lambda: common.soft_variables_update(
            q_network.variables, target_network.variables, tau=1.0,
            tau_non_trainable=1.0),
        target_update_period, 'periodic_update_targets')

  def _initialize(self):
    common.soft_variables_update(self._q_network.variables,
                                 self._target_network.variables, tau=1.0)

  def _loss(self, experience, weights=None, training=False):
    per_example = self._example_loss(experience, self.tau_rng)
    weighted = per_example if weights is None else per_example * weights
    # Averaged over the whole batch, so that under a distribution strategy
    # the replicas' summed gradients are the one-device gradient.
    loss = tf.nn.compute_average_loss(weighted)
    if self._q_network.losses:
      loss += tf.nn.scale_regularization_loss(tf.add_n(self._q_network.losses))
    return tf_agent.LossInfo(loss, IqnLossInfo(quantile_loss=per_example))

  def _train(self, experience, weights):
    variables = self._q_network.trainable_variables
    with tf.GradientTape() as tape:
      loss_info = self._loss(experience, weights, training=True)
    tf.debugging.check_numerics(loss_info.loss, 'Loss is inf or nan')
    grads = tape.gradient(loss_info.loss, variables)
    self._optimizer.apply_gradients(list(zip(grads, variables)))
    self.train_step_counter.assign_add(1)
    self._update_target()
    return loss_info


@gin.configurable
def iqn_agent(time_step_spec,
              action_spec,
              seed: int,
              network_fn=conv.nature_cnn_layers,
              sparse=None,
              munchausen=None,
              learning_rate: float = 5e-5,
              adam_epsilon: float = 3.125e-4,
              gamma: float = 0.99,
              kappa: float = 1.0,
              num_tau_samples: int = 64,
              num_tau_prime_samples: int = 64,
              num_quantile_samples: int = 32,
              target_update_period: int = 2000,
              epsilon_initial: float = 1.0,
              epsilon_final: float = 0.01,
              epsilon_decay_steps: int = 250000,
              epsilon_decay_begin: int = 0,
              eval_epsilon: float = 0.001) -> base.AgentBundle:
  """Builds an IQN (or M-IQN) agent whose quantile network may be sparse.

  Args:
    time_step_spec: the environment's time step spec.
    action_spec: a scalar discrete action spec.
    seed: seeds the mask placement and the quantile fractions.
    network_fn: the torso builder (`@MinAtarNet`, `@NatureCNN`,
      `@ImpalaResNet`); `implicit_quantile_network` adds the embedding.
    sparse: how the quantile network is sparse (`SparseTraining`, ...);
      None for dense. Every Conv2D and Dense layer is maskable, the
      quantile embedding's too.
    munchausen: `@Munchausen()` for M-IQN; None for IQN.
    learning_rate: Adam learning rate.
    adam_epsilon: Adam epsilon.
    gamma: discount.
    kappa: the quantile Huber loss's threshold.
    num_tau_samples: N, online fractions per example.
    num_tau_prime_samples: N', target fractions per example.
    num_quantile_samples: K, fractions averaged into Q-values for acting
      and for the target's greedy action.
    target_update_period: train steps between target copies.
    epsilon_initial: exploration epsilon at env step 0.
    epsilon_final: exploration epsilon after the decay.
    epsilon_decay_steps: env steps of the linear decay.
    epsilon_decay_begin: env steps at `epsilon_initial` before it.
    eval_epsilon: epsilon of the evaluation policy.

  Returns:
    The agent bundle for the run loop ('iqn' or 'm_iqn' in results.json).

  Raises:
    ConfigError: for values out of range or actions that are not discrete.
  """
  checks.positive_numbers('iqn_agent', learning_rate=learning_rate,
                          adam_epsilon=adam_epsilon, kappa=kappa)
  checks.ints('iqn_agent', num_tau_samples=num_tau_samples,
              num_tau_prime_samples=num_tau_prime_samples,
              num_quantile_samples=num_quantile_samples,
              target_update_period=target_update_period,
              epsilon_decay_steps=epsilon_decay_steps)
  checks.ints('iqn_agent', minimum=0, epsilon_decay_begin=epsilon_decay_begin)
  checks.probabilities('iqn_agent', gamma=gamma,
                       epsilon_initial=epsilon_initial,
                       epsilon_final=epsilon_final, eval_epsilon=eval_epsilon)
  num_actions = base.require_discrete(action_spec, 'iqn_agent')

  def make_network(wrap, name):
    return quantile.implicit_quantile_network(
        network_fn, num_actions, wrap, time_step_spec.observation, name)

  sparsifier = Sparsifier(seed)
  q_network, (target_network,) = sparsifier.build(
      'q', sparse, make_network, 'QuantileNetwork', ['TargetQuantileNetwork'])
  optimizer = sparsifier.optimizer([q_network], learning_rate=learning_rate,
                                   epsilon=adam_epsilon)

  def example_loss(experience, rng):
    return losses.iqn_loss(q_network, target_network, experience, gamma,
                           kappa, num_tau_samples, num_tau_prime_samples,
                           num_quantile_samples, rng, munchausen)

  agent = IqnAgent(time_step_spec, action_spec, q_network, target_network,
                   optimizer, example_loss, target_update_period,
                   num_quantile_samples, seed)
  agent.initialize()
  # Diagnostics draw their fractions from a generator of their own, so that
  # probing leaves the training draws as they are.
  probe_rng = tf.random.Generator.from_seed(seed + 1)

  def act(time_step, epsilon, rng):
    return base.epsilon_greedy(
        lambda observation: mean_q_values(q_network, observation,
                                          num_quantile_samples, rng),
        action_spec)(time_step, epsilon, rng)

  collect_action, eval_action = epsilon_greedy_actions(
      act, epsilon_initial, epsilon_final, epsilon_decay_steps,
      epsilon_decay_begin, eval_epsilon)

  return base.AgentBundle(
      agent=agent,
      algorithm='iqn' if munchausen is None else 'm_iqn',
      trained=[
          base.TrainedNetwork(
              name='q',
              network=q_network,
              optimizer=optimizer,
              per_example_loss=lambda experience: example_loss(
                  experience, probe_rng),
              inputs=lambda experience: experience.time_step.observation,
              outputs_are_values=False)
      ],
      sparse=sparsifier.networks,
      collect_action=collect_action,
      eval_action=eval_action,
      random_action=base.uniform_policy(action_spec),
      gamma=gamma,
      example_losses=lambda loss_info: loss_info.extra.quantile_loss)
