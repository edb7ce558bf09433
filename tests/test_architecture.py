"""The package's import direction: the application layer sits on top of the flows.

``lifhw.app`` (commands, demo stages, the report) may import any flow; no module
outside ``lifhw.app`` may import it, at module level or inside a function. The
check reads every module's syntax tree, so a lazy import counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lifhw"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def test_no_flow_imports_the_app_layer() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent)
        if relative.parts[:2] == ("lifhw", "app") or relative.name == "__main__.py":
            continue
        for line, module in _imports(path):
            if module == "lifhw.app" or module.startswith("lifhw.app."):
                offenders.append(f"{relative}:{line} imports {module}")
    assert offenders == []


def test_every_command_and_stage_module_is_registered() -> None:
    from lifhw.app import cli, demo

    commands = {p.stem for p in (PACKAGE / "app" / "commands").glob("*.py")} - {"__init__"}
    stages = {p.stem for p in (PACKAGE / "app" / "stages").glob("*.py")} - {"__init__"}
    assert {m.rsplit(".", 1)[-1] for m in cli.COMMAND_MODULES} - {"demo"} == commands
    assert {t.partition(":")[0].rsplit(".", 1)[-1] for _, t in demo.STAGES} == stages


def test_the_import_checker_sees_lazy_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from lifhw.app.demo import DemoSection\n")
    assert _imports(module) == [(2, "lifhw.app.demo")]
