"""Block-structured masks: a layer's mask as a union of whole blocks.

A block covers `block_shape` entries of a Dense kernel in Keras' (in, out)
layout; (4, 1) is four consecutive inputs of one output unit, TFLite's 1x4
block of its [out, in] FullyConnected weights, which XNNPACK runs sparse.
Conv kernels stay unstructured (blocks of one entry): TFLite densifies sparse
conv weights when it loads them, so blocks there would buy no speed.

Every count of the sparse core (allocation, mask init, drop and grow,
pruning) is in blocks of a `BlockLayout`; a block scores the sum of its
members' scores. Unstructured layers are the layout with one-entry blocks.
"""
from typing import Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from rigl_rl import checks
from rigl_rl.errors import ConfigError

BlockShape = Optional[Tuple[int, int]]


def check_block_shape(block_shape) -> BlockShape:
  """The block shape as a tuple, or None for unstructured masks.

  Raises:
    ConfigError: unless it is None or two positive integers.
  """
  if block_shape is None:
    return None
  checks.int_lists('SparseTraining', block_shape=block_shape)
  if len(block_shape) != 2:
    raise ConfigError(
        'SparseTraining.block_shape must be two integers (in, out), got '
        f"{block_shape!r}; set e.g. SparseTraining.block_shape = (4, 1)")
  return tuple(int(dim) for dim in block_shape)


class BlockLayout:
  """The blocks of one kernel: pooling of entry scores, expansion of masks."""

  def __init__(self, shape: Sequence[int], block: Sequence[int]):
    """Args: shape: the kernel's shape; block: a block's shape, same rank,
    dividing `shape` dim by dim."""
    self.shape = tuple(int(dim) for dim in shape)
    self.block = tuple(int(dim) for dim in block)
    self.grid = tuple(s // b for s, b in zip(self.shape, self.block))
    self.n_blocks = int(np.prod(self.grid))
    self.block_size = int(np.prod(self.block))

  def pool(self, values: tf.Tensor) -> tf.Tensor:
    """[n_blocks]: the sum of `values` (kernel-shaped) over each block."""
    split = [dim for pair in zip(self.grid, self.block) for dim in pair]
    summed = tf.reduce_sum(tf.reshape(values, split),
                           axis=list(range(1, 2 * len(self.grid), 2)))
    return tf.reshape(summed, [-1])

  def expand(self, block_values: tf.Tensor) -> tf.Tensor:
    """Kernel-shaped: each block's value ([n_blocks]) on all its members."""
    values = tf.reshape(block_values, self.grid)
    for axis, size in enumerate(self.block):
      values = tf.repeat(values, size, axis=axis)
    return values

  def expand_np(self, block_values: np.ndarray) -> np.ndarray:
    """`expand` in numpy, for masks drawn before the graph runs."""
    values = np.reshape(block_values, self.grid)
    for axis, size in enumerate(self.block):
      values = np.repeat(values, size, axis=axis)
    return values

  def masked_blocks(self, sparsity: float) -> int:
    """Blocks a layer of this sparsity masks: round(s * n_blocks)."""
    return int(round(sparsity * self.n_blocks))

  def quantize(self, sparsity: float) -> float:
    """The sparsity of a whole number of masked blocks nearest `sparsity`.

    One-entry blocks keep it as allocated: every count already rounds to
    whole entries, and unstructured runs record what they always did.
    """
    if self.block_size == 1:
      return sparsity
    return self.masked_blocks(sparsity) / self.n_blocks


def layout(name: str, shape: Sequence[int],
           block_shape: BlockShape) -> BlockLayout:
  """The blocks of layer `name`'s kernel: `block_shape` for a Dense kernel
  (rank 2), one-entry blocks for conv kernels or without a block shape.

  Raises:
    ConfigError: if a Dense kernel dim is not a multiple of the block's.
  """
  if block_shape is None or len(shape) != 2:
    return BlockLayout(shape, (1,) * len(shape))
  for axis, (dim, size) in enumerate(zip(shape, block_shape)):
    if dim % size:
      raise ConfigError(
          f'layer {name!r} has kernel shape {tuple(shape)} (in, out), whose '
          f'{("in", "out")[axis]} dim {dim} is not a multiple of block_shape '
          f'{tuple(block_shape)}; use a block_shape that divides every '
          "Dense kernel, or keep the layer dense with SparseTraining."
          f"dense_layers = ['{name}']")
  return BlockLayout(shape, block_shape)
