"""What the run loop needs from any agent, whatever its algorithm."""
import dataclasses
from typing import Callable, Dict, List, Optional, Sequence

import tensorflow as tf
from tf_agents.agents import tf_agent

from rigl_rl.errors import ConfigError
from rigl_rl.sparsity import masking

# (time_step, env_step, rng) -> batched action, inside tf.function.
CollectFn = Callable[[object, tf.Tensor, tf.random.Generator], tf.Tensor]
# (time_step, rng) -> batched action.
ActFn = Callable[[object, tf.random.Generator], tf.Tensor]


def require_discrete(action_spec, agent: str) -> int:
  """The number of actions of a scalar discrete action spec.

  Raises:
    ConfigError: for continuous actions.
  """
  if not action_spec.dtype.is_integer:
    raise ConfigError(f'{agent} needs discrete actions; this environment has '
                      'continuous ones: use the SAC or PPO gin files')
  return int(action_spec.maximum - action_spec.minimum + 1)


def stateless_seed(rng: tf.random.Generator) -> tf.Tensor:
  """A seed for TFP's stateless sampling, drawn from the run's generator."""
  return tf.cast(rng.make_seeds(1)[:, 0], tf.int32)


def require_continuous(action_spec, agent: str) -> None:
  """Raises ConfigError unless the actions are a float vector."""
  if not action_spec.dtype.is_floating or action_spec.shape.rank != 1:
    raise ConfigError(f'{agent} needs continuous (Box) actions; this '
                      'environment has discrete ones: use the DQN or PPO '
                      'gin files')


def uniform_policy(action_spec) -> ActFn:
  """Uniform random actions of a discrete or box spec (the initial collect)."""
  if action_spec.dtype.is_integer:
    low, high = int(action_spec.minimum), int(action_spec.maximum) + 1
    return lambda time_step, rng: rng.uniform(
        tf.shape(time_step.step_type)[0:1], low, high, dtype=action_spec.dtype)
  low = tf.constant(action_spec.minimum, tf.float32) * tf.ones(
      action_spec.shape)
  high = tf.constant(action_spec.maximum, tf.float32) * tf.ones(
      action_spec.shape)
  return lambda time_step, rng: rng.uniform(
      tf.concat([tf.shape(time_step.step_type)[0:1], action_spec.shape], 0),
      low, high)


def epsilon_greedy(q_values: Callable[[tf.Tensor], tf.Tensor],
                   action_spec) -> Callable:
  """(time_step, epsilon, rng) -> epsilon-greedy actions of a Q-function."""
  uniform = uniform_policy(action_spec)

  def act(time_step, epsilon, rng):
    greedy = tf.argmax(q_values(time_step.observation), axis=-1,
                       output_type=action_spec.dtype)
    explore = rng.uniform(tf.shape(time_step.step_type)[0:1]) < epsilon
    return tf.where(explore, uniform(time_step, rng), greedy)

  return act


def sampling_policy(distribution: Callable[[tf.Tensor], object]) -> CollectFn:
  """Collects by sampling a policy's action distribution, seeded by the
  run's generator."""
  return lambda time_step, env_step, rng: distribution(
      time_step.observation).sample(seed=stateless_seed(rng))


@dataclasses.dataclass
class TrainedNetwork:
  """A network the agent trains, with what diagnostics and baselines need.

  Attributes:
    name: short name used in summaries and checkpoints, e.g. 'q'.
    network: the online network, a sequential Keras network.
    optimizer: the optimizer that trains it.
    per_example_loss: experience -> [batch] losses, whose mean is the
      agent's loss for this network (without regularisation).
    inputs: experience -> the network's inputs.
    outputs_are_values: whether the outputs are Q-values (Q statistics).
  """
  name: str
  network: tf.Module
  optimizer: object
  per_example_loss: Callable[[object], tf.Tensor]
  inputs: Callable[[object], tf.Tensor]
  outputs_are_values: bool


@dataclasses.dataclass
class AgentBundle:
  """An agent with its acting functions and its sparse state.

  Attributes:
    agent: the TF-Agents agent; `agent.train(experience)` does one step.
    algorithm: 'dqn', 'sac' or 'ppo', for results.json.
    trained: every network the agent trains.
    sparse: the sparse state of each sparse network; empty for a dense
      agent.
    collect_action: exploration policy used while collecting.
    eval_action: evaluation policy.
    random_action: uniform policy for the initial collect.
    gamma: the agent's discount, which multi-step replay folds into its
      returns.
    logged_losses: scalar fields of the agent's `LossInfo.extra` to log under
      Losses/, besides the total loss.
    example_losses: a train step's `LossInfo` -> its [batch] per-example
      losses before importance weights, which prioritized replay sets its
      priorities from; None for an agent that reports none.
    prepare_rollout: on-policy agents only: (a rollout of transitions in
      collection order, env n's step t at t * num_envs + n; num_envs) ->
      the batch `agent.train` takes minibatches of.
  """
  agent: tf_agent.TFAgent
  algorithm: str
  trained: List[TrainedNetwork]
  sparse: List[masking.SparseNetwork]
  collect_action: CollectFn
  eval_action: ActFn
  random_action: ActFn
  gamma: float
  logged_losses: Sequence[str] = ()
  example_losses: Optional[Callable[[object], tf.Tensor]] = None
  prepare_rollout: Optional[Callable[[object, int], object]] = None

  @property
  def method(self) -> str:
    """The sparse-training method, or 'dense' when nothing is masked."""
    methods = {network.method for network in self.sparse}
    return '+'.join(sorted(methods)) if methods else 'dense'

  @property
  def networks(self) -> Dict[str, tf.Module]:
    """name -> online network."""
    return {trained.name: trained.network for trained in self.trained}

  def param_counts(self) -> Dict[str, tuple]:
    """name -> (active, total) trainable parameters of each online network."""
    by_network = {sparse.network: sparse for sparse in self.sparse}
    return {
        name: masking.count_params(network, by_network.get(network))
        for name, network in self.networks.items()
    }
