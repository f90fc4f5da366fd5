"""Text datasets: the embedded Shakespeare corpus and TFDS' lm1b and imdb_reviews.

Token ids, the same in every text dataset:
- 0 is padding (`PAD_ID`), never a real token; language models mask it out.
- 1 ends a document (`EOS_ID`): a split of kind "text" is one int32 stream of
  documents, each followed by EOS, so a model can learn where documents end.
- byte-level sets: byte b is id b + 2 (`BYTE_OFFSET`), 258 ids in all; UTF-8
  text is encoded as is, so every byte value is representable.
- word-level sets: 2 is `<unk>`, then the `WORD_VOCAB_WORDS` (8,000) most
  frequent words of the *train* split, most frequent first (ties broken
  alphabetically), so ids < 8,003. Words are the lower-cased text cut by
  `WORD_PATTERN`: runs of letters/digits with inner apostrophes ("prov'd",
  "o'er") or single punctuation marks. A train split with fewer distinct words
  leaves the top ids unused.

Shakespeare (embedded, `data/shakespeare_plays.json.xz`, see data/README.md):
37 plays, split by play and stratified by genre: in each genre, the sorted
play ids are shuffled with a fixed seed; one play goes to valid_inner, one to
valid_outer, two to test and the rest to train (25 / 3 / 3 / 6 plays). No play
is in two splits, so validation text is disjoint from train as in TaskSet.
- `shakespeare_bytes` (text): byte ids, 3.2M train tokens (0.38M / 0.40M / 0.83M held out).
- `shakespeare_words` (text): word ids, vocabulary from the 25 train plays, 0.75M train tokens.
- `shakespeare_genre` (text_classification): every play cut into consecutive
  64-word windows (the last, shorter one padded with 0), labelled comedy (0),
  history (1) or tragedy (2); in each split every class is subsampled (fixed
  seed) to the size of the smallest, so classes are exactly balanced:
  per class 2,926 train / 395 valid_inner / 370 valid_outer / 924 test windows
  (8,778 / 1,185 / 1,110 / 2,772 examples).

TFDS (need `taskset-bench data prepare NAME`; `is_available` only looks on
disk, reading never touches the network). Documents are carved into splits
before tokenising, so valid_inner/valid_outer hold whole documents unseen in
train; the word vocabulary comes from the train part only. Caps keep a split's
int32 stream near 50 MB:
- `lm1b` / `lm1b_words` (text): the first 100,000 train and 10,000 test
  sentences of the One Billion Word benchmark, bytes / words.
- `imdb_reviews` / `imdb_reviews_words` (text): the first 10,000 train and
  5,000 test movie reviews, bytes / words ("<br />" becomes a newline).
- `imdb_reviews_sentiment` (text_classification): all 25,000 train and 25,000
  test reviews as words, truncated to their first 256 words, label 0 negative /
  1 positive.
"""

from __future__ import annotations

import collections
import functools
import json
import lzma
import pathlib
import re
from typing import Callable, Iterable, Sequence

import numpy as np

from taskset.datasets.base import DATASETS, SPLITS, Arrays, DatasetInfo, Dataset, Splits, carve_validation
from taskset.datasets.tfds_sets import TfdsDataset
from taskset.sampling import stable_hash

PAD_ID = 0
EOS_ID = 1
BYTE_OFFSET = 2
BYTE_VOCAB_SIZE = 256 + BYTE_OFFSET
UNK_ID = 2
WORD_VOCAB_WORDS = 8000
WORD_VOCAB_SIZE = WORD_VOCAB_WORDS + 3
WORD_PATTERN = re.compile(r"\w+(?:'\w+)*|[^\w\s]")

GENRES = ("comedy", "history", "tragedy")
GENRE_WINDOW = 64
IMDB_MAX_WORDS = 256
CORPUS_PATH = pathlib.Path(__file__).parent / "data" / "shakespeare_plays.json.xz"
CORPUS_LICENCE = "public domain (Project Gutenberg texts of Shakespeare's plays)"
_SPLIT_SEED = 20200201  # fixed so every machine assigns the same plays and windows to each split
_PLAYS_PER_HELD_OUT_SPLIT = {"valid_inner": 1, "valid_outer": 1, "test": 2}  # per genre


# --- tokenisation (pure NumPy / Python) ---------------------------------------------

def encode_bytes(text: str | bytes) -> np.ndarray:
    """Byte-level ids of `text` (UTF-8 bytes + BYTE_OFFSET), int32."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    return np.frombuffer(data, dtype=np.uint8).astype(np.int32) + BYTE_OFFSET


def split_words(text: str | bytes) -> list[str]:
    """The lower-cased word tokens of `text` (see WORD_PATTERN)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return WORD_PATTERN.findall(text.lower())


def build_vocabulary(documents: Iterable[Sequence[str]], size: int = WORD_VOCAB_WORDS) -> tuple[str, ...]:
    """The `size` most frequent words, most frequent first, ties in alphabetical order."""
    counts = collections.Counter()
    for words in documents:
        counts.update(words)
    return tuple(sorted(counts, key=lambda w: (-counts[w], w))[:size])


def encode_words(words: Sequence[str], vocabulary: Sequence[str]) -> np.ndarray:
    """Word ids of `words`: UNK_ID for words outside `vocabulary`, else 3 + rank."""
    index = _word_index(tuple(vocabulary))
    return np.fromiter((index.get(w, UNK_ID) for w in words), dtype=np.int32, count=len(words))


@functools.lru_cache(maxsize=4)
def _word_index(vocabulary: tuple[str, ...]) -> dict[str, int]:
    return {word: UNK_ID + 1 + i for i, word in enumerate(vocabulary)}


def join_documents(documents: Sequence[np.ndarray]) -> np.ndarray:
    """One int32 stream: every document followed by EOS_ID."""
    eos = np.array([EOS_ID], dtype=np.int32)
    return np.concatenate([part for doc in documents for part in (doc.astype(np.int32), eos)])


def pad_documents(documents: Sequence[np.ndarray], max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """(tokens [N, max_length] truncated and padded with PAD_ID, length [N]), int32."""
    tokens = np.full((len(documents), max_length), PAD_ID, dtype=np.int32)
    length = np.zeros(len(documents), dtype=np.int32)
    for i, doc in enumerate(documents):
        doc = doc[:max_length]
        tokens[i, :len(doc)] = doc
        length[i] = len(doc)
    return tokens, length


def windows(document: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """`document` cut into consecutive windows of `size` (the last one padded): (tokens, length)."""
    starts = range(0, len(document), size)
    return pad_documents([document[s:s + size] for s in starts], size)


# --- the Shakespeare corpus ----------------------------------------------------------

@functools.lru_cache(maxsize=1)
def load_corpus() -> tuple[dict[str, str], ...]:
    """The plays as ({"id", "title", "genre", "text"}, ...), sorted by id."""
    with lzma.open(CORPUS_PATH, "rt", encoding="utf-8") as f:
        return tuple(json.load(f)["plays"])


def assign_play_splits(plays: Sequence[dict[str, str]]) -> dict[str, str]:
    """Play id -> split, stratified by genre (see the module docstring)."""
    out = {}
    for genre in GENRES:
        ids = sorted(p["id"] for p in plays if p["genre"] == genre)
        rng = np.random.Generator(np.random.PCG64([_SPLIT_SEED, stable_hash(genre)]))
        order = [ids[i] for i in rng.permutation(len(ids))]
        for split, count in _PLAYS_PER_HELD_OUT_SPLIT.items():
            out.update((play, split) for play in order[:count])
            order = order[count:]
        out.update((play, "train") for play in order)
    return out


@functools.lru_cache(maxsize=1)
def shakespeare_words() -> tuple[tuple[str, ...], dict[str, list[tuple[dict[str, str], np.ndarray]]]]:
    """(vocabulary, split -> [(play, word ids)]), shared by the word and genre datasets."""
    plays = load_corpus()
    split_of = assign_play_splits(plays)
    words = {p["id"]: split_words(p["text"]) for p in plays}
    vocabulary = build_vocabulary(words[p["id"]] for p in plays if split_of[p["id"]] == "train")
    by_split: dict[str, list] = {split: [] for split in SPLITS}
    for play in plays:
        by_split[split_of[play["id"]]].append((play, encode_words(words[play["id"]], vocabulary)))
    return vocabulary, by_split


def balance_classes(arrays: Arrays, seed: int) -> Arrays:
    """Subsamples every label to the count of the rarest one, without replacement."""
    labels = arrays["label"]
    classes, counts = np.unique(labels, return_counts=True)
    rng = np.random.Generator(np.random.PCG64(seed))
    keep = np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), counts.min(), replace=False)
                                   for c in classes]))
    return {key: value[keep] for key, value in arrays.items()}


class _ShakespeareDataset(Dataset):
    """One tokenisation of the embedded corpus; `build` makes the splits."""

    def __init__(self, info: DatasetInfo, build: Callable[[], Splits]) -> None:
        super().__init__()
        self._info = info
        self._build = build

    @property
    def info(self) -> DatasetInfo:
        return self._info

    def is_available(self) -> bool:
        return CORPUS_PATH.is_file()

    def how_to_get(self) -> str:
        return (f"the corpus file {CORPUS_PATH} is missing; reinstall taskset or regenerate it with "
                "`python scripts/make_text_corpus.py` (see taskset/datasets/data/README.md)")

    def _load(self) -> Splits:
        return self._build()


def _shakespeare_bytes() -> Splits:
    split_of = assign_play_splits(load_corpus())
    return {split: {"tokens": join_documents([encode_bytes(p["text"]) for p in load_corpus()
                                              if split_of[p["id"]] == split])}
            for split in SPLITS}


def _shakespeare_words() -> Splits:
    _, by_split = shakespeare_words()
    return {split: {"tokens": join_documents([ids for _, ids in plays])} for split, plays in by_split.items()}


def _shakespeare_genre() -> Splits:
    _, by_split = shakespeare_words()
    out = {}
    for split, plays in by_split.items():
        parts = [windows(ids, GENRE_WINDOW) + (GENRES.index(play["genre"]),) for play, ids in plays]
        arrays = {"tokens": np.concatenate([t for t, _, _ in parts]),
                  "length": np.concatenate([n for _, n, _ in parts]),
                  "label": np.concatenate([np.full(len(n), c, dtype=np.int32) for _, n, c in parts])}
        out[split] = balance_classes(arrays, _SPLIT_SEED + stable_hash(split))
    return out


SHAKESPEARE_DATASETS = (
    _ShakespeareDataset(DatasetInfo(
        name="shakespeare_bytes", source="embedded", kind="text", licence=CORPUS_LICENCE,
        description="Shakespeare's 37 plays as one byte stream per split, split by play",
        vocab_size=BYTE_VOCAB_SIZE), _shakespeare_bytes),
    _ShakespeareDataset(DatasetInfo(
        name="shakespeare_words", source="embedded", kind="text", licence=CORPUS_LICENCE,
        description="Shakespeare's 37 plays as lower-cased words (8,000-word vocabulary), split by play",
        vocab_size=WORD_VOCAB_SIZE), _shakespeare_words),
    _ShakespeareDataset(DatasetInfo(
        name="shakespeare_genre", source="embedded", kind="text_classification", licence=CORPUS_LICENCE,
        description="64-word windows of Shakespeare's plays labelled comedy/history/tragedy, split by play",
        feature_shape=(GENRE_WINDOW,), num_classes=len(GENRES), vocab_size=WORD_VOCAB_SIZE), _shakespeare_genre),
)


# --- TFDS text sets ----------------------------------------------------------------

def text_fields(example: dict) -> Arrays:
    """TFDS text features as an object array of UTF-8 bytes (and int32 labels when present)."""
    out = {"text": np.asarray(example["text"], dtype=object)}
    if "label" in example:
        out["label"] = np.asarray(example["label"], dtype=np.int32)
    return out


def imdb_clean(text: bytes) -> bytes:
    """IMDB reviews mark line breaks with HTML `<br />` tags; make them newlines."""
    return text.replace(b"<br />", b"\n")


class TfdsTextDataset(TfdsDataset):
    """A TFDS text set, tokenised after its documents are carved into the four splits.

    Args:
      info: static facts; `info.kind` picks the output: "text" (one stream per
        split) or "text_classification" (padded tokens, length, label).
      tfds_name: TFDS name.
      tokenizer: "bytes" or "words".
      clean: applied to every document's bytes before tokenising.
      max_length: tokens kept per document (text_classification only).
      **kwargs: split names and caps, as for TfdsDataset.
    """

    def __init__(self, info: DatasetInfo, tfds_name: str, tokenizer: str,
                 clean: Callable[[bytes], bytes] = lambda text: text, max_length: int = 0, **kwargs) -> None:
        super().__init__(info, tfds_name, text_fields, **kwargs)
        if tokenizer not in ("bytes", "words"):
            raise ValueError(f"unknown tokenizer {tokenizer!r}; accepted: 'bytes', 'words'")
        self.tokenizer = tokenizer
        self.clean = clean
        self.max_length = max_length

    def _load(self) -> Splits:
        raw = carve_validation(self._read(self.train_split, self.max_train),
                               self._read(self.test_split, self.max_test), _SPLIT_SEED)
        texts = {split: [self.clean(bytes(t)) for t in arrays["text"]] for split, arrays in raw.items()}
        if self.tokenizer == "bytes":
            docs = {split: [encode_bytes(t) for t in items] for split, items in texts.items()}
        else:
            words = {split: [split_words(t) for t in items] for split, items in texts.items()}
            vocabulary = build_vocabulary(words["train"])
            docs = {split: [encode_words(w, vocabulary) for w in items] for split, items in words.items()}
        if self.info.kind == "text":
            return {split: {"tokens": join_documents(items)} for split, items in docs.items()}
        out = {}
        for split, items in docs.items():
            tokens, length = pad_documents(items, self.max_length)
            out[split] = {"tokens": tokens, "length": length, "label": raw[split]["label"]}
        return out


def _tfds_text(name: str, tfds_name: str, tokenizer: str, description: str, licence: str,
               **kwargs) -> TfdsTextDataset:
    vocab = BYTE_VOCAB_SIZE if tokenizer == "bytes" else WORD_VOCAB_SIZE
    return TfdsTextDataset(DatasetInfo(name=name, source="tfds", kind="text", description=description,
                                       licence=licence, vocab_size=vocab), tfds_name, tokenizer, **kwargs)


_LM1B = dict(tfds_name="lm1b", licence="Apache-2.0 (One Billion Word benchmark)", max_train=100_000,
             max_test=10_000)
_IMDB = dict(tfds_name="imdb_reviews", licence="unknown (Large Movie Review Dataset terms)", clean=imdb_clean,
             max_train=10_000, max_test=5_000)

TFDS_TEXT_DATASETS = (
    _tfds_text("lm1b", tokenizer="bytes", description="One Billion Word sentences as bytes (100k train)",
               **_LM1B),
    _tfds_text("lm1b_words", tokenizer="words", description="One Billion Word sentences as words (100k train)",
               **_LM1B),
    _tfds_text("imdb_reviews", tokenizer="bytes", description="IMDB movie reviews as bytes (10k train)", **_IMDB),
    _tfds_text("imdb_reviews_words", tokenizer="words", description="IMDB movie reviews as words (10k train)",
               **_IMDB),
    TfdsTextDataset(DatasetInfo(
        name="imdb_reviews_sentiment", source="tfds", kind="text_classification",
        description="IMDB movie reviews (first 256 words) labelled negative/positive",
        licence="unknown (Large Movie Review Dataset terms)", feature_shape=(IMDB_MAX_WORDS,), num_classes=2,
        vocab_size=WORD_VOCAB_SIZE), "imdb_reviews", "words", clean=imdb_clean, max_length=IMDB_MAX_WORDS,
        max_train=25_000, max_test=25_000),
)

for _dataset in SHAKESPEARE_DATASETS + TFDS_TEXT_DATASETS:
    DATASETS.register(_dataset.info.name, _dataset)
