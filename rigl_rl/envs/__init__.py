"""Environments behind one factory: spec string -> TF-Agents environment."""
from rigl_rl.envs.factory import make_py_environment
from rigl_rl.envs.factory import make_environment
