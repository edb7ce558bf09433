"""The demo report opens in headless Chromium and its figures render.

The report of the golden stage is screenshotted; the screenshot must contain
the coloured plot pixels of its figures (matplotlib's line colours are
saturated, the page's text and tables are grey). The same page with the images
removed is the control: only its links and status marks are coloured.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np

from lifhw.app.demo import run_demo
from lifhw.testing import require_tool
from lifhw.tools import which

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                  "--hide-scrollbars", "--window-size=1200,1800")


def screenshot(page: Path, tmp: Path) -> np.ndarray:
    """RGB(A) array (0..1) of a headless-Chromium screenshot of ``page``."""
    import matplotlib.image

    shot = tmp / f"{page.stem}.png"
    cmd = [which("chromium"), *CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'profile'}",
           f"--screenshot={shot}", page.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, timeout=120, start_new_session=True)
    assert shot.exists(), done.stderr.decode(errors="replace")[-2000:]
    return np.asarray(matplotlib.image.imread(shot))


def saturated_pixels(image: np.ndarray) -> int:
    """Pixels whose colour channels differ by > 0.25 (coloured, not grey text)."""
    rgb = image[..., :3]
    return int(np.count_nonzero(rgb.max(axis=-1) - rgb.min(axis=-1) > 0.25))


def test_report_renders_figures_in_chromium(tmp_path: Path) -> None:
    require_tool("chromium")
    sections = run_demo(tmp_path / "out", only=["golden"])
    assert sections and all(s.ok for s in sections)
    report = tmp_path / "out" / "report.html"
    text = report.read_text()
    assert text.count("data:image/png;base64,") == 2
    assert "src=\"http" not in text and "src='http" not in text  # self-contained
    image = screenshot(report, tmp_path)
    assert image.shape[0] >= 1000 and image.shape[1] >= 1000
    # Non-trivial: not a blank page, and many distinct colours.
    assert np.mean(image[..., :3] < 0.9) > 0.02
    with_figures = saturated_pixels(image)
    control = tmp_path / "nofig.html"
    control.write_text(re.sub(r"<img [^>]*>", "", text))
    without = saturated_pixels(screenshot(control, tmp_path))
    # The control still has a few coloured pixels (links, "ok" marks): the figures
    # must add several times as many.
    assert with_figures - without > 5000, (with_figures, without)
    assert with_figures > 4 * max(without, 1), (with_figures, without)


def test_demo_refuses_unwritable_output_at_once(tmp_path: Path) -> None:
    import pytest

    from lifhw.app.cli import main as cli
    from lifhw.errors import LifhwError

    target = tmp_path / "file"
    target.write_text("a file where the output directory should be")
    with pytest.raises(LifhwError, match="cannot write the demo output"):
        run_demo(target / "out")
    assert cli(["demo", "-o", str(target / "out")]) == 2
