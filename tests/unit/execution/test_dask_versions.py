"""A Dask worker runs a server's jobs only with the server's openqx, qiskit and Aer: what
``dask_worker.runtime_versions`` reports and how a difference is told."""

from __future__ import annotations

from importlib import metadata

import openqx
from openqx.execution.dask_worker import NOT_INSTALLED, describe_mismatch, runtime_versions


def test_runtime_versions_are_openqx_qiskit_and_aer_as_installed() -> None:
    assert runtime_versions() == {
        "openqx": openqx.__version__,
        "qiskit": metadata.version("qiskit"),
        "qiskit-aer": metadata.version("qiskit-aer"),
    }


def test_equal_versions_are_no_mismatch() -> None:
    server = {"openqx": "1.0", "qiskit": "2.6.2", "qiskit-aer": "0.18.2"}
    assert describe_mismatch(dict(server), server) is None


def test_a_mismatch_names_only_the_packages_that_differ() -> None:
    server = {"openqx": "1.0", "qiskit": "2.6.2", "qiskit-aer": "0.18.2"}
    worker = {"openqx": "1.0", "qiskit": "2.5.0", "qiskit-aer": "0.17.1"}
    assert describe_mismatch(worker, server) == (
        "runs qiskit 2.5.0, qiskit-aer 0.17.1, the server qiskit 2.6.2, qiskit-aer 0.18.2"
    )


def test_a_package_the_worker_lacks_is_told_as_missing() -> None:
    server = {"openqx": "1.0", "qiskit": "2.6.2", "qiskit-aer": "0.18.2"}
    worker = {"openqx": "1.0", "qiskit": NOT_INSTALLED}
    assert describe_mismatch(worker, server) == (
        "runs no qiskit, no qiskit-aer, the server qiskit 2.6.2, qiskit-aer 0.18.2"
    )
