"""How to reach an openqx server, without qiskit: the stored account file
(``account_file``), one HTTP session with its headers, TLS, proxies and retries (``session``),
and what a failed request means (``failures``).

The provider's ``ApiClient`` (``openqx.client.http``) is built on it and turns each failure
into its exception family; ``openqx admin`` uses it directly, so that an administration
command starts without importing qiskit. It imports nothing of openqx but ``openqx.core``.
"""
