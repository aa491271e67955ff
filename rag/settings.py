"""One typed settings object: defaults < rag.toml < RAG_* environment < CLI flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rag.errors import ConfigError

BUNDLED_EMBED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def default_home() -> Path:
    """The per-user data directory, used when RAG_HOME is not set."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("ragspace", appauthor=False))


def default_model_cache() -> Path:
    """Per-user cache for model files ragspace derives locally (never downloads)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ragspace", appauthor=False)) / "models"


def config_file() -> Path:
    """rag.toml: `RAG_CONFIG` when set, else ./rag.toml."""
    return Path(os.environ.get("RAG_CONFIG", "rag.toml"))


class Settings(BaseSettings):
    """Everything a user can configure. Each field is also `RAG_<NAME>` and a `rag.toml` key."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="forbid", validate_default=True, populate_by_name=True)

    home: Path = Field(
        default_factory=default_home,
        description="Where the index and its state live (the Chroma database, manifests, uploads).",
    )
    chroma_url: str | None = Field(
        default=None,
        description="URL of a Chroma server (e.g. http://127.0.0.1:8000); unset = embedded Chroma under `home`.",
    )
    collection: str = Field(default="default", description="Name of the collection to use.")
    embed_model: str = Field(
        default=BUNDLED_EMBED_MODEL,
        description="sentence-transformers model: the bundled all-MiniLM-L6-v2, a local path, or a cached model name.",
    )
    embed_batch_size: int = Field(default=64, ge=1, le=4096, description="Chunks embedded per batch.")
    embed_precision: Literal["auto", "fp32", "bf16"] = Field(
        default="auto",
        description="What the embedding model computes in: `auto` = bf16 where the CPU runs it natively (checked "
        "once per machine, remembered in `model_cache`), else fp32. Vectors are stored as float32 either way.",
    )
    chunk_size: int = Field(
        default=256,
        ge=16,
        description="Maximum chunk length in the embedding model's tokens; capped to the model's limit.",
    )
    chunk_overlap: int = Field(default=32, ge=0, description="Tokens shared by neighbouring chunks.")
    chunk_headers: bool = Field(
        default=False,
        description="Embed each chunk with a short header (document title > heading path) before its text; the "
        "stored text and citations are unchanged. Recorded per collection: a collection keeps the way it was built "
        "(one without the record counts as off) until `rag ingest --rebuild`. Off by default: small, not significant "
        "gains on SciFact, and it lifts off-topic cosines past `relevance_threshold` (see the README).",
    )
    include: list[str] = Field(
        default_factory=list, description="Glob patterns; when set, only matching files are ingested."
    )
    exclude: list[str] = Field(default_factory=list, description="Glob patterns of files to leave out.")
    max_file_mb: float = Field(default=50.0, gt=0, description="Files larger than this many MB are skipped.")
    follow_links_outside: bool = Field(
        default=False,
        description="Follow symlinks (to files or folders) whose target lies outside the folder being ingested. "
        "Off: such links are skipped and reported, so a folder you did not write cannot pull in /etc/passwd.",
    )
    watch_debounce_ms: int = Field(default=800, ge=50, description="Quiet time before --watch re-syncs.")

    # Retrieval (rag/retrieval/retriever.py)
    top_k: int = Field(default=5, ge=1, le=100, description="Sources retrieved per question.")
    hybrid: bool = Field(
        default=True,
        description="Fuse BM25 keyword search with dense search (reciprocal rank fusion); on by default since it "
        "beats dense alone on SciFact (nDCG@10 0.701 vs 0.649) within the latency budget.",
    )
    relevance_threshold: float = Field(
        default=0.3,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity at which a source counts on its score (its quote must still carry what is "
        "asked); under it, sources count only on more evidence (see `relevance_band`), and with none the answer "
        "abstains.",
    )
    relevance_band: float = Field(
        default=0.2,
        ge=0.0,
        le=2.0,
        description="How far below the threshold a source may score and still count, when every key word of the "
        "question is in the sources by spelling or by meaning and the quote answers it; never below what unrelated "
        "questions score in the collection (measured once per collection version). MiniLM scores everyday wording "
        "low (\"How do I upload a zip file?\": 0.26 against the FAQ that says how). 0 turns it off.",
    )
    common_word_share: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="Choosing the sentence to quote, a question word found in more than this share of the "
        "collection's chunks is left out of the question (\"ragspace\" in ragspace's own guide says nothing about "
        "which passage answers). 1 keeps every word.",
    )
    mmr: bool = Field(default=False, description="Diversify sources with maximal marginal relevance.")
    mmr_lambda: float = Field(
        default=0.5, ge=0.0, le=1.0, description="MMR trade-off: 1 = relevance only, 0 = diversity only."
    )
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal rank fusion constant.")

    # LLM (used by rag/llm; see `rag ask`)
    llm: str = Field(
        default="auto",
        description="LLM backend: `auto` (Ollama when it answers with `ollama_model`, else embedded), "
        "`ollama[:MODEL]` or `embedded[:PATH.gguf]`.",
    )
    ollama_host: str = Field(
        default="http://127.0.0.1:11434",
        validation_alias=AliasChoices("RAG_OLLAMA_HOST", "OLLAMA_HOST", "ollama_host"),
        description="Ollama server URL (also read from OLLAMA_HOST).",
    )
    ollama_model: str = Field(default="llama3.2", description="Ollama model used by `auto` and bare `ollama`.")
    num_ctx: int = Field(
        default=4096,
        ge=512,
        description="Context window in tokens, sent to Ollama explicitly (its small default truncates RAG prompts) "
        "and used for the embedded model.",
    )
    llm_timeout_s: float = Field(default=120.0, gt=0, description="Seconds to wait for the LLM before giving up.")
    ollama_keep_alive: str = Field(default="10m", description="How long Ollama keeps the model loaded after a request.")
    llm_threads: int = Field(default=0, ge=0, description="CPU threads for the embedded model (0 = physical cores).")
    bundled_weights: Literal["q8_0", "as-shipped"] = Field(
        default="q8_0",
        description="Weights of the bundled SmolLM2: `q8_0` re-encodes the shipped Q4_1 file once into `model_cache` "
        "(prompts 1.5x faster on CPU, answers practically the same); `as-shipped` runs the Q4_1 file itself.",
    )
    model_cache: Path = Field(
        default_factory=default_model_cache,
        description="Folder for model files derived locally (the Q8_0 copy of the bundled model).",
    )
    temperature: float = Field(default=0.1, ge=0.0, le=2.0, description="Sampling temperature.")
    max_answer_tokens: int = Field(default=384, ge=16, description="Room kept for the answer in the context window.")
    source_tokens: int | None = Field(
        default=None,
        ge=0,
        description="Most tokens of each source put in the prompt; a longer source keeps its sentences most similar "
        "to the question. Unset = what the model reads best (96 for the bundled 135M model, whole chunks for "
        "others); 0 = always whole chunks.",
    )
    answer_mode: Literal["auto", "extract", "generate", "both"] = Field(
        default="auto",
        description="`extract` quotes the source sentences that answer (cited to the character); `generate` lets "
        "the LLM write; `both` quotes at once, then the LLM's answer streams below; `auto` quotes for the bundled "
        "tiny model and generates for Ollama and other GGUFs, replacing a generated answer with the quotes when "
        "most of its sentences are unsupported.",
    )
    extract_words: int = Field(default=60, ge=10, le=400, description="About how many words a quoted answer has.")
    condense: Literal["auto", "llm", "heuristic"] = Field(
        default="auto",
        description="How follow-ups (questions that depend on the conversation; others are searched as written) "
        "become standalone search queries: `llm` asks the model, `heuristic` puts the previous question's subject "
        "in place of a pronoun or adds its key words, `auto` uses the LLM except for the tiny embedded default.",
    )

    # Chat UI (ui/; see `rag chat`)
    ui_host: str = Field(
        default="127.0.0.1", description="Address the chat UI binds to; any non-loopback one needs `auth`."
    )
    ui_port: int = Field(default=7860, ge=1, le=65535, description="Port of the chat UI.")
    auth: str | None = Field(
        default=None, description="`user:password` required to open the UI (mandatory off 127.0.0.1)."
    )
    ssl_certfile: Path | None = Field(
        default=None, description="TLS certificate (PEM) to serve the chat UI over https."
    )
    ssl_keyfile: Path | None = Field(default=None, description="Private key (PEM) of `ssl_certfile`.")
    upload_max_mb: float = Field(default=50.0, gt=0, description="Largest single upload (a file or a zip), in MB.")
    upload_max_files: int = Field(default=200, ge=1, description="Most files one upload (or one zip) may add.")
    zip_max_mb: float = Field(
        default=200.0, gt=0, description="Most MB a zip may expand to (guards against zip bombs)."
    )
    ui_folders: list[Path] = Field(
        default_factory=list,
        description="Folders the chat UI may re-sync besides those a collection was built from (and their "
        "sub-folders); any other path sent to the UI is refused.",
    )
    ui_models: list[Path] = Field(
        default_factory=list,
        description="GGUF files the chat UI's Settings box may choose (`embedded:PATH`), besides the bundled "
        "model, Ollama's models and `llm`; any other model is refused.",
    )
    chat_concurrency: int = Field(
        default=4,
        ge=1,
        description="Chat requests handled at once; the embedded model still answers one at a time (it holds a "
        "lock) while the others retrieve, abstain or wait.",
    )

    # Images (rag/models/image_embedder.py, ingest/images.py): off while `image_model` is empty
    image_model: str = Field(
        default="",
        description="CLIP-style sentence-transformers model that embeds images and texts in one space (a local "
        "path, or a name such as `clip-ViT-B-32`, fetched once if not cached); empty = images are not indexed.",
    )
    image_max_pixels: int = Field(
        default=50_000_000,
        ge=1,
        description="Images claiming more pixels (width x height) are refused before decoding (decompression bombs).",
    )
    image_threshold: float = Field(
        default=0.25,
        ge=-1.0,
        le=1.0,
        description="Minimum cosine between a question and an image for the image to be shown with the answer.",
    )
    # HTTP API and MCP server (api/; see `rag serve` and `rag mcp`)
    api_host: str = Field(
        default="127.0.0.1", description="Address `rag serve` binds to; any non-loopback one needs `api_key`."
    )
    api_port: int = Field(default=8000, ge=1, le=65535, description="Port of `rag serve`.")
    api_key: str | None = Field(
        default=None,
        description="Bearer key clients of `rag serve` must send (`Authorization: Bearer KEY`); required to bind "
        "off 127.0.0.1, and checked on every address once set.",
    )
    api_footnotes: bool = Field(
        default=True,
        description="End each chat completion's `content` with a \"Sources\" list (number, file, page or lines, "
        "a short quote) for clients that show only the text; off for clients that read the `sources` field "
        "(a request can also send `\"footnotes\": false`).",
    )
    api_max_body_mb: float = Field(
        default=2.0, gt=0, description="Largest request body `rag serve` reads, in MB; larger ones get 413."
    )
    api_max_messages: int = Field(
        default=200, ge=1, description="Most messages one chat request may carry (the history included); 400 above."
    )
    api_max_embedding_inputs: int = Field(
        default=256, ge=1, description="Most texts one `/v1/embeddings` request may embed; 400 above."
    )
    api_max_text_chars: int = Field(
        default=20_000,
        ge=1,
        description="Longest question, search query or embeddings input (characters) the API and MCP tools take; "
        "400 (a tool error over MCP) above. Retrieval reads only the first ~256 tokens of a question anyway.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names (the Host header, any port) `rag serve` and `rag chat` answer besides the loopback "
        "names; others get 421, which stops DNS-rebinding pages from reading a loopback server. On a non-loopback "
        "bind the check applies only once this is set.",
    )

    @field_validator("collection")
    @classmethod
    def _valid_collection(cls, v: str) -> str:
        import re

        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{1,50}[A-Za-z0-9]", v) or "__" in v:
            raise ValueError(
                "use 3-52 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, and no '__'"
            )
        return v

    @field_validator("home", "model_cache")
    @classmethod
    def _expand_home(cls, v: Path) -> Path:
        return Path(v).expanduser()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: CLI flags (init) > environment > rag.toml > defaults.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, config_file()))

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def state_path(self) -> Path:
        return self.home / "state.sqlite3"

    @property
    def lexical_path(self) -> Path:
        return self.home / "lexical.sqlite3"


def load_settings(**overrides: Any) -> Settings:
    """Build Settings; `overrides` are CLI flags (None means "not given").

    Raises:
        ConfigError: naming the bad field and where it came from.
    """
    from rag.config_trust import check_config_file

    given = {k: v for k, v in overrides.items() if v is not None}
    check_config_file(config_file(), "RAG_CONFIG" not in os.environ, given)
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(
            f"Invalid settings ({problems}). Fix the flag, the RAG_* environment variable "
            f"or {config_file()} that sets it."
        ) from None
    except Exception as exc:  # a malformed rag.toml surfaces as a parse error
        raise ConfigError(f"Cannot read {config_file()}: {exc}. Fix or remove the file.") from None
