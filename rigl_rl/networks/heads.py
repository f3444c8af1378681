"""Q-network heads of Dopamine's full Rainbow: noisy dense layers and a
dueling output.

Both are `mlp.DenseFactory`s, handed to a torso builder as its
`hidden_layer` / `output_layer`, so every torso (MinAtarNet, NatureCNN,
ImpalaResNet, an MLP) gets them. Their weights live in plain Dense layers
that went through the builder's `wrap`, so each kernel is maskable like any
other (ERK budgets, RigL's gradients, exact sparsity).
"""
import math
from typing import List

import tensorflow as tf
import tf_keras

from rigl_rl.errors import ConfigError
from rigl_rl.networks import mlp

# Set on the inner Dense of a noisy layer's sigma: sparse initialisers keep
# its weights instead of re-drawing them (read by sparsity/masking.py, which
# imports nothing from networks).
KEEPS_INITIAL_WEIGHTS = 'keeps_initial_weights'


def scale_noise(x: tf.Tensor) -> tf.Tensor:
  """f(x) = sign(x) sqrt(|x|), Fortunato et al. 2018 eqs. 10-11."""
  return tf.sign(x) * tf.sqrt(tf.abs(x))


class NoisyDense(tf_keras.layers.Layer):
  """A dense layer with factorised Gaussian noise (Fortunato et al. 2018).

  y = act(x (mu_w + sigma_w * f(e_in) f(e_out)^T) + mu_b + sigma_b * f(e_out)),
  computed as act(mu(x) + sigma(x * f(e_in)) * f(e_out)), where `mu` and
  `sigma` are Dense layers (through `wrap`) whose kernels and biases are
  mu_w, mu_b and sigma_w, sigma_b. With `training` true, e_in ([fan_in]) and
  e_out ([units]) are drawn from N(0, 1) at every call, one draw shared by
  the whole batch, as Dopamine's NoisyNetwork (dopamine/jax/networks.py),
  which the agent calls once per batch; otherwise the noise is off (its
  eval_mode). Initialisation is Dopamine's: mu_w and mu_b uniform in
  +-1/sqrt(fan_in), sigma_w and sigma_b the constant sigma0/sqrt(fan_in).
  """

  def __init__(self, units: int, wrap: mlp.Wrap, rng: tf.random.Generator,
               sigma0: float = 0.1, activation=None, use_bias: bool = True,
               kernel_regularizer=None, name: str = None, **kwargs):
    """Stores the configuration; the weights come at build.

    Args:
      units: outputs.
      wrap: applied to the mu and sigma Dense layers, e.g. to mask them.
      rng: the generator every noise draw comes from.
      sigma0: sigma's initial scale (Dopamine 0.1; Fortunato et al. 0.5).
      activation: applied to the noisy sum.
      use_bias: whether mu and sigma have biases.
      kernel_regularizer: on the mu kernel (weight decay).
      name: the layer's name; its Dense layers are `<name>_mu` and
        `<name>_sigma`.
      **kwargs: other Keras Layer arguments (e.g. `trainable`).
    """
    super().__init__(name=name, **kwargs)
    self.units = units
    self._wrap = wrap
    self.rng = rng
    self.sigma0 = sigma0
    self.activation = tf_keras.activations.get(activation)
    self.use_bias = use_bias
    self._kernel_regularizer = kernel_regularizer
    self.mu = None
    self.sigma = None
    self.fan_in = None

  @property
  def layers(self) -> List[tf_keras.layers.Layer]:
    """The (wrapped) mu and sigma Dense layers, in that order."""
    return [self.mu, self.sigma]

  def build(self, input_shape):
    fan_in = self.fan_in = int(input_shape[-1])
    bound = 1.0 / math.sqrt(fan_in)
    # One initializer each: an unseeded Keras initializer repeats its draws.
    uniform = lambda: tf_keras.initializers.RandomUniform(-bound, bound)
    constant = tf_keras.initializers.Constant(self.sigma0 / math.sqrt(fan_in))
    self.mu = self._wrap(tf_keras.layers.Dense(
        self.units, use_bias=self.use_bias, kernel_initializer=uniform(),
        bias_initializer=uniform(),
        kernel_regularizer=self._kernel_regularizer,
        trainable=self.trainable, name=f'{self.name}_mu'))
    sigma = tf_keras.layers.Dense(
        self.units, use_bias=self.use_bias, kernel_initializer=constant,
        bias_initializer=constant, trainable=self.trainable,
        name=f'{self.name}_sigma')
    setattr(sigma, KEEPS_INITIAL_WEIGHTS, True)
    self.sigma = self._wrap(sigma)
    # Built here, as evaluation never calls sigma; scoped so that the
    # variables carry the Dense layers' names.
    for layer in self.layers:
      with tf.name_scope(layer.name):
        layer.build(input_shape)
    super().build(input_shape)

  def call(self, inputs, training=None):
    outputs = self.mu(inputs)
    if training:
      noise_in = scale_noise(self.rng.normal([self.fan_in]))
      noise_out = scale_noise(self.rng.normal([self.units]))
      outputs += self.sigma(inputs * noise_in) * noise_out
    return self.activation(outputs)


def noisy_dense(rng: tf.random.Generator, sigma0: float = 0.1
                ) -> mlp.DenseFactory:
  """The `DenseFactory` of `NoisyDense` layers drawing from `rng`.

  Like Dopamine's NoisyNetwork, it ignores the initializers the torso asks
  for: the noisy layer's own initialisation is part of the method.

  Args:
    rng: the generator of every layer's noise.
    sigma0: sigma's initial scale.
  """

  def build(units, wrap, *, activation=None, use_bias=True,
            kernel_initializer=None, bias_initializer=None,
            kernel_regularizer=None, name=None, **kwargs):
    del kernel_initializer, bias_initializer  # Dopamine's mu_init, sigma_init.
    return NoisyDense(units, wrap, rng, sigma0=sigma0, activation=activation,
                      use_bias=use_bias, kernel_regularizer=kernel_regularizer,
                      name=name, **kwargs)

  return build


class DuelingHead(tf_keras.layers.Layer):
  """Dueling output (Wang et al. 2016) per atom, flat like a plain output.

  For A actions and N atoms (N = 1 for DQN): an advantage layer of A x N
  units and a value layer of N units on the same features, combined as
  value + advantage - mean over actions of advantage, for each atom
  (Dopamine's FullRainbowNetwork), returned as [batch, A x N], action-major.
  """

  def __init__(self, advantage: tf_keras.layers.Layer,
               value: tf_keras.layers.Layer, num_atoms: int, **kwargs):
    super().__init__(**kwargs)
    self.advantage = advantage
    self.value = value
    self.num_atoms = num_atoms

  @property
  def layers(self) -> List[tf_keras.layers.Layer]:
    """The advantage and value layers, in that order."""
    return [self.advantage, self.value]

  def call(self, inputs, training=None):
    advantage = self.advantage(inputs, training=training)
    value = self.value(inputs, training=training)
    advantage = tf.reshape(advantage, [tf.shape(advantage)[0], -1,
                                       self.num_atoms])
    combined = (value[:, None, :] + advantage -
                tf.reduce_mean(advantage, axis=1, keepdims=True))
    return tf.reshape(combined, [tf.shape(combined)[0], -1])


def dueling(num_atoms: int, stream_layer: mlp.DenseFactory = mlp.dense_layer
            ) -> mlp.DenseFactory:
  """The `DenseFactory` of a `DuelingHead` for outputs of A x `num_atoms`.

  Args:
    num_atoms: atoms per action (1 for a Q-value per action).
    stream_layer: builds the advantage and value layers (noisy in
      Dopamine's DER).

  Raises:
    ConfigError: at build, if the outputs are not a multiple of num_atoms.
  """

  def build(units, wrap, *, activation=None, name='output', **kwargs):
    if activation is not None or units % num_atoms:
      raise ConfigError(f'a dueling head needs a linear output of actions x '
                        f'{num_atoms} atoms; got {units} units with '
                        f'activation {activation!r}')
    return DuelingHead(
        stream_layer(units, wrap, name=f'{name}_advantage', **kwargs),
        stream_layer(num_atoms, wrap, name=f'{name}_value', **kwargs),
        num_atoms, name=name)

  return build
