"""`lifhw snn train/deploy`, model files, the deployment table's float row."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lifhw.app.cli import main
from lifhw.errors import ParamError
from lifhw.snn import data, deploy, export, model, task


def test_model_file_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    net = export.to_network([rng.normal(0, 1, (5, 4)), rng.normal(0, 1, (3, 5))],
                            [rng.normal(0, 0.1, 5), np.zeros(3)], tau_m=0.02, dt=1e-3)
    path = export.save_model(tmp_path / "m.npz", net, {"n_steps": 7, "encoding": "rate"})
    back, info = export.load_model(path)
    assert info == {"n_steps": 7, "encoding": "rate"}
    assert [p.name for p in back.populations] == ["hidden1", "output"]
    for a, b in zip(net.projections, back.projections, strict=True):
        assert np.array_equal(a.weights, b.weights) and a.delay_steps == b.delay_steps
    for a, b in zip(net.populations, back.populations, strict=True):
        assert np.array_equal(a.bias, b.bias) and a.neuron == b.neuron
    (tmp_path / "bad.npz").write_bytes(b"not a model")
    with pytest.raises(ParamError, match="cannot read"):
        export.load_model(tmp_path / "bad.npz")


def test_train_and_deploy_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "snn.npz"
    assert main(["snn", "train", "--epochs", "3", "-o", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["method"] == "surrogate" and info["test_accuracy"] > 0.8 and out.exists()
    assert main(["snn", "deploy", str(out), "--targets", "float", "--samples", "40",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    row = result["results"][0]
    assert row["target"] == "float" and row["n_samples"] == 40
    # the float row is the reference simulator: recompute its accuracy independently
    net, meta = export.load_model(out)
    digits = data.load()
    x = task.encoded_test_set(net, meta, digits)[:, :40]
    pred = model.predict(export.simulate_network(net, x)["output"])
    assert row["accuracy"] == pytest.approx(float(np.mean(pred == digits.y_test[:40])))
    assert main(["snn", "deploy", str(out), "--targets", "float", "--samples", "10"]) == 0
    assert "float" in capsys.readouterr().out


def test_cli_user_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snn", "deploy", str(tmp_path / "missing.npz")]) == 2
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(ParamError, match="unknown deployment target"):
        deploy.deploy(export.to_network([np.zeros((2, 2))], [np.zeros(2)], tau_m=0.02,
                                        dt=1e-3), np.zeros((3, 1, 2)), np.zeros(1, int),
                      ["float", "loihii"])


def test_synaptic_event_count_matches_definition() -> None:
    w = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]])  # fan-out per pre: 1, 0, 2
    net = export.to_network([w * 0.01], [np.zeros(2)], tau_m=0.02, dt=1e-3)
    x = np.zeros((4, 1, 3))
    x[0, 0] = [1, 1, 1]   # delivered: 1 + 0 + 2
    x[3, 0, 2] = 1        # last step: would arrive after the run, not delivered
    result = deploy.run_float(net, x, np.zeros(1, int))
    assert result.synaptic_events == 3


def test_conv_train_writes_conv2d_nodes_and_deploys(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import nir

    path = tmp_path / "conv.nir"
    assert main(["snn", "train", "--conv", "2", "--epochs", "1", "--nir", str(path),
                 "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["conv"] == [2] and info["hidden"] == []
    kinds = [type(n).__name__ for n in nir.read(path).nodes.values()]
    assert kinds.count("Conv2d") == 1 and "Flatten" in kinds
    assert main(["snn", "deploy", str(path), "--targets", "float,spinnaker", "--samples", "20",
                 "--json"]) == 0
    rows = {r["target"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert rows["float"]["accuracy"] == pytest.approx(info["test_accuracy"], abs=0.15)
    assert rows["spinnaker"]["agreement"] >= 0.9
    assert main(["snn", "train", "--conv", "2", "--method", "convert"]) == 2
    assert "--conv" in capsys.readouterr().err
