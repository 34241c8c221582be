#!/bin/bash
# signaling-sockets shared (issue 21) holds more UDP bindings than the
# daemon's descriptor limit: sigproxyd's limit is lowered (prlimit, which
# needs no privilege to lower) to a few hundred descriptors, then more
# terminals than that register through E, each from its own port (SIPp -t
# un): every one is answered 200 and holds a binding with its own C:c, while
# the daemon's open descriptors stay where they were. Switched back to a
# socket per binding, the same bindings cannot all have one (the limit): the
# log says so and fewer sockets are bound to C than there are bindings.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd prlimit ss nft

E=$LAB_E
C=$LAB_C
D1=$LAB_D1

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
# (SP_WORKERS applies: with workers, a shared socket per worker)
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts in ns sp"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
SPD_PID=$SP_DAEMON_PID
sp_pass "sigproxyd starts in ns sp"
lab_start_kamailio "$SRV1" "$D1" srv1 || { sp_fail "kamailio #1 starts"; sp_done; exit 1; }

# the per-source limits are for terminals: here one address is hundreds
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "limit source-rate 0" -c "limit source-new-bindings 0" -c "limit source-bindings 0" \
	-c "signaling-sockets shared" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "shared sockets and a strategy are accepted" "" "$out"
sp_wait_for "the server-side TPROXY rule in ns sp" 5 \
	sh -c "ip netns exec '$SP' nft list chain inet sigproxy server_side 2>/dev/null | grep -q tproxy"
check_match "running-config says signaling-sockets shared" '^ signaling-sockets shared$' \
	"$(sp_cli sp1 -c 'show running-config')"

# open_fds: the daemon's open descriptors; max_fd: the highest of them
open_fds() { ls "/proc/$SPD_PID/fd" | wc -l; }
max_fd() { ls "/proc/$SPD_PID/fd" | sort -n | tail -n 1; }
FDS0=$(open_fds)
LIMIT=$(( $(max_fd) + 100 ))
N=$(( LIMIT + 300 ))
check "the daemon's descriptor limit lowered to $LIMIT" prlimit --pid "$SPD_PID" --nofile="$LIMIT:$LIMIT"
check_eq "... and in force" "$LIMIT" "$(prlimit --pid "$SPD_PID" --nofile -o HARD --noheadings | tr -d ' ')"

# N terminals on 10.1.0.10, one port each (a socket per call: -t un)
lab_sipp "$TE" many -sf "$LAB_SIPP_DIR/register.xml" -t un -max_socket 2000 -i 10.1.0.10 -s alice \
	-m "$N" -r 200 -l 100 "$E:5060"
rc=$?
check_eq "$N terminals register through E (more than the limit of $LIMIT descriptors)" "0 $N" \
	"$rc $(lab_sipp_successful many)"
[ "$rc" = 0 ] || lab_sipp_log many
bindings=$(sp_cli sp1 -c 'show bindings' | grep -c '10\.1\.0\.10:')
# (SIPp's ports come from the kernel: a port freed may come again, a
# re-registration of one binding)
check "show bindings: more bindings of 10.1.0.10 than the limit ($bindings > $LIMIT)" test "$bindings" -gt "$LIMIT"
check_eq "each with its own C:c" "$bindings" "$(sp_cli sp1 -c 'show bindings' |
	grep '10\.1\.0\.10:' | grep -oE "${C//./\\.}:[0-9]+" | sort -u | wc -l)"
fds=$(open_fds)
check "the daemon's descriptors stay put ($FDS0 -> $fds, limit $LIMIT)" test "$fds" -le $((FDS0 + 10))
check_eq "no UDP socket bound to C" "" "$(ip netns exec "$SP" ss -Hnua "src $C")"
# a datagram from the server to a C:c no binding holds: no socket there
# to refuse it, so sigproxyd drops it and counts it (no binding)
used=$(sp_cli sp1 -c 'show bindings' | grep -oE "${C//./\\.}:[0-9]+" | cut -d: -f2)
free=$(seq 40000 49999 | grep -vxF -f <(printf '%s\n' $used) | tail -n 1)
nb0=$(lab_stat sp1 "no binding")
ip netns exec "$SRV1" python3 -c "import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'OPTIONS sip:x@$C:$free SIP/2.0\r\n\r\n', ('$C', $free))"
check "a datagram to C:$free (no binding) is dropped and counted as no binding ($nb0 -> +1)" \
	sp_wait_for "no binding counted" 5 sh -c "[ \"\$($SPCLI -s $SP_TMP/sp1/cli.sock -c 'show statistics' | sed -nE 's/^ *no binding *([0-9]+)/\\1/p')\" = $((nb0 + 1)) ]"
check "sigproxyd is still running" kill -0 "$SPD_PID"

# A socket per binding again: the limit does not let every binding have one.
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "signaling-sockets per-binding" -c "end" 2>&1)
check_eq "signaling-sockets per-binding is accepted" "" "$out"
sp_wait_for "the bindings move" 10 grep -q "signaling sockets per binding" "$SP_TMP/sp1/log"
check_match "... the log says some are without a socket" \
	"signaling sockets per binding: [0-9]+ bindings moved, some without a socket" "$(cat "$SP_TMP/sp1/log")"
bound=$(ip netns exec "$SP" ss -Hnua "src $C" | grep -c .)
check "per binding: fewer sockets on C ($bound) than bindings ($bindings)" test "$bound" -lt "$bindings"
check "sigproxyd is still running" kill -0 "$SPD_PID"

lab_stop_kamailio srv1
kill -TERM "$SPD_PID"
wait "$SPD_PID" 2>/dev/null
check_eq "sigproxyd exits 0 on SIGTERM" 0 $?
lab_down
check_eq "no stray processes" "" "$(lab_stray_processes)"
sp_done
