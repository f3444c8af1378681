"""The run loop, replay memory and run directory."""
from rigl_rl.training.loop import Runner
