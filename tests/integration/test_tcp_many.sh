#!/bin/bash
# 10 000 idle TCP connections from one address (issue 17 item 6): with
# `limit tcp-source-connections 100`, 150 connections from 10.1.0.10 to E
# leave 100 open and 50 refused, counted (source connection limit); with
# the limit raised to 10 000, 10 000 connections from that address are
# accepted and held (the kernel's per-source rate limits off: they would
# pace them at 100 new flows/s; sigproxyd raised its RLIMIT_NOFILE at start: one
# descriptor each), one more is refused, and meanwhile the daemon answers
# the CLI, a TCP terminal from another address registers and a UDP call
# goes through. Then they all close and nothing is left open. With its
# open-file limit lowered to 64 (prlimit), connections it cannot accept
# are closed and counted rather than left waiting. One Python
# process (tcp_hold.py) opens and holds the connections.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd python3 nft

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
HOLD=$(dirname "$0")/tcp_hold.py

lab_up_or_end
lab_sp_start
sp_pass "sigproxyd starts in ns sp"
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "limit tcp-source-connections 100" -c "limit tcp-idle-timeout 600" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "the strategy and a source limit of 100 are accepted" "" "$out"
sp_wait_for "TCP TPROXY rule in ns sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q 'tcp dport 5060.*tproxy'"
lab_start_kamailio "$SRV1" "$D1" srv1 || { sp_fail "kamailio #1 starts"; sp_done; exit 1; }

limit=$(awk '/Max open files/ {print $4}' "/proc/$SPD_PID/limits")
check "sigproxyd's open-file limit holds 10 000 connections and more ($limit)" test "$limit" -ge 20000

stat() {
	timeout 10 "$SPCLI" -s "$SP_TMP/sp1/cli.sock" -c 'show statistics' |
		sed -nE "s/^[[:space:]]*$1[[:space:]:.=]*([0-9]+).*/\\1/Ip" | head -1
}
stat_is() {
	[ "$(stat "$1")" = "$2" ]
}
# hold NAME N: tcp_hold.py from 10.1.0.10 to E:5060 in the background
hold() {
	ip netns exec "$TE" python3 "$HOLD" 10.1.0.10 "$E" 5060 "$2" >"$SP_TMP/$1.out" 2>&1 &
	HOLD_PID=$!
	SP_PIDS+=("$!")
}
# held NAME: the last "held H closed X" line of tcp_hold.py NAME
held() {
	grep '^held' "$SP_TMP/$1.out" | tail -1
}
held_is() {
	[ "$(held "$1")" = "$2" ]
}
unhold() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# ---- over the limit: refused, counted ----
hold h150 150
check "150 connections from one address: 100 held, 50 closed by the SP" \
	sp_wait_for "100 held" 20 held_is h150 "held 100 closed 50"
[ "$(held h150)" = "held 100 closed 50" ] || sed 's/^/#   /' "$SP_TMP/h150.out"
check_eq "show statistics: 100 open" 100 "$(stat 'open now')"
check_eq "show statistics: 50 refused at the source connection limit" 50 "$(stat 'source connection limit')"
unhold "$HOLD_PID"
check "they close: 0 open" sp_wait_for "0 open" 10 stat_is 'open now' 0

# ---- the limit raised: 10 000 held ----
# the kernel's per-source limits (100 new flows/s, 1000 packets/s) would
# pace them over minutes: off for this address's burst
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "limit tcp-source-connections 10000" \
	-c "limit source-new-bindings 0" -c "limit source-rate 0" -c "end" 2>&1)
check_eq "the source limit is raised to 10 000 (the kernel's per-source rates off)" "" "$out"
start=$SECONDS
hold h10k 10000
check "10 000 connections from one address are all held" \
	sp_wait_for "10 000 held" 60 held_is h10k "held 10000 closed 0"
[ "$(held h10k)" = "held 10000 closed 0" ] || { sed 's/^/#   /' "$SP_TMP/h10k.out"; tail -5 "$SP_TMP/sp1/log"; }
echo "# 10 000 connections open after $((SECONDS - start)) s"
check_eq "show statistics: 10 000 open" 10000 "$(stat 'open now')"
check_eq "show statistics: no more refused at the source limit" 50 "$(stat 'source connection limit')"
check_eq "sigproxyd holds a descriptor for each" 1 \
	"$(($(ls "/proc/$SPD_PID/fd" | wc -l) >= 10000))"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$SPD_PID/status")
echo "# sigproxyd's RSS with 10 000 idle connections: $rss kB"

hold one 1
check "one more from that address is refused" sp_wait_for "1 refused" 10 held_is one "held 0 closed 1"
check_eq "... and counted" 51 "$(stat 'source connection limit')"
unhold "$HOLD_PID"

# ---- the daemon meanwhile ----
check "the CLI answers (show sessions count) within 5 s" timeout 5 "$SPCLI" -s "$SP_TMP/sp1/cli.sock" -c 'show sessions count'
check "a TCP terminal from another address registers (SIPp -t t1)" \
	lab_sipp "$TE" reg-bob-tcp -sf "$LAB_SIPP_DIR/register.xml" -t t1 -i 10.1.0.11 -p 5070 \
	-s bob-tcp -m 1 "$E:5060"
lab_expect_call "a UDP call through E while 10 000 connections are held" "$E" 10.1.0.12 10.1.0.13 uas.xml uac.xml
check_eq "still 10 000 open from 10.1.0.10" "held 10000 closed 0" "$(held h10k)"

# ---- all of them close ----
unhold "$(pgrep -f "tcp_hold.py 10.1.0.10 $E 5060 10000" | head -1)"
check "they close: back to the TCP terminal's at most" sp_wait_for "open <= 1" 30 \
	sh -c "[ \"\$(timeout 10 '$SPCLI' -s '$SP_TMP/sp1/cli.sock' -c 'show statistics' | sed -nE 's/^ *open now *([0-9]+)/\\1/p' | head -1)\" -le 1 ]"
# ---- no descriptor left: a waiting connection is closed, counted ----
# (the listener is level-triggered: a connection left in the backlog
# would wake the loop for ever and never hear back)
soft=$(awk '/Max open files/ {print $4}' "/proc/$SPD_PID/limits")
hard=$(awk '/Max open files/ {print $5}' "/proc/$SPD_PID/limits")
before=$(stat 'connection limit')
prlimit --pid "$SPD_PID" --nofile=64:"$hard"
hold fds 100
closed_some() {
	held fds | grep -qE 'closed [1-9]'
}
check "with its open-file limit at 64, sigproxyd closes what it cannot accept" \
	sp_wait_for "closed by the SP" 15 closed_some
echo "# $(held fds)"
unhold "$HOLD_PID"
prlimit --pid "$SPD_PID" --nofile="$soft":"$hard"
check "... and counts it (connection limit)" test "$(stat 'connection limit')" -gt "$before"
check "the CLI answers again" timeout 5 "$SPCLI" -s "$SP_TMP/sp1/cli.sock" -c 'show sessions count'

check "sigproxyd still runs" kill -0 "$SPD_PID"
check "sigproxyd stops cleanly" sp_daemon_stop "$SPD_PID"
lab_down
sp_done
