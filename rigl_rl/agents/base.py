"""What the run loop needs from any agent, whatever its algorithm."""
import dataclasses
from typing import Callable, Dict, List

import tensorflow as tf
from tf_agents.agents import tf_agent

from rigl_rl.sparsity import masking

# (time_step, env_step, rng) -> batched action, inside tf.function.
CollectFn = Callable[[object, tf.Tensor, tf.random.Generator], tf.Tensor]
# (time_step, rng) -> batched action.
ActFn = Callable[[object, tf.random.Generator], tf.Tensor]


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
  """
  agent: tf_agent.TFAgent
  algorithm: str
  trained: List[TrainedNetwork]
  sparse: List[SparseTarget]
  collect_action: CollectFn
  eval_action: ActFn
  random_action: ActFn

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
