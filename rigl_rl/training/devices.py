"""Where a run trains: `Runner.strategy`, picked by gin.

  Runner.strategy = @OneDevice()     # GPU:0; OneDevice.device = 'GPU:1'
  Runner.strategy = @Mirrored()      # every GPU
  Mirrored.devices = ['GPU:0', 'GPU:1']
  Runner.strategy = @TPU()
  TPU.address = 'grpc://10.0.0.2:8470'

Each factory returns a `tf.distribute.Strategy`, and refuses a device this
machine does not have before any work, with one line naming the devices it
found. The run loop builds the agent (networks, optimizers, masks) under the
strategy's scope and runs each train step through it; environments and
replay stay on the host.
"""
from typing import List, Optional, Sequence

import gin
import tensorflow as tf

from rigl_rl.errors import ConfigError
from rigl_rl.errors import one_line

_GPU_HINT = ("install the gpu extra (pip install -e '.[gpu]') on a machine "
             'with a GPU, or drop the Runner.strategy binding')
_OTHER_HINT = 'name one of those, or drop the Runner.strategy binding'


def _name(device: str) -> str:
  """'TYPE:index' of a device string such as '/device:GPU:0' or 'gpu:0'."""
  spec = tf.DeviceSpec.from_string(device)
  index = '' if spec.device_index is None else f':{spec.device_index}'
  return f'{(spec.device_type or "").upper()}{index}'


def found_devices(device_type: Optional[str] = None) -> List[str]:
  """'TYPE:index' of each logical device TensorFlow sees, e.g. ['CPU:0']."""
  return [_name(device.name)
          for device in tf.config.list_logical_devices(device_type)]


def _require(binding: str, devices: Sequence[str]) -> List[str]:
  """The 'TYPE:index' names of `devices`, all of which must exist.

  Raises:
    ConfigError: naming the first missing device and the devices found.
  """
  found = found_devices()
  names = []
  for device in devices:
    try:
      name = _name(device)
    except ValueError:
      name = ''
    if ':' not in name:
      raise ConfigError(f'{binding} names the device {device!r}; name one '
                        "as 'TYPE:index', e.g. 'GPU:0'")
    if name not in found:
      hint = _GPU_HINT if name.startswith('GPU') else _OTHER_HINT
      raise ConfigError(f'{binding} asks for {name} but this machine has: '
                        f'{", ".join(found)}; {hint}')
    names.append(name)
  return names


@gin.configurable('DefaultDevice')
def default_device() -> tf.distribute.Strategy:
  """TensorFlow's own placement: the first GPU when there is one, else the
  CPU (no strategy; what a run does without a Runner.strategy binding)."""
  return tf.distribute.get_strategy()


@gin.configurable('OneDevice')
def one_device(device: str = 'GPU:0') -> tf.distribute.Strategy:
  """Everything the strategy holds on one device.

  Args:
    device: 'TYPE:index', e.g. 'GPU:1' or 'CPU:0'.

  Raises:
    ConfigError: if this machine has no such device.
  """
  name, = _require(f'OneDevice.device = {device!r}', [device])
  return tf.distribute.OneDeviceStrategy(name)


@gin.configurable('Mirrored')
def mirrored(devices: Optional[Sequence[str]] = None
             ) -> tf.distribute.Strategy:
  """Synchronous data parallelism: each device trains on its share of every
  batch, gradients are summed across them, and every variable (masks
  included) holds the same value on each.

  Args:
    devices: 'TYPE:index' names, e.g. ['GPU:0', 'GPU:1']; None takes every
      GPU.

  Raises:
    ConfigError: if a device is missing, or None finds no GPU.
  """
  if devices is None:
    devices = found_devices('GPU')
    if not devices:
      raise ConfigError('Runner.strategy = @Mirrored() mirrors over every '
                        'GPU but this machine has: '
                        f'{", ".join(found_devices())}; {_GPU_HINT}')
  names = _require(f'Mirrored.devices = {list(devices)!r}', devices)
  return tf.distribute.MirroredStrategy(names)


@gin.configurable('TPU')
def tpu(address: str = '') -> tf.distribute.Strategy:
  """The TPU cores of a TPU system.

  Args:
    address: the TPU's name or gRPC address for `TPUClusterResolver`; ''
      finds it from the environment (a Cloud TPU VM).

  Raises:
    ConfigError: if no TPU system answers there.
  """
  try:
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
  except (ValueError, RuntimeError, tf.errors.OpError) as e:
    raise ConfigError(
        f'TPU.address = {address!r} finds no TPU ({one_line(e)}); this '
        f'machine has: {", ".join(found_devices())}; '
        'pass the TPU\'s address, or drop the Runner.strategy binding'
    ) from None
  return tf.distribute.TPUStrategy(resolver)
