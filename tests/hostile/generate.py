"""A folder of hostile documents, built at run time (nothing binary is committed; issue 26).

`build(folder, outside)` writes >= 200 files: deep markup, script and markup that must stay text,
controls and escapes, bidi and zero-width characters, broken encodings, a huge single line, empty
files, odd names, symlink loops and links out of the folder, fake and truncated PDFs, DOCX with
external entities and billion laughs, archives with `../` members and a zip bomb, deep JSON, a very
wide CSV, and seeded random mixes of all of these. `outside` gets a file holding SECRET that no
link or entity may bring into the index.

Size knobs (`Sizes`): the tests use SMALL, the benchmark (benchmarks/reliability.py) FULL.
"""

from __future__ import annotations

import io
import os
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tests.pdfgen import make_pdf

SECRET = "ZEBRA-SECRET-4242-OUTSIDE"
# what a document may say that must reach nobody as live markup or a live terminal control
MARKUP = [
    "[/etc/hosts]", "{{template}}", "{% raw %}", "<img src=x onerror=alert(1)>", "<script>alert(2)</script>",
    "[red]rich markup[/red]", "[link=file:///etc/passwd]click[/link]", "<iframe src=javascript:alert(3)>",
    "](javascript:alert(4))", "<svg onload=alert(5)>", "${jndi:ldap://x}", "<!-- comment -->",
]  # fmt: skip
ESCAPES = ["\x1b[31mred\x1b[0m", "\x1b]0;PWNED\x07", "\x1b[2J", "\x9b2J", "\r", "\x08\x08", "\x1b[6n", "\x07"]
INVISIBLE = ["\u202e", "\u202d", "\u2066", "\u200b", "\u200d", "\ufeff", "\u00ad", "\u2028"]
WORDS = "ferry harbour tide keeper lighthouse island rope anchor gull chart compass beacon".split()


@dataclass(frozen=True)
class Sizes:
    big_mb: float  # the single-line file
    csv_columns: int
    json_depth: int
    html_depth: int
    random_docs: int  # seeded random mixes
    headings: int  # one-line Markdown sections in one file (one chunk each)


SMALL = Sizes(big_mb=0.3, csv_columns=20_000, json_depth=100_000, html_depth=10_000, random_docs=150, headings=1_000)
FULL = Sizes(big_mb=10, csv_columns=1_000_000, json_depth=100_000, html_depth=10_000, random_docs=150, headings=20_000)


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def build(folder: Path, outside: Path, sizes: Sizes = SMALL, seed: int = 0) -> dict[str, str]:
    """Write the hostile folder; returns {relative name: "indexed" | "reported" | "either"} for its files.

    "indexed": must be ingested; "reported": must be skipped or failed with a reason; "either": may go
    both ways (say a DOCX whose entity is ignored), but never crash or leak SECRET.
    """
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.txt").write_text(f"{SECRET} lighthouse keeper private notes\n")
    (outside / "more").mkdir(exist_ok=True)
    (outside / "more" / "also_secret.md").write_text(f"# Private\n\n{SECRET} ferry schedule\n")
    expected: dict[str, str] = {}

    def put(name: str, data: bytes | str, expect: str) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        expected[name] = expect

    _markup(put, rng, sizes)
    _encodings(put, rng)
    _sizes(put, rng, sizes)
    _names(put, rng)
    _binaries(put, outside)
    _links(folder, outside, expected)
    for i in range(sizes.random_docs):
        _random_doc(put, rng, i)
    return expected


def _markup(put, rng: random.Random, sizes: Sizes) -> None:
    d = sizes.html_depth
    put("deep.html", "<div>" * d + "the lighthouse keeper at depth" + "</div>" * d, "either")
    put("deep_unclosed.html", "<span><b>" * d + "ferry at noon", "either")
    put("script.html", "<script>alert(1)</script><style>p{x:y}</style><p>the ferry leaves at noon</p>", "indexed")
    put("onerror.html", '<p>anchor <img src=x onerror="alert(1)"> rope</p><a href="javascript:x()">gull</a>', "indexed")
    for i, mark in enumerate(MARKUP):
        put(
            f"markup/mark_{i:02d}.md",
            f"# Beacon {mark}\n\nThe beacon {mark} guides the ferry. {words(rng, 30)}\n",
            "indexed",
        )
        put(f"markup/mark_{i:02d}.txt", f"Chart note {mark} {words(rng, 20)}\n", "indexed")
    put("entities.html", "<p>&lt;script&gt;alert(1)&lt;/script&gt; &#x1b;[2J &amp;lt;b&amp;gt; tide</p>", "indexed")
    for i, esc in enumerate(ESCAPES):
        put(f"escapes/esc_{i:02d}.txt", f"Aardvark protocol {esc} compass {words(rng, 15)}\n", "indexed")
        put(f"escapes/esc_{i:02d}.md", f"# Heading {esc} tide\n\nBody {esc} {words(rng, 15)}\n", "indexed")
    for i, ch in enumerate(INVISIBLE):
        put(f"invisible/inv_{i:02d}.txt", f"keeper{ch}gnirts {ch * 50} harbour {words(rng, 15)}\n", "indexed")
    put("nul.txt", b"ferry \x00 harbour \x00\x00 binary?", "reported")
    put("controls.log", bytes(range(1, 9)) * 400, "reported")


def _encodings(put, rng: random.Random) -> None:
    text = f"The island ferry timetable. {words(rng, 40)}\n"
    put("enc/utf16_bom.txt", text.encode("utf-16"), "indexed")
    put("enc/utf16be_bom.md", b"\xfe\xff" + text.encode("utf-16-be"), "indexed")
    put("enc/utf32_bom.txt", text.encode("utf-32"), "indexed")
    put("enc/utf8_bom.txt", b"\xef\xbb\xbf" + text.encode(), "indexed")
    put(
        "enc/latin1.txt",
        "Le caf\u00e9 du port, cr\u00e8me br\u00fbl\u00e9e \u00e0 midi.\n".encode("latin-1"),
        "indexed",
    )
    put("enc/stray.txt", text.encode() + b"\xff stray \x81 byte\n", "indexed")
    put("enc/random_bytes.txt", bytes(rng.randrange(256) for _ in range(4000)), "reported")
    put("enc/utf16_no_bom.txt", text.encode("utf-16-le"), "reported")
    put("enc/lone_surrogate.txt", b"tide \xed\xa0\x80 rope\n", "either")
    put("enc/overlong.txt", b"harbour \xc0\xaf \xe0\x80\xaf gull\n", "either")
    put("enc/truncated_utf16.txt", text.encode("utf-16")[:-1], "either")


def _sizes(put, rng: random.Random, sizes: Sizes) -> None:
    n_words = int(sizes.big_mb * 2**20 / 6)
    put("huge_single_line.txt", words(rng, n_words), "indexed")
    put("no_spaces_line.txt", "x" * int(sizes.big_mb * 2**20 / 4), "indexed")
    for suffix in (".txt", ".md", ".html", ".json", ".csv", ".py", ".docx", ".pdf"):
        put(f"empty/empty{suffix}", b"", "reported")
    put("empty/spaces.txt", " \n\t\n" * 100, "reported")
    put("deep.json", "[" * sizes.json_depth + "1" + "]" * sizes.json_depth, "either")
    put("deep_obj.json", '{"a":' * sizes.json_depth + "1" + "}" * sizes.json_depth, "either")
    put("bad.json", '{"tide": "noon", ', "reported")
    put(
        "wide.csv",
        ",".join(f"c{i}" for i in range(sizes.csv_columns))
        + "\n"
        + ",".join("v" for _ in range(sizes.csv_columns))
        + "\n",
        "either",
    )
    put("ragged.csv", 'a,b\n1,2,3,4\n"unclosed,5\n', "either")
    put("long_lines.md", "\n".join(words(rng, 3000) for _ in range(5)), "indexed")
    put("many_headings.md", "".join(f"# H{i}\n" for i in range(sizes.headings)), "either")


def _names(put, rng: random.Random) -> None:
    body = f"Odd name note about the gull colony. {words(rng, 20)}\n"
    for name in ("with space.txt", "-rf.txt", "--help.md", "new\nline.txt", "tab\tname.txt", "caf\u00e9 \u2603.md",
                 "\u202eevil\u202dtxt.md", "quote'\"name.txt", "semi;colon $(id).txt", "\u65e5\u672c\u8a9e.txt",
                 "UPPER.TXT", "trailing space .txt", "x" * 200 + ".txt"):  # fmt: skip
        put(f"names/{name}", body, "indexed")


def _binaries(put, outside: Path) -> None:
    pdf = make_pdf(["The lighthouse keeper's log, page one.", "Page two: the ferry."])
    put("pdf/real.pdf", pdf, "indexed")
    put("pdf/truncated.pdf", pdf[: len(pdf) // 2], "either")
    put("pdf/fake.pdf", b"%PDF-1.7\nnot really a pdf at all\n%%EOF", "reported")
    put("pdf/text_named.pdf", b"just some text pretending", "reported")
    put("pdf/no_text.pdf", make_pdf([None]), "reported")
    secret = (outside / "secret.txt").as_uri()
    xxe = f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "{secret}">]>'
    put("docx/xxe.docx", _docx(xxe, "&x; the harbour"), "either")
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "lol">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
        + "]>"
    )
    put("docx/laughs.docx", _docx(laughs, "&j; tide"), "either")
    put("docx/real.docx", _docx("", "The compass points north."), "indexed")
    put("docx/not_a_zip.docx", b"PK\x03\x04 broken", "reported")
    put("archives/traversal.zip", _zip({"../../escaped.txt": b"ferry", "ok/../../x.md": b"# x"}), "reported")
    put("archives/bomb.zip", _zip({"bomb.txt": b"\0" * (20 * 2**20)}), "reported")
    put("archives/nested.zip", _zip({"inner.zip": _zip({"a.txt": b"tide"})}), "reported")


def _docx(doctype: str, body: str) -> bytes:
    doc = (
        f'{doctype}<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body><w:p><w:r><w:t>{body}</w:t></w:r></w:p></w:body></w:document>"
    )
    types = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="word/document.xml"/></Relationships>'
    )
    return _zip(
        {"[Content_Types].xml": types.encode(), "_rels/.rels": rels.encode(), "word/document.xml": doc.encode()}
    )


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def _links(folder: Path, outside: Path, expected: dict[str, str]) -> None:
    links = folder / "links"
    links.mkdir(exist_ok=True)
    pairs = {
        "loop_dir": ".", "up_loop": "..", "out_file.txt": str(outside / "secret.txt"),
        "out_dir": str(outside / "more"), "rel_out.txt": "../../outside/secret.txt", "dangling.txt": "nope.txt",
        "self.txt": "self.txt", "a.txt": "b.txt", "b.txt": "a.txt", "passwd.txt": "/etc/passwd",
        "etc_dir": "/etc", "inside.md": "../markup/mark_00.md",
    }  # fmt: skip
    for name, target in pairs.items():
        os.symlink(target, links / name)
    for name in ("out_file.txt", "out_dir", "passwd.txt", "etc_dir", "rel_out.txt"):
        expected[f"links/{name}"] = "reported"
    for name in ("dangling.txt", "self.txt", "a.txt", "b.txt"):
        expected[f"links/{name}"] = "reported"
    expected["links/inside.md"] = "either"  # a link inside the folder may be indexed under its own name
    try:
        os.mkfifo(folder / "fifo.txt")  # reading it would block forever
        expected["fifo.txt"] = "either"
    except (AttributeError, OSError):
        pass


def _random_doc(put, rng: random.Random, i: int) -> None:
    """A seeded mix of hostile pieces in one of the text formats."""
    pieces = [words(rng, rng.randrange(5, 60))]
    for _ in range(rng.randrange(1, 6)):
        pieces.append(
            rng.choice([rng.choice(MARKUP), rng.choice(ESCAPES), rng.choice(INVISIBLE) * rng.randrange(1, 9)])
        )
        pieces.append(words(rng, rng.randrange(3, 30)))
    rng.shuffle(pieces)
    text = " ".join(pieces)
    kind = rng.choice([".txt", ".md", ".html", ".json", ".csv"])
    if kind == ".md":
        text = f"# {rng.choice(MARKUP)} {words(rng, 3)}\n\n{text}\n"
    elif kind == ".html":
        text = f"<html><head><title>{rng.choice(MARKUP)}</title></head><body><p>{text}</p></body></html>"
    elif kind == ".json":
        text = '{"note": ' + _json_string(text) + ', "n": ' + str(i) + "}"
    elif kind == ".csv":
        text = "note,n\n" + '"' + text.replace('"', '""') + f'",{i}\n'
    put(f"random/doc_{i:03d}{kind}", text, "either")


def _json_string(s: str) -> str:
    import json

    return json.dumps(s)
