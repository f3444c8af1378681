"""Dopamine's compact Rainbow (C51, n-step returns, prioritized replay) and
Data-Efficient Rainbow, with an optionally sparse network.

Dopamine's JaxRainbowAgent (dopamine/jax/agents/rainbow/rainbow_agent.py) is
C51 (Bellemare et al. 2017) trained on n-step returns from a prioritized
memory, with Adam; no dueling head, noisy nets or double Q-learning. Here the
n-step returns and the priorities are the replay memory's
(`OffPolicy.update_horizon`, `OffPolicy.replay = @PrioritizedReplay`), and
this module is the agent: a network with num_actions x num_atoms logits and
its cross-entropy loss (`losses.categorical_td_loss`). DER (van Hasselt et
al. 2019) is the same agent with other values (gin/der/) and the rest of
Dopamine's full Rainbow (dopamine/jax/agents/full_rainbow): noisy nets,
a dueling head and double Q-learning (`noisy`, `dueling`, `double_q`).
"""
import collections

import gin
import tensorflow as tf
import tf_keras
from tf_agents.agents import tf_agent
from tf_agents.agents.dqn import dqn_agent as tfa_dqn
from tf_agents.networks import network
from tf_agents.utils import common

from rigl_rl.agents import base
from rigl_rl.agents import losses
from rigl_rl.agents.dqn import epsilon_greedy_actions
from rigl_rl import checks
from rigl_rl.errors import ConfigError
from rigl_rl.networks import build
from rigl_rl.networks import heads
from rigl_rl.networks import mlp
from rigl_rl.sparsity.sparsifier import Sparsifier

# The names a run of this builder records as its agent in results.json.
AGENTS = ('rainbow', 'der')

CategoricalLossInfo = collections.namedtuple('CategoricalLossInfo',
                                             ('cross_entropy',))


class ExpectedQNetwork(network.Network):
  """The Q-values E[Z(s, a)] of a network of flat categorical logits: what
  TF-Agents' DqnAgent and its policies see of the Rainbow network."""

  def __init__(self, logits_network, support, num_actions: int, name: str):
    super().__init__(input_tensor_spec=logits_network.input_tensor_spec,
                     state_spec=(), name=name)
    self.logits_network = logits_network
    self._support = support
    self._num_actions = num_actions

  def call(self, observation, step_type=None, network_state=(),
           training=False):
    # Feed-forward, without dropout or batch norm: as categorical_logits
    # calls it.
    del step_type, training
    logits = losses.categorical_logits(self.logits_network, observation,
                                       self._num_actions,
                                       int(self._support.shape[0]))
    return losses.categorical_q_values(logits, self._support), network_state


class _CategoricalAgent(tfa_dqn.DqnAgent):
  """DqnAgent's train step (gradients, target updates, counters) on the
  categorical loss instead of the TD loss."""

  def __init__(self, *args, per_example_loss, **kwargs):
    self._per_example_loss = per_example_loss
    super().__init__(*args, **kwargs)

  def _loss(self, experience, td_errors_loss_fn=None, gamma=1.0,
            reward_scale_factor=1.0, weights=None, training=False):
    del td_errors_loss_fn, gamma, reward_scale_factor, training  # Fixed.
    cross_entropy = self._per_example_loss(experience)
    aggregated = common.aggregate_losses(
        per_example_loss=cross_entropy, sample_weight=weights,
        regularization_loss=self._q_network.losses)
    return tf_agent.LossInfo(aggregated.total_loss,
                             CategoricalLossInfo(cross_entropy=cross_entropy))


@gin.configurable
def rainbow_agent(time_step_spec,
                  action_spec,
                  seed: int,
                  algorithm: str = 'rainbow',
                  network_fn=mlp.mlp_layers,
                  sparse=None,
                  num_atoms: int = 51,
                  v_min: float = -10.0,
                  v_max: float = 10.0,
                  double_q: bool = False,
                  noisy: bool = False,
                  noisy_sigma0: float = 0.1,
                  dueling: bool = False,
                  learning_rate: float = 6.25e-5,
                  adam_epsilon: float = 1.5e-4,
                  gamma: float = 0.99,
                  target_update_period: int = 2000,
                  epsilon_initial: float = 1.0,
                  epsilon_final: float = 0.01,
                  epsilon_decay_steps: int = 250000,
                  epsilon_decay_begin: int = 20000,
                  eval_epsilon: float = 0.001) -> base.AgentBundle:
  """Builds a compact Rainbow (C51) agent whose network may be sparse.

  The defaults are Dopamine's JaxRainbowAgent on Atari
  (dopamine/jax/agents/rainbow/configs/rainbow.gin), target updates counted
  in train steps (8,000 agent steps at one train step every 4). Multi-step
  returns and prioritized replay are the replay memory's (OffPolicy).

  Args:
    time_step_spec: the environment's time step spec.
    action_spec: a scalar discrete action spec.
    seed: seeds the mask placement.
    algorithm: the agent results.json records, one of AGENTS.
    network_fn: (num_outputs, wrap, output_kernel_initializer,
      output_bias_initializer) -> list of Keras layers; it is asked for
      num_actions x num_atoms outputs.
    sparse: how the network is sparse (`SparseTraining`, `LotteryTicket` or
      `FixedTopology`); None for dense.
    num_atoms: atoms of each return distribution.
    v_min: the lowest atom.
    v_max: the highest atom.
    double_q: the target's action by the online network's argmax (Dopamine's
      full Rainbow, which DER uses); compact Rainbow has none.
    noisy: every dense layer of the head (hidden and output) is a
      `heads.NoisyDense`, noise on while collecting and training and off in
      evaluation; collection then acts at epsilon 0, as Dopamine's full
      Rainbow passes `zero_epsilon` for noisy nets (the epsilon schedule is
      not used; `eval_epsilon` still is).
    noisy_sigma0: the noisy layers' initial sigma scale (Dopamine's 0.1).
    dueling: a dueling output (`heads.DuelingHead`), per atom.
    learning_rate: Adam learning rate.
    adam_epsilon: Adam epsilon.
    gamma: discount.
    target_update_period: train steps between hard target updates.
    epsilon_initial: exploration epsilon at env step 0.
    epsilon_final: exploration epsilon after the decay.
    epsilon_decay_steps: env steps of the linear decay.
    epsilon_decay_begin: env steps at `epsilon_initial` before it (Dopamine
      waits out its min_replay_history).
    eval_epsilon: epsilon of the evaluation policy.

  Returns:
    The agent bundle for the run loop.

  Raises:
    ConfigError: for an unknown algorithm, fewer than 2 atoms, v_min not
      below v_max, a flag that is not a bool, a noisy_sigma0, learning rate
      or Adam epsilon that is not positive, an
      epsilon outside [0, 1], a decay or target period that is not a
      positive integer, or actions that are not discrete.
  """
  if algorithm not in AGENTS:
    raise ConfigError(f'rainbow_agent.algorithm must be one of {AGENTS}, got '
                      f'{algorithm!r}')
  checks.positive_numbers('rainbow_agent', learning_rate=learning_rate,
                          adam_epsilon=adam_epsilon)
  checks.ints('rainbow_agent', epsilon_decay_steps=epsilon_decay_steps,
              target_update_period=target_update_period)
  checks.ints('rainbow_agent', minimum=2, num_atoms=num_atoms)
  checks.ints('rainbow_agent', minimum=0,
              epsilon_decay_begin=epsilon_decay_begin)
  checks.probabilities('rainbow_agent', epsilon_initial=epsilon_initial,
                       epsilon_final=epsilon_final, eval_epsilon=eval_epsilon)
  if not (checks.is_number(v_min) and checks.is_number(v_max) and
          v_min < v_max):
    raise ConfigError(f'rainbow_agent.v_min ({v_min}) must be below v_max '
                      f'({v_max}): they are the ends of the support')
  for flag, value in (('double_q', double_q), ('noisy', noisy),
                      ('dueling', dueling)):
    if not isinstance(value, bool):
      raise ConfigError(f'rainbow_agent.{flag} must be True or False, got '
                        f'{value!r}')
  checks.positive_numbers('rainbow_agent', noisy_sigma0=noisy_sigma0)
  num_actions = base.require_discrete(action_spec, algorithm)
  support = tf.linspace(float(v_min), float(v_max), num_atoms)
  # Online and target networks draw their noise from one generator, which
  # the checkpoint keeps with the agent.
  noise_rng = tf.random.Generator.from_seed(seed)
  dense = (heads.noisy_dense(noise_rng, noisy_sigma0) if noisy else
           mlp.dense_layer)
  output = heads.dueling(num_atoms, dense) if dueling else dense

  def make_network(wrap, name):
    # Dopamine's RainbowNetwork initialises every layer, the output too,
    # with variance_scaling(1/sqrt(3), fan_in, uniform) and zero biases
    # (noisy layers keep their own initialisation).
    return build.sequential_network(
        network_fn(
            num_actions * num_atoms, wrap,
            output_kernel_initializer=tf_keras.initializers.VarianceScaling(
                scale=1.0 / 3**0.5, mode='fan_in', distribution='uniform'),
            output_bias_initializer='zeros', hidden_layer=dense,
            output_layer=output),
        time_step_spec.observation, name)

  sparsifier = Sparsifier(seed)
  logits_network, (target_logits,) = sparsifier.build(
      'q', sparse, make_network, 'RainbowNetwork', ['TargetRainbowNetwork'])
  optimizer = sparsifier.optimizer([logits_network],
                                   learning_rate=learning_rate,
                                   epsilon=adam_epsilon)

  def per_example_loss(experience):
    return losses.categorical_td_loss(logits_network, target_logits,
                                      experience, support, gamma, num_actions,
                                      double_q)

  agent = _CategoricalAgent(
      time_step_spec,
      action_spec,
      q_network=ExpectedQNetwork(logits_network, support, num_actions,
                                 'QNetwork'),
      target_q_network=ExpectedQNetwork(target_logits, support, num_actions,
                                        'TargetQNetwork'),
      optimizer=optimizer,
      per_example_loss=per_example_loss,
      gamma=gamma,
      target_update_period=target_update_period,
      target_update_tau=1.0,
      train_step_counter=tf.Variable(0, dtype=tf.int64, name='train_step'))
  agent.initialize()
  agent.noise_rng = noise_rng

  def q_values(training):
    return lambda observation: losses.categorical_q_values(
        losses.categorical_logits(logits_network, observation, num_actions,
                                  num_atoms, training=training), support)

  if noisy:
    # Dopamine: zero_epsilon while training, the network's noise on; in
    # eval_mode the noise is off and epsilon_eval applies.
    collect_act = base.epsilon_greedy(q_values(True), action_spec)
    collect_action = lambda time_step, env_step, rng: collect_act(
        time_step, 0.0, rng)
    eval_act = base.epsilon_greedy(q_values(False), action_spec)
    eval_action = lambda time_step, rng: eval_act(time_step, eval_epsilon,
                                                  rng)
  else:
    collect_action, eval_action = epsilon_greedy_actions(
        base.epsilon_greedy(q_values(False), action_spec), epsilon_initial,
        epsilon_final, epsilon_decay_steps, epsilon_decay_begin, eval_epsilon)

  return base.AgentBundle(
      agent=agent,
      algorithm=algorithm,
      trained=[
          base.TrainedNetwork(
              name='q',
              network=logits_network,
              optimizer=optimizer,
              per_example_loss=per_example_loss,
              inputs=lambda experience: experience.time_step.observation,
              # Logits of atoms, not Q-values.
              outputs_are_values=False)
      ],
      sparse=sparsifier.networks,
      collect_action=collect_action,
      eval_action=eval_action,
      random_action=base.uniform_policy(action_spec),
      gamma=gamma,
      example_losses=lambda loss_info: loss_info.extra.cross_entropy)
