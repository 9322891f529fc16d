"""tug: a daemonless container engine that does what Docker does."""

__version__ = "0.1.0"
