#!/usr/bin/env bash
# The main job, with no input and no accounts:
#   1. build the tools;
#   2. generate a small raw disk image, build a complete OVA from it (stream-optimized VMDK,
#      OVF descriptor, SHA-256 manifest, signature with a throw-away self-signed certificate),
#      then inspect, validate, verify, edit in place and repack it for an older hypervisor;
#   3. run the operator's whole flow (`pipeline demo`): publish to a local S3 server, register as a
#      template in the CloudStack simulator, deploy, export, stream the export back into S3 while
#      verifying its manifest, and check everything.
# Exits non-zero if any step or check fails.
#
#   bash scripts/demo.sh            (work directory: a fresh temporary directory)
#   OVAKIT_DEMO_DIR=out bash scripts/demo.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
step() { printf '\n==> %s\n' "$*"; }

step "building the tools (ova, pipeline)"
cargo build --quiet -p examples --bin ova --bin pipeline
ova="$target/debug/ova"
pipeline="$target/debug/pipeline"

work="${OVAKIT_DEMO_DIR:-$(mktemp -d)}"
mkdir -p "$work"

step "generating a 16 MiB raw disk image with some data and some zeros in $work"
python3 - "$work/disk.raw" <<'PY'
import random, sys
rng = random.Random(42)
with open(sys.argv[1], "wb") as f:
    for i in range(16):                      # 16 extents of 1 MiB
        if i % 3 == 2:
            f.write(bytes(1 << 20))          # a zero region (skipped by the VMDK writer)
        elif i % 3 == 1:
            f.write((("ovakit demo disk %02d " % i).encode() * 65536)[: 1 << 20])  # text
        else:
            f.write(rng.randbytes(1 << 20))  # incompressible data
PY

if command -v openssl >/dev/null; then
    step "making a throw-away signing key and self-signed certificate (openssl)"
    openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=ovakit demo" -days 7 \
        -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
    sign=(--sign "$work/key.pem" --cert "$work/cert.pem")
else
    sign=()
fi

step "ova build: raw disk → complete OVA"
"$ova" build --disk "$work/disk.raw" --name demo --os-type ubuntu64Guest --cpus 2 --memory-mb 1024 \
    --product "ovakit demo appliance" --version 1.0 --property hostname=demo \
    --manifest sha256 "${sign[@]}" -o "$work/demo.ova"

step "ova info"
"$ova" info "$work/demo.ova"

step "ova validate"
"$ova" validate "$work/demo.ova"

step "ova manifest verify"
"$ova" manifest verify "$work/demo.ova"

if [ ${#sign[@]} -gt 0 ]; then
    step "ova verify (signature, certificate and every digest)"
    "$ova" verify "$work/demo.ova"
fi

step "ova vmdk info (the disk inside, after extraction)"
"$ova" extract "$work/demo.ova" "$work/extracted"
"$ova" vmdk info "$work/extracted"/*.vmdk

step "ova repack for an older hypervisor: vmx-07, SHA1 manifest"
"$ova" repack "$work/demo.ova" "$work/demo-vmx07.ova" --set-virtual-system-type vmx-07 --manifest sha1
"$ova" validate "$work/demo-vmx07.ova"

step "ova edit --in-place --property hostname=demo-01 (only the descriptor and manifest line change)"
"$ova" edit "$work/demo-vmx07.ova" --in-place --property hostname=demo-01
"$ova" manifest verify "$work/demo-vmx07.ova" >/dev/null
"$ova" validate "$work/demo-vmx07.ova"

if command -v tar >/dev/null; then
    step "tar -tvf (GNU tar reads it; the descriptor is the first entry)"
    tar -tvf "$work/demo-vmx07.ova"
fi

step "pipeline demo: publish → register → deploy → export → transfer → verify (local S3 + CloudStack simulator)"
"$pipeline" demo --dir "$work/pipeline"

printf '\ndemo OK: files in %s\n' "$work"
