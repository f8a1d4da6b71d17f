"""Every docstring example in the package runs and holds (River's habit): modules are found,
not listed by hand, so a new example is guarded the moment it is written."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import aurora_stream


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(aurora_stream.__path__, "aurora_stream."):
        if info.name.endswith("__main__"):
            continue
        spec = importlib.util.find_spec(info.name)
        if spec and spec.origin and ">>> " in open(spec.origin, encoding="utf-8").read():
            names.append(info.name)
    return sorted(names)


MODULES = _modules_with_examples()


def test_examples_are_found() -> None:
    assert len(MODULES) >= 10, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
