#!/usr/bin/env bash
# Runs every fuzz target of ova-core, s3-stream and cloudstack-client (each crate's fuzz/ folder)
# with libFuzzer on stable Rust: libfuzzer-sys built with rustc's stable coverage flags, no
# cargo-fuzz and no nightly needed.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS (default 60) is the time each target runs; TARGET names limit the run to those targets.
# Each target starts from its checked-in seeds (<crate>/fuzz/corpus/<target>/, never written to)
# and keeps what it finds in $OVAKIT_FUZZ_DIR/corpus/<target>/ for the next run. A crash stops that
# target, is saved in $OVAKIT_FUZZ_DIR/artifacts/<target>/ and makes the script exit non-zero
# after the other targets ran; replay one with `<binary> <file>` (the binaries are in
# $OVAKIT_FUZZ_DIR/<host>/release/).
#
# Environment: OVAKIT_FUZZ_DIR (default target/fuzz): build, corpus, crash and log folder
# (logs/<target>.log), shared by the three fuzz crates.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_INCREMENTAL=0
seconds="${1:-60}"
shift || true
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;; esac
only=("$@")
work="${OVAKIT_FUZZ_DIR:-$root/target/fuzz}"
crates=(ova-core s3-stream cloudstack-client)
host="$(rustc -vV | sed -n 's/^host: //p')"

# What `cargo fuzz build --sanitizer none` passes, all stable: SanitizerCoverage feeding libFuzzer
# (8-bit counters, PC table, comparison tracing), `cfg(fuzzing)`, and the checks of a debug build.
# An explicit --target keeps these flags off build scripts and proc macros.
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cllvm-args=-sanitizer-coverage-stack-depth \
-Cdebug-assertions -Coverflow-checks ${OVAKIT_FUZZ_RUSTFLAGS:-}"

targets_of() { # crate: its fuzz target names
    sed -n 's/^name = "\(.*\)"$/\1/p' "$1/fuzz/Cargo.toml" | tail -n +2
}
wanted() {
    [ ${#only[@]} -eq 0 ] && return 0
    local t
    for t in "${only[@]}"; do [ "$t" = "$1" ] && return 0; done
    return 1
}

failed=()
for crate in "${crates[@]}"; do
    [ -f "$crate/fuzz/Cargo.toml" ] || continue
    some=0
    for t in $(targets_of "$crate"); do wanted "$t" && some=1; done
    [ "$some" = 1 ] || continue
    printf '\n==> building %s fuzz targets\n' "$crate"
    cargo build --quiet --release --bins --manifest-path "$crate/fuzz/Cargo.toml" \
        --target "$host" --target-dir "$work"
    for t in $(targets_of "$crate"); do
        wanted "$t" || continue
        corpus="$work/corpus/$t"
        artifacts="$work/artifacts/$t"
        mkdir -p "$corpus" "$artifacts"
        seeds=()
        [ -d "$crate/fuzz/corpus/$t" ] && seeds=("$crate/fuzz/corpus/$t")
        printf '\n==> %s/%s for %ss\n' "$crate" "$t" "$seconds"
        log="$work/logs/$t.log"
        mkdir -p "$work/logs"
        rc=0
        "$work/$host/release/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "${seeds[@]}" \
            >"$log" 2>&1 || rc=$?
        if [ "$rc" -ne 0 ]; then
            tail -n 60 "$log"
            failed+=("$crate/$t")
        else
            grep -E '^(INFO: seed corpus|#[0-9]+ +DONE|stat::number_of_executed_units|stat::new_units_added)' "$log" || true
        fi
    done
done

if [ ${#failed[@]} -gt 0 ]; then
    printf '\nfuzz targets that failed: %s (inputs in %s/artifacts/)\n' "${failed[*]}" "$work" >&2
    exit 1
fi
printf '\nall fuzz targets ran %ss without a failure\n' "$seconds"
