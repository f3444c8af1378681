"""Builders of TF-Agents agents with (optionally) sparse networks."""
from rigl_rl.agents.base import AgentBundle
from rigl_rl.agents.dqn import dqn_agent
