"""How CPU threads wait for each other: chosen for machines that are never idle.

llama.cpp (built with OpenMP) and torch share one OpenMP runtime in our process: torch ships
`libgomp.so.1`, loads first (the embedder), and llama.cpp's library then binds to that same copy.
libgomp's threads spin while they wait (its default); on a machine where other programs also want
the cores, a spinning thread burns the time slice the thread it waits for needs. With
`OMP_WAIT_POLICY=PASSIVE` they sleep instead. `benchmarks/llm_load.py` measures both, idle and
under load (README, "Answers under load").

The runtime reads its environment once, when it loads, so this must run before torch or llama_cpp
is imported; it is called by the embedder and the embedded LLM just before their first import.
`RAG_OMP_WAIT` = `passive` (default) | `spin` (libgomp's default) | `inherit` (leave the environment
as it is); an `OMP_WAIT_POLICY` the user set always wins.
"""

from __future__ import annotations

import os
import sys

POLICIES = {"passive": "PASSIVE", "spin": None, "inherit": None}
DEFAULT = "passive"


def configure_openmp() -> str:
    """Set the OpenMP wait policy for this process if it is still possible; returns what is in force."""
    if "OMP_WAIT_POLICY" in os.environ:
        return os.environ["OMP_WAIT_POLICY"].lower()
    choice = os.environ.get("RAG_OMP_WAIT", DEFAULT).strip().lower()
    if choice not in POLICIES:
        from rag.errors import ConfigError

        raise ConfigError(f"RAG_OMP_WAIT={choice!r} is not one of: {', '.join(POLICIES)}")
    if _runtime_loaded():
        return "already loaded"
    value = POLICIES[choice]
    if value:
        os.environ["OMP_WAIT_POLICY"] = value  # read by libgomp when torch or llama.cpp loads it
    return choice


def _runtime_loaded() -> bool:
    return any(name in sys.modules for name in ("torch", "llama_cpp"))
