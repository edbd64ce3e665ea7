"""The composition root: the app factory and the CLI. It wires; it holds no domain logic."""

__version__ = "0.1.0"
