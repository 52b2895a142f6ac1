"""The servers of the local stack, in start order. Each module in services/ defines one Service."""

from __future__ import annotations

from .base import Service


def services() -> dict[str, Service]:
    # Imported lazily so a broken service module names itself in the error, not at import of the CLI.
    from .services import registry

    return registry()
