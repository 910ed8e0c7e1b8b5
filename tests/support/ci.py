"""Is this run CI's? There a missing service or browser fails the run instead of skipping."""

from __future__ import annotations

import os

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
