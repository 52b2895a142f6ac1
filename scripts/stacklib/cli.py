"""scripts/stack up | down | status | logs NAME | install  [NAME ...]"""

from __future__ import annotations

import sys
import time

from .base import STACK_DIR, Service, StackError
from .registry import services


def _select(names: list[str]) -> list[Service]:
    allsvc = services()
    unknown = [n for n in names if n not in allsvc]
    if unknown:
        raise StackError(f"unknown server(s) {', '.join(unknown)}; known: {', '.join(allsvc)}")
    return [allsvc[n] for n in names] if names else list(allsvc.values())


def _wait_healthy(svc: Service) -> None:
    deadline = time.monotonic() + svc.start_timeout_s
    while time.monotonic() < deadline:
        if svc.healthy():
            return
        if svc.pid() is None:
            raise StackError(f"{svc.name} exited during start-up; see its log: {svc.log_file}")
        time.sleep(0.5)
    raise StackError(f"{svc.name} did not answer its health check within {svc.start_timeout_s:.0f}s; "
                     f"see its log: {svc.log_file}")


def up(selected: list[Service]) -> int:
    failed = []
    for svc in selected:
        t0 = time.monotonic()
        try:
            if svc.pid() is not None and svc.healthy():
                print(f"{svc.name:<16} already running (pid {svc.pid()}, port {svc.port})", flush=True)
                svc.post_start()
                continue
            print(f"{svc.name:<16} installing ...", flush=True)
            svc.install()
            svc.prepare()
            print(f"{svc.name:<16} starting on 127.0.0.1:{svc.port} ...", flush=True)
            svc.start()
            _wait_healthy(svc)
            svc.post_start()
            print(f"{svc.name:<16} healthy in {time.monotonic() - t0:.1f}s (log {svc.log_file})", flush=True)
        except StackError as exc:
            print(f"{svc.name:<16} FAILED: {exc}", file=sys.stderr, flush=True)
            failed.append(svc.name)
        except NotImplementedError:
            print(f"{svc.name:<16} FAILED: not implemented", file=sys.stderr, flush=True)
            failed.append(svc.name)
    if failed:
        print(f"stack up: {len(failed)} server(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"stack up: {len(selected)} server(s) healthy")
    return 0


def down(selected: list[Service]) -> int:
    for svc in reversed(selected):
        stopped = svc.stop()
        print(f"{svc.name:<16} {'stopped' if stopped else 'not running'}")
    return 0


def status(selected: list[Service]) -> int:
    bad = 0
    for svc in selected:
        pid = svc.pid()
        health = svc.healthy()
        state = "healthy" if pid and health else ("unhealthy" if pid else ("foreign" if health else "stopped"))
        bad += state != "healthy"
        print(f"{svc.name:<16} {state:<10} port {svc.port:<5} pid {pid or '-':<8} ~{svc.memory_mb} MB  "
              f"log {svc.log_file}")
    return 1 if bad else 0


def logs(selected: list[Service], lines: int = 80) -> int:
    for svc in selected:
        print(f"==> {svc.log_file} <==")
        try:
            print("".join(svc.log_file.read_text(errors="replace").splitlines(True)[-lines:]))
        except OSError:
            print("(no log yet)")
    return 0


def install(selected: list[Service]) -> int:
    for svc in selected:
        print(f"{svc.name:<16} installing ...", flush=True)
        svc.install()
        svc.prepare()
    return 0


COMMANDS = {"up": up, "down": down, "status": status, "logs": logs, "install": install}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: scripts/stack {{{'|'.join(COMMANDS)}}} [NAME ...]   (state in {STACK_DIR})", file=sys.stderr)
        return 2
    try:
        return COMMANDS[argv[0]](_select(argv[1:]))
    except StackError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1
