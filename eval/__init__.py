"""Offline evaluation of retrieval and answers (see the evaluation issue)."""

from __future__ import annotations
