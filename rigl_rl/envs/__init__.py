"""Environments: `factory` builds a TF-Agents environment from a spec string
or configured game; `names` lists every spec (and imports nothing)."""
