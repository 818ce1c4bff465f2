# shellcheck shell=bash
# tests/interop/lib_prometheus.sh: a real Prometheus (Debian's prometheus package) that
# scrapes swanless's metrics= endpoint inside a lab namespace, and reads back through its
# HTTP API. Sourced by lib.sh; uses its state and helpers.

declare -gA LAB_PROM_NS=() LAB_PROM_ADDR=()

# prometheus_start NS NAME TARGET [LISTEN]: Prometheus in NS scraping http://TARGET/metrics
# every second (job "swanless"), TSDB in $LAB_DIR/NAME.prom, listening on LISTEN (default
# 127.0.0.1:9090 in that namespace); waits until it is ready and has scraped TARGET once.
prometheus_start() {
  local ns=$1 name=$2 target=$3 listen=${4:-127.0.0.1:9090}
  local dir=$LAB_DIR/$name.prom
  mkdir -p "$dir/data"
  cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: swanless
    static_configs:
      - targets: ['$target']
EOF
  command -v prometheus >/dev/null || { echo "prometheus_start: no prometheus binary (apt-get install prometheus)" >&2; return 1; }
  lab_bg "$ns" "$dir/prometheus.log" prometheus --config.file="$dir/prometheus.yml" \
    --storage.tsdb.path="$dir/data" --web.listen-address="$listen" --log.level=warn
  LAB_PROM_NS[$name]=$ns LAB_PROM_ADDR[$name]=$listen
  if ! wait_for "[ \"\$(prometheus_query $name 'up{job=\"swanless\"}')\" = 1 ]" 30; then
    echo "prometheus_start: $name did not scrape $target:" >&2; tail -n 20 "$dir/prometheus.log" >&2; return 1
  fi
  lab_log "prometheus $name in $ns scraping $target (pid $LAB_BG_PID, log $dir/prometheus.log)"
}

# prometheus_query NAME EXPR: the value of EXPR's single result (an instant query), or "" if
# there is none or more than one.
prometheus_query() {
  nsx "${LAB_PROM_NS[$1]}" python3 - "${LAB_PROM_ADDR[$1]}" "$2" <<'PY' 2>/dev/null
import json, sys, urllib.parse, urllib.request
addr, expr = sys.argv[1], sys.argv[2]
url = "http://%s/api/v1/query?%s" % (addr, urllib.parse.urlencode({"query": expr}))
d = json.load(urllib.request.urlopen(url, timeout=5))
r = d["data"]["result"] if d.get("status") == "success" else []
if len(r) == 1:
    v = float(r[0]["value"][1])
    print(int(v) if v == int(v) else v)
PY
}

# metrics_fetch NS URL FILE: one scrape of URL from inside NS, the body in FILE.
metrics_fetch() {
  nsx "$1" python3 -c 'import sys, urllib.request; open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1], timeout=5).read())' \
    "$2" "$3"
}
