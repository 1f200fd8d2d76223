#!/usr/bin/env bash
#
# start-kannel.sh RUN_DIR
#
# Starts a loopback-only Kannel 1.4.5 test stack in the background:
#   bearerbox  - the gateway core, with one fake SMSC listening on 127.0.0.1
#   fakesmsc   - Kannel's test "operator": a TCP client of that fake SMSC that
#                prints every MT message it receives and injects MO messages
#                that send-mo.sh writes into RUN_DIR/mo.fifo
#   smsbox     - calls the webhook (HTTP GET) for each MO and serves
#                GET /cgi-bin/sendsms for MT
# PIDs, logs and the rendered kannel.conf go to RUN_DIR (created if needed).
# Returns once sendsms answers, the fake SMSC client is online and smsbox is
# connected, or fails (non-zero) within KANNEL_START_TIMEOUT seconds.
#
# Idempotent: if this RUN_DIR's stack is already up and healthy it only says
# so; if it is half up (a process died) it is stopped and started afresh.
# Installs the Debian packages kannel, kannel-extras and curl when missing
# (needs root; set KANNEL_INSTALL=0 to forbid).
#
# Environment (defaults in brackets):
#   KANNEL_WEBHOOK_URL   [http://127.0.0.1:14080/sms/inbound]  must be loopback
#   KANNEL_MO_QUERY      [from=%p&to=%P&text=%a&time=%t&ts=%T&id=%I&smsc=%i&coding=%c&charset=%C]
#   KANNEL_ADMIN_PORT [14000]  KANNEL_SMSBOX_PORT [14001]
#   KANNEL_SMSC_PORT  [14010]  KANNEL_SENDSMS_PORT [14013]
#   KANNEL_SENDSMS_USER [tester]  KANNEL_SENDSMS_PASS [foobar]
#   KANNEL_ADMIN_PASS [adminpw]   KANNEL_GLOBAL_SENDER [unset]
#   KANNEL_START_TIMEOUT [30]     KANNEL_INSTALL [1]
#
set -euo pipefail
KANNEL_SCRIPT=start-kannel
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

[ $# -eq 1 ] && [ -n "$1" ] || { echo "usage: $0 RUN_DIR" >&2; exit 2; }
mkdir -p "$1" || kannel_die "cannot create run dir '$1'"
RUN_DIR=$(kannel_abs_dir "$1")
case $RUN_DIR in *[[:space:]\"\'\&\;\|\<\>\$\`\\]*)
    kannel_die "run dir path must not contain spaces, quotes or shell metacharacters: $RUN_DIR";;
esac

: "${KANNEL_WEBHOOK_URL:=http://127.0.0.1:14080/sms/inbound}"
# (unset -> default query; set but empty -> the webhook URL is used as it is)
KANNEL_MO_QUERY=${KANNEL_MO_QUERY-from=%p&to=%P&text=%a&time=%t&ts=%T&id=%I&smsc=%i&coding=%c&charset=%C}
: "${KANNEL_SENDSMS_USER:=tester}"
: "${KANNEL_SENDSMS_PASS:=foobar}"
: "${KANNEL_ADMIN_PASS:=adminpw}"
: "${KANNEL_GLOBAL_SENDER:=}"
: "${KANNEL_START_TIMEOUT:=30}"
: "${KANNEL_INSTALL:=1}"

# ------------------------------------------------------------------ checks
for v in KANNEL_ADMIN_PORT KANNEL_SMSBOX_PORT KANNEL_SMSC_PORT KANNEL_SENDSMS_PORT; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1024 ] && [ "${!v}" -le 65535 ] ||
        kannel_die "$v must be a port number 1024..65535 (got '${!v}')"
done
[ "$(printf '%s\n' "$KANNEL_ADMIN_PORT" "$KANNEL_SMSBOX_PORT" "$KANNEL_SMSC_PORT" \
     "$KANNEL_SENDSMS_PORT" | sort -u | wc -l)" -eq 4 ] || kannel_die "the four KANNEL_*_PORT values must differ"
[[ $KANNEL_START_TIMEOUT =~ ^[0-9]+$ ]] || kannel_die "KANNEL_START_TIMEOUT must be whole seconds"
for v in KANNEL_WEBHOOK_URL KANNEL_MO_QUERY KANNEL_SENDSMS_USER KANNEL_SENDSMS_PASS KANNEL_ADMIN_PASS KANNEL_GLOBAL_SENDER; do
    case ${!v} in *[[:space:]\"\'\\]*) kannel_die "$v must not contain whitespace, quotes or backslashes";; esac
done
[ -n "$KANNEL_SENDSMS_USER" ] && [ -n "$KANNEL_SENDSMS_PASS" ] || kannel_die "empty sendsms credentials"
[[ $KANNEL_WEBHOOK_URL =~ ^http://([^/?#]+)(.*)$ ]] || kannel_die "KANNEL_WEBHOOK_URL must be an http:// URL"
hostport=${BASH_REMATCH[1]##*@}
case $hostport in
    127.*|localhost|localhost:*|\[::1\]|\[::1\]:*) ;;
    *) [ "${KANNEL_ALLOW_NONLOCAL_WEBHOOK:-0}" = 1 ] ||
           kannel_die "KANNEL_WEBHOOK_URL host '$hostport' is not loopback (set KANNEL_ALLOW_NONLOCAL_WEBHOOK=1 to allow)";;
esac
# The escapes go after the webhook URL, joined with '?' or '&'.
if [[ $KANNEL_WEBHOOK_URL == *\?* ]]; then MO_URL="$KANNEL_WEBHOOK_URL&$KANNEL_MO_QUERY"
else MO_URL="$KANNEL_WEBHOOK_URL?$KANNEL_MO_QUERY"; fi
[ -n "$KANNEL_MO_QUERY" ] || MO_URL=$KANNEL_WEBHOOK_URL

SENDSMS_BASE="http://127.0.0.1:$KANNEL_SENDSMS_PORT/cgi-bin/sendsms"
STATUS_URL="http://127.0.0.1:$KANNEL_ADMIN_PORT/status.txt"

# ------------------------------------------------------------------ install
install_missing() {
    local missing=() pol_created=0 rc=0
    { [ -x "$KANNEL_BEARERBOX" ] && [ -x "$KANNEL_SMSBOX" ]; } || missing+=(kannel)
    [ -x "$KANNEL_FAKESMSC" ] || missing+=(kannel-extras)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    command -v flock >/dev/null 2>&1 || missing+=(util-linux)
    command -v iconv >/dev/null 2>&1 || missing+=(libc-bin)
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$KANNEL_INSTALL" = 1 ] || kannel_die "missing packages: ${missing[*]} (KANNEL_INSTALL=0 forbids installing)"
    [ "$(id -u)" = 0 ] || kannel_die "missing packages: ${missing[*]}; run as root or: apt-get install ${missing[*]}"
    command -v apt-get >/dev/null 2>&1 || kannel_die "missing packages: ${missing[*]} and no apt-get"
    kannel_log "installing ${missing[*]} with apt-get (log: $RUN_DIR/apt.log)"
    # The kannel package would start Debian's own system bearerbox/wapbox
    # (ports 13000/13002 and WAP UDP on all interfaces) unless policy-rc.d
    # forbids it. A temporary one is added if the machine has none.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && pol_created=1
    fi
    (
        export DEBIAN_FRONTEND=noninteractive
        flock -w 600 9 || exit 1
        apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}" ||
            { apt-get -o DPkg::Lock::Timeout=300 update &&
              apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}"; }
    ) 9>/tmp/.kannel-test-apt.lock >>"$RUN_DIR/apt.log" 2>&1 || rc=$?
    [ $pol_created = 0 ] || rm -f /usr/sbin/policy-rc.d
    [ $rc = 0 ] || { kannel_tail "$RUN_DIR/apt.log"; kannel_die "apt-get install ${missing[*]} failed"; }
    [ -x "$KANNEL_BEARERBOX" ] && [ -x "$KANNEL_SMSBOX" ] && [ -x "$KANNEL_FAKESMSC" ] ||
        kannel_die "packages installed but $KANNEL_BEARERBOX / $KANNEL_SMSBOX / $KANNEL_FAKESMSC not found"
}

# ------------------------------------------------------------------ helpers
DEADLINE=0
started_here=0
on_exit() {
    local rc=$?
    if [ $rc -ne 0 ] && [ $started_here = 1 ]; then
        kannel_log "start failed; stopping what was started"
        "$HERE/stop-kannel.sh" "$RUN_DIR" >/dev/null 2>&1 || true
    fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# wait_for DESCRIPTION COMMAND... : poll COMMAND every 0.1 s until it succeeds,
# failing when a started process died or the overall deadline passed.
wait_for() {
    local what=$1 name; shift
    while :; do
        "$@" && return 0
        for name in bearerbox fakesmsc smsbox; do
            if [ -f "$RUN_DIR/$name.pid" ] && ! kannel_pid "$RUN_DIR" "$name" >/dev/null; then
                kannel_tail "$RUN_DIR/$name.log"
                kannel_die "$name exited while waiting for: $what"
            fi
        done
        [ "$(kannel_now_ms)" -lt "$DEADLINE" ] || {
            for name in bearerbox fakesmsc smsbox; do kannel_tail "$RUN_DIR/$name.log"; done
            kannel_die "timed out after ${KANNEL_START_TIMEOUT}s waiting for: $what"; }
        sleep 0.1
    done
}
all_bb_ports_up() {
    kannel_port_listening "$KANNEL_ADMIN_PORT" && kannel_port_listening "$KANNEL_SMSBOX_PORT" &&
        kannel_port_listening "$KANNEL_SMSC_PORT"
}
smsc_online() { kannel_http_get "$STATUS_URL" | grep -q "FAKE:$KANNEL_SMSC_PORT (online"; }
smsbox_connected() { kannel_http_get "$STATUS_URL" | grep -q "smsbox:.*IP 127.0.0.1"; }
sendsms_answers() {
    # No credentials: a live smsbox answers 403 "Authorization failed".
    local code
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$SENDSMS_BASE" 2>/dev/null || true)
    [ -n "$code" ] && [ "$code" != 000 ]
}
healthy() {
    kannel_pid "$RUN_DIR" bearerbox >/dev/null && kannel_pid "$RUN_DIR" fakesmsc >/dev/null &&
        kannel_pid "$RUN_DIR" smsbox >/dev/null && sendsms_answers && smsc_online && smsbox_connected
}
write_env() {
    # Shell-sourceable; values single-quoted (they contain & and %).
    cat >"$RUN_DIR/kannel.env" <<EOF
KANNEL_RUN_DIR='$RUN_DIR'
KANNEL_SENDSMS_URL='$SENDSMS_BASE'
KANNEL_SENDSMS_USER='$KANNEL_SENDSMS_USER'
KANNEL_SENDSMS_PASS='$KANNEL_SENDSMS_PASS'
KANNEL_STATUS_URL='$STATUS_URL'
KANNEL_ADMIN_PORT='$KANNEL_ADMIN_PORT'
KANNEL_SMSBOX_PORT='$KANNEL_SMSBOX_PORT'
KANNEL_SMSC_PORT='$KANNEL_SMSC_PORT'
KANNEL_SENDSMS_PORT='$KANNEL_SENDSMS_PORT'
KANNEL_WEBHOOK_URL='$KANNEL_WEBHOOK_URL'
KANNEL_MO_URL='$MO_URL'
KANNEL_MT_LOG='$RUN_DIR/fakesmsc.log'
KANNEL_ACCESS_LOG='$RUN_DIR/access.log'
EOF
}

# ------------------------------------------------------------------ main
command -v curl >/dev/null 2>&1 && [ -x "$KANNEL_BEARERBOX" ] && healthy_possible=1 || healthy_possible=0
if [ $healthy_possible = 1 ] && healthy; then
    write_env
    kannel_log "already running in $RUN_DIR (sendsms $SENDSMS_BASE)"
    exit 0
fi
stale=0
for name in bearerbox fakesmsc smsbox; do [ ! -e "$RUN_DIR/$name.pid" ] || stale=1; done
if [ $stale = 1 ]; then
    kannel_log "stale or partial stack in $RUN_DIR; stopping it first"
    "$HERE/stop-kannel.sh" "$RUN_DIR" || kannel_die "could not stop the old stack"
fi

install_missing

for v in KANNEL_ADMIN_PORT KANNEL_SMSBOX_PORT KANNEL_SMSC_PORT KANNEL_SENDSMS_PORT; do
    ! kannel_port_listening "${!v}" || kannel_die "port ${!v} ($v) is already in use; pick another with $v=..."
done

# Render the config template.
[ -n "$KANNEL_GLOBAL_SENDER" ] && GS_LINE="global-sender = \"$KANNEL_GLOBAL_SENDER\"" ||
    GS_LINE="# global-sender not set (KANNEL_GLOBAL_SENDER)"
while IFS= read -r line || [ -n "$line" ]; do
    line=${line//@@RUN_DIR@@/"$RUN_DIR"}
    line=${line//@@ADMIN_PORT@@/"$KANNEL_ADMIN_PORT"}
    line=${line//@@ADMIN_PASS@@/"$KANNEL_ADMIN_PASS"}
    line=${line//@@SMSBOX_PORT@@/"$KANNEL_SMSBOX_PORT"}
    line=${line//@@SMSC_PORT@@/"$KANNEL_SMSC_PORT"}
    line=${line//@@SENDSMS_PORT@@/"$KANNEL_SENDSMS_PORT"}
    line=${line//@@SENDSMS_USER@@/"$KANNEL_SENDSMS_USER"}
    line=${line//@@SENDSMS_PASS@@/"$KANNEL_SENDSMS_PASS"}
    line=${line//@@GLOBAL_SENDER_LINE@@/"$GS_LINE"}
    line=${line//@@MO_URL@@/"$MO_URL"}
    printf '%s\n' "$line"
done <"$HERE/kannel.conf.template" >"$RUN_DIR/kannel.conf"
! grep -v '^#' "$RUN_DIR/kannel.conf" | grep -q '@@[A-Z_]*@@' || kannel_die "unrendered placeholder left in kannel.conf"

t0=$(kannel_now_ms)
DEADLINE=$((t0 + KANNEL_START_TIMEOUT * 1000))
rm -f "$RUN_DIR"/{bearerbox,fakesmsc,smsbox}.pid "$RUN_DIR/mo.fifo"
: >"$RUN_DIR/bearerbox.log"; : >"$RUN_DIR/fakesmsc.log"; : >"$RUN_DIR/smsbox.log"; : >"$RUN_DIR/access.log"
started_here=1

# 1. bearerbox (-v 1: info and above on stderr).
"$KANNEL_BEARERBOX" -v 1 "$RUN_DIR/kannel.conf" </dev/null >>"$RUN_DIR/bearerbox.log" 2>&1 &
echo $! >"$RUN_DIR/bearerbox.pid"
wait_for "bearerbox to listen on ports $KANNEL_ADMIN_PORT, $KANNEL_SMSBOX_PORT, $KANNEL_SMSC_PORT" all_bb_ports_up

# 2. fakesmsc in interactive mode (no message arguments): it reads MO lines
#    from stdin. stdin is the FIFO opened read-write ("<>"), so fakesmsc
#    itself holds a writer and never sees EOF between send-mo.sh calls.
#    -i 0: no pacing; -v 0: debug output, which is where MT lines
#    ("Got message N: <...>") and "sent message N" are printed.
mkfifo -m 600 "$RUN_DIR/mo.fifo"
"$KANNEL_FAKESMSC" -H 127.0.0.1 -r "$KANNEL_SMSC_PORT" -i 0 -v 0 <>"$RUN_DIR/mo.fifo" >>"$RUN_DIR/fakesmsc.log" 2>&1 &
echo $! >"$RUN_DIR/fakesmsc.pid"
wait_for "the fakesmsc client to be online" smsc_online

# 3. smsbox.
"$KANNEL_SMSBOX" -v 1 "$RUN_DIR/kannel.conf" </dev/null >>"$RUN_DIR/smsbox.log" 2>&1 &
echo $! >"$RUN_DIR/smsbox.pid"
wait_for "sendsms on port $KANNEL_SENDSMS_PORT" sendsms_answers
wait_for "smsbox to connect to bearerbox" smsbox_connected

write_env
kannel_log "up in $(( $(kannel_now_ms) - t0 )) ms: sendsms $SENDSMS_BASE, MO -> $MO_URL, run dir $RUN_DIR"
