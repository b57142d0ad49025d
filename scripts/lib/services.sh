# shellcheck shell=bash
# Shared by the scripts in scripts/: logging, Debian packages (as root or through sudo), the
# build tools the workspace needs, and the local PostgreSQL and RabbitMQ of a Debian machine,
# started when they are not running (installed on a fresh one). Both are left running
# afterwards: other work on the machine may use them too.

log() { printf '==> [%4ds] %s\n' "$SECONDS" "$*" >&2; }

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
    local what=$1 seconds=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            log "$what is not ready after ${seconds}s"
            return 1
        fi
        sleep 0.5
    done
}

# Superuser connection to the local server (trust auth on this kind of machine).
psql_admin() { psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

# apt_install PACKAGE...: as root, or through sudo otherwise. `env` carries the variable
# past sudo, which resets the environment.
apt_install() {
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q)
    if ((EUID != 0)); then
        apt=(sudo "${apt[@]}")
    fi
    log "installing $*"
    # A fresh machine has no package lists, and old ones may name versions long gone.
    "${apt[@]}" install -y "$@" >/dev/null 2>&1 || {
        "${apt[@]}" update >/dev/null
        "${apt[@]}" install -y "$@" >/dev/null
    }
}

# The turbojpeg crate builds libjpeg-turbo from source: cmake, and nasm for its SIMD code.
ensure_build_tools() {
    local missing=()
    command -v cmake >/dev/null || missing+=(cmake)
    command -v nasm >/dev/null || missing+=(nasm)
    if ((${#missing[@]} > 0)); then
        apt_install "${missing[@]}"
    fi
}

# What start_postgres and start_rabbitmq found stopped and started: the PostgreSQL cluster's
# version, and 1 for RabbitMQ. scripts/dev stops them again on exit; the others leave them.
STARTED_POSTGRES=
STARTED_RABBITMQ=

start_postgres() {
    command -v pg_ctlcluster >/dev/null || apt_install postgresql
    if pg_isready -q -h 127.0.0.1 -p 5432; then
        return
    fi
    local version
    version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
    log "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    # shellcheck disable=SC2034 # read by the sourcing script
    STARTED_POSTGRES=$version
    wait_for PostgreSQL 60 pg_isready -h 127.0.0.1 -p 5432
}

start_rabbitmq() {
    command -v rabbitmqctl >/dev/null || apt_install rabbitmq-server
    if rabbitmqctl -q await_startup --timeout 5 >/dev/null 2>&1; then
        return
    fi
    log "starting RabbitMQ"
    rabbitmq-server -detached
    # shellcheck disable=SC2034 # read by the sourcing script
    STARTED_RABBITMQ=1
    # await_startup needs the node's process up first; poll until it accepts the question.
    wait_for RabbitMQ 120 rabbitmqctl -q await_startup --timeout 5
}
