"""Scenario files that tests write out and edit (`MINI.replace(...)`), written out once.

The loader (tests/unit), the CLI's checks of hostile input (tests/e2e/test_cli_failures.py)
and the token-stream headers (tests/unit/test_token_streams.py) start from the same matrix.
"""

MINI = """
name = "mini"
description = "two cells"
time_scale = 10
transports = ["sse", "long_poll"]
intermediaries = ["direct"]
[workload]
events = 3
rate_per_s = 10
payload_bytes = 32
[budget]
latency_p95_ms = 100
deliver_within_real_s = 20
[[expect]]
transport = "sse"
intermediary = "direct"
verdict = "PASS"
reason = "nothing in between"
[[expect]]
transport = "long_poll"
intermediary = "direct"
verdict = "PASS"
reason = "nothing in between"
"""
