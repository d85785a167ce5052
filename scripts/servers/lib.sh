# Shared helpers for scripts/servers/*.sh (sourced, not run).
# A free TCP port on loopback, chosen by the kernel.
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# wait_port PORT SECONDS: until something accepts on 127.0.0.1:PORT.
wait_port() {
  local port=$1 deadline=$((SECONDS + ${2:-30}))
  while ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}
# kill_pidfile FILE: stop the process (group) recorded there.
kill_pidfile() {
  local f=$1
  [ -f "$f" ] || return 0
  local pid; pid=$(cat "$f")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}
# start_nginx_sink WORKDIR [STATUS [BODY]]: a keep-alive HTTP sink (Debian's nginx, one worker, `200 ok` to
# everything unless told otherwise) on a free loopback port, for the benchmarks. Prints its URL (…/hook); stop
# it with `kill_pidfile WORKDIR/nginx.pid`. BODY must not contain a single quote.
start_nginx_sink() {
  local work=$1 status=${2:-200} body=${3:-ok} port
  port=$(free_port)
  mkdir -p "$work/tmp"
  cat >"$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log warn;
daemon on;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/tmp; proxy_temp_path $work/tmp; fastcgi_temp_path $work/tmp;
  uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
  keepalive_requests 100000000; keepalive_timeout 60s;
  client_body_buffer_size 64k;
  server { listen 127.0.0.1:$port; location / { return $status '$body'; } }
}
CONF
  /usr/sbin/nginx -c "$work/nginx.conf" -p "$work"
  wait_port "$port" 10
  echo "http://127.0.0.1:$port/hook"
}

# The JSON body every WebHook benchmark posts (bench-http.sh, bench-python.sh), so their figures compare.
bench_body() {
  printf '%s' '{"event": "deploy_finished", "service": "api", "ok": true, "host": "web-01", "duration_ms": 8123}'
}

# Median of the numbers given as arguments (benchmarks report the median of alternating rounds).
median_of() {
  printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'
}

# One markdown row: LABEL REFERENCE VALUE...; each value is followed by its ratio to the reference.
ratio_row() {
  local label=$1 ref=$2
  shift 2
  awk -v l="$label" -v r="$ref" -v rest="$*" 'BEGIN {
    printf "| %s | %.0f", l, r
    n = split(rest, v, " ")
    for (i = 1; i <= n; i++) printf " | %.0f | %.0f %%", v[i], 100 * v[i] / r
    print " |"
  }'
}
