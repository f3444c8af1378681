"""Builders of TF-Agents agents with (optionally) sparse networks."""
from rigl_rl.agents.base import AgentBundle
from rigl_rl.agents.augmentation import DrQAugmentation
from rigl_rl.agents.dqn import dqn_agent
from rigl_rl.agents.iqn import iqn_agent
from rigl_rl.agents.sac import sac_agent
from rigl_rl.agents.ppo import ppo_agent
from rigl_rl.agents.rainbow import rainbow_agent
