"""``Credentials``: what a provider authenticates with and acts through (the seed's
``provider.credentials``)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Credentials"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """The token, server URL and instance (``hub/group/project``) of one provider."""

    token: str
    url: str
    hub: str | None = None
    group: str | None = None
    project: str | None = None

    @property
    def instance(self) -> str | None:
        """``hub/group/project``, or None when the provider has no instance."""
        if self.hub is None or self.group is None or self.project is None:
            return None
        return f"{self.hub}/{self.group}/{self.project}"

    def __repr__(self) -> str:
        # The token stays out of reprs and logs.
        return (
            f"Credentials(url={self.url!r}, hub={self.hub!r}, group={self.group!r}, "
            f"project={self.project!r})"
        )
