"""Network builders; each takes a `wrap` transform for maskable layers."""
from rigl_rl.networks.mlp import mlp_layers
from rigl_rl.networks.conv import impala_resnet_layers
from rigl_rl.networks.conv import minatar_layers
from rigl_rl.networks.conv import nature_cnn_layers
from rigl_rl.networks.flat import flat_layers
from rigl_rl.networks.quantile import implicit_quantile_network
