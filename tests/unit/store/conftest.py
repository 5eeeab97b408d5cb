"""Fixtures of the store's unit tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def fsynced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What each ``os.fsync`` of the blob store flushes (a file or a folder), in order; the
    store's threads append to one list (``list.append`` is atomic)."""
    flushed: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr("openqx.store.blobs.os.fsync", fsync)
    return flushed
