#!/bin/bash
# Parallel networking (SPEC §3.2, issue 5): the SP hangs off the routers, which
# send only the terminals' SIP to it with policy routes programmed by their own
# sigproxyd; the SP (a second sigproxyd) proxies it to the server and, with
# `return-path learn`, answers each terminal back through the router it came
# through, although its routing table knows no terminal network at all.
#
#   te1 10.1.0.10-11 ---- r1 ----------------- srv 192.0.2.10 (D1, Kamailio)
#                          | 172.16.1.1/24
#                          | 172.16.1.2 (C)
#   te3 10.3.0.10 ------- sp   (serial: the SP is its gateway, 10.3.0.1)
#                          | 172.16.2.2
#                          | 172.16.2.1/24
#   te2 10.2.0.10 ---- r2
#
# E = 198.51.100.1 exists nowhere. sp routes only 192.0.2.0/28 (via r1).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd dumpcap tshark python3 nft

E=$LAB_E
D1=$LAB_D1
C=172.16.1.2

# par_link NS1 IF1 ADDR1 NS2 IF2 ADDR2: a veth between two namespaces
par_link() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4" &&
	ip -n "$1" addr add "$3" dev "$2" && ip -n "$1" link set "$2" up &&
	ip -n "$4" addr add "$6" dev "$5" && ip -n "$4" link set "$5" up
}

par_up() {
	local ns
	for ns in te1 te2 te3 r1 r2 sp srv; do sp_netns "$ns" >/dev/null || return 1; done
	TE1=$SP_TAG-te1 TE2=$SP_TAG-te2 TE3=$SP_TAG-te3 R1=$SP_TAG-r1 R2=$SP_TAG-r2
	SP=$SP_TAG-sp SRV=$SP_TAG-srv
	mkdir -p "$LAB_OUT"
	par_link "$TE1" eth0 10.1.0.10/24 "$R1" te 10.1.0.1/24 &&
	ip -n "$TE1" addr add 10.1.0.11/24 dev eth0 &&
	par_link "$TE2" eth0 10.2.0.10/24 "$R2" te 10.2.0.1/24 &&
	par_link "$TE3" eth0 10.3.0.10/24 "$SP" te 10.3.0.1/24 &&
	par_link "$R1" srv 192.0.2.1/28 "$SRV" eth0 "$D1/28" &&
	par_link "$R1" sp 172.16.1.1/24 "$SP" r1 "$C/24" &&
	par_link "$R2" sp 172.16.2.1/24 "$SP" r2 172.16.2.2/24 || return 1
	ip -n "$TE1" route add default via 10.1.0.1 &&
	ip -n "$TE2" route add default via 10.2.0.1 &&
	ip -n "$TE3" route add default via 10.3.0.1 &&
	ip -n "$SRV" route add default via 192.0.2.1 &&
	ip -n "$SP" route add 192.0.2.0/28 via 172.16.1.1 || return 1
	for ns in "$R1" "$R2" "$SP"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 || return 1
	done
	# The SP receives te2's SIP on its r2 link with no route back there (and
	# answers as E): no reverse path filtering on the SP.
	for ns in all default r1 r2 te; do
		ip netns exec "$SP" sysctl -qw "net.ipv4.conf.$ns.rp_filter=0" || return 1
	done
}

par_up || { sp_fail "namespaces and links"; sp_done; exit 1; }
sp_pass "namespaces and links"

# ---- the routers: only policy routes ----
sp_daemon_start "$R1" r1 --cli-listen none --agentx /nonexistent ||
	{ sp_fail "sigproxyd starts on r1"; cat "$SP_TMP/r1/log"; sp_done; exit 1; }
R1_PID=$SP_DAEMON_PID
sp_daemon_start "$R2" r2 --cli-listen none --agentx /nonexistent ||
	{ sp_fail "sigproxyd starts on r2"; cat "$SP_TMP/r2/log"; sp_done; exit 1; }
R2_PID=$SP_DAEMON_PID
sp_pass "sigproxyd runs on both routers"

out=$(sp_cli r1 -c "configure terminal" -c "policy-route to-sp seq 10" -c "match source 10.1.0.0/24" \
	-c "match protocol udp" -c "match destination-port 5060" -c "set next-hop $C" -c "end" 2>&1)
check_eq "r1: the policy route is accepted" "" "$out"
out=$(sp_cli r2 -c "configure terminal" -c "policy-route to-sp seq 10" -c "match source 10.2.0.0/24" \
	-c "match protocol udp" -c "match destination-port 5060" -c "set next-hop 172.16.2.2" -c "end" 2>&1)
check_eq "r2: the policy route is accepted" "" "$out"

R1_RULE="1010:	from 10.1.0.0/24 ipproto udp dport 5060 lookup 100010 proto 160"
# (the engine's interception rule, priority 100, is there too: a router's
# sigproxyd is the same daemon)
check_eq "r1: ip rule" "$R1_RULE" "$(ip -n "$R1" rule show | grep 'lookup 100010')"
check_eq "r1: ip route show table 100010" "default via $C dev sp proto 160" \
	"$(ip -n "$R1" route show table 100010 | sed 's/ *$//')"
check_eq "r1: no IPv6 rule for an IPv4 entry" "" "$(ip -n "$R1" -6 rule show | grep 'proto 160')"
show=$(sp_cli r1 -c "show policy-route")
check_match "r1: show policy-route says installed" "^policy-route to-sp seq 10: installed" "$show"
check_match "r1: show policy-route shows the kernel rule" "kernel: ip rule pref 1010 .*lookup 100010" "$show"
check_match "r2: ip rule" "^1010:.*from 10\\.2\\.0\\.0/24 ipproto udp dport 5060 lookup 100010 proto 160" \
	"$(ip -n "$R2" rule show)"
check_match "r1: the kernel routes a terminal's SIP to the SP" "via ${C//./\\.} dev sp" \
	"$(ip -n "$R1" route get "$E" from 10.1.0.10 iif te ipproto udp dport 5060 2>&1)"

# ---- the SP ----
sp_daemon_start "$SP" sp --cli-listen none --agentx /nonexistent ||
	{ sp_fail "sigproxyd starts on sp"; cat "$SP_TMP/sp/log"; sp_done; exit 1; }
SP_PID=$SP_DAEMON_PID
out=$(sp_cli sp -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "return-path learn" \
	-c "proxy-strategy par1 seq 10" -c "match source 10.1.0.0/24" -c "match destination $E/32 port 5060" \
	-c "server $D1" -c "action proxy" \
	-c "proxy-strategy par2 seq 20" -c "match source 10.2.0.0/24" -c "match destination $E/32 port 5060" \
	-c "server $D1" -c "action proxy" \
	-c "proxy-strategy serial seq 30" -c "match source 10.3.0.0/24" -c "match destination $E/32 port 5060" \
	-c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "sp: the strategies are accepted" "" "$out"
sp_wait_for "TPROXY rule on sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q tproxy"
lab_start_kamailio "$SRV" "$D1" srv || { sp_fail "kamailio starts"; sp_done; exit 1; }

R1SP_PCAP=$LAB_OUT/r1-sp.pcap
R1SRV_PCAP=$LAB_OUT/r1-srv.pcap
R2SP_PCAP=$LAB_OUT/r2-sp.pcap
lab_capture_start "$R1" sp "$R1SP_PCAP" "udp or icmp or tcp" || sp_fail "capture on r1's SP link"
lab_capture_start "$R1" srv "$R1SRV_PCAP" "udp or icmp or tcp" || sp_fail "capture on r1's server link"
lab_capture_start "$R2" sp "$R2SP_PCAP" "udp or icmp or tcp" || sp_fail "capture on r2's SP link"

check "alice (te1 10.1.0.10, behind r1) registers at E" lab_register "$TE1" 10.1.0.10 5060 alice "$E"
check "carol (te2 10.2.0.10, behind r2) registers at E" lab_register "$TE2" 10.2.0.10 5060 carol "$E"
check "sam (te3 10.3.0.10, serial) registers at E" lab_register "$TE3" 10.3.0.10 5060 sam "$E"
contacts=$(lab_kamailio_contacts srv)
for u in alice carol sam; do
	check_match "D1 has $u at C:c" "^$u sip:$u@${C//./\\.}:[0-9]+ " "$contacts"
done
if lab_callee_start "$TE1" 10.1.0.11 5060 bob "$E" 1 uas.xml; then
	lab_call "$TE2" 10.2.0.10 5062 bob "$E" uac.xml -d 200
	rc=$?
	lab_sipp_wait "$LAB_SIPP_PID"
	check_eq "a call carol (r2) -> bob (r1) through the SP" "0 0" "$rc $?"
else
	sp_fail "bob (te1 10.1.0.11) registers"
fi
rules=$(ip -n "$SP" rule show)
check_match "sp: a return-path rule for the way through r1" "^200:.*fwmark 0x2[0-9a-f]{7}/0x20ff0000 lookup 5061" "$rules"
routes=$(for t in $(printf '%s\n' "$rules" | sed -nE 's/^200:.*lookup ([0-9]+).*/\1/p'); do
	ip -n "$SP" route show table "$t"; done)
check_match "sp: learned: default via r1 on r1's link" "^default via 172\\.16\\.1\\.1 dev r1" "$routes"
check_match "sp: learned: default via r2 on r2's link" "^default via 172\\.16\\.2\\.1 dev r2" "$routes"
check_match "sp: learned: the serial terminal itself" "^default via 10\\.3\\.0\\.10 dev te" "$routes"

# ---- non-SIP traffic from the same terminals goes straight ----
check "te1: non-SIP UDP to D1:7000" ip netns exec "$TE1" python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.1.0.10", 0))
for _ in range(3): s.sendto(b"not sip", (sys.argv[1], 7000))' "$D1"
check "te1: a TCP connection attempt to D1:8080" ip netns exec "$TE1" python3 -c 'import socket, sys
s = socket.socket()
s.bind(("10.1.0.10", 0))
s.settimeout(2)
try: s.connect((sys.argv[1], 8080))
except ConnectionRefusedError: pass' "$D1"
sleep 0.3
lab_capture_stop

r1sp=$(lab_pcap_table "$R1SP_PCAP")
r2sp=$(lab_pcap_table "$R2SP_PCAP")
r1srv=$(lab_pcap_table "$R1SRV_PCAP")
ends1=$(lab_pcap_endpoints "$R1SP_PCAP")
ends2=$(lab_pcap_endpoints "$R2SP_PCAP")
check_match "r1-sp: alice's REGISTER to E crossed the SP link" "^10\\.1\\.0\\.10:5060 > ${E//./\\.}:5060\$" "$ends1"
check_match "r1-sp: E's answers to alice came back through r1" "^${E//./\\.}:5060 > 10\\.1\\.0\\.10:5060\$" "$ends1"
check_match "r1-sp: C talks to D1" "^${C//./\\.}:[0-9]+ > ${D1//./\\.}:5060\$" "$ends1"
check_match "r2-sp: carol's REGISTER to E crossed r2's SP link" "^10\\.2\\.0\\.10:5060 > ${E//./\\.}:5060\$" "$ends2"
check_match "r2-sp: E's answers to carol came back through r2" "^${E//./\\.}:5060 > 10\\.2\\.0\\.10:5060\$" "$ends2"
check_no_match "r1-sp: nothing to or from carol (r2's terminal)" "10\\.2\\.0\\.10" \
	"$(lab_pcap_addresses "$R1SP_PCAP" all)"
check_no_match "r2-sp: nothing to or from alice and bob (r1's terminals)" "10\\.1\\.0\\.1[01]" \
	"$(lab_pcap_addresses "$R2SP_PCAP" all)"
check_no_match "r1-sp: nothing of the serial terminal" "10\\.3\\.0\\." "$(lab_pcap_addresses "$R1SP_PCAP" all)$(lab_pcap_addresses "$R2SP_PCAP" all)"
check_eq "r1-sp: the non-SIP UDP did not cross it" 0 \
	"$(printf '%s\n' "$r1sp" | awk -F '\t' '$6 == 7000' | grep -c .)"
check_eq "r1-sp: the TCP did not cross it" 0 "$(lab_pcap_count "$R1SP_PCAP" "tcp.port == 8080")"
check_eq "r1-srv: the non-SIP UDP went straight to D1" 3 \
	"$(printf '%s\n' "$r1srv" | awk -F '\t' '$3 == "10.1.0.10" && $6 == 7000' | grep -c .)"
check "r1-srv: the TCP went straight to D1" \
	test "$(lab_pcap_count "$R1SRV_PCAP" "tcp.dstport == 8080 && ip.src == 10.1.0.10")" -ge 1
check_no_match "r1-srv: no terminal SIP went straight to the server" "^10\\.1\\.0\\." \
	"$(lab_pcap_endpoints "$R1SRV_PCAP")"
: "$r2sp"

# ---- return-path default-gateway: every answer to a terminal through r1 ----
out=$(sp_cli sp -c "configure terminal" -c "signaling-proxy" -c "return-path default-gateway 10.9.9.9" 2>&1)
check_eq "sp: a default gateway not on a connected network is refused" \
	"% return-path: next hop 10.9.9.9 is not on a connected network" "$out"
check_match "sp: ... and the learned paths stay" "^default via 172\\.16\\.2\\.1 dev r2" \
	"$(ip -n "$SP" route show table all | grep 'proto 160')"
check "sp: return-path default-gateway 172.16.1.1" sp_cli sp -c "configure terminal" -c "signaling-proxy" \
	-c "return-path default-gateway 172.16.1.1"
check_eq "sp: one mark rule, to the default gateway's table" \
	"200:	from all fwmark 0x20000000/0x20ff0000 lookup 5061000 proto 160" \
	"$(ip -n "$SP" rule show | grep '^200:')"
check_eq "sp: ... whose route is the default gateway" "default via 172.16.1.1 dev r1 proto 160" \
	"$(ip -n "$SP" route show table 5061000 | sed 's/ *$//')"
check "alice (behind r1) registers through the default gateway" lab_register "$TE1" 10.1.0.10 5060 alice "$E"
# r1 has no route to r2's terminals: carol's answers are lost there
# quick_register ARGS...: lab_register, giving up after 1.5 s without an answer
quick_register() {
	local LAB_SIPP_RECV_TIMEOUT=1500 LAB_SIPP_TIMEOUT=4
	lab_register "$@"
}
check_fails "carol (behind r2) gets no answer through r1" quick_register "$TE2" 10.2.0.10 5060 carol "$E"
check "sp: back to return-path learn" sp_cli sp -c "configure terminal" -c "signaling-proxy" -c "return-path learn"
check "carol registers again through r2" lab_register "$TE2" 10.2.0.10 5060 carol "$E"

# ---- bad input on r1: refused with a clear error, nothing changed ----
RULES_BEFORE=$(ip -n "$R1" rule show; ip -n "$R1" route show table all | grep 'proto 160')
out=$(sp_cli r1 -c "configure terminal" -c "policy-route bad seq 20" -c "match source 10.1.0.0/24" \
	-c "set next-hop 10.9.9.9" 2>&1)
check_eq "r1: a next hop not on a connected network (yet) is accepted" "" "$out"
check_match "r1: ... not installed, with the reason" \
	"policy-route bad seq 20: not installed: next hop 10.9.9.9 is not on a connected network" \
	"$(sp_cli r1 -c 'show policy-route bad')"
out=$(sp_cli r1 -c "configure terminal" -c "policy-route other seq 10" 2>&1)
check_match "r1: an overlapping sequence number is refused" "^% Sequence number 10 is already used by policy-route to-sp" "$out"
out=$(sp_cli r1 -c "configure terminal" -c "policy-route iif seq 30" -c "match input-interface nosuch0" \
	-c "set table 300" 2>&1)
check_eq "r1: an input interface not there (yet) is accepted" "" "$out"
check_match "r1: ... not installed, with the reason" \
	"policy-route iif seq 30: not installed: input interface nosuch0 does not exist" \
	"$(sp_cli r1 -c 'show policy-route iif')"
check_eq "r1: rules and routes unchanged" "$RULES_BEFORE" \
	"$(ip -n "$R1" rule show; ip -n "$R1" route show table all | grep 'proto 160')"
check "r1: the inactive leftovers removed" sp_cli r1 -c "configure terminal" -c "no policy-route bad" \
	-c "no policy-route iif"

# ---- removing the policy route removes its rule and route ----
check "r1: no policy-route to-sp" sp_cli r1 -c "configure terminal" -c "no policy-route to-sp"
check_eq "r1: the rule is gone" "" "$(ip -n "$R1" rule show | grep 'lookup 100010')"
check_eq "r1: the route is gone" "" "$(ip -n "$R1" route show table 100010)"
check_match "r2: its own policy route stays" "lookup 100010 proto 160" "$(ip -n "$R2" rule show)"

# ---- SIGTERM removes everything ----
sp_daemon_stop "$R2_PID"
check_eq "r2: sigproxyd exits 0 on SIGTERM" 0 $?
check_eq "r2: no rule left" "" "$(ip -n "$R2" rule show | grep 'proto 160')"
check_eq "r2: no route left" "" "$(ip -n "$R2" route show table all | grep 'proto 160')"
sp_daemon_stop "$SP_PID"
check_eq "sp: sigproxyd exits 0 on SIGTERM" 0 $?
check_eq "sp: no return-path rule left" "" "$(ip -n "$SP" rule show | grep 'proto 160')"
check_eq "sp: no return-path route left" "" "$(ip -n "$SP" route show table all | grep 'proto 160')"
sp_daemon_stop "$R1_PID"
check_eq "r1: sigproxyd exits 0 on SIGTERM" 0 $?
check_eq "r1: no rule left" "" "$(ip -n "$R1" rule show | grep 'proto 160')"
lab_down
sp_done
