"""Sphinx extension: one docs page per committed reference report, generated at build time.

Each folder of ``reports/reference/`` that holds a report (``index.md``, written by
``sacbench report`` from the folder's run records) gets a page under ``docs/reports/`` that includes
that file as it is, figures and all.  The pages are generated, not committed, so a report re-made
from its records is what the site shows, and a new reference report needs no docs edit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reports" / "reference"
PAGES = Path(__file__).resolve().parents[1] / "reports"


def reference_reports(reference: Path = REFERENCE) -> list[str]:
    """The committed reference reports, as folder names relative to ``reference`` (sorted)."""
    return sorted(p.parent.relative_to(reference).as_posix() for p in reference.rglob("index.md"))


def page_name(report: str) -> str:
    """The docs page of a report folder (``baselines/a1-flat`` -> ``baselines--a1-flat``)."""
    return report.replace("/", "--")


def _page(report: str) -> str:
    include = Path("..", "..", "reports", "reference", report, "index.md").as_posix()
    return (
        f"# {report}\n\n"
        f"The committed report `reports/reference/{report}/`, rebuilt from its run records by\n"
        f"`sacbench report reports/reference/{report}`.\n\n"
        f"```{{include}} {include}\n:relative-images:\n:heading-offset: 1\n```\n"
    )


def _index(reports: list[str]) -> str:
    entries = "\n".join(page_name(r) for r in reports)
    return (
        "# Reference reports\n\n"
        "Every report committed in `reports/reference/`, with its tables and figures as `sacbench report`\n"
        "writes them from the run records beside it.\n\n"
        f"```{{toctree}}\n:maxdepth: 1\n\n{entries}\n```\n"
    )


def write_pages(app: Sphinx) -> None:
    """Write the pages before Sphinx reads its sources; leave unchanged files alone (no rebuild)."""
    PAGES.mkdir(exist_ok=True)
    reports = reference_reports()
    wanted = {f"{page_name(r)}.md": _page(r) for r in reports} | {"index.md": _index(reports)}
    for stale in {p.name for p in PAGES.glob("*.md")} - set(wanted):
        (PAGES / stale).unlink()
    for name, text in wanted.items():
        path = PAGES / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


HISTORY_LINK = "../history/index.html"
"""How a report links to its items on the history page (`sacbench.report.history_link`)."""


class HistoryLinks(SphinxPostTransform):
    """A report's links to the history page stay plain links: the site serves that page at ``history/``.

    MyST reads a relative link as a cross-reference to another document and would warn that none
    exists; from ``reports/<page>.html`` the link lands on the page the site copies in (`conf.py`).
    Runs before MyST's resolver (priority 9).
    """

    default_priority = 8

    def run(self, **_kwargs: Any) -> None:
        """Turn each pending reference to the history page into a plain link."""
        for node in list(self.document.findall(addnodes.pending_xref)):
            target = str(node.get("reftarget", ""))
            if node.get("reftype") == "myst" and target.startswith(HISTORY_LINK):
                link = nodes.reference("", "", *node.children, refuri=target, internal=False)
                node.replace_self(link)


def setup(app: Sphinx) -> dict[str, bool]:
    """Sphinx's hook."""
    app.connect("builder-inited", write_pages)
    app.add_post_transform(HistoryLinks)
    return {"parallel_read_safe": True}
