"""ragspace core: settings, embeddings, the Chroma store and (later) retrieval and answers.

Importing this package does no work: models, Chroma and torch load only when used.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
