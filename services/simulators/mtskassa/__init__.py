"""A stateful stand-in for MTS Kassa, the cloud cash-register service (see README.md)."""

from .server import Config, Simulator

__all__ = ["Config", "Simulator"]
