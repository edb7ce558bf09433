"""ngspice backends without ngspice: command lines as data, raw-file parsing, error
classification, timeout/retry with stand-in executables, the missing-tool message."""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path

import numpy as np
import pytest

from lifhw.analog import backends as be
from lifhw.errors import ParamError, SimulationError, ToolMissingError

NETLIST = "title\nR1 vm 0 1\n.end\n"


def _binary_raw(names: list[tuple[str, str]], rows: list[list[float]],
                plotname: str = "Transient Analysis") -> bytes:
    header = [
        "Title: test", "Date: today", f"Plotname: {plotname}", "Flags: real",
        f"No. Variables: {len(names)}", f"No. Points: {len(rows)}", "Variables:",
    ]
    header += [f"\t{i}\t{n}\t{k}" for i, (n, k) in enumerate(names)]
    header.append("Binary:")
    body = b"".join(struct.pack("<" + "d" * len(r), *r) for r in rows)
    return ("\n".join(header) + "\n").encode() + body


def test_command_line_is_plain_data() -> None:
    backend = be.NgspiceBatch(be.RunConfig(timeout_s=5))
    cmd = backend.command("circuit.cir", "circuit.raw", executable="/usr/bin/ngspice")
    assert cmd == ["/usr/bin/ngspice", "-b", "-r", "circuit.raw", "circuit.cir"]
    assert backend.environment()["OMP_NUM_THREADS"] == "1"


def test_run_config_is_frozen_and_validated() -> None:
    config = be.RunConfig()
    with pytest.raises(AttributeError):
        config.timeout_s = 1.0  # type: ignore[misc]
    assert config.init_lines() == ["set num_threads=1"]
    assert be.RunConfig(spiceinit=("set ngbehavior=hsa",)).init_lines()[-1] == \
        "set ngbehavior=hsa"
    for bad in ("shell rm -rf /", "set a=1; shell ls", "source x.cir"):
        with pytest.raises(ParamError):
            be.RunConfig(spiceinit=(bad,))
    with pytest.raises(ParamError):
        be.RunConfig(timeout_s=0)


def test_read_binary_raw() -> None:
    rows = [[0.0, 0.6, 0.0, -1e-9], [1e-3, 0.61, 1.8, -2e-9], [2e-3, 0.62, 0.0, -1e-9]]
    data = _binary_raw([("time", "time"), ("v(vm)", "voltage"), ("spike", "voltage"),
                        ("vdd#branch", "current")], rows)
    out = be.read_raw(data)
    assert out.plotname == "Transient Analysis"
    assert set(out.vectors) == {"time", "v(vm)", "v(spike)", "i(vdd)"}
    assert np.array_equal(out["V(VM)"], [0.6, 0.61, 0.62])
    assert np.array_equal(out["i(vdd)"], [-1e-9, -2e-9, -1e-9])


def test_read_raw_dc_sweep_and_truncated() -> None:
    data = _binary_raw([("v(v-sweep)", "voltage"), ("i(vforce)", "current")],
                       [[0.5, -1e-12], [0.6, 0.0], [0.7, 1e-12]], plotname="DC transfer")
    out = be.read_raw(data)
    assert np.array_equal(out["sweep"], [0.5, 0.6, 0.7])
    # A run killed mid-write: the points actually present are returned.
    partial = be.read_raw(data[:-8])
    assert len(partial["sweep"]) == 2
    with pytest.raises(SimulationError):
        be.read_raw(b"garbage without a header")


def test_read_ascii_raw() -> None:
    text = ("Title: t\nPlotname: Transient Analysis\nFlags: real\nNo. Variables: 2\n"
            "No. Points: 2\nVariables:\n\t0\ttime\ttime\n\t1\tv(vm)\tvoltage\nValues:\n"
            " 0\t0.000000e+00\n\t6.000000e-01\n 1\t1.000000e-03\n\t6.100000e-01\n")
    out = be.read_raw(text.encode())
    assert np.allclose(out["time"], [0.0, 1e-3])
    assert np.allclose(out["v(vm)"], [0.6, 0.61])


@pytest.mark.parametrize("log,words", [
    ("doAnalyses: TRAN:  Timestep too small; time = 1e-3\n", "failed to converge"),
    ("Error: simulation(s) aborted\n", "failed to converge"),
    ("Error on line 3 : r1 a 0 x\n", "rejected the netlist"),
])
def test_log_classification(log: str, words: str) -> None:
    with pytest.raises(SimulationError, match=words):
        be.check_log(log)


def test_rising_crossings_interpolate() -> None:
    t = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    y = np.array([0.0, 2.0, 0.0, 0.0, 1.0])
    assert np.allclose(be.rising_crossings(t, y, 0.5), [0.25, 3.5])


def _fake_ngspice(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-ngspice"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_missing_ngspice_names_the_apt_get_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolMissingError, match="apt-get install -y ngspice"):
        be.NgspiceBatch().run(NETLIST)
    with pytest.raises(ToolMissingError, match="apt-get install -y ngspice"):
        be.NgspiceBatch(be.RunConfig(ngspice="/nonexistent/ngspice")).run(NETLIST)


def test_timeout_is_retried_then_reported(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    exe = _fake_ngspice(tmp_path, f'echo x >> "{counter}"\nexec sleep 30\n')
    backend = be.NgspiceBatch(be.RunConfig(ngspice=exe, timeout_s=0.5, retries=1))
    with pytest.raises(SimulationError, match="timed out"):
        backend.run(NETLIST)
    assert counter.read_text().count("x") == 2  # one retry


def test_crash_then_success_uses_the_retry(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    raw = _binary_raw([("time", "time"), ("v(vm)", "voltage")], [[0.0, 0.6], [1.0, 0.7]])
    (tmp_path / "good.raw").write_bytes(raw)
    exe = _fake_ngspice(tmp_path, (
        f'echo x >> "{counter}"\n'
        f'if [ "$(wc -l < "{counter}")" -lt 2 ]; then exit 139; fi\n'
        f'cp "{tmp_path}/good.raw" "$3"\n'))
    out = be.NgspiceBatch(be.RunConfig(ngspice=exe, timeout_s=10)).run(NETLIST)
    assert out.attempts == 2
    assert np.array_equal(out["v(vm)"], [0.6, 0.7])


def test_non_convergence_is_not_retried(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    exe = _fake_ngspice(tmp_path, f'echo x >> "{counter}"\n'
                                  'echo "doAnalyses: TRAN:  Timestep too small"\nexit 1\n')
    with pytest.raises(SimulationError, match="failed to converge"):
        be.NgspiceBatch(be.RunConfig(ngspice=exe, timeout_s=10)).run(NETLIST)
    assert counter.read_text().count("x") == 1


def test_work_dir_keeps_files_and_spiceinit(tmp_path: Path) -> None:
    raw = _binary_raw([("time", "time"), ("v(vm)", "voltage")], [[0.0, 0.6]])
    (tmp_path / "good.raw").write_bytes(raw)
    exe = _fake_ngspice(tmp_path, f'cp "{tmp_path}/good.raw" "$3"\n')
    work = tmp_path / "run"
    config = be.RunConfig(ngspice=exe, work_dir=work, spiceinit=("set ngbehavior=hsa",))
    be.NgspiceBatch(config).run(NETLIST)
    assert (work / "circuit.cir").read_text() == NETLIST
    assert (work / ".spiceinit").read_text().splitlines() == ["set num_threads=1",
                                                              "set ngbehavior=hsa"]


def test_unsafe_netlist_never_reaches_ngspice(tmp_path: Path) -> None:
    exe = _fake_ngspice(tmp_path, f'touch "{tmp_path}/ran"\n')
    with pytest.raises(ParamError):
        be.NgspiceBatch(be.RunConfig(ngspice=exe)).run("t\n.control\nshell ls\n.endc\n")
    assert not os.path.exists(tmp_path / "ran")


def test_unknown_backend() -> None:
    with pytest.raises(ParamError, match="unknown ngspice backend"):
        be.get_backend("spectre")
