"""The packages of the wheel, from pyproject.toml's [tool.setuptools.package-dir].

pyproject.toml maps each import package to a repository folder (the folders keep their
names; the wheel installs them under the import name). setuptools' `packages.find` names a
package after its folder, so this lists each mapped package and the subpackages under its
folder instead: a new subpackage ships without editing a list.
"""

import tomllib
from pathlib import Path

from setuptools import find_namespace_packages, setup

ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
    "package-dir"
]


def packages() -> list[str]:
    found = []
    for name, folder in PACKAGE_DIR.items():
        found.append(name)
        subpackages = find_namespace_packages(str(ROOT / folder), exclude=["*__pycache__"])
        for sub in subpackages:
            if f"{name}.{sub}" not in PACKAGE_DIR:  # a folder mapped on its own is listed once
                found.append(f"{name}.{sub}")
    return found


setup(packages=packages())
