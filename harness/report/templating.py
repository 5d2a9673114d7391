"""The Jinja2 environment of the report's templates (harness/report/templates/).

The templates ship as package data (pyproject.toml's package-data takes every file of a
package folder) and are read through importlib.resources, so an installed wheel renders the
same report as the checkout. Autoescape is on for every template: a reason, a cell id or a
hop's warning comes from a results document another machine wrote, and is text, never markup.
StrictUndefined makes a misspelt name in a template an error in the tests, not a blank cell.
"""

from __future__ import annotations

import importlib.resources
from functools import cache
from typing import Any

import jinja2

TEMPLATES = "templates"


def _source(name: str) -> str | None:
    """A template's text, or None (Jinja2's TemplateNotFound) when there is no such file."""
    path = importlib.resources.files(__package__).joinpath(TEMPLATES, name)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_source),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(name: str, **context: Any) -> str:
    """Render templates/`name` with `context` (values are text: the template escapes them)."""
    return environment().get_template(name).render(**context)
