"""The sparse optimizer: masked gradients, and mask updates inside the step on
the gradient it is given (DESIGN section 4)."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from rigl_rl import sparsity
from rigl_rl.sparsity import masking
from rigl_rl.sparsity import optimizer as optimizer_lib
from rigl_rl.sparsity import schedules


def _network(updater, total_steps=100):
  tf.random.set_seed(0)
  model = tf_keras.Sequential([
      masking.wrap_layer(tf_keras.layers.Dense(16, use_bias=False,
                                               name='hidden')),
      masking.wrap_layer(tf_keras.layers.Dense(2, use_bias=False,
                                               name='output')),
  ])
  model.build((None, 8))
  net = sparsity.SparseTraining(
      updater=updater, sparsity=0.75, allocation=sparsity.uniform).attach(
          'q', model, [], np.random.default_rng(0))
  updater.bind(total_steps)
  return model, net


def _rigl():
  return sparsity.RigL(schedules.UpdateSchedule(0.0, 0.5, 3),
                       schedules.ConstantDropFraction(0.5))


def _grads(net, seed):
  rng = np.random.default_rng(seed)
  # Distinct magnitudes, so the growth order has no ties.
  return [tf.constant(rng.permutation(np.arange(1, layer.kernel.shape.num_elements() + 1))
                      .reshape(layer.kernel.shape), tf.float32) / 100.0
          for layer in net.layers]


@pytest.mark.parametrize('compiled', [False, True], ids=['eager', 'graph'])
def test_updates_at_due_steps_on_the_given_gradient(compiled):
  _, net = _network(_rigl())
  optimizer = optimizer_lib.sparse_optimizer([net], learning_rate=0.1)
  kernels = [layer.kernel for layer in net.layers]

  def step(grads):
    optimizer.apply_gradients(zip(grads, kernels))

  step_fn = tf.function(step) if compiled else step
  for t in range(4):
    grads = _grads(net, t)
    before = [(layer.mask.numpy() > 0, layer.kernel.numpy())
              for layer in net.layers]
    step_fn(grads)
    due = t in (0, 3)  # Every 3 steps from 0 to 50.
    assert net.last_update()[0] == (t if due else 0)
    for layer, grad, (old_mask, old_kernel) in zip(net.layers, grads, before):
      mask = layer.mask.numpy() > 0
      kernel = layer.kernel.numpy()
      g = np.abs(grad.numpy())
      assert int(mask.sum()) == int(old_mask.sum())
      # Exactly sparse after every step; masked entries never move.
      assert np.all(kernel[~mask] == 0.0)
      if not due:
        np.testing.assert_array_equal(mask, old_mask)
        continue
      n_active = int(old_mask.sum())
      keep_order = np.argsort(np.where(old_mask, -np.abs(old_kernel), np.inf),
                              axis=None)[:n_active - n_active // 2]
      kept = np.zeros(mask.size, bool)
      kept[keep_order] = True
      kept = kept.reshape(mask.shape)
      grown = mask & ~kept
      assert np.all(mask[kept]) and grown.any()
      # RigL grew where the gradient given to the optimizer is largest...
      assert g[grown].min() >= g[~mask].max()
      # ...and that gradient, masked by the new masks, was then applied:
      # grown connections start at 0 and took their first step.
      new = grown & ~old_mask
      assert np.all(kernel[new] != 0.0)
      assert np.all(np.sign(kernel[new]) == -np.sign(grad.numpy()[new]))
  assert int(optimizer.iterations.numpy()) == 4
  _, changes = net.last_update()
  assert changes['hidden'].active == int(net.layers[0].mask.numpy().sum())


def test_a_static_network_only_masks_gradients():
  _, net = _network(sparsity.Static())
  optimizer = optimizer_lib.sparse_optimizer([net], learning_rate=0.1)
  masks = [layer.mask.numpy().copy() for layer in net.layers]
  kernels = [layer.kernel for layer in net.layers]
  optimizer.apply_gradients(zip(_grads(net, 0), kernels))
  for layer, mask in zip(net.layers, masks):
    np.testing.assert_array_equal(layer.mask.numpy(), mask)
    assert np.all(layer.kernel.numpy()[mask == 0] == 0.0)
  assert net.last_update()[0] == -1


def test_a_network_the_optimizer_does_not_train_is_an_error():
  model, net = _network(_rigl())
  optimizer = optimizer_lib.sparse_optimizer([net], learning_rate=0.1)
  first = net.layers[0].kernel
  with pytest.raises(ValueError, match="does not train its layers"):
    optimizer.apply_gradients([(tf.ones(first.shape), first)])
  del model
