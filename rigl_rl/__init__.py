"""rigl_rl: sparse neural networks for deep reinforcement learning.

  import rigl_rl
  results = rigl_rl.train('/tmp/runs/cp', ['dqn/cartpole_rigl.gin'])

tfmot only accepts Keras 2 objects, so Keras 2 (tf_keras) must back `tf.keras`
before TensorFlow is first imported. Importing rigl_rl loads no TensorFlow:
`train`, `evaluate`, `noise_robustness` and `export_policy` (rigl_rl.api) load it when first
called.
"""
import os

os.environ['TF_USE_LEGACY_KERAS'] = '1'

# pylint: disable=g-import-not-at-top,wrong-import-position
from rigl_rl.api import evaluate
from rigl_rl.api import export_policy
from rigl_rl.api import noise_robustness
from rigl_rl.api import train
