"""The sparse optimizer: sparsity rides in the optimizer, as jaxpruner's
`wrap_optax` does.

An agent builds its networks with masked layers and trains them with an
optimizer from `sparse_optimizer`; it does nothing else sparse. At every step
the optimizer gets the gradient of the agent's training loss. That gradient is
dense, because the forward pass reads the stored kernel, whose masked entries
are exact zeros. At the update steps of a network's mask updater it changes
the masks with that gradient first (RigL grows by it; no second backward pass).
Then it masks the gradient with the new masks and applies it. Under a
distribution strategy the masks change once per step, in cross-replica
context, on the gradient summed over the replicas. Masked entries
keep zero gradients and zero slots, so the stored kernels stay exactly sparse.
"""
from typing import Sequence

import tensorflow as tf
import tf_keras

from rigl_rl.sparsity import masking


class _SparseGradients:
  """A gradient transformer of a legacy Keras optimizer (see module doc)."""

  def __init__(self, networks: Sequence[masking.SparseNetwork]):
    self.networks = list(networks)
    self.optimizer = None  # Set once the optimizer exists.
    self._masks = {
        layer.kernel.ref(): layer.mask
        for network in self.networks for layer in network.layers
    }

  @property
  def _updated(self):
    """The networks whose masks change during training."""
    return [network for network in self.networks
            if network.updater.window is not None]

  def _update_masks(self, network: masking.SparseNetwork, step: tf.Tensor,
                    grads) -> None:
    """In graph: the network's mask update at `step`, when one is due."""
    missing = [layer.layer.name for layer in network.layers
               if layer.kernel.ref() not in grads]
    if missing:
      raise ValueError(f'the sparse optimizer of {network.name!r} does not '
                       f'train its layers {missing}')
    updater = network.updater

    def update():
      changes = updater.update(
          step, network, self.optimizer, network.state.rng,
          {layer.layer.name: grads[layer.kernel.ref()]
           for layer in network.layers} if updater.needs_gradients else None)
      network.record_update(step, changes)
      return tf.constant(True)

    tf.cond(updater.is_due(step), update, lambda: tf.constant(False))

  def _update_all_masks(self, strategy: tf.distribute.Strategy,
                        grads_and_vars) -> None:
    """In cross-replica context: every mask update due at this step."""
    # Applies done so far: this is train step t's gradient.
    step = self.optimizer.iterations
    # The gradients are summed over the replicas already, so every replica
    # holds the same ones: the first's decide, once, for all of them.
    grads = {var.ref(): strategy.experimental_local_results(grad)[0]
             for grad, var in grads_and_vars}
    for network in self._updated:
      self._update_masks(network, step, grads)

  def __call__(self, grads_and_vars):
    grads_and_vars = list(grads_and_vars)
    if self._updated:
      # Masks change once, in cross-replica context, so that under a
      # distribution strategy every replica gets the same masks, slots and
      # random draws (without a strategy this just calls the update).
      # Not autograph-converted (merge_call would): the updaters are plain
      # Python that builds graph ops, and their plans need Python numbers.
      tf.distribute.get_replica_context().merge_call(
          tf.autograph.experimental.do_not_convert(self._update_all_masks),
          args=(grads_and_vars,))
    # Read after the updates, so the gradient is masked by the new masks.
    return [(grad if var.ref() not in self._masks else
             grad * self._masks[var.ref()], var)
            for grad, var in grads_and_vars]


def sparse_optimizer(networks: Sequence[masking.SparseNetwork],
                     optimizer_class=tf_keras.optimizers.legacy.Adam,
                     **kwargs):
  """A legacy Keras optimizer that trains `networks` sparsely.

  Args:
    networks: the `SparseNetwork`s whose kernels it trains (empty: a plain
      optimizer). Each network's updater must be bound to the run length
      before the first step.
    optimizer_class: a `tf_keras.optimizers.legacy` optimizer class.
    **kwargs: its arguments, e.g. `learning_rate`, `epsilon`.

  Returns:
    The optimizer. Its `iterations` count the train steps the updaters'
    schedules refer to, so it must apply exactly once per train step.
  """
  transformer = _SparseGradients(networks)
  optimizer = optimizer_class(gradient_transformers=[transformer], **kwargs)
  transformer.optimizer = optimizer
  return optimizer
