"""Image augmentations of sampled batches (DrQ), picked in gin by reference.

An augmentation is a callable (observations, rng) -> observations for a
batch of [batch, height, width, channels] images; `dqn_agent.augmentation`
applies one to the observation and, with its own draw, to the next
observation of every sampled batch inside the loss, as Dopamine's
labs/atari_100k/atari_100k_rainbow_agent.py `_training_step_update` does
(one key for the states, another for the next states).
"""
import gin
import tensorflow as tf

from rigl_rl import checks
from rigl_rl.errors import ConfigError


def shift_offsets(batch_size, pad: int, rng: tf.random.Generator):
  """Per-image crop offsets (rows, columns) into the padded images.

  Each is uniform on 0 .. 2 * pad - 1: Dopamine's `_per_image_random_crop`
  draws `jax.random.randint(0, padded - size)`, whose maximum is exclusive,
  so a crop never starts at the last padded position.
  """
  return (rng.uniform([batch_size], 0, 2 * pad, dtype=tf.int32),
          rng.uniform([batch_size], 0, 2 * pad, dtype=tf.int32))


def shift(images: tf.Tensor, rows: tf.Tensor, columns: tf.Tensor,
          pad: int) -> tf.Tensor:
  """Edge-pads each image by `pad` and crops it back at its offsets.

  Args:
    images: [batch, height, width, channels].
    rows: [batch] crop offsets along the height, in 0 .. 2 * pad - 1.
    columns: [batch] crop offsets along the width.
    pad: pixels of edge replication on each side.

  Returns:
    The shifted images, same shape and dtype: output pixel (i, j) of image
    b is input pixel (clip(i + rows[b] - pad), clip(j + columns[b] - pad)),
    which is what padding with edge replication and cropping gives.
  """
  height, width = tf.shape(images)[1], tf.shape(images)[2]
  row_index = tf.clip_by_value(
      tf.range(height)[None, :] + rows[:, None] - pad, 0, height - 1)
  column_index = tf.clip_by_value(
      tf.range(width)[None, :] + columns[:, None] - pad, 0, width - 1)
  images = tf.gather(images, row_index, axis=1, batch_dims=1)
  return tf.gather(images, column_index, axis=2, batch_dims=1)


@gin.configurable
class DrQAugmentation:
  """DrQ's augmentation as Dopamine's `drq_image_augmentation`.

  A random shift (edge padding by `pad`, then a random crop back), then a
  per-image intensity factor 1 + intensity_scale * clip(n, -2, 2), n ~ N(0, 1)
  (Dopamine's `_intensity_aug`; it multiplies the pixels, so it commutes
  with the networks' rescaling by 1/255).
  """

  def __init__(self, pad: int = 4, intensity_scale: float = 0.05):
    """Args:
      pad: pixels of edge replication on each side.
      intensity_scale: scale of the intensity noise; 0 leaves intensities.

    Raises:
      ConfigError: for a pad that is not a positive integer or a negative
        scale.
    """
    checks.ints('DrQAugmentation', minimum=1, pad=pad)
    if not checks.is_number(intensity_scale) or intensity_scale < 0:
      raise ConfigError('DrQAugmentation.intensity_scale must be a number >= '
                        f'0, got {intensity_scale!r}; fix its binding')
    self.pad = pad
    self.intensity_scale = intensity_scale

  def __call__(self, observations: tf.Tensor,
               rng: tf.random.Generator) -> tf.Tensor:
    """Augments a batch of images.

    Args:
      observations: [batch, height, width, channels] images (the frame
        stack on the last axis shares one shift, as in Dopamine).
      rng: the generator the shifts, then the intensities, are drawn from.

    Returns:
      float32 images of the same shape.
    """
    batch_size = tf.shape(observations)[0]
    rows, columns = shift_offsets(batch_size, self.pad, rng)
    shifted = tf.cast(shift(observations, rows, columns, self.pad),
                      tf.float32)
    noise = tf.clip_by_value(rng.normal([batch_size, 1, 1, 1]), -2.0, 2.0)
    return shifted * (1.0 + self.intensity_scale * noise)
