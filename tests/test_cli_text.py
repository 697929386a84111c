"""`keras-contrastive train --text`: a user's file of texts or pairs, trained, evaluated and served from raw strings."""

import json

import numpy as np
import pytest

import keras_contrastive as kc
from keras_contrastive.cli import main
from tests.real_data import real_data
from tests.serving import serve_in_fresh_process

UNSEEN = ["", "a small domesticated carnivore", "Ünïcödé 日本語 🙂 " * 3, "word " * 10_000]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One epoch of supervised SimCSE on 1,024 of WordNet's (gloss, word) pairs written as a user's TSV file."""
    pairs = real_data(kc.data.load_text, "wordnet", "train[:700]", pairs="lemma")
    rows = [(gloss.decode(), word.decode()) for gloss, word in pairs.take(1024).as_numpy_iterator()]
    root = tmp_path_factory.mktemp("text")
    (root / "pairs.tsv").write_text("".join(f"{gloss}\t{word}\n" for gloss, word in rows), encoding="utf-8")
    out = root / "run"
    code = main(["train", "--text", str(root / "pairs.tsv"), "--epochs", "1", "--batch-size", "64",
                 "--vocabulary-size", "3000", "--tasks", "simlex999,wordsim353", "--out", str(out)])
    assert code == 0
    return rows, out, json.loads((out / "metrics.json").read_text())


def test_a_file_of_pairs_trains_simcse_and_reports_every_task_beside_its_baselines(trained):
    rows, out, report = trained
    assert report["train_examples"] == len(rows) and report["method"]["temperature"] == 0.05
    assert report["optimizer_steps"] == len(rows) // 64
    for task in ("simlex999", "wordsim353"):
        assert set(report["accuracy"][task]) == {"trained", "random_init", "tfidf"}
        assert -1 <= report["accuracy"][task]["trained"]["spearman"] <= 1
    assert not (out / "checkpoint").exists()


def test_the_export_serves_raw_strings_as_the_model_embeds_them(trained, tmp_path):
    _, out, report = trained
    model = kc.load_model(out / "model.keras")
    (answer,) = serve_in_fresh_process(tmp_path, [(report["export"], "serving_default", "text", np.array(UNSEEN))])
    assert answer["inputs"] == {"text": ["string", [None]]}
    expected = model.predict(np.array(UNSEEN, object), verbose=0)
    norms = np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(answer["outputs"]["embedding"], expected / np.maximum(norms, 1e-12), atol=1e-5)


def test_bad_text_runs_are_refused_in_one_line(tmp_path, capsys):
    assert main(["train", "--text", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "a")]) == 2
    assert "No text file at" in capsys.readouterr().err
    (tmp_path / "few.txt").write_text("one\ntwo\n")
    assert main(["train", "--text", str(tmp_path / "few.txt"), "--out", str(tmp_path / "b")]) == 2
    assert "2 examples, fewer than batch_size=256" in capsys.readouterr().err
    assert main(["train", "--text", str(tmp_path / "few.txt"), "--batch-size", "2", "--encoder", "small_cnn",
                 "--out", str(tmp_path / "b")]) == 2
    assert "--encoder small_cnn is not a text encoder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--text", "fortunes", "--tasks", "sentiment", "--out", str(tmp_path / "c")])
    assert "unknown task(s) sentiment" in capsys.readouterr().err
