"""Settings of robust execution: job time limits (default, per backend, none), retries, the
stop timeout, the lease and the dispatcher name, from the environment and checked."""

from __future__ import annotations

import pytest

from openqx.server.settings import DEFAULT_JOB_TIME_LIMIT, Settings


def test_defaults() -> None:
    settings = Settings()
    assert settings.time_limit_for("fake_manila") == DEFAULT_JOB_TIME_LIMIT == 3600
    assert (settings.max_attempts, settings.stop_timeout, settings.lease_seconds) == (3, 5, 30)
    assert settings.dispatcher_id is None


def test_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "OPENQX_JOB_TIME_LIMIT": "2.5",
            "OPENQX_JOB_TIME_LIMITS": "fake_manila=60, simulator_mps=none",
            "OPENQX_JOB_MAX_ATTEMPTS": "1",
            "OPENQX_STOP_TIMEOUT": "0",
            "OPENQX_LEASE_SECONDS": "9",
            "OPENQX_DISPATCHER_ID": "replica-a",
        }
    )
    assert settings.time_limit_for("simulator_statevector") == 2.5
    assert settings.time_limit_for("fake_manila") == 60
    assert settings.time_limit_for("simulator_mps") is None
    assert (settings.max_attempts, settings.stop_timeout, settings.lease_seconds) == (1, 0, 9)
    assert settings.dispatcher_id == "replica-a"
    assert Settings.from_env({"OPENQX_JOB_TIME_LIMIT": "none"}).time_limit_for("x") is None
    assert Settings.from_env({"OPENQX_JOB_TIME_LIMIT": "0"}).time_limit_for("x") is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"OPENQX_JOB_TIME_LIMIT": "soon"}, "bad job time limit 'soon'"),
        ({"OPENQX_JOB_TIME_LIMIT": "-1"}, "bad job time limit '-1'"),
        ({"OPENQX_JOB_TIME_LIMIT": "inf"}, "bad job time limit 'inf'"),
        ({"OPENQX_JOB_TIME_LIMITS": "fake_manila"}, "expected backend=seconds"),
        ({"OPENQX_JOB_MAX_ATTEMPTS": "0"}, "max attempts"),
        ({"OPENQX_STOP_TIMEOUT": "-1"}, "stop timeout"),
        ({"OPENQX_LEASE_SECONDS": "0"}, "lease"),
        ({"OPENQX_STOP_TIMEOUT": "x"}, "OPENQX_STOP_TIMEOUT='x' is not a valid float"),
    ],
)
def test_bad_values_are_refused_by_name(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env(environ)
