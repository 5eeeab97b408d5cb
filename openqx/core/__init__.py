"""Plain vocabulary shared by every openqx package: statuses, ids, errors, wire schemas.

Nothing in ``openqx.core`` imports another openqx package; the client and the server share
only this package.
"""

from __future__ import annotations

__all__: list[str] = []
