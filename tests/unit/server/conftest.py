"""Fixtures: one in-process service per module (inline executor), and fresh ones with a
``HeldExecutor`` for tests that need jobs to stay RUNNING or QUEUED."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.server.harness import Harness, HeldExecutor, open_harness, small_catalog


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    """A service on in-memory parts running jobs with the inline executor (shared by the
    tests of one module: tests create their own users and jobs)."""
    with open_harness() as opened:
        yield opened


@pytest.fixture()
def held() -> HeldExecutor:
    """An executor whose jobs end only when the test says so."""
    return HeldExecutor(small_catalog())


@pytest.fixture()
def held_harness(held: HeldExecutor) -> Iterator[Harness]:
    """A fresh service on ``held`` (one dispatcher slot)."""
    with open_harness(executor=held) as opened:
        yield opened
