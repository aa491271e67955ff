"""Commands, flags, paths, numbers and names an answer has and no source has are flagged (rag/verify/code.py).

Unit cases through `check_answer` with the real bundled embedding model, then the engine: a real
collection over tests/data/extract/docs (the `vaultsync` guide) and the real Ollama backend talking
to tests/ollama_standin.py, a stand-in Ollama server that replies with scripted text (a fake on
purpose: the bundled model's inventions cannot be provoked on demand, and no Ollama can be
installed here).
"""

from __future__ import annotations

import pytest
from rag.verify.check import check_answer

from rag.app import build_engine
from rag.settings import Settings
from rag.types import Source
from tests.conftest import DATA
from tests.helpers import sync
from tests.ollama_standin import OllamaStandin, StandinConfig

GUIDE = (DATA / "extract" / "docs" / "backup.md").read_text(encoding="utf-8")
LIMITS = "Files larger than 50MB are skipped, and a folder may hold at most 20000 files."
PLACES = (
    "Settings are read from ~/.config/ragspace/rag.toml, on Windows from C:\\Users\\me\\ragspace\\rag.toml; "
    "the service keeps its state in /var/lib/ragspace/state.db."
)


def sources(*texts: str) -> list[Source]:
    return [
        Source(n=i + 1, id=f"s{i + 1}", path=f"doc{i + 1}.md", page=None, text=t, score=0.5)
        for i, t in enumerate(texts)
    ]


def one(answer: str, *texts: str, embedder):
    [row] = check_answer(answer, sources(*texts), embedder).per_sentence
    return row


# -- commands -------------------------------------------------------------------------------


def test_invented_command_in_backticks_is_flagged_whole(embedder):
    row = one("To restore files, run `vaultsync restore --all` [1].", GUIDE, embedder=embedder)
    assert row.status == "unsupported"
    assert row.reason.startswith("`vaultsync restore --all` appears in no source"), row.reason
    assert row.invented == ["vaultsync restore --all"]


def test_a_command_the_source_has_passes_with_its_own_arguments(embedder):
    # the source writes `vaultsync pull DEST SOURCE`; a real folder name in place of DEST is not a flag
    row = one("To restore files, run `vaultsync pull DEST SOURCE` [1].", GUIDE, embedder=embedder)
    assert row.status == "supported" and row.invented == [], row.reason
    row = one("To see what would be copied, run `vaultsync push --dry-run` [1].", GUIDE, embedder=embedder)
    assert row.status == "supported" and row.invented == [], row.reason


def test_invented_command_in_prose_is_flagged(embedder):
    row = one("To restore the files, run vaultsync restore from the backup drive.", GUIDE, embedder=embedder)
    assert row.status == "unsupported" and row.invented == ["vaultsync restore"]
    assert row.reason.startswith("`vaultsync restore` appears in no source")
    ok = one("To restore the files, run vaultsync pull from the backup drive.", GUIDE, embedder=embedder)
    assert ok.status == "supported" and ok.invented == [], ok.reason


def test_invented_command_in_a_code_block_is_flagged(embedder):
    result = check_answer("```\nvaultsync restore --all\n```", sources(GUIDE), embedder)
    [row] = result.per_sentence
    assert row.status == "unsupported" and row.invented == ["vaultsync restore --all"]
    quoted = check_answer("```\n$ vaultsync prune\n```", sources(GUIDE), embedder)
    assert [(r.status, r.reason) for r in quoted.per_sentence] == [("skipped", "code")]


def test_a_one_word_code_span_must_be_in_a_source_too(embedder):
    # what SmolLM2 wrote for "How do I keep the index up to date?" on the samples: `rake`, no source has it
    row = one("Delete old snapshots with the `rake` tool when the drive is full [1].", GUIDE, embedder=embedder)
    assert row.status == "unsupported" and row.invented == ["rake"]
    row = one("Delete old snapshots with the `vaultsync` tool when the drive is full [1].", GUIDE, embedder=embedder)
    assert row.invented == [] and row.status == "supported", row.reason


# -- flags ----------------------------------------------------------------------------------


def test_invented_flag_is_flagged(embedder):
    row = one("Add --preview to see what would be copied without copying anything [1].", GUIDE, embedder=embedder)
    assert row.status == "unsupported" and row.invented == ["--preview"]
    assert row.reason.startswith("`--preview` appears in no source")


def test_a_flag_the_source_has_is_not_flagged(embedder):
    row = one("Add --dry-run to see what would be copied without copying anything [1].", GUIDE, embedder=embedder)
    assert row.status == "supported" and row.invented == [], row.reason


def test_a_flag_is_matched_exactly_not_by_its_words(embedder):
    # "dry" and "run" are both in the source, the flag --dry is not
    row = one("Add --dry to see what would be copied without copying anything [1].", GUIDE, embedder=embedder)
    assert row.status == "unsupported" and row.invented == ["--dry"]


# -- paths ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "~/.ragspace/rag.toml",
        "/etc/ragspace/rag.toml",
        "C:\\ProgramData\\ragspace\\rag.toml",
        "https://ragspace.dev/docs",
    ],
)
def test_invented_path_is_flagged(embedder, path):
    row = one(f"Settings are read from {path} when the program starts [1].", PLACES, embedder=embedder)
    assert row.status == "unsupported" and row.invented == [path], row.reason
    assert row.reason.startswith(f"`{path}` appears in no source")


@pytest.mark.parametrize(
    "path", ["~/.config/ragspace/rag.toml", "C:\\Users\\me\\ragspace\\rag.toml", "/var/lib/ragspace", "~/.config"]
)
def test_a_path_the_source_has_or_lies_under_is_not_flagged(embedder, path):
    row = one(f"Settings are read from {path}, and state is kept there too [1].", PLACES, embedder=embedder)
    assert row.invented == [] and "appears in no source" not in (row.reason or ""), row.reason


# -- numbers and names ----------------------------------------------------------------------


@pytest.mark.parametrize("size", ["50 MB", "50MB", "50 megabytes"])
def test_a_number_with_other_spacing_or_unit_wording_matches(embedder, size):
    row = one(f"Files larger than {size} are skipped [1].", LIMITS, embedder=embedder)
    assert row.status == "supported", row.reason


def test_a_different_number_with_a_unit_is_flagged(embedder):
    row = one("Files larger than 60 MB are skipped [1].", LIMITS, embedder=embedder)
    assert row.status == "unsupported" and row.reason.startswith("number 60 appears in no source")
    assert row.invented == []  # a wrong number is unsupported, not an invented command


def test_source_with_spaced_unit_matches_glued_answer(embedder):
    row = one("Files larger than 50MB are skipped [1].", LIMITS.replace("50MB", "50 MB"), embedder=embedder)
    assert row.status == "supported", row.reason


@pytest.mark.parametrize(
    ("name", "kind"),
    [("VaultKeeper", "CamelCase"), ("VSYNC_HOME", "ALLCAPS"), ("backup_dir", "snake_case"), ("vault.cfg", "dotted")],
)
def test_invented_identifiers_are_flagged(embedder, name, kind):
    row = one(f"The backup location is set with {name} before a run [1].", GUIDE, embedder=embedder)
    assert row.status == "unsupported" and f"'{name}' appears in no source" in row.reason, (kind, row.reason)


def test_identifiers_and_names_match_ignoring_case(embedder):
    row = one("Error vs-17 means the backup drive is full [1].", GUIDE, embedder=embedder)
    assert row.status == "supported", row.reason


# -- the engine -----------------------------------------------------------------------------

# uncited, so each sentence is checked against every source: which chunk is [1] does not matter
INVENTED = (
    "To restore your files, run `vaultsync restore --all`. "
    "Files that exist in both places are overwritten only when the backup copy is newer."
)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("invented")
    settings = Settings(home=root / "home", collection="invented", temperature=0.0)
    sync(settings, embedder, [DATA / "extract" / "docs"])
    return settings


def ask(indexed, embedder, reply: str, mode: str):
    with OllamaStandin(StandinConfig(replies=[reply])) as server:
        s = indexed.model_copy(update={"ollama_host": server.host, "llm": "ollama:llama3.2", "answer_mode": mode})
        return build_engine(s, embedder=embedder).ask("How do I restore files from the backup?")


def test_auto_falls_back_to_the_quote_when_the_model_invents_a_command(indexed, embedder):
    answer = ask(indexed, embedder, INVENTED, "auto")
    assert answer.mode == "extract" and answer.backend == "ollama"
    assert "vaultsync pull" in answer.text and "restore --all" not in answer.text
    assert answer.generated and "vaultsync restore --all" in answer.generated
    assert answer.note and "`vaultsync restore --all`" in answer.note and "appears in no source" in answer.note
    assert "of its" not in answer.note  # one of two sentences: replaced for the command, not for the count


def test_generate_mode_keeps_the_answer_and_flags_the_invented_command(indexed, embedder):
    answer = ask(indexed, embedder, INVENTED, "generate")
    assert answer.mode == "generate" and "vaultsync restore --all" in answer.text
    [flag] = answer.unsupported
    assert "vaultsync restore --all" in flag.sentence
    assert flag.reason.startswith("`vaultsync restore --all` appears in no source"), flag.reason


def test_auto_keeps_a_generated_answer_whose_command_is_in_the_sources(indexed, embedder):
    reply = "To restore, run `vaultsync pull DEST SOURCE`."
    answer = ask(indexed, embedder, reply, "auto")
    assert answer.mode == "generate" and answer.note is None and not answer.unsupported


def test_a_closing_html_tag_is_markup_not_a_path(embedder):
    # the bundled model echoes a document's markup ("<b><u></u>"): "</u>" is no invented path `/u`
    markup = "The zorblax reactor must be cooled every 40 minutes. <b>bold</b> must stay as written."
    row = one("The zorblax reactor must be cooled every 40 minutes, <b><u></u> [1].", markup, embedder=embedder)
    assert row.invented == [], row.reason
    assert one("Settings live in /etc/zorblax [1].", markup, embedder=embedder).invented == ["/etc/zorblax"]
