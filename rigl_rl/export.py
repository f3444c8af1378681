"""Exporting a DQN run's greedy Q-policy: a SavedModel and a sparse TFLite model.

The exported function reads only the Q-network's kernels and biases. The
masks are left behind: the stored kernels are exactly sparse already
(`sparsity/masking.py`), so the weights are plain tensors with zeros, which
TFLite's converter (`tf.lite.Optimize.EXPERIMENTAL_SPARSITY`) stores in its
sparse format. LiteRT (`ai-edge-litert`, the `export` extra) runs the TFLite
model; TensorFlow 2.21 deprecates `tf.lite.Interpreter` in its favour.
"""
import json
import os
import shutil
import tempfile
from typing import Callable, Dict, Optional

import numpy as np
import tensorflow as tf

from rigl_rl.errors import ConfigError
from rigl_rl.errors import ExportMismatch

SAVED_MODEL_DIR = 'saved_model'
TFLITE_FILE = 'policy.tflite'
RESULTS_FILE = 'export.json'
SIGNATURE = 'serving_default'


def policy_module(q_network: tf.Module, observation_spec) -> tf.Module:
  """A module whose signature maps observations to Q-values and the greedy
  action.

  Args:
    q_network: a built Q-network, (observation batch) -> ([batch, actions],
      state), e.g. a TF-Agents Sequential.
    observation_spec: one observation's spec.

  Returns:
    The module; it tracks the network's trainable variables only, so a
    SavedModel of it holds no masks or optimizer state.
  """
  module = tf.Module(name='greedy_policy')
  module.network_variables = list(q_network.trainable_variables)
  spec = tf.TensorSpec([None] + list(observation_spec.shape),
                       observation_spec.dtype, name='observation')

  @tf.function(input_signature=[spec])
  def policy(observation):
    q_values = q_network(observation, training=False)[0]
    return {'q_values': q_values,
            'action': tf.argmax(q_values, axis=-1, output_type=tf.int32)}

  module.policy = policy
  return module


def save(module: tf.Module, saved_model_dir: str) -> None:
  """Writes a `policy_module` as a SavedModel with its one signature."""
  tf.saved_model.save(module, saved_model_dir,
                      signatures={SIGNATURE: module.policy})


def tflite_model(saved_model_dir: str, sparse: bool = True) -> bytes:
  """The TFLite flatbuffer of a SavedModel, its weights in TFLite's sparse
  format where they are sparse enough (`sparse`), else dense."""
  converter = tf.lite.TFLiteConverter.from_saved_model(
      saved_model_dir, signature_keys=[SIGNATURE])
  if sparse:
    converter.optimizations = [tf.lite.Optimize.EXPERIMENTAL_SPARSITY]
  return converter.convert()


def litert_version() -> str:
  """The installed ai-edge-litert's version.

  Raises:
    ConfigError: if it is not installed.
  """
  from importlib import metadata  # pylint: disable=g-import-not-at-top
  try:
    return metadata.version('ai-edge-litert')
  except metadata.PackageNotFoundError:
    raise ConfigError('running TFLite models needs LiteRT; pip install '
                      '"rigl_rl[export]"') from None


class TFLitePolicy:
  """A TFLite policy model in LiteRT (its default XNNPACK delegate).

  Calls go through the interpreter's tensors, not its Python signature
  runner, whose per-call checks would dominate the timing of small models.
  """

  def __init__(self, model: bytes, threads: int = 1):
    """Loads `model` (a `tflite_model` flatbuffer) to run on `threads` CPU
    threads."""
    litert_version()  # The install hint, before the import fails.
    from ai_edge_litert import interpreter  # pylint: disable=g-import-not-at-top
    self._interpreter = interpreter.Interpreter(model_content=model,
                                                num_threads=threads)
    (observation,) = self._interpreter.get_input_details()
    self._input = observation['index']
    # The signature's two outputs, told apart by dtype (`policy_module`).
    self._outputs = {
        'action' if detail['dtype'] == np.int32 else 'q_values':
            detail['index']
        for detail in self._interpreter.get_output_details()
    }
    self._shape = None

  def __call__(self, observations: np.ndarray) -> Dict[str, np.ndarray]:
    """{'q_values', 'action'} of a batch; a new batch size resizes."""
    if observations.shape != self._shape:
      self._interpreter.resize_tensor_input(self._input, observations.shape)
      self._interpreter.allocate_tensors()
      self._shape = observations.shape
    self._interpreter.set_tensor(self._input, observations)
    self._interpreter.invoke()
    return {name: self._interpreter.get_tensor(index)
            for name, index in self._outputs.items()}


def record_observations(py_env, q_network: tf.Module, count: int,
                        rng: np.random.Generator) -> np.ndarray:
  """`count` observations met by the network's greedy policy on `py_env`,
  with a random action one step in ten so that the batch varies."""
  action_spec = py_env.action_spec()
  observations = []
  time_step = py_env.reset()
  while len(observations) < count:
    observation = np.asarray(time_step.observation)
    observations.append(observation)
    if rng.random() < 0.1:
      action = rng.integers(action_spec.minimum, action_spec.maximum + 1)
    else:
      q_values = q_network(observation[None], training=False)[0]
      action = int(tf.argmax(q_values[0]))
    time_step = py_env.step(np.asarray(action, action_spec.dtype))
    if time_step.is_last():
      time_step = py_env.reset()
  return np.stack(observations)


def compare(observations: np.ndarray, q_network: tf.Module,
            exported: Dict[str, Callable[[np.ndarray], Dict[str, np.ndarray]]]
            ) -> Dict[str, float]:
  """Max abs Q-value difference of each exported model from the network.

  Raises:
    ExportMismatch: if a model's greedy action differs on any observation.
  """
  q_values = q_network(observations, training=False)[0].numpy()
  actions = np.argmax(q_values, axis=-1)
  differences = {}
  for name, model in exported.items():
    outputs = model(observations)
    differences[name] = float(np.max(np.abs(outputs['q_values'] - q_values)))
    wrong = np.flatnonzero(outputs['action'] != actions)
    if wrong.size:
      raise ExportMismatch(
          f'the {name} model picks other actions than the trained network '
          f'on {wrong.size} of {len(actions)} observations (first: '
          f'observation {wrong[0]}; max abs Q-value difference '
          f'{differences[name]:.3g})')
  return differences


def tflite_sparsity(model: bytes) -> Dict[str, int]:
  """How many of the model's tensors TFLite stores sparse, and their count.

  Read from LiteRT's tensor details (a sparse tensor has sparsity
  parameters).
  """
  from ai_edge_litert import interpreter  # pylint: disable=g-import-not-at-top
  details = interpreter.Interpreter(
      model_content=model).get_tensor_details()
  sparse = [d for d in details if d.get('sparsity_parameters')]
  return {'sparse_tensors': len(sparse), 'tensors': len(details)}


def export_run(root_dir: str, out_dir: str, observations: int = 256,
               seed: int = 0,
               progress: Callable[[str], None] = print) -> Dict[str, object]:
  """Exports a DQN run's greedy policy from its newest checkpoint.

  Writes <out_dir>/saved_model/, <out_dir>/policy.tflite and
  <out_dir>/export.json. The files are made in a new directory beside
  out_dir and moved there only once the exported models pick the trained
  network's actions on every recorded observation.

  gin must hold no configuration when this is called, and holds none after
  (as `analysis.evaluation.restore`).

  Args:
    root_dir: a run directory written by bin/train.
    out_dir: a directory that does not exist yet.
    observations: how many observations to record for the check.
    seed: seeds the environment and the recording's random actions.
    progress: called with each line of the report.

  Returns:
    What export.json holds.

  Raises:
    ConfigError: for an out_dir that exists, a run that is not DQN, a
      directory without a run or checkpoint, or LiteRT not installed.
    ExportMismatch: if an exported model picks another action than the
      trained network on a recorded observation (nothing is written).
  """
  # pylint: disable=g-import-not-at-top
  from rigl_rl.analysis import evaluation
  from rigl_rl.envs import factory
  if os.path.lexists(out_dir):
    raise ConfigError(f'{out_dir} exists; pass an --out_dir that does not, '
                      'so that no earlier export is overwritten')
  if observations < 1:
    raise ConfigError(f'observations must be >= 1, got {observations}')
  version = litert_version()
  env_spec, bundle, checkpoint = evaluation.restore(root_dir, seed)
  if bundle.algorithm != 'dqn':
    raise ConfigError(f'{root_dir} is a {bundle.algorithm} run; only DQN runs '
                      'have a greedy Q-policy to export')
  q_network = bundle.networks['q']
  py_env = factory.make_py_environment(env_spec, seed)
  try:
    batch = record_observations(py_env, q_network, observations,
                                np.random.default_rng(seed))
  finally:
    py_env.close()
  parent = os.path.dirname(os.path.abspath(out_dir))
  os.makedirs(parent, exist_ok=True)
  work = tempfile.mkdtemp(prefix=f'.{os.path.basename(out_dir)}.', dir=parent)
  try:
    saved_model_dir = os.path.join(work, SAVED_MODEL_DIR)
    save(policy_module(q_network, bundle.agent.time_step_spec.observation),
         saved_model_dir)
    model = tflite_model(saved_model_dir)
    with open(os.path.join(work, TFLITE_FILE), 'wb') as f:
      f.write(model)
    signature = tf.saved_model.load(saved_model_dir).signatures[SIGNATURE]
    differences = compare(batch, q_network, {
        'SavedModel': lambda x: {k: v.numpy() for k, v in
                                 signature(observation=tf.constant(x)).items()},
        'TFLite': TFLitePolicy(model),
    })
    results = {
        **evaluation.run_record(root_dir, checkpoint, env_spec, bundle, 0,
                                seed),
        'observations': observations,
        'max_abs_q_difference': differences,
        'actions_match': True,
        'tflite': {'bytes': len(model), **tflite_sparsity(model),
                   'ai_edge_litert': version},
    }
    del results['episodes']
    with open(os.path.join(work, RESULTS_FILE), 'w') as f:
      json.dump(results, f, indent=2)
    os.rename(work, out_dir)
  except BaseException:
    shutil.rmtree(work, ignore_errors=True)
    raise
  for name, difference in differences.items():
    progress(f'{name}: greedy actions match the trained network on '
             f'{observations} observations; max abs Q-value difference '
             f'{difference:.3g}')
  progress(f'Wrote {out_dir}: {SAVED_MODEL_DIR}/, {TFLITE_FILE} '
           f'({len(model)} bytes, {results["tflite"]["sparse_tensors"]} '
           f'sparse tensors), {RESULTS_FILE}')
  return results
