"""Grids of runs: the sweep spec, parameter-matched dense widths, Ray launch."""
