"""ragspace core: settings, models, the index, retrieval, answers and their check (docs/architecture.md).

Importing this package does no work: models, Chroma and torch load only when used.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
