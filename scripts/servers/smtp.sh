#!/usr/bin/env bash
# SMTP test server (Debian's python3-aiosmtpd via /usr/bin/python3): plain, STARTTLS+AUTH, implicit TLS and a
# listener without STARTTLS, with a test CA made at start. See smtp_server.py for what it records and refuses.
#   smtp.sh start STATE_DIR ENV_FILE   |   smtp.sh stop STATE_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
action=$1 state=$2
case "$action" in
  start)
    env_file=$3
    kill_pidfile "$state/smtp.pid"
    rm -rf "$state/spool" "$state/tls"
    mkdir -p "$state/spool" "$state/tls"
    tls=$state/tls
    # A throw-away CA and a server certificate for localhost / 127.0.0.1, made fresh at every start.
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=eventhooks test CA" \
      -keyout "$tls/ca.key" -out "$tls/ca.pem" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$tls/server.key" -out "$tls/server.csr" \
      >/dev/null 2>&1
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
      >"$tls/ext.cnf"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
      -extfile "$tls/ext.cnf" -out "$tls/server.pem" >/dev/null 2>&1
    user=eventhooks
    # A password with ':' in it: the credentials string "user:pass:word" must keep everything after the first ':'.
    password="s3cret:with:colons"
    printf '%s\n' "$password" >"$tls/password"
    plain=$(free_port); starttls=$(free_port); implicit=$(free_port); nostarttls=$(free_port)
    nohup /usr/bin/python3 "$here/smtp_server.py" --spool "$state/spool" --cert "$tls/server.pem" \
      --key "$tls/server.key" --user "$user" --password-file "$tls/password" --plain "$plain" \
      --starttls "$starttls" --implicit "$implicit" --nostarttls "$nostarttls" >"$state/smtp.log" 2>&1 &
    echo $! >"$state/smtp.pid"
    for p in "$plain" "$starttls" "$implicit" "$nostarttls"; do
      wait_port "$p" 20 || { echo "smtp: port $p not ready" >&2; exit 1; }
    done
    {
      echo "export EVENTHOOKS_SMTP_HOST=127.0.0.1"
      echo "export EVENTHOOKS_SMTP_PLAIN_PORT=$plain"
      echo "export EVENTHOOKS_SMTP_STARTTLS_PORT=$starttls"
      echo "export EVENTHOOKS_SMTP_IMPLICIT_PORT=$implicit"
      echo "export EVENTHOOKS_SMTP_NOSTARTTLS_PORT=$nostarttls"
      echo "export EVENTHOOKS_SMTP_CA_FILE=$tls/ca.pem"
      echo "export EVENTHOOKS_SMTP_USER=$user"
      echo "export EVENTHOOKS_SMTP_PASSWORD_FILE=$tls/password"
      echo "export EVENTHOOKS_SMTP_SPOOL=$state/spool"
    } >>"$env_file"
    ;;
  stop)
    kill_pidfile "$state/smtp.pid"
    ;;
  *) echo "usage: smtp.sh start STATE_DIR ENV_FILE | stop STATE_DIR" >&2; exit 2 ;;
esac
