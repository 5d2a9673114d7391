"""Hypothesis profiles, chosen by HYPOTHESIS_PROFILE: `fast` locally and in CI, `deep` nightly.

(mitmproxy's test/mitmproxy/proxy/conftest.py does the same.) No deadline in either: CI
machines stall now and then, and a property's truth does not depend on its speed.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("fast", max_examples=100, deadline=None)
settings.register_profile("deep", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))
