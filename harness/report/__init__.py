"""Readers of results.json: the text table and the PNG plots. Nothing here measures."""

from gauntlet.report.html import render_markdown, write_report
from gauntlet.report.plots import write_plots
from gauntlet.report.table import load_results, render_table

__all__ = ["load_results", "render_markdown", "render_table", "write_plots", "write_report"]
