"""Built-in matrices, chains (intermediaries.toml) and profiles, as TOML files.

This file makes the folder a package so the wheel ships the TOML as package data beside the
code (pyproject.toml, [tool.setuptools.package-dir] and package-data), and
harness/scenario.py finds it with importlib.resources wherever Gauntlet is installed.
"""
