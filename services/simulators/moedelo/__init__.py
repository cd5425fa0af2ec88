"""A local stand-in for the MoeDelo accounting REST API: warehouses, goods, cash desks,
retail revenue and retail sales reports, per account (token), with fault knobs. See
README.md beside this file."""

from .faults import Fault
from .server import Config, Simulator

__all__ = ["Config", "Fault", "Simulator"]
