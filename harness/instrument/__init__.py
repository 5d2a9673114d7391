"""The instrument measuring itself, not the network: how far to trust Gauntlet's numbers.

- calibrate.py: known delays (a `network` hop's D, `keep_back`'s T) measured as cells are,
  against bands (`gauntlet calibrate`; every run embeds the latest for its machine);
- bench/: how fast and how far the harness goes (floor, added latency per hop, subscribers
  at scale on the load generator, matrix wall times; `gauntlet bench`);
- lag.py: in every cell, how late the harness itself published against the workload's plan
  (`instrument_lag_ms`), so a stalled harness is not read as a slow intermediary.
"""
