"""Sphinx extension: the ``sacbench-pytest-options`` directive, a table of the plugin's pytest options.

The rows come from ``sacbench.pytest_plugin.pytest_addoption`` itself, called with a parser that
records what it is given, so the page lists every option with the help text and default that
``pytest --help`` prints: one source of truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


@dataclass(frozen=True)
class Option:
    """One pytest option: its flags, metavar and help text as ``pytest --help`` prints it."""

    flags: tuple[str, ...]
    metavar: str | None
    help: str


class _Group:
    def __init__(self, options: list[Option]) -> None:
        self._options = options

    def addoption(self, *flags: str, **kwargs: Any) -> None:
        # argparse's own expansion: "%(default)r" and "%%" in the help text.
        text = str(kwargs.get("help", "")) % {"default": kwargs.get("default")}
        self._options.append(Option(flags, kwargs.get("metavar"), text))


class _Parser:
    def __init__(self) -> None:
        self.options: list[Option] = []

    def getgroup(self, *_args: Any, **_kwargs: Any) -> _Group:
        return _Group(self.options)


def plugin_options() -> list[Option]:
    """Every option the sacbench pytest plugin registers, in its order."""
    from sacbench.pytest_plugin import pytest_addoption

    parser = _Parser()
    pytest_addoption(parser)  # type: ignore[arg-type]  # the recording parser stands in for pytest's
    return parser.options


def _row(*cells: nodes.Node) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        row += nodes.entry("", cell)
    return row


def options_table(options: list[Option]) -> nodes.table:
    """A two-column docutils table: each flag (as code) and its help text.

    The help text stays plain text, never parsed as markup, so "--gpu" and "mean@0.05" read as
    ``pytest --help`` prints them.
    """
    group = nodes.tgroup(cols=2)
    group += [nodes.colspec(colwidth=30), nodes.colspec(colwidth=70)]
    group += nodes.thead("", _row(nodes.paragraph(text="option"), nodes.paragraph(text="meaning")))
    body = nodes.tbody()
    for option in options:
        flag = " ".join(option.flags) + (f" {option.metavar}" if option.metavar else "")
        meaning = nodes.paragraph(text=" ".join(option.help.split()))
        body += _row(nodes.paragraph("", "", nodes.literal(text=flag)), meaning)
    group += body
    return nodes.table("", group)


class PytestOptions(SphinxDirective):
    """``.. sacbench-pytest-options::``: the table of the plugin's options."""

    def run(self) -> list[nodes.Node]:
        """The table, built from the options the plugin registers."""
        return [options_table(plugin_options())]


def setup(app: Sphinx) -> dict[str, bool]:
    """Sphinx's hook."""
    app.add_directive("sacbench-pytest-options", PytestOptions)
    return {"parallel_read_safe": True}
