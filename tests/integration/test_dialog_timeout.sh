#!/bin/bash
# Abandoned calls leave no state behind (issue: PSS grew to 83 MB in bench/run's
# overloaded steps): many calls through E whose INVITE never gets a final
# answer (the dialog stays early) and many whose 200 OK is never ACKed nor
# ended by a BYE (confirmed, silent) are removed after `limit
# dialog-early-timeout` and `limit dialog-idle-timeout` (short here; 180 s
# and 12 h by default), and `show sessions count` falls back to 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd

E=$LAB_E
N=${SP_DIALOG_TIMEOUT_CALLS:-1000}
EARLY=4
IDLE=30

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
lab_start_kamailio "$SRV1" "$LAB_D1" kam1 || { sp_fail "kamailio starts"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts"; sp_done; exit 1; }
PID=$SP_DAEMON_PID

# sessions [WHICH]: the total of `show sessions count`, or its early or
# confirmed part
sessions() {
	local out
	out=$(sp_cli sp1 -c 'show sessions count' | head -1)
	case ${1:-} in
	early | confirmed) sed -nE "s/.*$1 ([0-9]+).*/\\1/p" <<<"$out" ;;
	*) sed -nE 's/^Sessions: ([0-9]+).*/\1/p' <<<"$out" ;;
	esac
}
no_sessions() {
	[ "$(sessions)" = 0 ]
}
timed_out() {
	sp_cli sp1 -c 'show statistics' | sed -nE 's/^ *sessions timed out *([0-9]+).*/\1/p'
}
rss_kb() {
	sed -nE 's/^VmRSS:[[:space:]]*([0-9]+).*/\1/p' "/proc/$PID/status"
}

check "configure: a strategy and short dialog timeouts" sp_cli sp1 -c "configure terminal" \
	-c "signaling-proxy" -c "server-side-address $LAB_C" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $LAB_D1" -c "action proxy"
check "limit dialog-early-timeout $EARLY, dialog-idle-timeout $IDLE" sp_cli sp1 -c "configure terminal" \
	-c "signaling-proxy" -c "limit dialog-early-timeout $EARLY" -c "limit dialog-idle-timeout $IDLE"
conf=$(sp_cli sp1 -c 'show running-config')
check_match "running-config: limit dialog-early-timeout" "^ limit dialog-early-timeout $EARLY\$" "$conf"
check_match "running-config: limit dialog-idle-timeout" "^ limit dialog-idle-timeout $IDLE\$" "$conf"
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "limit dialog-idle-timeout 0" 2>&1)
check_match "a timeout of 0 (keep for ever) is refused" "1-2000000|range|invalid" "$out"
sp_wait_for "TPROXY rule in ns sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q tproxy"
rss0=$(rss_kb)

# calls SCENARIO-SUFFIX: N calls from alice to bob (both behind E, through
# D1) with uac_SUFFIX.xml and uas_SUFFIX.xml; both SIPp runs must succeed
calls() {
	local rc crc
	if ! lab_callee_start "$TE" 10.1.0.11 5060 bob "$E" "$N" "uas_$1.xml"; then
		sp_fail "$1: bob registers and listens"
		return 1
	fi
	lab_sipp "$TE" "alice-$1" -sf "$LAB_SIPP_DIR/uac_$1.xml" -i 10.1.0.10 -p 5060 -s bob \
		-m "$N" -r 200 -l 400 "$E:5060"
	rc=$?
	lab_sipp_wait "$LAB_SIPP_PID"
	crc=$?
	check_eq "$1: $N calls, caller and callee SIPp exit 0" "0 0" "$rc $crc"
	[ "$rc $crc" == "0 0" ] || { lab_sipp_log "alice-$1"; lab_sipp_log "callee-bob-uas_$1"; } |
		sed 's/^/#   /'
}

# ---- 200 OK never ACKed, no BYE: confirmed and silent ----
start=$SECONDS
calls no_ack
n=$(sessions confirmed)
echo "# after $N abandoned answered calls: $(sp_cli sp1 -c 'show sessions count' | head -1), RSS $(rss_kb) kB"
check "answered, abandoned calls are held confirmed (${n:-none})" test "${n:-0}" -gt 0
sleep $((EARLY + 1))
n2=$(sessions confirmed)
check "... past the early timeout, still held (${n2:-none})" test "${n2:-0}" -gt 0
if sp_wait_for "no session left" $((IDLE + 10)) no_sessions; then
	sp_pass "abandoned calls removed after dialog-idle-timeout ($((SECONDS - start)) s after the first INVITE)"
else
	sp_fail "abandoned calls removed after dialog-idle-timeout: $(sp_cli sp1 -c 'show sessions count' | head -1)"
fi
t1=$(timed_out)
check "show statistics: sessions timed out (${t1:-none})" test "${t1:-0}" -ge "$n"
# ---- INVITEs without a final answer: early dialogs, Timer C ----
start=$SECONDS
calls no_answer
n=$(sessions early)
echo "# after $N unanswered calls: $(sp_cli sp1 -c 'show sessions count' | head -1), RSS $(rss_kb) kB (before: $rss0 kB)"
check "unanswered calls are held early (${n:-none})" test "${n:-0}" -gt 0
if sp_wait_for "no session left" $((EARLY + 10)) no_sessions; then
	sp_pass "unanswered calls removed after dialog-early-timeout ($((SECONDS - start)) s after the first INVITE)"
else
	sp_fail "unanswered calls removed after dialog-early-timeout: $(sp_cli sp1 -c 'show sessions count' | head -1)"
fi
t2=$(timed_out)
check "show statistics: sessions timed out grew (${t1:-none} -> ${t2:-none})" test "${t2:-0}" -ge $((${t1:-0} + n))

echo "# at the end: RSS $(rss_kb) kB (before: $rss0 kB), sessions timed out $t2"

check "no limit dialog-*: the defaults back" sp_cli sp1 -c "configure terminal" -c "signaling-proxy" \
	-c "no limit dialog-early-timeout" -c "no limit dialog-idle-timeout"
check_no_match "running-config: no limit dialog-*" "limit dialog-" "$(sp_cli sp1 -c 'show running-config')"

sp_daemon_stop "$PID"
check_eq "SIGTERM: clean exit" 0 $?
lab_down
sp_done
