"""The import rules written in each package's docstring hold for every module in it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPONENTS = ROOT / "components"
PAGES = (
    "generate", "compare", "session_log", "settings", "sharing", "votes", "present",
)  # fmt: skip
ENGINE = (
    "config", "api", "offline", "images", "log", "runner", "compare", "sharing", "gate", "vote",
    "report", "experiments",
)  # fmt: skip


def _modules() -> list[Path]:
    """Every module of a subject (the top-level package's own __init__ has none)."""
    found = COMPONENTS.rglob("*.py")
    return sorted(p for p in found if p != COMPONENTS / "__init__.py")


def _dotted(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every absolute module name a file imports, at any depth (function-level imports too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; the rules read absolute names"
            base = node.module or ""
            names.add(base)
            # `from components.ui import handoff` imports a module, not only the package.
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _subject(module: str) -> str | None:
    """The subject a components module belongs to: 'api', 'ui', 'ui.compare', 'runner'..."""
    parts = module.split(".")
    if parts[0] != "components" or len(parts) < 2:
        return None
    if parts[1] == "ui" and len(parts) > 2 and parts[2] in PAGES:
        return f"ui.{parts[2]}"
    return parts[1]


def _allowed(subject: str) -> set[str]:
    """The 'Imports:' line of the subject's package docstring (a module's own for runner.py)."""
    if subject.startswith("ui."):
        init = COMPONENTS / "ui" / subject[3:] / "__init__.py"
    elif (COMPONENTS / subject).is_dir():
        init = COMPONENTS / subject / "__init__.py"
    else:
        init = COMPONENTS / f"{subject}.py"
    doc = ast.get_docstring(ast.parse(init.read_text())) or ""
    # One line, or continued on lines indented by two spaces.
    match = re.search(r"^Imports:(.*(?:\n  .*)*)", doc, flags=re.M)
    assert match, f"{init.relative_to(ROOT)}: docstring has no 'Imports:' line"
    names = match.group(1).replace("\n", " ").split(",")
    return {name.strip() for name in names if name.strip() not in ("", "none")}


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_imports_only_what_its_package_allows(path: Path) -> None:
    module = _dotted(path)
    subject = _subject(module)
    assert subject is not None
    allowed = _allowed(subject) | {subject}
    for name in _imports(path):
        if name.split(".")[0] == "streamlit":
            assert subject.split(".")[0] == "ui", f"{module} imports Streamlit"
        target = _subject(name)
        if target is None or target == subject:
            continue
        top = target.split(".")[0]
        if target.startswith("ui."):
            # A page package never imports another page's package, and nothing else does.
            raise AssertionError(f"{module} imports {name}: a page package is private to its page")
        assert target in allowed or top in allowed, (
            f"{module} imports {name}; its package allows only {sorted(allowed)}"
        )


def test_every_package_states_its_rules() -> None:
    for init in COMPONENTS.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert len(doc) > 40, f"{init.relative_to(ROOT)} needs a docstring saying what it owns"
        if init.parent != COMPONENTS:
            assert re.search(r"^Imports:", doc, flags=re.M), init


def test_engine_never_imports_streamlit_or_the_ui() -> None:
    for path in _modules():
        module = _dotted(path)
        if _subject(module) in ENGINE:
            bad = {n for n in _imports(path) if n.startswith(("streamlit", "components.ui"))}
            assert not bad, f"{module} imports {sorted(bad)}"


def test_no_module_name_prefix_families() -> None:
    """Subjects are packages now, not name prefixes (log_*, offline_*, flux_*, compare_*)."""
    for folder in [COMPONENTS, *[p for p in COMPONENTS.rglob("*") if p.is_dir()]]:
        stems = [p.stem for p in folder.glob("*.py") if p.stem != "__init__"]
        prefixes = [s.split("_")[0] for s in stems if "_" in s]
        repeated = {p for p in prefixes if prefixes.count(p) >= 3}
        assert not repeated, f"{folder.relative_to(ROOT)}: prefix families {sorted(repeated)}"
