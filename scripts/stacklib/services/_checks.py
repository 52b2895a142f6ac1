"""Pre-start checks shared by the postgres, minio and prometheus services."""

from __future__ import annotations

from ..base import HOST, Service, StackError, port_open


def ensure_startable(svc: Service, ports: list[int], hint: str = "") -> None:
    """Raise StackError instead of starting a second instance.

    Called from ``prepare()``, i.e. when ``up`` found the server not healthy. If our own process is
    still alive it is starting up (another ``scripts/stack up``) or stuck; if a port answers without
    our process, somebody else holds it and the new server would only die on bind.
    """
    pid = svc.pid()
    if pid is not None:
        raise StackError(f"{svc.name} (pid {pid}) is running but not healthy yet: wait, or check "
                         f"{svc.log_file} and run scripts/stack down {svc.name}")
    busy = [p for p in ports if port_open(p)]
    if busy:
        raise StackError(f"port(s) {', '.join(map(str, busy))} on {HOST} already taken by a process "
                         f"scripts/stack did not start{' (' + hint + ')' if hint else ''}; stop it first")
