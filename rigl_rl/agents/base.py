"""What the run loop needs from any agent, whatever its algorithm."""
import dataclasses
from typing import Callable, Dict, List, Optional, Sequence

import tensorflow as tf
import tf_keras
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


def masked_adam(learning_rate: float, sparse_networks, **adam_kwargs):
  """Adam whose gradients of masked kernel entries are zeroed first.

  Args:
    learning_rate: the learning rate.
    sparse_networks: the `SparseNetwork`s of the variables it trains.
    **adam_kwargs: other arguments of the (legacy Keras) Adam optimizer.
  """
  return tf_keras.optimizers.legacy.Adam(
      learning_rate,
      gradient_transformers=[s.mask_gradients for s in sparse_networks],
      **adam_kwargs)


def stateless_seed(rng: tf.random.Generator) -> tf.Tensor:
  """A seed for TFP's stateless sampling, drawn from the run's generator."""
  return tf.cast(rng.make_seeds(1)[:, 0], tf.int32)


def require_continuous(action_spec, agent: str) -> None:
  """Raises ConfigError unless the actions are a float vector."""
  if not action_spec.dtype.is_floating or action_spec.shape.rank != 1:
    raise ConfigError(f'{agent} needs continuous (Box) actions; this '
                      'environment has discrete ones: use the DQN or PPO '
                      'gin files')


@dataclasses.dataclass
class SparseTarget:
  """A sparse network with what its updater needs to change the masks."""
  network: masking.SparseNetwork
  optimizer: object  # The optimizer whose slots are reset at mask updates.
  loss_fn: Callable[[object], tf.Tensor]  # experience -> gradient source.

  def dense_gradients(self, experience) -> Dict[str, tf.Tensor]:
    """layer name -> gradient of the loss for every kernel entry.

    Masked entries are stored as exact zeros and the forward pass reads the
    stored kernel, so this is the dense gradient RigL grows by.
    """
    layers = self.network.layers
    with tf.GradientTape() as tape:
      loss = self.loss_fn(experience)
    grads = tape.gradient(loss, [layer.kernel for layer in layers])
    return {layer.layer.name: grad for layer, grad in zip(layers, grads)}


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
    sparse: one entry per sparse network; empty for a dense agent.
    collect_action: exploration policy used while collecting.
    eval_action: evaluation policy.
    random_action: uniform policy for the initial collect.
    logged_losses: scalar fields of the agent's `LossInfo.extra` to log under
      Losses/, besides the total loss.
    prepare_rollout: on-policy agents only: a rollout of transitions in
      collection order -> the batch `agent.train` takes minibatches of.
  """
  agent: tf_agent.TFAgent
  algorithm: str
  trained: List[TrainedNetwork]
  sparse: List[SparseTarget]
  collect_action: CollectFn
  eval_action: ActFn
  random_action: ActFn
  logged_losses: Sequence[str] = ()
  prepare_rollout: Optional[Callable[[object], object]] = None

  @property
  def method(self) -> str:
    """The sparse-training method, or 'dense' when nothing is masked."""
    methods = {target.network.method for target in self.sparse}
    return '+'.join(sorted(methods)) if methods else 'dense'

  @property
  def networks(self) -> Dict[str, tf.Module]:
    """name -> online network."""
    return {trained.name: trained.network for trained in self.trained}

  def param_counts(self) -> Dict[str, tuple]:
    """name -> (active, total) trainable parameters of each online network."""
    by_network = {target.network.network: target.network for target in self.sparse}
    return {
        name: masking.count_params(network, by_network.get(network))
        for name, network in self.networks.items()
    }
