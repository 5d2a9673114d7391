"""Gauntlet: a network-simulation test harness for server push.

Data flows one way: scenario spec -> topology (server, proxy hops, clients) -> event log ->
metrics -> verdict -> results JSON -> report and plots. See ARCHITECTURE.md.
"""

__version__ = "0.1.0"
