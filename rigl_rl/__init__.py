"""rigl_rl: sparse neural networks for deep reinforcement learning.

tfmot only accepts Keras 2 objects, so Keras 2 (tf_keras) must back `tf.keras`
before TensorFlow is first imported.
"""
import os

os.environ['TF_USE_LEGACY_KERAS'] = '1'
