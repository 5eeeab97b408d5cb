"""``/backends``: catalog, configuration, properties, status and job limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from openqx.client import exceptions
from openqx.devices.catalog import DEFAULT_DEVICE_JOB_LIMIT
from tests.unit.server.harness import Harness


def test_list_backends_shows_the_catalog(harness: Harness) -> None:
    answer = harness.client.get("/v1/backends", headers=harness.headers())
    assert answer.status_code == 200
    summaries = {backend["name"]: backend for backend in answer.json()}
    assert set(summaries) == set(harness.service.catalog.names())
    simulator = summaries["ibmq_qasm_simulator"]
    assert simulator["simulator"] is True
    assert simulator["snapshot_id"] is None
    assert simulator["operational"] is True
    assert simulator["status_msg"] == "active"
    manila = summaries["fake_manila"]
    assert manila["simulator"] is False
    assert manila["num_qubits"] == 5
    snapshot = harness.service.catalog.get("fake_manila").current_snapshot()
    assert snapshot is not None
    assert manila["snapshot_id"] == snapshot.id


def test_one_backend_and_its_configuration(harness: Harness) -> None:
    one = harness.client.get("/v1/backends/fake_manila", headers=harness.headers())
    assert one.status_code == 200
    assert one.json()["name"] == "fake_manila"
    assert "cx" in one.json()["basis_gates"]
    config = harness.client.get("/v1/backends/fake_manila/configuration", headers=harness.headers())
    assert config.status_code == 200
    assert config.json()["backend_name"] == "fake_manila"
    assert config.json()["n_qubits"] == 5


@pytest.mark.parametrize("suffix", ["", "/configuration", "/properties", "/status", "/job_limit"])
def test_an_unknown_backend_is_404_on_every_backend_route(harness: Harness, suffix: str) -> None:
    answer = harness.client.get(f"/v1/backends/nope{suffix}", headers=harness.headers())
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"]["code"] == "backend_not_found"
    assert "nope" in answer.json()["error"]["message"]


def test_properties_of_a_simulator_are_null(harness: Harness) -> None:
    answer = harness.client.get(
        "/v1/backends/ibmq_qasm_simulator/properties", headers=harness.headers()
    )
    assert answer.status_code == 200
    assert answer.json() is None


def test_properties_of_a_device_are_its_current_calibration(harness: Harness) -> None:
    device = harness.service.catalog.get("fake_manila")
    answer = harness.client.get("/v1/backends/fake_manila/properties", headers=harness.headers())
    assert answer.status_code == 200
    properties = answer.json()
    assert properties["backend_name"] == "fake_manila"
    assert len(properties["qubits"]) == 5
    current = device.current_snapshot()
    assert current is not None
    assert properties == current.properties


def test_properties_before_a_moment(harness: Harness) -> None:
    path = "/v1/backends/fake_manila/properties"
    long_ago = harness.client.get(
        path, params={"datetime": "2000-01-01T00:00:00+00:00"}, headers=harness.headers()
    )
    assert long_ago.status_code == 200
    assert long_ago.json() is None
    device = harness.service.catalog.get("fake_manila")
    later = datetime(2999, 1, 1, tzinfo=UTC)
    expected = device.snapshot_before(later)
    assert expected is not None
    answer = harness.client.get(
        path, params={"datetime": later.isoformat()}, headers=harness.headers()
    )
    assert answer.json() == expected.properties


def test_a_malformed_datetime_is_400(harness: Harness) -> None:
    answer = harness.client.get(
        "/v1/backends/fake_manila/properties",
        params={"datetime": "yesterday"},
        headers=harness.headers(),
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_input"
    assert "datetime" in answer.json()["error"]["message"]


def test_status_counts_the_queue(harness: Harness) -> None:
    answer = harness.client.get(
        "/v1/backends/simulator_statevector/status", headers=harness.headers()
    )
    assert answer.status_code == 200
    configuration = harness.service.catalog.get("simulator_statevector").configuration
    assert answer.json() == {
        "backend_name": "simulator_statevector",
        "backend_version": str(configuration.get("backend_version", "0.0.0")),
        "operational": True,
        "pending_jobs": 0,
        "status_msg": "active",
    }


def test_job_limit_defaults_per_device(harness: Harness) -> None:
    token = harness.new_user()
    device = harness.client.get(
        "/v1/backends/fake_manila/job_limit", headers=harness.headers(token)
    )
    assert device.json() == {"maximum_jobs": DEFAULT_DEVICE_JOB_LIMIT, "active_jobs": 0}
    simulator = harness.client.get(
        "/v1/backends/simulator_statevector/job_limit", headers=harness.headers(token)
    )
    assert simulator.json() == {"maximum_jobs": None, "active_jobs": 0}


def test_api_client_reads_backends(harness: Harness) -> None:
    with harness.api() as api:
        names = [summary.name for summary in api.backends()]
        assert "fake_manila" in names
        assert api.backend("fake_manila").num_qubits == 5
        assert api.backend_configuration("fake_manila")["backend_name"] == "fake_manila"
        assert api.backend_properties("ibmq_qasm_simulator") is None
        assert api.backend_status("fake_manila").operational is True
        assert api.backend_job_limit("fake_manila").active_jobs == 0
        with pytest.raises(exceptions.OpenQXError):
            api.backend("nope")
