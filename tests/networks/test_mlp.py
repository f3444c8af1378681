"""MLP parameter counts by hand, width multiplier and bias switch."""
import pytest
import tf_keras

from rigl_rl.errors import ConfigError
from rigl_rl.networks import conv
from rigl_rl.networks import mlp


def _count(layers, inputs):
  model = tf_keras.Sequential(layers)
  model.build((None, inputs))
  return model.count_params()


def test_paper_mlp_parameter_count():
  layers = mlp.mlp_layers(2, wrap=lambda layer: layer)
  assert [layer.name for layer in layers] == ['hidden_0', 'hidden_1', 'output']
  # 4*512 + 512 + 512*512 + 512 + 512*2 + 2
  assert _count(layers, 4) == 266_242


def test_width_multiplier_and_no_hidden_bias():
  layers = mlp.mlp_layers(3, wrap=lambda layer: layer, hidden_units=(10, 20),
                          width=3.0, hidden_bias=False)
  # 6*30 + 30*60 + (60*3 + 3): hidden layers have no bias, the output keeps it.
  assert _count(layers, 6) == 6 * 30 + 30 * 60 + 60 * 3 + 3


def test_weight_decay_adds_l2_losses():
  layers = mlp.mlp_layers(2, wrap=lambda layer: layer, hidden_units=(8,),
                          weight_decay=1e-3)
  model = tf_keras.Sequential(layers)
  model.build((None, 4))
  expected = sum(1e-3 * float((layer.kernel**2).numpy().sum())
                 for layer in layers)
  assert abs(float(sum(model.losses)) - expected) < 1e-6


@pytest.mark.parametrize('kwargs,message', [
    (dict(width=0), 'mlp_layers.width must be a number > 0, got 0'),
    (dict(width='wide'), "mlp_layers.width must be a number > 0, got 'wide'"),
    (dict(hidden_units=(64, -1)), r'mlp_layers.hidden_units\[1\] must be'),
    (dict(hidden_units=64), 'mlp_layers.hidden_units must be a list'),
])
def test_bad_sizes_are_refused(kwargs, message):
  with pytest.raises(ConfigError, match=message):
    mlp.mlp_layers(2, wrap=lambda layer: layer, **kwargs)


@pytest.mark.parametrize('builder,name', [
    (conv.minatar_layers, 'MinAtarNet'), (conv.nature_cnn_layers, 'NatureCNN'),
    (conv.impala_resnet_layers, 'ImpalaResNet')])
def test_conv_widths_are_checked(builder, name):
  with pytest.raises(ConfigError, match=f'{name}.width must be a number > 0'):
    builder(2, wrap=lambda layer: layer, width=-1.0)
