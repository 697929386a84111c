import json

from matplotlib import image as mpimg

from keras_contrastive.cli import main


def test_train_with_knn_every_then_evaluate_writes_the_report_and_plots(tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["train", "--dataset", "digits", "--epochs", "3", "--batch-size", "64", "--train-subset", "320",
                 "--knn-every", "2", "--out", str(run)])
    assert code == 0, capsys.readouterr().err
    history = json.loads((run / "history.json").read_text())
    assert history["epochs"]["knn_accuracy"] == [2, 3]  # every 2nd epoch and the last
    assert len(history["metrics"]["knn_accuracy"]) == 2 and len(history["metrics"]["loss"]) == 3
    assert all(0.3 < accuracy <= 1 for accuracy in history["metrics"]["knn_accuracy"])

    out = tmp_path / "eval"
    code = main(["evaluate", str(run / "model.keras"), "--dataset", "digits", "--out", str(out),
                 "--probe-epochs", "2", "--train-subset", "320", "--test-subset", "120"])
    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    assert report["knn"]["k"] == 20  # the digits default, as in train
    assert f"kNN (k=20) {report['knn']['accuracy']:.4f}" in capsys.readouterr().out
    assert set(report["plots"]) == {"embedding_map", "retrieval_grid", "training_curves"}
    for name in report["plots"].values():
        assert mpimg.imread(out / name).shape[0] > 100


def test_evaluate_a_missing_model_file_is_a_clear_error(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "none.keras"), "--out", str(tmp_path / "eval")]) == 2
    assert f"No model file at {tmp_path / 'none.keras'}" in capsys.readouterr().err
    assert not (tmp_path / "eval" / "report.json").exists()
