"""`site-builder serve` lives in the ``site_builder.serve`` package; this module keeps the names
older code imports from ``site_builder.server`` (``PreviewServer``, ``serve_command``, the limits …)."""

from __future__ import annotations

from .serve import *  # noqa: F403
from .serve import __all__ as _serve_all
from .serve.limits import *  # noqa: F403
from .serve.search import year_rule as _year_rule  # noqa: F401 - the former private name

__all__ = list(_serve_all)
