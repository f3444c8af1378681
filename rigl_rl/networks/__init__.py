"""Network builders; each takes a `wrap` transform for maskable layers."""
from rigl_rl.networks.mlp import mlp_layers
