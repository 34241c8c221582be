#!/bin/bash
# signaling-port-range: the server-side ports c every binding takes on C come
# from the configured range (the registrar sees C:c in the Contact), a full
# range refuses a new terminal, a change that would leave a binding's c
# outside is refused and changes nothing, a range that keeps them is applied
# at once and the next binding takes a port of it; running-config shows it.
# After a restart with another range in the configuration file, the daemon
# starts (the table takes the configured range before the store is read),
# the binding whose c lies outside is not restored, a new one takes the new
# range.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd python3 nft

E=$LAB_E
C=$LAB_C
D1=$LAB_D1

lab_up_or_end
lab_sp_start --state-dir "$SP_TMP/state"
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "signaling-port-range 45100 45103" -c "limit source-new-bindings 0" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "a signaling-port-range is accepted" "" "$out"
check_match "running-config shows it" '^ signaling-port-range 45100 45103$' \
	"$(sp_cli sp1 -c 'show running-config')"
sp_wait_for "TPROXY rule in ns sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q tproxy"
lab_start_kamailio "$SRV1" "$D1" srv1 || { sp_fail "kamailio starts"; sp_done; exit 1; }

# c_of USER: the port of USER's Contact at the registrar (C:c)
c_of() {
	lab_kamailio_contacts srv1 | sed -nE "s/^$1 sip:$1@[0-9.]+:([0-9]+) .*/\\1/p" | head -1
}
in_range() { [ -n "$1" ] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

i=0
for ip in 10.1.0.10 10.1.0.11 10.1.0.12 10.1.0.13; do
	i=$((i + 1))
	check "terminal t$i ($ip) registers at E" lab_register "$TE" "$ip" 5060 "t$i" "$E"
	c=$(c_of "t$i")
	check "t$i's C:c ($C:$c) is in 45100-45103" in_range "$c" 45100 45103
done
# the range is full: a fifth terminal gets no binding
lab_register "$TE" 10.1.0.10 5070 t5 "$E" >/dev/null 2>&1
check_eq "a fifth terminal is not registered: the range's 4 ports are taken" "" "$(c_of t5)"
check_match "sigproxyd dropped its REGISTERs for want of a binding" 'no binding +[1-9]' \
	"$(sp_cli sp1 -c 'show statistics')"

out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "signaling-port-range 45200 45299" -c "end" 2>&1)
check_match "a range that leaves the bindings' c outside is refused" \
	'signaling-port-range 45200 45299: 4 server-side ports in use lie outside it' "$out"
check_match "... and running-config keeps the old one" '^ signaling-port-range 45100 45103$' \
	"$(sp_cli sp1 -c 'show running-config')"

out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "signaling-port-range 45100 45199" -c "end" 2>&1)
check_eq "a range that holds every binding's c is applied" "" "$out"
check "the fifth terminal registers now" lab_register "$TE" 10.1.0.10 5070 t5 "$E"
check "its C:c is a new port of the range (45104-45199)" in_range "$(c_of t5)" 45104 45199
check "t1 registers again on its own c" in_range "$(lab_register "$TE" 10.1.0.10 5060 t1 "$E" >/dev/null; c_of t1)" 45100 45103
check_eq "no IPv4 socket on C outside the range" "" \
	"$(ip netns exec "$SP" ss -Hnlu "src $C" | awk '{ n = split($4, a, ":"); p = a[n]; if (p < 45100 || p > 45199) print p }')"

sp_cli sp1 -c "write memory" >/dev/null
kill -TERM "$SP_DAEMON_PID"
sp_wait_for "sigproxyd exits" 10 sh -c "! kill -0 $SP_DAEMON_PID"
sed -i 's/signaling-port-range 45100 45199/signaling-port-range 45200 45299/' "$SP_TMP/sp1/sigproxy.conf"
check "sigproxyd starts with the store's bindings outside the new range" sp_daemon_start "$SP" sp1 --state-dir "$SP_TMP/state"
check_match "... and says why they are not restored" 'not restored \(port outside the configured range\)' \
	"$(cat "$SP_TMP/sp1/log")"
# a port outside the range is no binding's to take: nothing is held back
# for it (the log said 'quarantined' and held nothing)
check_match "... that their ports are not held" \
	'its port 451[0-9]{2} lies outside signaling-port-range: not held' "$(cat "$SP_TMP/sp1/log")"
check_no_match "... nor said to be quarantined" 'quarantined for' "$(cat "$SP_TMP/sp1/log")"
check_match "show persistence: the 5 discarded, no port quarantined" \
	'0 ports quarantined, 5 records discarded' "$(sp_cli sp1 -c 'show persistence')"
check "a terminal registers after the restart" lab_register "$TE" 10.1.0.11 5070 t6 "$E"
check "its C:c is in the new range" in_range "$(c_of t6)" 45200 45299

lab_down
sp_done
