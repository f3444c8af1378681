"""DQN through TF-Agents' DqnAgent, with an optionally sparse Q-network."""

import functools

import gin
import tensorflow as tf
import tf_keras
from tf_agents.agents.dqn import dqn_agent as tfa_dqn
from tf_agents.utils import common

from rigl_rl.agents import base
from rigl_rl.agents import losses
from rigl_rl import checks
from rigl_rl.errors import ConfigError
from rigl_rl.networks import build
from rigl_rl.networks import heads
from rigl_rl.networks import mlp
from rigl_rl.sparsity.sparsifier import Sparsifier

_TD_LOSSES = {
    'huber': common.element_wise_huber_loss,
    'mse': common.element_wise_squared_loss,
}


def linear_epsilon(env_step, initial: float, final: float, decay_steps: int,
                   begin: int = 0) -> tf.Tensor:
  """Exploration epsilon at `env_step`: `initial` until `begin`, then linear
  to `final` over `decay_steps` env steps (Dopamine's
  linearly_decaying_epsilon with warmup `begin`)."""
  progress = tf.clip_by_value(
      tf.cast(env_step - begin, tf.float32) / float(decay_steps), 0.0, 1.0)
  return initial + (final - initial) * progress



def epsilon_greedy_actions(act, epsilon_initial: float, epsilon_final: float,
                           epsilon_decay_steps: int, epsilon_decay_begin: int,
                           eval_epsilon: float):
  """The collect and evaluation actions of an epsilon-greedy `act`.

  Args:
    act: (time_step, epsilon, rng) -> actions, e.g. `base.epsilon_greedy`'s.
    epsilon_initial: collect epsilon until `epsilon_decay_begin`...
    epsilon_final: ...then linear to this over `epsilon_decay_steps` env
      steps (`linear_epsilon`).
    epsilon_decay_steps: env steps of the decay.
    epsilon_decay_begin: env steps at `epsilon_initial` before it.
    eval_epsilon: epsilon of the evaluation policy.

  Returns:
    (collect_action(time_step, env_step, rng), eval_action(time_step, rng)).
  """
  def collect_action(time_step, env_step, rng):
    return act(time_step, linear_epsilon(
        env_step, epsilon_initial, epsilon_final, epsilon_decay_steps,
        epsilon_decay_begin), rng)

  return collect_action, lambda time_step, rng: act(time_step, eval_epsilon,
                                                    rng)

class AugmentedDqnAgent(tfa_dqn.DqnAgent):
  """DqnAgent whose loss sees augmented observations (DrQ).

  The observation and the next observation of each sampled batch get
  draws of their own, from a generator the agent owns (so checkpoints
  carry it), inside the loss: the gradient RigL reads is the augmented
  loss's.
  """

  def __init__(self, *args, augmentation, seed: int, double_q: bool,
               **kwargs):
    super().__init__(*args, **kwargs)
    self._augmentation = augmentation
    self._double_q = double_q
    self.augmentation_rng = tf.random.Generator.from_seed(seed)

  def _augmented(self, time_steps):
    return self._augmentation(time_steps.observation, self.augmentation_rng)

  def _values(self, network, observation, training=False):
    # Network.__call__ checks inputs against the uint8 observation spec;
    # the augmented float images go to `call`, which every layer (masked
    # ones included) runs as it would for the stored images.
    return network.call(observation, training=training)[0]

  # DqnAgent's loss computes Q(s, a) before the target's values at s', so
  # the observation is drawn for first, as Dopamine's rng1 before rng2.
  def _compute_q_values(self, time_steps, actions, training=False):
    q_values = self._values(self._q_network, self._augmented(time_steps),
                            training=training)
    return tf.gather(q_values, tf.cast(actions, tf.int32), batch_dims=1)

  def _compute_next_q_values(self, next_time_steps, info):
    # Q_target(s', a*), a* the greedy action of the target (DqnAgent's
    # target policy; there is no action constraint here) or, with double
    # Q-learning, of the online network on the same augmented s', as
    # Dopamine's target_output feeds one batch of next states to both.
    observation = self._augmented(next_time_steps)
    next_q = self._values(self._target_q_network, observation)
    chooser = (self._values(self._q_network, observation)
               if self._double_q else next_q)
    return losses.bootstrap_values(next_q, chooser)


@gin.configurable
def dqn_agent(time_step_spec,
              action_spec,
              seed: int,
              network_fn=mlp.mlp_layers,
              sparse=None,
              learning_rate: float = 1e-3,
              adam_epsilon: float = 1e-8,
              gamma: float = 0.99,
              td_loss: str = 'huber',
              target_update_period: int = 100,
              target_update_tau: float = 1.0,
              epsilon_initial: float = 1.0,
              epsilon_final: float = 0.1,
              epsilon_decay_steps: int = 25000,
              epsilon_decay_begin: int = 0,
              eval_epsilon: float = 0.1,
              augmentation=None,
              double_q: bool = False,
              dueling: bool = False,
              algorithm: str = 'dqn') -> base.AgentBundle:
  """Builds a DQN agent whose Q-network may be sparse.

  Args:
    time_step_spec: the environment's time step spec.
    action_spec: a scalar discrete action spec.
    seed: seeds the mask placement.
    network_fn: (num_outputs, wrap, output_kernel_initializer,
      output_bias_initializer) -> list of Keras layers.
    sparse: how the Q-network is sparse (`SparseTraining`,
      `LotteryTicket` or `FixedTopology`); None for dense.
    learning_rate: Adam learning rate.
    adam_epsilon: Adam epsilon.
    gamma: discount.
    td_loss: 'huber' or 'mse'.
    target_update_period: train steps between target updates.
    target_update_tau: 1.0 copies the online weights.
    epsilon_initial: exploration epsilon at env step 0.
    epsilon_final: exploration epsilon after the decay.
    epsilon_decay_steps: env steps over which epsilon moves linearly from
      `epsilon_initial` to `epsilon_final`.
    epsilon_decay_begin: env steps at `epsilon_initial` before that (Dopamine
      waits out its min_replay_history).
    eval_epsilon: epsilon of the evaluation policy.
    augmentation: (observations, rng) -> observations applied to each
      sampled batch inside the loss (`@DrQAugmentation()` for DrQ); None
      trains on the stored observations. The per-example loss the
      diagnostics read stays unaugmented, so probing draws nothing from
      the training generator.
    double_q: targets Q_target(s', argmax_a' Q(s', a')) (double DQN, van
      Hasselt et al. 2016; TF-Agents' DdqnAgent), as Dopamine's DrQ_eps.gin
      sets double_dqn.
    dueling: a dueling output (`heads.DuelingHead` with one atom):
      Q = V + A - mean_a A, as Dopamine's FullRainbowNetwork for DrQ(eps).
    algorithm: the agent's name in results.json ('drqe' for DrQ(eps)).

  Returns:
    The agent bundle for the run loop.

  Raises:
    ConfigError: for a learning rate or Adam epsilon that is not a positive
      number, an exploration epsilon outside [0, 1], a decay that is not a
      positive integer, an unknown td_loss, or actions that are not
      discrete.
  """
  checks.positive_numbers('dqn_agent', learning_rate=learning_rate,
                          adam_epsilon=adam_epsilon)
  checks.ints('dqn_agent', epsilon_decay_steps=epsilon_decay_steps)
  checks.ints('dqn_agent', minimum=0, epsilon_decay_begin=epsilon_decay_begin)
  checks.probabilities('dqn_agent', epsilon_initial=epsilon_initial,
                       epsilon_final=epsilon_final, eval_epsilon=eval_epsilon)
  for flag, value in (('double_q', double_q), ('dueling', dueling)):
    if not isinstance(value, bool):
      raise ConfigError(f'dqn_agent.{flag} must be True or False, got '
                        f'{value!r}')
  if td_loss not in _TD_LOSSES:
    raise ConfigError(f'dqn_agent.td_loss must be one of {sorted(_TD_LOSSES)}, '
                      f'got {td_loss!r}')
  num_actions = base.require_discrete(action_spec, 'dqn_agent')
  element_loss = _TD_LOSSES[td_loss]
  output = heads.dueling(1) if dueling else mlp.dense_layer

  def make_q_network(wrap, name):
    return build.sequential_network(
        network_fn(
            num_actions, wrap,
            # TF-Agents' QNetwork output initialisation: small, bias -0.2.
            output_kernel_initializer=tf_keras.initializers.RandomUniform(
                -0.03, 0.03),
            output_bias_initializer=tf_keras.initializers.Constant(-0.2),
            output_layer=output),
        time_step_spec.observation, name)

  sparsifier = Sparsifier(seed)
  q_network, (target_network,) = sparsifier.build(
      'q', sparse, make_q_network, 'QNetwork', ['TargetQNetwork'],
      soft_targets=target_update_tau < 1.0)
  optimizer = sparsifier.optimizer([q_network], learning_rate=learning_rate,
                                   epsilon=adam_epsilon)
  agent_class = tfa_dqn.DdqnAgent if double_q else tfa_dqn.DqnAgent
  if augmentation is not None:
    agent_class = functools.partial(AugmentedDqnAgent,
                                    augmentation=augmentation, seed=seed,
                                    double_q=double_q)
  agent = agent_class(
      time_step_spec,
      action_spec,
      q_network=q_network,
      target_q_network=target_network,
      optimizer=optimizer,
      td_errors_loss_fn=element_loss,
      gamma=gamma,
      target_update_period=target_update_period,
      target_update_tau=target_update_tau,
      train_step_counter=tf.Variable(0, dtype=tf.int64, name='train_step'))
  agent.initialize()
  act = base.epsilon_greedy(lambda observation: q_network(
      observation, training=False)[0], action_spec)

  collect_action, eval_action = epsilon_greedy_actions(
      act, epsilon_initial, epsilon_final, epsilon_decay_steps,
      epsilon_decay_begin, eval_epsilon)

  return base.AgentBundle(
      agent=agent,
      algorithm=algorithm,
      trained=[
          base.TrainedNetwork(
              name='q',
              network=q_network,
              optimizer=optimizer,
              per_example_loss=lambda experience: losses.td_loss(
                  q_network, target_network, experience, gamma, element_loss,
                  double_q),
              inputs=lambda experience: experience.time_step.observation,
              outputs_are_values=True)
      ],
      sparse=sparsifier.networks,
      collect_action=collect_action,
      eval_action=eval_action,
      random_action=base.uniform_policy(action_spec),
      gamma=gamma,
      # DqnAgent's per-example loss, before any weights.
      example_losses=lambda loss_info: loss_info.extra.td_loss)
