#!/usr/bin/env bash
# A private OpenSSH server for the SFTP tests: its own config, host key and client key under the
# state folder, loopback only, key login for one unprivileged user that can only do SFTP.
# Usage: sshd.sh start|stop|status|describe|needs
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME=sshd
STATE="$PRISM_SERVERS_DIR/$NAME"
CONF="$STATE/sshd_config"
PORT=12222
USER_NAME=prism-sftp
USER_HOME=/home/$USER_NAME
HOST_KEY="$STATE/host_ed25519_key"
CLIENT_KEY="$STATE/client_ed25519_key"
KNOWN_HOSTS="$STATE/known_hosts"
PACKAGES=(/usr/sbin/sshd openssh-server ssh-keygen openssh-client sftp openssh-client)

# A real SFTP login with the client key, checked against the known_hosts file.
sftp_answers() {
  echo pwd | timeout 10 sftp -q -b - -P "$PORT" -i "$CLIENT_KEY" -o BatchMode=yes -o IdentitiesOnly=yes \
    -o UserKnownHostsFile="$KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \
    "$USER_NAME@127.0.0.1" >/dev/null 2>&1
}

healthy() { [ -f "$CONF" ] && pid_alive "$(read_pid "$STATE/sshd.pid")" && sftp_answers; }

ensure_user() {
  if ! id -u "$USER_NAME" >/dev/null 2>&1; then
    useradd --create-home --home-dir "$USER_HOME" --shell /usr/sbin/nologin "$USER_NAME"
  fi
  mkdir -p "$USER_HOME"
  chown "$USER_NAME:" "$USER_HOME"
  # a locked account ('!' password) is refused even for key logins when PAM is off
  usermod -p '*' "$USER_NAME"
}

write_conf() {
  cat >"$CONF" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $HOST_KEY
PidFile $STATE/sshd.pid
AuthorizedKeysFile $STATE/authorized_keys
AllowUsers $USER_NAME
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
# the keys live under /tmp, which StrictModes refuses
StrictModes no
UseDNS no
Subsystem sftp internal-sftp
ForceCommand internal-sftp
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTTY no
PrintMotd no
# tests open many connections at once; the default drops some after 10 unauthenticated
MaxStartups 200
MaxSessions 100
LogLevel VERBOSE
EOF
}

fresh_start() {
  rm -rf "$STATE"
  mkdir -p "$STATE"
  chmod 755 "$STATE" # the server reads authorized_keys as $USER_NAME
  ensure_user
  ssh-keygen -q -t ed25519 -N '' -C "prism test host" -f "$HOST_KEY"
  ssh-keygen -q -t ed25519 -N '' -C "prism test client" -f "$CLIENT_KEY"
  cp "$CLIENT_KEY.pub" "$STATE/authorized_keys"
  chmod 644 "$STATE/authorized_keys"
  echo "[127.0.0.1]:$PORT $(cut -d' ' -f1-2 "$HOST_KEY.pub")" >"$KNOWN_HOSTS"
  write_conf
  mkdir -p /run/sshd # the privilege-separation folder, normally made by systemd
  /usr/sbin/sshd -t -f "$CONF"
  /usr/sbin/sshd -f "$CONF" -E "$STATE/sshd.log" 9>&-
  wait_for 20 "an SFTP login on 127.0.0.1:$PORT" sftp_answers
}

stop_all() {
  stop_pid "$(our_pid "$STATE/sshd.pid" "$STATE")"
  free_port_of_ours "$PORT" "$STATE"
}

case "${1:-}" in
  start)
    require_packages "${PACKAGES[@]}"
    lock_server "$NAME"
    if healthy; then
      echo "$NAME: already running on 127.0.0.1:$PORT ($(elapsed) s)"
      exit 0
    fi
    stop_all
    if ! fresh_start; then
      show_logs "$STATE/sshd.log"
      echo "$NAME: failed to start; log in $STATE/sshd.log" >&2
      exit 1
    fi
    echo "$NAME: started on 127.0.0.1:$PORT in $(elapsed) s (log in $STATE/sshd.log)"
    ;;
  stop)
    lock_server "$NAME"
    stop_all
    echo "$NAME: stopped ($(elapsed) s)"
    ;;
  status)
    if healthy; then echo "$NAME: running on 127.0.0.1:$PORT"; else
      echo "$NAME: not running"
      exit 1
    fi
    ;;
  describe)
    printf '{"host":"127.0.0.1","port":%d,"user":%s,"home":%s,"keyFile":%s,"knownHostsFile":%s,"logFile":%s}\n' \
      "$PORT" "$(json_string "$USER_NAME")" "$(json_string "$USER_HOME")" "$(json_string "$CLIENT_KEY")" \
      "$(json_string "$KNOWN_HOSTS")" "$(json_string "$STATE/sshd.log")"
    ;;
  needs) missing_packages "${PACKAGES[@]}" ;;
  *)
    echo "usage: $0 start|stop|status|describe|needs" >&2
    exit 2
    ;;
esac
