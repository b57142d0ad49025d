# shellcheck shell=bash
# A virtualenv with a pinned Pillow, for scripts/bench-set (which builds the broad benchmark
# set with it, so its encoders must be byte-identical everywhere) and the Pillow side of
# scripts/bench-colors. Sourced after services.sh (for `log`).

# Pillow 12.0.0, manylinux x86_64 wheels for CPython 3.10-3.14 (pip picks the one that fits).
PILLOW_REQUIREMENT='pillow==12.0.0
    --hash=sha256:d77153e14b709fd8b8af6f66a3afbb9ed6e9fc5ccf0b6b7e1ced7b036a228782
    --hash=sha256:bee2a6db3a7242ea309aa7ee8e2780726fed67ff4e5b40169f2c940e7eb09227
    --hash=sha256:b87843e225e74576437fd5b6a4c2205d422754f84a06942cfaf1dc32243e45a8
    --hash=sha256:f4f1231b7dec408e8670264ce63e9c71409d9583dd21d32c163e25213ee2a344
    --hash=sha256:c98fa880d695de164b4135a52fd2e9cd7b7c90a9d8ac5e9e443a24a95ef9248e'

# ensure_pillow_venv VENV PYTHON: makes VENV with PYTHON and the pinned Pillow, unless it is
# there already (a stamp file holds the requirement it was made with).
ensure_pillow_venv() {
    local venv=$1 python=$2
    local stamp=$venv/.bench-set-requirements
    if [[ -x $venv/bin/python && -f $stamp && "$(cat "$stamp")" == "$PILLOW_REQUIREMENT" ]]; then
        return
    fi
    command -v "$python" >/dev/null || {
        log "no $python to make $venv with"
        exit 1
    }
    if [[ $(uname -m) != x86_64 ]]; then
        log "the pinned Pillow wheels are for x86_64; this is $(uname -m)"
        exit 1
    fi
    log "creating $venv with $("$python" --version 2>&1) and pinned Pillow"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    local requirements
    requirements=$(mktemp)
    printf '%s\n' "$PILLOW_REQUIREMENT" | sed -e '$!s/$/ \\/' >"$requirements"
    if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
        --only-binary :all: --require-hashes -r "$requirements" >&2; then
        rm -f "$requirements"
        log "could not install the pinned Pillow (Python $("$python" --version 2>&1); wheels are pinned for CPython 3.10-3.14 on x86_64)"
        exit 1
    fi
    rm -f "$requirements"
    printf '%s' "$PILLOW_REQUIREMENT" >"$stamp"
}
