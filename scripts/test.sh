#!/usr/bin/env bash
# The whole test suite: lint, docs, fuzz targets (built and run briefly from their seeds), Rust
# tests (with local S3 servers and interop peers), Python bindings and pytest. Installs what it
# needs; safe to run repeatedly.
#
#   bash scripts/test.sh
#
# Environment: OVAKIT_VENV (default: .venv in the checkout), OVAKIT_SKIP_LINT=1 to skip fmt, clippy
# (the workspace and the three fuzz crates) and doc, OVAKIT_SKIP_FUZZ=1 to skip the fuzz targets
# (OVAKIT_FUZZ_SECONDS: seconds per target, default 5), OVAKIT_KEEP_LINT_BUILD=1 to keep the lint
# and fuzz build folders for the next run.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# A full run builds every target once: incremental caches would only cost disk (gigabytes).
export CARGO_INCREMENTAL=0
log() { printf '\n==> %s\n' "$*"; }

# ---- system packages -------------------------------------------------------------------------
need_apt=()
command -v qemu-img >/dev/null || need_apt+=(qemu-utils)
command -v openssl >/dev/null || need_apt+=(openssl)
{ command -v pkg-config >/dev/null && pkg-config --exists openssl; } || need_apt+=(libssl-dev pkg-config)
command -v tar >/dev/null || need_apt+=(tar)
command -v script >/dev/null || need_apt+=(bsdutils) # a terminal for the progress tests
command -v c++ >/dev/null || need_apt+=(g++) # libFuzzer, for the fuzz targets
command -v python3 >/dev/null || need_apt+=(python3 python3-venv)
command -v npm >/dev/null || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
    log "installing ${need_apt[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

# ---- python virtualenv -----------------------------------------------------------------------
venv="${OVAKIT_VENV:-$root/.venv}"
if [ ! -x "$venv/bin/python" ]; then
    log "creating virtualenv $venv"
    python3 -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want="$(sha256sum scripts/requirements-test.txt | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Python test packages"
    "$venv/bin/python" -m pip install -q --no-cache-dir --upgrade pip
    "$venv/bin/python" -m pip install -q --no-cache-dir -r scripts/requirements-test.txt
    echo "$want" > "$stamp"
fi
export OVAKIT_PYTHON="$venv/bin/python"
# the oldest CloudStack client releases the tests also run the operator flow with
old_clients="$venv/old-clients"
old_stamp="$old_clients/.requirements.sha256"
want="$(sha256sum scripts/requirements-old-clients.txt | cut -d' ' -f1)"
if [ "$(cat "$old_stamp" 2>/dev/null)" != "$want" ]; then
    log "installing the oldest CloudStack clients"
    rm -rf "$old_clients"
    "$venv/bin/python" -m pip install -q --no-cache-dir --no-deps --target "$old_clients" \
        -r scripts/requirements-old-clients.txt
    echo "$want" > "$old_stamp"
fi
export OVAKIT_OLD_CLIENTS="$old_clients"

# ---- lint, docs, fuzz-target build ----------------------------------------------------------
# Checked in a target folder of their own, removed afterwards (set OVAKIT_KEEP_LINT_BUILD=1 to keep
# it for the next run): check-mode artifacts are never reused by the test build, and keeping both
# would double the disk a run needs.
target_dir="${CARGO_TARGET_DIR:-$root/target}"
lint_dir="$target_dir/lint"
if [ "${OVAKIT_SKIP_LINT:-0}" != 1 ]; then
    log "cargo fmt --check"
    cargo fmt --all --check
    log "cargo clippy"
    cargo clippy --target-dir "$lint_dir" --workspace --all-targets --all-features --quiet -- -D warnings
    # the fuzz crates are workspaces of their own (the root excludes them): each checked by name
    for fuzz in ova-core/fuzz s3-stream/fuzz cloudstack-client/fuzz; do
        log "cargo fmt --check and clippy: $fuzz"
        cargo fmt --manifest-path "$fuzz/Cargo.toml" --check
        cargo clippy --manifest-path "$fuzz/Cargo.toml" --target-dir "$lint_dir/fuzz" --all-targets --quiet -- -D warnings
    done
    log "cargo doc"
    RUSTDOCFLAGS=-Dwarnings cargo doc --target-dir "$lint_dir" --workspace --no-deps --all-features --quiet
    [ "${OVAKIT_KEEP_LINT_BUILD:-0}" = 1 ] || rm -rf "$lint_dir"
fi

# ---- fuzz targets ---------------------------------------------------------------------------
# Every fuzz target of ova-core, s3-stream and cloudstack-client is built (stable Rust, see
# scripts/fuzz.sh) and run for a few seconds from its checked-in seeds, so a parser that crashes
# on a seed fails the run. One build folder for the three fuzz crates, removed afterwards like the
# lint folder (OVAKIT_KEEP_LINT_BUILD=1 keeps it); OVAKIT_SKIP_FUZZ=1 skips this step.
if [ "${OVAKIT_SKIP_FUZZ:-0}" != 1 ]; then
    log "fuzz targets: build and a ${OVAKIT_FUZZ_SECONDS:-5}s smoke run each"
    fuzz_dir="$target_dir/fuzz-smoke"
    OVAKIT_FUZZ_DIR="$fuzz_dir" bash scripts/fuzz.sh "${OVAKIT_FUZZ_SECONDS:-5}"
    [ "${OVAKIT_KEEP_LINT_BUILD:-0}" = 1 ] || rm -rf "$fuzz_dir"
fi

# ---- local servers ---------------------------------------------------------------------------
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
moto_port="$(free_port)"
log "starting moto S3 server on 127.0.0.1:$moto_port"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"${TMPDIR:-/tmp}/ovakit-moto.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
    if "$venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$moto_port/moto-api/')" 2>/dev/null; then break; fi
    sleep 0.2
done
export OVAKIT_MOTO_ENDPOINT="http://127.0.0.1:$moto_port"

# The rest of the S3 test matrix: the oldest and the newest moto 5.x, ministack (PyPI) and s3rver
# (npm), each installed in an environment of its own under $servers (reused while its pin is the
# same). Their endpoints reach the tests as OVAKIT_{MOTO_OLDEST,MOTO_NEWEST,MINISTACK,S3RVER}_ENDPOINT.
servers="${OVAKIT_SERVERS_DIR:-$root/.servers}"
moto_oldest=5.0.0
moto_newest=5.2.6
ministack=1.5.33
s3rver=3.7.1
py_server() { # directory name, pip requirement
    local dir="$servers/$1"
    if [ "$(cat "$dir/.installed" 2>/dev/null)" != "$2" ]; then
        log "installing $2 into $dir"
        rm -rf "$dir"
        python3 -m venv "$dir"
        "$dir/bin/python" -m pip install -q --no-cache-dir "$2"
        echo "$2" > "$dir/.installed"
    fi
}
py_server moto-oldest "moto[server]==$moto_oldest"
py_server moto-newest "moto[server]==$moto_newest"
py_server ministack "ministack==$ministack"
if [ "$(cat "$servers/s3rver/.installed" 2>/dev/null)" != "s3rver@$s3rver" ]; then
    log "installing s3rver@$s3rver into $servers/s3rver"
    rm -rf "$servers/s3rver"
    mkdir -p "$servers/s3rver"
    npm install --silent --no-audit --no-fund --prefix "$servers/s3rver" "s3rver@$s3rver"
    echo "s3rver@$s3rver" > "$servers/s3rver/.installed"
fi
wait_port() { # port: until something accepts connections there (30 s at most)
    for _ in $(seq 1 150); do
        if "$venv/bin/python" -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    echo "nothing listens on 127.0.0.1:$1" >&2
    return 1
}
logs="${TMPDIR:-/tmp}"
port="$(free_port)"
log "starting moto $moto_oldest on 127.0.0.1:$port"
"$servers/moto-oldest/bin/moto_server" -H 127.0.0.1 -p "$port" >"$logs/ovakit-moto-oldest.log" 2>&1 &
pids+=($!)
wait_port "$port"
export OVAKIT_MOTO_OLDEST_ENDPOINT="http://127.0.0.1:$port"
port="$(free_port)"
log "starting moto $moto_newest on 127.0.0.1:$port"
"$servers/moto-newest/bin/moto_server" -H 127.0.0.1 -p "$port" >"$logs/ovakit-moto-newest.log" 2>&1 &
pids+=($!)
wait_port "$port"
export OVAKIT_MOTO_NEWEST_ENDPOINT="http://127.0.0.1:$port"
port="$(free_port)"
log "starting ministack $ministack on 127.0.0.1:$port"
GATEWAY_PORT="$port" BIND_HOST=127.0.0.1 "$servers/ministack/bin/ministack" >"$logs/ovakit-ministack.log" 2>&1 &
pids+=($!)
wait_port "$port"
export OVAKIT_MINISTACK_ENDPOINT="http://127.0.0.1:$port"
port="$(free_port)"
s3rver_data="$(mktemp -d)"
log "starting s3rver $s3rver on 127.0.0.1:$port"
"$servers/s3rver/node_modules/.bin/s3rver" -d "$s3rver_data" -a 127.0.0.1 -p "$port" -s >"$logs/ovakit-s3rver.log" 2>&1 &
pids+=($!)
wait_port "$port"
export OVAKIT_S3RVER_ENDPOINT="http://127.0.0.1:$port"

# ---- python bindings -------------------------------------------------------------------------
pytest_dirs=(tests)
if [ -f py-bindings/pyproject.toml ]; then
    log "building the ovakit Python package"
    (unset CONDA_PREFIX; VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" \
        "$venv/bin/maturin" develop --quiet -m py-bindings/Cargo.toml)
    pytest_dirs+=(py-bindings/tests)

    # The wheel users install: built by `maturin build` (which bundles the OpenSSL libraries it
    # links), installed into an empty virtualenv, and used there (no checkout on the path).
    log "checking the ovakit wheel in a fresh virtualenv"
    wheel_dir="$(mktemp -d)"
    (unset CONDA_PREFIX; PATH="$venv/bin:$PATH" \
        "$venv/bin/maturin" build --quiet -m py-bindings/Cargo.toml -o "$wheel_dir/dist")
    python3 -m venv "$wheel_dir/venv"
    "$wheel_dir/venv/bin/python" -m pip install -q --no-cache-dir --no-index "$wheel_dir"/dist/ovakit-*.whl
    (cd "$wheel_dir" && "$wheel_dir/venv/bin/python" "$root/scripts/wheel_smoke.py")
    # the wheel's stubs and typed results, as a user's type checker sees them
    log "mypy --strict on the operator flow example, against the installed wheel"
    (cd "$wheel_dir" && "$venv/bin/mypy" --strict --no-incremental --cache-dir=/dev/null \
        --python-executable "$wheel_dir/venv/bin/python" "$root/examples/python/operator_flow.py")
    rm -rf "$wheel_dir"
fi

# ---- tests -----------------------------------------------------------------------------------
log "cargo test"
# `cargo test` builds the binaries too (the integration tests run them); pytest uses them after.
export OVAKIT_BIN_DIR="$target_dir/debug"
cargo_log="$(mktemp)"
set +e
cargo test --workspace --all-features --no-fail-fast 2>&1 | tee "$cargo_log" | grep -v -E '^(test .* \.\.\. ok|\s+Compiling .*)$'
cargo_status=${PIPESTATUS[0]}
set -e
echo
grep -E '^test result:' "$cargo_log" | awk '{p+=$4; f+=$6; i+=$8} END {printf "cargo: %d passed, %d failed, %d ignored\n", p, f, i}'
[ "$cargo_status" -eq 0 ] || echo "cargo test FAILED (exit $cargo_status)"
rm -f "$cargo_log"

log "pytest"
set +e
"$venv/bin/python" -m pytest -q "${pytest_dirs[@]}"
py_status=$?
set -e
[ "$cargo_status" -eq 0 ] && [ "$py_status" -eq 0 ]
