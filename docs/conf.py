"""Sphinx configuration of sacbench's documentation (MyST Markdown pages, furo theme).

Built with warnings as errors by `.ci/run` and `tox -e docs`:
``python3 -m sphinx -W --keep-going -b html docs docs/_build/html``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from sphinx.application import Sphinx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package itself, when built from a checkout without an install
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

project = "sacbench"
author = "sacbench developers"
copyright = "2026, sacbench developers"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # Google-style docstrings, as the code is written
    "sphinx.ext.viewcode",
    "sphinxarg.ext",  # the CLI reference, generated from sacbench.cli.build_parser
    "reference_reports",  # one page per committed reference report (docs/_ext)
    "pytest_options",  # the plugin's pytest options, from its own definitions (docs/_ext)
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "_ext"]
myst_heading_anchors = 3  # "#the-gate"-style links between pages
myst_enable_extensions = ["colon_fence"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = "sacbench"
html_static_path = ["_static"]
html_css_files = ["sacbench.css"]


def _copy_history(app: Sphinx, exception: Exception | None) -> None:
    """Serve the committed nightly-history page at ``history/`` as it is (self-contained HTML)."""
    if exception is None and app.builder.format == "html":
        shutil.copytree(ROOT / "reports" / "reference" / "history", Path(app.outdir) / "history", dirs_exist_ok=True)


def setup(app: Sphinx) -> None:
    """Sphinx's hook: add the history page to the built site."""
    app.connect("build-finished", _copy_history)
