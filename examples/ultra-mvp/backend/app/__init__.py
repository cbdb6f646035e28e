"""ultra-mvp: the reference target audited by prodaudit."""

from __future__ import annotations

__version__ = "1.0.0"
