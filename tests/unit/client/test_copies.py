"""Client objects can be deep-copied (sharing the connection) and pickled (re-opening it)."""

from __future__ import annotations

import copy
import pickle

from openqx.client import ApiClient
from openqx.client.provider import AccountProvider


def test_a_deep_copied_api_client_is_the_same_client() -> None:
    api = ApiClient("http://openqx.test", "tok", instance="h/g/p")
    assert copy.deepcopy(api) is api
    api.close()


def test_a_pickled_api_client_reopens_with_the_same_settings() -> None:
    api = ApiClient(
        "http://openqx.test/v1", "tok", instance="h/g/p", timeout=7.0, retries=1, verify=False
    )
    back = pickle.loads(pickle.dumps(api))
    assert back is not api and back._http is not api._http
    assert (back.url, back.token, back.instance) == ("http://openqx.test", "tok", "h/g/p")
    assert (back._timeout, back.retries, back.verify) == (7.0, 1, False)
    assert back._http.headers["X-OpenQX-Instance"] == "h/g/p"
    api.close()
    back.close()


def test_provider_and_backend_copies_share_the_connection(provider: AccountProvider) -> None:
    backend = provider.get_backend("ibmq_manila")
    provider_copy = copy.deepcopy(provider)
    assert provider_copy == provider and provider_copy.api_client is provider.api_client
    backend_copy = copy.deepcopy(backend)
    assert backend_copy is not backend and backend_copy._api is backend._api
    assert backend_copy.configuration().backend_name == "ibmq_manila"
