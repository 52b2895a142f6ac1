#!/usr/bin/env bash
# System packages the local stack (scripts/stack) and the tests need, from Debian apt only.
#
#   sudo bash scripts/system_deps.sh          # Debian 12 (bookworm); run by `make test` and .ci/run
#   SYSTEM_DEPS_DRY_RUN=1 bash scripts/system_deps.sh   # only print what is missing
#
# Idempotent: checks each tool first and does nothing (no apt-get update, no network) when all are
# present. Otherwise runs `apt-get update` once and installs only the missing packages:
#
#   PostgreSQL 15 server + pg_trgm   postgresql-15, postgresql-contrib
#   Prometheus + promtool            prometheus            (--no-install-recommends: no node exporter)
#   Java 17 JDK + Maven              openjdk-17-jdk-headless, maven   (Kafka, Schema Registry, OpenSearch)
#   Go >= 1.21                       golang-1.2x-go from bookworm-backports (enabled here if needed)
#   python3 venv                     python3-venv (for `make venv`)
#   TLS roots                        ca-certificates (go and mvn fetch over HTTPS)
#   RTSP test server (system python3) python3-gi, gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-good
#                                    (qtdemux, rtph264pay), gstreamer1.0-plugins-bad (h264parse)
#                                    for tests/integration/test_rtsp_source.py
#   Plate fonts (synthetic plates)   fonts-dejavu-core, fonts-dejavu-extra, fonts-liberation (OFL/free
#                                    licences; training/alpr_training/synth, tests/unit/test_synth*.py)
#   HTTP load generator              wrk (scripts/benchmark_api.py, `make bench`)
#
# Go: MinIO (built with `go install`) needs Go >= 1.24. A Go already at /usr/local/go/bin or on PATH
# is used as is. Debian 12's golang-go is 1.19 (too old), bookworm-backports has up to 1.23; with
# that, scripts/stack runs `go install` with GOTOOLCHAIN=auto and the go command fetches the 1.24
# toolchain it needs from the Go module proxy (golang.org/toolchain), cached in .stack/cache/go.
#
# Servers installed here must not grab the stack's ports: no service starts during the install (a
# temporary /usr/sbin/policy-rc.d), the PostgreSQL packages are told not to create their default
# cluster, and a prometheus we install has its system service disabled on systemd hosts
# (scripts/stack runs its own, on the same ports). Pre-existing installs are left alone.
set -euo pipefail

log() { printf 'system_deps: %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

PG_MAJOR=15
missing=()
need() { missing+=("$@"); }

# -- PostgreSQL 15 + pg_trgm --------------------------------------------------------------------
if [ ! -x /usr/lib/postgresql/$PG_MAJOR/bin/postgres ] || [ ! -x /usr/lib/postgresql/$PG_MAJOR/bin/initdb ]; then
    need postgresql-$PG_MAJOR postgresql-contrib
elif [ ! -f /usr/share/postgresql/$PG_MAJOR/extension/pg_trgm.control ]; then
    need postgresql-contrib
fi
command -v psql >/dev/null 2>&1 || need postgresql-client-$PG_MAJOR
command -v setpriv >/dev/null 2>&1 || need util-linux

# -- Prometheus + promtool ----------------------------------------------------------------------
install_prometheus=0
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    need prometheus
    install_prometheus=1
fi

# -- Java 17 JDK + Maven ------------------------------------------------------------------------
java_major() {
    java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[^"]*".*/\1/p' | head -1
}
if ! command -v java >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
    need openjdk-17-jdk-headless
else
    jm=$(java_major || true)
    if [ -n "$jm" ] && [ "$jm" -lt 17 ]; then need openjdk-17-jdk-headless; fi
fi
command -v mvn >/dev/null 2>&1 || need maven

# -- Go >= 1.21 ---------------------------------------------------------------------------------
go_ok() {  # any go >= 1.21 where scripts/stacklib/services/minio.py looks for one
    local g v
    for g in "${ALPR_STACK_GO:-}" "$(command -v go || true)" /usr/local/go/bin/go /usr/lib/go-1.*/bin/go; do
        [ -n "$g" ] && [ -x "$g" ] || continue
        v=$(GOTOOLCHAIN=local "$g" version 2>/dev/null | sed -n 's/.*go1\.\([0-9]*\).*/\1/p')
        [ -n "$v" ] && [ "$v" -ge 21 ] && return 0
    done
    return 1
}
need_go=0
go_ok || need_go=1

# -- TLS roots for the Go module proxy and Maven Central (absent on a minimal Debian) ------------
[ -s /etc/ssl/certs/ca-certificates.crt ] || need ca-certificates

# -- python3 venv -------------------------------------------------------------------------------
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need python3-venv

# -- GStreamer RTSP server for the RTSP source test (tests/integration/rtsp_server.py) -----------
gst_has() {  # all named GStreamer elements load in the system python3 (gi)
    /usr/bin/python3 -c 'import sys, gi; gi.require_version("Gst", "1.0"); from gi.repository import Gst
Gst.init(None); sys.exit(0 if all(Gst.ElementFactory.find(e) for e in sys.argv[1:]) else 1)' "$@" >/dev/null 2>&1
}
/usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0")' >/dev/null 2>&1 \
    || need python3-gi gir1.2-gst-rtsp-server-1.0
gst_has qtdemux rtph264pay || need gstreamer1.0-plugins-good
gst_has h264parse || need gstreamer1.0-plugins-bad

# -- Fonts of the synthetic plate renderer (config/plate_layouts/*.yaml name these files) ----------
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || need fonts-dejavu-core
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf ] || need fonts-dejavu-extra
[ -f /usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf ] || need fonts-liberation

# -- wrk: the HTTP load generator of scripts/benchmark_api.py ----------------------------------------
command -v wrk >/dev/null 2>&1 || need wrk

if [ ${#missing[@]} -eq 0 ] && [ $need_go -eq 0 ]; then
    log "all present (postgresql-$PG_MAJOR, prometheus, java 17, maven, go, python3-venv, gst-rtsp-server, wrk)"
    exit 0
fi

if [ "${SYSTEM_DEPS_DRY_RUN:-0}" = 1 ]; then
    log "dry run: would install ${missing[*]:-} $([ $need_go -eq 1 ] && echo 'golang-1.2x-go (bookworm-backports)')"
    exit 0
fi

if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
    log "missing: ${missing[*]} $([ $need_go -eq 1 ] && echo 'go>=1.21'); run this script as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# PostgreSQL: no default cluster on 5432 (the stack initdb's its own in .stack/postgres).
if printf '%s\n' "${missing[@]}" | grep -q '^postgresql-'; then
    $SUDO mkdir -p /etc/postgresql-common/createcluster.d
    if [ ! -f /etc/postgresql-common/createcluster.d/90-alpr-no-main.conf ]; then
        echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.d/90-alpr-no-main.conf >/dev/null
    fi
fi

if [ $need_go -eq 1 ]; then
    . /etc/os-release
    if [ "${VERSION_CODENAME:-}" = "bookworm" ] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        log "enabling bookworm-backports for a Go >= 1.21"
        echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/alpr-backports.list >/dev/null
    fi
fi

# No daemon starts during the installation (invoke-rc.d and deb-systemd-invoke honour policy-rc.d):
# a packaged prometheus or postgresql must not grab the stack's ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi

log "apt-get update (missing: ${missing[*]:-} $([ $need_go -eq 1 ] && echo 'go>=1.21'))"
$SUDO apt-get update -q

if [ $need_go -eq 1 ]; then
    gopkg=$(apt-cache search --names-only '^golang-1\.[0-9]+-go$' | awk '{print $1}' \
            | sort -t. -k2,2n | tail -1)
    minor=$(printf '%s' "$gopkg" | sed -n 's/^golang-1\.\([0-9]*\)-go$/\1/p')
    if [ -z "$minor" ] || [ "$minor" -lt 21 ]; then
        log "no Debian package with Go >= 1.21 found (newest: ${gopkg:-none}); install Go >= 1.24 into /usr/local/go" >&2
        exit 1
    fi
    # Backports packages are never picked by default: name the release explicitly.
    if apt-cache policy "$gopkg" | grep -q backports; then
        $SUDO apt-get install "${APT_OPTS[@]}" -t bookworm-backports "$gopkg"
    else
        $SUDO apt-get install "${APT_OPTS[@]}" "$gopkg"
    fi
    log "installed $gopkg (/usr/lib/go-1.$minor/bin/go); MinIO's build fetches Go 1.24 via the module proxy"
fi

if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    $SUDO apt-get install "${APT_OPTS[@]}" "${missing[@]}"
fi

# A prometheus we just installed must not keep a system service on :9090 (systemd hosts only).
if [ $install_prometheus -eq 1 ] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi

go_ok || { log "Go >= 1.21 still missing" >&2; exit 1; }
log "done"
