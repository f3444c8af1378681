"""The run loop, replay memory and run directory."""
