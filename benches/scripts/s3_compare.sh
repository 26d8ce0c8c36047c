#!/usr/bin/env bash
# HTTP source (nginx, sendfile on) -> S3 server, side by side, on loopback:
#   s3copy  vs  rclone copyurl  vs  curl | aws s3 cp -  vs  curl | s3cmd put -
# against two servers: s3s-fs (real store, burns a core itself) and s3sink (answers the
# multipart protocol, checks signatures and Content-MD5, discards the bytes: each client's ceiling).
# Each run reports wall time, client CPU seconds (user+sys of the client processes), peak RSS
# (/usr/bin/time -v: the largest single process of the pipeline), the CPU seconds the server spent
# on the upload (client and server share the machine's cores) and whether the object's digest matched
# (s3s-fs: sha256 of the stored file; sink: its md5-of-md5s ETag of what it received, which must
# equal the file's for 16 MiB parts; sizes below one part are not meaningful there).
# Same part size (16 MiB) for every tool and concurrency 4 where the tool has it; s3cmd uploads
# one part at a time, so s3copy also runs with --concurrency 1 beside it (the fair memory row).
# Every figure is the median of RUNS runs (default 3).
# SOURCE=file compares uploads of the local file instead (s3copy FILE vs aws s3 cp FILE; no nginx,
# rclone or s3cmd needed): the issue-10 benchmark, 2 GiB into the sink at 16 MiB x 4.
#
#   cargo build --release -p examples --bin s3copy -p benches --bin s3sink --bin s3s_server
#   bash benches/scripts/s3_compare.sh [SIZE_MIB]        # default 2048
#
# Needs: nginx, rclone, curl, /usr/bin/time (Debian: nginx rclone curl time), python3 for a bench
# virtualenv with awscli and s3cmd (created under the work directory).
# Environment: S3_BENCH_DIR (work directory), S3COPY_BIN, S3SINK_BIN, S3S_BIN, RUNS (default 3),
# SERVERS (default "sink s3s-fs").
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$root/benches/scripts/common.sh"
rel="${CARGO_TARGET_DIR:-$root/target}/release"
s3copy="${S3COPY_BIN:-$rel/s3copy}"
sink="${S3SINK_BIN:-$rel/s3sink}"
s3s="${S3S_BIN:-$rel/s3s_server}"
size_mib="${1:-2048}"
runs="${RUNS:-3}"
servers="${SERVERS:-sink s3s-fs}"
source_kind="${SOURCE:-http}"
part_mib=16
conc=4
bins="$s3copy $sink"
case " $servers " in *" s3s-fs "*) bins="$bins $s3s" ;; esac
for b in $bins; do
    [ -x "$b" ] || { echo "missing $b (see the build line at the top)" >&2; exit 2; }
done
needed="curl /usr/bin/time python3 xxd split"
[ "$source_kind" = file ] || needed="nginx rclone $needed"
for c in $needed; do
    command -v "$c" >/dev/null || { echo "missing $c: apt-get install -y nginx rclone curl time" >&2; exit 2; }
done
work="${S3_BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

venv="$work/venv"
if [ ! -x "$venv/bin/aws" ] || { [ "$source_kind" != file ] && [ ! -x "$venv/bin/s3cmd" ]; }; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q awscli s3cmd
fi

ak=BENCHKEY; sk=benchsecret
export AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/aws-credentials"
export AWS_ACCESS_KEY_ID=$ak AWS_SECRET_ACCESS_KEY=$sk AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1

echo "==> ${size_mib} MiB source file"
mkdir -p "$work/www"
[ -f "$work/www/disk.img" ] && [ "$(stat -c %s "$work/www/disk.img")" = $((size_mib << 20)) ] \
    || head -c $((size_mib << 20)) /dev/urandom > "$work/www/disk.img"
want_sha=$(sha256sum "$work/www/disk.img" | cut -d' ' -f1)
# md5-of-md5s ETag of 16 MiB parts: what the sink reports when every byte arrived in the same parts
want_etag="$(split -b ${part_mib}M --filter='md5sum | cut -c1-32' "$work/www/disk.img" | xxd -r -p | md5sum | cut -c1-32)-$(( (size_mib + part_mib - 1) / part_mib ))"

http_port=$(free_port)
cat > "$work/nginx.conf" <<NGX
daemon off; worker_processes 1; pid $work/nginx.pid; error_log $work/nginx.err;
events { worker_connections 64; }
http { access_log off; sendfile on; tcp_nopush on;
  server { listen 127.0.0.1:$http_port; root $work/www; } }
NGX
[ "$source_kind" = file ] || { nginx -c "$work/nginx.conf" & pids+=($!); }
url="http://127.0.0.1:$http_port/disk.img"

start_server() { # NAME -> sets endpoint
    local port; port=$(free_port)
    if [ "$1" = s3s-fs ]; then
        rm -rf "$work/s3data"; mkdir -p "$work/s3data/bench"
        "$s3s" "$port" "$ak" "$sk" "$work/s3data" 2>/dev/null & pids+=($!)
    else
        "$sink" "$port" "$ak" "$sk" 2>/dev/null & pids+=($!)
    fi
    server_pid=$!
    endpoint="http://127.0.0.1:$port"
    for _ in $(seq 50); do curl -s -o /dev/null "$endpoint/" && break; sleep 0.1; done
}

cat > "$work/rclone.conf" <<RC
[dst]
type = s3
provider = Other
access_key_id = $ak
secret_access_key = $sk
region = us-east-1
force_path_style = true
RC
# aws-cli reads its part size and concurrency from its config file (set once, outside the timing)
"$venv/bin/aws" configure set default.s3.multipart_chunksize "${part_mib}MB"
"$venv/bin/aws" configure set default.s3.max_concurrent_requests "$conc"
printf '[default]\naccess_key = %s\nsecret_key = %s\nsignature_v2 = False\nuse_https = False\n' "$ak" "$sk" > "$work/s3cfg"

# run SERVER TOOL KEY CMD: RUNS times under /usr/bin/time -v around a bash -c pipeline; prints the
# median wall time, client CPU seconds and peak RSS, and whether every run's object was right.
printf '\n%-10s %-16s %9s %8s %9s %9s %10s %s\n' server tool "wall s" "MB/s" "cpu s" "rss MiB" "server cpu" digest
# CPU seconds (user + system) a process has used so far
proc_cpu() { awk -v t="$(getconf CLK_TCK)" '{print ($14 + $15) / t}' "/proc/$1/stat"; }
run() {
    local server="$1" tool="$2" key="$3" cmd="$4"
    local walls="" cpus="" rsss="" srvs="" ok=yes i
    for i in $(seq 1 "$runs"); do
        local log="$work/time.$tool.$server.$i"
        if [ "$server" = s3s-fs ]; then rm -f "$work/s3data/bench/$key"; fi
        local s0; s0=$(proc_cpu "$server_pid")
        /usr/bin/time -v -o "$log" bash -c "$cmd" >/dev/null 2>"$work/err.$tool.$server" || {
            printf '%-10s %-16s failed: %s\n' "$server" "$tool" "$(tail -1 "$work/err.$tool.$server")"; return; }
        local wall user sys rss
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
        user=$(awk -F': ' '/User time/ {print $2}' "$log"); sys=$(awk -F': ' '/System time/ {print $2}' "$log")
        rss=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' "$log")
        walls+="$wall"$'\n'; cpus+="$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')"$'\n'; rsss+="$rss"$'\n'
        srvs+="$(awk -v a="$s0" -v b="$(proc_cpu "$server_pid")" 'BEGIN{print b - a}')"$'\n'
        if [ "$server" = s3s-fs ]; then
            [ "$(sha256sum "$work/s3data/bench/$key" 2>/dev/null | cut -d' ' -f1)" = "$want_sha" ] || ok=no
        else
            got=$(curl -sI "$endpoint/bench/$key" | awk -F': ' 'tolower($1)=="etag" {print $2}' | tr -d '\r"')
            [ "$got" = "$want_etag" ] || ok=no
        fi
    done
    local wall cpu rss srv
    wall=$(printf '%s' "$walls" | median); cpu=$(printf '%s' "$cpus" | median); rss=$(printf '%s' "$rsss" | median)
    srv=$(printf '%s' "$srvs" | median)
    # time -v covers bash and its children: user+sys of the whole pipeline, incl. curl for the pipes
    printf '%-10s %-16s %9.2f %8.1f %9.2f %9s %10.2f %s\n' "$server" "$tool" "$wall" \
        "$(awk -v s="$wall" -v m="$size_mib" 'BEGIN{print m*1.048576/s}')" "$cpu" "$rss" "$srv" "$ok"
}

file="$work/www/disk.img"
for server in $servers; do
    start_server "$server"
    if [ "$source_kind" = file ]; then
        run "$server" "s3copy file" s3copy.img \
            "'$s3copy' '$file' s3://bench/s3copy.img --endpoint $endpoint --part-size ${part_mib}M --concurrency $conc -q"
        run "$server" "aws-cli file" aws.img \
            "'$venv/bin/aws' --endpoint-url $endpoint s3 cp '$file' s3://bench/aws.img"
        kill "${pids[-1]}" 2>/dev/null || true
        continue
    fi
    run "$server" s3copy s3copy.img \
        "'$s3copy' '$url' s3://bench/s3copy.img --endpoint $endpoint --part-size ${part_mib}M --concurrency $conc -q"
    run "$server" "s3copy c=1" s3copy1.img \
        "'$s3copy' '$url' s3://bench/s3copy1.img --endpoint $endpoint --part-size ${part_mib}M --concurrency 1 -q"
    run "$server" "s3copy +md5" s3copymd5.img \
        "'$s3copy' '$url' s3://bench/s3copymd5.img --endpoint $endpoint --part-size ${part_mib}M --concurrency $conc --part-checksum md5 -q"
    run "$server" rclone rclone.img \
        "env -u AWS_CA_BUNDLE rclone --config '$work/rclone.conf' --s3-endpoint $endpoint --s3-chunk-size ${part_mib}M --s3-upload-concurrency $conc copyurl '$url' dst:bench/rclone.img"
    run "$server" aws-cli aws.img \
        "curl -s '$url' | '$venv/bin/aws' --endpoint-url $endpoint s3 cp - s3://bench/aws.img"
    run "$server" s3cmd s3cmd.img \
        "curl -s '$url' | '$venv/bin/s3cmd' -c '$work/s3cfg' --host=${endpoint#http://} --host-bucket=${endpoint#http://} --multipart-chunk-size-mb=$part_mib put - s3://bench/s3cmd.img"
    kill "${pids[-1]}" 2>/dev/null || true
done
