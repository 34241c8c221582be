#!/bin/bash
# IPv6 (issue 18), serial mode: the lab in dual stack (lab6.sh). Terminals
# in 2001:db8:1::/64 send to E6 = 2001:db8:5::1, which exists nowhere;
# sigproxyd intercepts it (TPROXY for ip6, IPV6_TRANSPARENT and
# IPV6_RECVORIGDSTADDR on the listener, an ip -6 fwmark rule) and proxies it
# to Kamailio D1 listening on IPv6, from the IPv6 C = 2001:db8:2::1 with one
# port c per terminal; answers leave as E6 (IPV6_PKTINFO). An IPv4 terminal
# goes on through the same SP with the IPv4 C at the same time. Checked:
# the configuration's install states and reasons, the kernel's ip6 rules,
# the return path learned from the IPv6 neighbour table, registrations, calls (both hang-ups, a re-INVITE), a call whose RTP the
# kernel carries both ways through IPv6 conntrack NAT entries (E6:pe <->
# C6:pc), the bracketed hosts and c=IN IP6 on the wire, and the malformed
# corpus (IPv6 literals among it) dropped and counted, the IPv6 bindings
# kept across a restart (the store on disk), and E6 as a
# local-virtual-address, and the CLI's TCP listener answering on IPv6.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/lab6.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd dumpcap tshark python3 nft conntrack
sp_require_files /usr/share/sip-tester/g711a.pcap

E6=$LAB6_E
C6=$LAB6_C
D6=$LAB6_D1
A6=${LAB6_TE_NET}10 # alice
B6=${LAB6_TE_NET}11 # bob
M6=${LAB6_TE_NET}12 # mallory

lab6_up || { sp_fail "dual-stack lab namespaces and links"; sp_done; exit 1; }
STATE=$SP_TMP/state
# the CLI's TCP listener on IPv6 too (management reachable on IPv6)
sp_daemon_start "$SP" sp1 --state-dir "$STATE" --cli-listen "[::]:2650" ||
	{ sp_fail "sigproxyd starts in ns sp"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
sp_pass "sigproxyd starts in ns sp"
WORKERS=$(sp_workers sp1)

# cli_prompt_over_ipv6 ADDR: what the CLI's TCP listener says first to a
# client in ns te connecting to [ADDR]:2650
cli_prompt_over_ipv6() {
	ip netns exec "$TE" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 2650), timeout=5)
s.settimeout(5)
data = b""
while b"Username:" not in data:
	d = s.recv(4096)
	if not d:
		break
	data += d
print(data.decode(errors="replace"))
' "$1" 2>&1
}
check_match "the CLI answers a login prompt over IPv6 ([2001:db8:1::1]:2650)" "Username:" \
	"$(cli_prompt_over_ipv6 2001:db8:1::1)"

# stat LABEL: the first counter of `show statistics` starting with LABEL
stat() {
	sp_cli sp1 -c 'show statistics' |
		sed -nE "s/^[[:space:]]*$1[[:space:]:.=]*([0-9]+).*/\\1/Ip" | head -1
}
# strategy_state NAME: the line `show proxy-strategy NAME` starts with
strategy_state() {
	sp_cli sp1 -c "show proxy-strategy $1" | head -1
}

# wildcard6_sockets: the UDP sockets in ns sp bound to [::] (any IPv6
# address), as ss lists them
wildcard6_sockets() {
	ip netns exec "$SP" ss -Hnlu | awk '$4 ~ /^\[::\]:/'
}

# ---- an IPv4-only configuration: no [::] listener ----
# (E is IPv4 only until there is an IPv6 C: nothing IPv6 would reach a
# [::]:5060 socket, so none is opened)
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $LAB_C" \
	-c "proxy-strategy four seq 20" -c "match source 10.1.0.0/24" \
	-c "match destination $LAB_E/32 port 5060" -c "server $LAB_D1" -c "action proxy" -c "end" 2>&1)
check_eq "an IPv4-only configuration accepted" "" "$out"
sp_wait_for "the IPv4 listener on 0.0.0.0:5060" 5 lab_bound "$SP" 0.0.0.0 5060
check "the IPv4 listener on 0.0.0.0:5060" lab_bound "$SP" 0.0.0.0 5060
check_eq "ss: no [::] UDP socket with an IPv4-only configuration" "" \
	"$(wildcard6_sockets)"

# ---- configuration: one C per family, IPv6 strategies, their reasons ----
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $LAB_C" \
	-c "server-side-address $C6" -c "media-port-range 20000 20099" \
	-c "proxy-strategy six seq 10" -c "match source ${LAB6_TE_NET}/64" \
	-c "match destination $E6/128 port 5060" -c "server $D6" -c "action proxy" \
	-c "proxy-strategy four seq 20" -c "match source 10.1.0.0/24" \
	-c "match destination $LAB_E/32 port 5060" -c "server $LAB_D1" -c "action proxy" \
	-c "proxy-strategy mixed seq 30" -c "match destination 2001:db8:6::/64" \
	-c "server $LAB_D1" -c "action proxy" -c "end" 2>&1)
check_eq "IPv6 addresses and prefixes accepted by the CLI" "" "$out"
# SP_SIGNALING_SOCKETS=shared (test_ipv6_shared.sh): the same with one
# shared server-side socket per family instead of a socket per binding
if [ -n "${SP_SIGNALING_SOCKETS:-}" ]; then
	check_eq "signaling-sockets $SP_SIGNALING_SOCKETS is accepted" "" "$(sp_cli sp1 -c "configure terminal" \
		-c "signaling-proxy" -c "signaling-sockets $SP_SIGNALING_SOCKETS" -c "end" 2>&1)"
fi
if [ "${SP_SIGNALING_SOCKETS:-}" = shared ] && [ "$WORKERS" -gt 1 ]; then
	# (test_ipv6_shared_workers.sh) a shared socket per worker, picked by
	# the sk_lookup program by c's owner: no TPROXY rule to C
	check_eq "shared with $WORKERS workers: no TPROXY rule for C's ports" "" \
		"$(ip netns exec "$SP" nft list chain inet sigproxy server_side 2>/dev/null)"
elif [ "${SP_SIGNALING_SOCKETS:-}" = shared ]; then
	sp_wait_for "the IPv6 server-side TPROXY rule" 5 sh -c \
		"ip netns exec '$SP' nft list chain inet sigproxy server_side 2>/dev/null | grep -q 'ip6 daddr'"
	check_match "shared: servers' datagrams to the IPv6 C go to one socket (TPROXY)" \
		"ip6 daddr $C6 udp dport 40000-49999 tproxy ip6 to :[0-9]+" \
		"$(ip netns exec "$SP" nft list chain inet sigproxy server_side)"
fi
run=$(sp_cli sp1 -c "show running-config")
check_match "running-config: the IPv4 C" "^ server-side-address ${LAB_C//./\\.}\$" "$run"
check_match "running-config: the IPv6 C" "^ server-side-address $C6\$" "$run"
check_match "running-config: the IPv6 match" "^ match destination $E6/128 port 5060\$" "$run"
check_match "running-config: the IPv6 server" "^ server $D6( port 5060)?\$" "$run"
check_match "strategy six installed" "six seq 10: installed" "$(strategy_state six)"
check_match "strategy four installed beside it" "four seq 20: installed" "$(strategy_state four)"
check_match "an IPv6 match with an IPv4 server: not installed, with the reason" \
	"mixed seq 30: not installed.*matches IPv6 but its server is IPv4" "$(strategy_state mixed)"
sp_wait_for "ip6 TPROXY rule in ns sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q 'tproxy ip6 to :5060'"
check_match "nft: E6 intercepted with TPROXY for ip6" "ip6 daddr $E6 .*tproxy ip6 to :5060" \
	"$(ip netns exec "$SP" nft list chain inet sigproxy intercept)"
check_match "ip -6 rule: the fwmark rule to the local table" "fwmark .* lookup 5060" \
	"$(ip -n "$SP" -6 rule show)"
check_match "ip -6 route: the local default route" "^local default dev lo" \
	"$(ip -n "$SP" -6 route show table 5060)"
check "the listener has an IPv6 socket on [::]:5060 once there is an IPv6 C" lab_bound "$SP" "::" 5060

# one Kamailio, D1, on both families
lab6_start_kamailio "$SRV1" "$D6" srv1 -l "udp:$LAB_D1:5060" --alias="$LAB_E" ||
	{ sp_fail "kamailio on IPv6 starts"; sp_done; exit 1; }

TE_PCAP=$LAB_OUT/te-sp6.pcap
SRV_PCAP=$LAB_OUT/sp-srv6.pcap
lab_capture_start "$SP" "$LAB_SP_TE_IF" "$TE_PCAP" "$LAB6_SIP_FILTER" || sp_fail "capture on te-sp"
lab_capture_start "$SP" "$LAB_SP_SRV1_IF" "$SRV_PCAP" "$LAB6_SIP_FILTER" || sp_fail "capture on sp-srv1"

# ---- registrations over IPv6 ----
check "alice ($A6) registers at E6" lab_register "$TE" "$A6" 5060 alice "$E6"
check "bob ($B6) registers at E6" lab_register "$TE" "$B6" 5060 bob "$E6"
loc=$(lab_kamailio_contacts srv1)
check_match "D1 has alice at [C6]:c" "^alice sip:alice@\\[$C6\\]:[0-9]+ " "$loc"
check_match "D1 has bob at [C6]:c" "^bob sip:bob@\\[$C6\\]:[0-9]+ " "$loc"
check_no_match "D1 has no terminal address" "@\\[${LAB6_TE_NET}" "$loc"
check_match "show bindings: alice as [C6]:c" "\\[$A6\\]:5060.*\\[$C6\\]:4[0-9]{4}" \
	"$(sp_cli sp1 -c 'show bindings')"
# return-path learn (the default): the previous hop of alice's frames,
# from the IPv6 neighbour table over rtnetlink, is where answers go back
rules=$(ip -n "$SP" -6 rule show)
check_match "ip -6 rule: a learned return path (fwmark 0x20..0000)" \
	"fwmark 0x20[0-9a-f]{2}0000/0x20ff0000 lookup 50610[0-9]{2}" "$rules"
rtable=$(printf '%s\n' "$rules" | sed -nE 's/.*fwmark 0x20[0-9a-f]{2}0000\/0x20ff0000 lookup (50610[0-9]{2}).*/\1/p' | head -1)
# (alice's host: her address, or another of its addresses with her MAC the
# SP's neighbour table learned first)
check_match "... its table: back via alice's host on the terminal link" \
	"^default via (${LAB6_TE_NET}[0-9a-f]+|fe80::[0-9a-f:]+) dev $LAB_SP_TE_IF" \
	"$(ip -n "$SP" -6 route show table "${rtable:-0}" 2>&1)"
check "an IPv4 terminal registers through the same SP (dual stack)" \
	lab_register "$TE" 10.1.0.13 5060 erin "$LAB_E"
check_match "D1 has erin at the IPv4 C:c" "^erin sip:erin@${LAB_C//./\\.}:[0-9]+ " \
	"$(lab_kamailio_contacts srv1)"

# ---- calls over IPv6 ----
# expect_call DESC CALLEE-SCENARIO CALLER-SCENARIO: bob answers a call from
# alice, both through E6
expect_call() {
	lab_expect_call "$1" "$E6" "$A6" "$B6" "$2" "$3"
}
expect_call "IPv6 call alice->bob, caller hangs up" uas.xml uac.xml
expect_call "IPv6 call, callee hangs up" uas_bye.xml uac_wait_bye.xml
expect_call "IPv6 re-INVITE (hold) in a call" uas.xml uac_reinvite.xml
# shared sockets: every answer of D1 found its binding on the worker its
# datagram came to (one on another worker's socket counts as no binding);
# with 2 workers, alice (worker 0) and bob (worker 1) each read D1's answers
# (the steering hash's picks for 2; other counts may put both on one)
shared_checks() {
	[ "${SP_SIGNALING_SOCKETS:-}" = shared ] || return 0
	check_eq "shared: no server datagram without its binding ($1)" 0 "$(stat 'no binding')"
	[ "$WORKERS" -eq 2 ] || return 0
	sp_cli sp1 -c "show statistics" >"$SP_TMP/statistics"
	for w in 0 1; do
		n=$(awk -v w="$w" '$1 == "worker" && $2 == w { print $8 }' "$SP_TMP/statistics")
		check "shared: worker $w read from servers (${n:-none}, $1)" test "${n:-0}" -gt 0
	done
}
shared_checks "after the calls"
# shared sockets: the raw sockets that send from C:c receive nothing. An
# unbound raw UDP socket gets a clone of every UDP datagram delivered in the
# namespace (a control one here shows it); sigproxyd's are bound where the
# kernel delivers nothing (0.0.0.1, ff00::1: the kernel's match fails before
# any clone), and after all this test's UDP their queues and drops are 0.
# raw_rows: sigproxyd's rows of /proc/net/raw and raw6 in ns sp (fields: 2
# local address, 5 tx_queue:rx_queue, 10 inode, 13 drops)
raw_rows() {
	local inodes
	inodes=$(ls -l "/proc/$SP_DAEMON_PID/fd" 2>/dev/null | sed -nE 's/.*socket:\[([0-9]+)\]$/\1/p')
	ip netns exec "$SP" cat /proc/net/raw /proc/net/raw6 |
		awk -v list="$inodes" 'BEGIN { n = split(list, a, " "); for (i = 1; i <= n; i++) s[a[i]] = 1 } $10 in s'
}
raw_checks() {
	[ "${SP_SIGNALING_SOCKETS:-}" = shared ] || return 0
	local rows
	check_eq "control: an unbound raw UDP socket in ns sp gets a clone of a local datagram" True \
		"$(ip netns exec "$SP" python3 -c "import socket
c = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP); c.settimeout(2)
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', 9))
print(len(c.recv(100)) > 0)" 2>&1)"
	rows=$(raw_rows)
	check_eq "shared: sigproxyd's raw sockets, one per family per worker ($1)" $((2 * WORKERS)) \
		"$(grep -c . <<<"$rows")"
	check_eq "... each bound where the kernel delivers nothing: 0.0.0.1, ff00::1 ($1)" "" \
		"$(awk '$2 !~ /^(01000000|000000FF000000000000000001000000):0011$/' <<<"$rows")"
	check_eq "... none holds or dropped a clone of the namespace's UDP: rx_queue 0, drops 0 ($1)" "" \
		"$(awk '{ split($5, q, ":") } q[2] != "00000000" || $13 != 0' <<<"$rows")"
}
raw_checks "after the calls"

# ---- a REGISTER above the MTU ----
# big_register NS IP PORT USER SERVER: USER registers from IP:PORT with a
# REGISTER of over 3000 bytes (an X-Pad header) and gets its 200. What E
# forwards leaves from C:c (with shared sockets the raw socket's send) over
# a link of MTU 1500: the kernel fragments it, or D1 never sees it.
big_register() {
	ip netns exec "$1" python3 - "$2" "$3" "$4" "$5" <<'PY'
import socket, sys
ip, port, user, srv = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
h = lambda a: "[%s]" % a if ":" in a else a
s = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((ip, port))
s.settimeout(2)
msg = ("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK-big%d;rport\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:%s@%s>;tag=big\r\nTo: <sip:%s@%s>\r\nCall-ID: big-%s\r\n"
       "CSeq: 1 REGISTER\r\nContact: <sip:%s@%s:%d>\r\nExpires: 300\r\nX-Pad: %s\r\n"
       "Content-Length: 0\r\n\r\n") % (h(srv), h(ip), port, port, user, h(srv), user, h(srv), user,
                                       user, h(ip), port, "p" * 3000)
for attempt in range(3):
    s.sendto(msg.encode(), (srv, 5060))
    try:
        while True:
            first = s.recv(70000).decode(errors="replace").split("\r\n")[0]
            if not first.startswith("SIP/2.0 1"):
                print(first)
                sys.exit(0)
    except socket.timeout:
        pass
print("no answer")
PY
}
check_eq "the sp-srv1 link's MTU is 1500" 1500 "$(ip -n "$SP" -o link show "$LAB_SP_SRV1_IF" | sed -nE 's/.* mtu ([0-9]+) .*/\1/p')"
check_eq "a REGISTER of over 3000 bytes over IPv4 gets its 200 (fragmented from C)" "SIP/2.0 200 OK" \
	"$(big_register "$TE" 10.1.0.13 5071 big4 "$LAB_E")"
check_eq "the same over IPv6 (fragmented from C6)" "SIP/2.0 200 OK" "$(big_register "$TE" "$A6" 5071 big6 "$E6")"
loc=$(lab_kamailio_contacts srv1)
check_match "D1 has big4 at C:c" "^big4 sip:big4@${LAB_C//./\\.}:[0-9]+ " "$loc"
check_match "D1 has big6 at [C6]:c" "^big6 sip:big6@\\[$C6\\]:[0-9]+ " "$loc"
raw_checks "after the large REGISTERs"

# ---- malformed datagrams over IPv6: dropped, counted, never forwarded ----
MALFORMED=("$LAB_MALFORMED_DIR"/*.sip)
PARSE0=$(stat 'parse errors')
check "malformed datagrams sent to [E6]:5060" lab_send_udp "$TE" "$M6" "$E6" 5060 "${MALFORMED[@]}"
want=$((${PARSE0:-0} + ${#MALFORMED[@]}))
sp_wait_for "parse errors to reach $want" 5 sh -c "[ \"\$(\"$SPCLI\" -s '$SP_TMP/sp1/cli.sock' -c 'show statistics' | sed -nE 's/^ *parse errors *([0-9]+).*/\\1/p')\" = $want ]"
check_eq "parse errors rose by the ${#MALFORMED[@]} datagrams sent" "$want" "$(stat 'parse errors')"

sleep 0.5
lab_capture_stop
# ---- what the links carried ----
ends=$(lab_tshark "$TE_PCAP" -Y sip -T fields -e ipv6.src -e ipv6.dst | sort -u)
check_match "te-sp link: alice's SIP to E6" "^$A6	$E6\$" "$ends"
check_match "te-sp link: answers to alice from E6" "^$E6	$A6\$" "$ends"
check_no_match "te-sp link: nothing from D1 or C6 reaches a terminal" "^($D6|$C6)	" "$ends"
srv=$(lab_tshark "$SRV_PCAP" -Y sip -T fields -e ipv6.src -e ipv6.dst | sort -u)
check_eq "sp-srv1 link: only C6 <-> D1" "$C6	$D6
$D6	$C6" "$srv"
check_eq "sp-srv1 link: no malformed datagram forwarded" 0 \
	"$(lab_tshark "$SRV_PCAP" -Y "sip.Call-ID contains \"malformed\"" -T fields -e frame.number | grep -c .)"
vias=$(lab_tshark "$SRV_PCAP" -Y "sip.Method == \"INVITE\"" -T fields -e sip.Via | head -1)
check_match "sp-srv1 link: the INVITE's top Via is [C6]:c" "^SIP/2.0/UDP \\[$C6\\]:4[0-9]{4}" "$vias"
ctc=$(lab_tshark "$SRV_PCAP" -Y "sip.Method == \"INVITE\"" -T fields -e sip.contact.uri | head -1)
sdp=$(lab_tshark "$SRV_PCAP" -Y "sdp && ipv6.src == $C6" -T fields -e sdp.connection_info | sort -u)
check_eq "sp-srv1 link: every SDP towards D1 says c=IN IP6 C6" "IN IP6 $C6" "$sdp"
sdp=$(lab_tshark "$TE_PCAP" -Y "sdp && ipv6.src == $E6" -T fields -e sdp.connection_info | sort -u)
check_eq "te-sp link: every SDP towards a terminal says c=IN IP6 E6" "IN IP6 $E6" "$sdp"
check_match "sp-srv1 link: the INVITE's Contact is [C6]:c" "\\[$C6\\]:4[0-9]{4}" "$ctc"

# ---- the media guard: untranslated IPv6 to the media range dropped ----
check_match "nft: the media guard drops untranslated IPv6 too" \
	"meta nfproto ipv6 udp dport 20000-20099 ct status ! dnat counter" \
	"$(ip netns exec "$SP" nft list chain inet sigproxy media_guard)"
guard0=$(stat 'media guard drops')
printf 'x' >"$SP_TMP/junk"
check "a stray IPv6 datagram sent to [E6]:20050" lab_send_udp "$TE" "$M6" "$E6" 20050 "$SP_TMP/junk"
sp_wait_for "the media guard counts it" 5 sh -c \
	"[ \"\$(\"$SPCLI\" -s '$SP_TMP/sp1/cli.sock' -c 'show statistics' | sed -nE 's/^ *media guard drops *([0-9]+).*/\\1/p')\" -gt ${guard0:-0} ]"
check "... dropped and counted by the media guard (${guard0:-?} -> $(stat 'media guard drops'))" \
	test "$(stat 'media guard drops')" -gt "${guard0:-0}"

# ---- media in the kernel over IPv6: RTP both ways, counted ----
# alice plays g711a.pcap (rtp_uac.xml) to a SIPp UAS on D1 that echoes it
# back (-rtp_echo); the SP rewrites c= to E6 and C6 and installs one IPv6
# conntrack entry per flow, A6:6000 -> E6:pe becoming C6:pc -> D1:6000.
RTP_TE=$LAB_OUT/rtp-te.pcap
RTP_SRV=$LAB_OUT/rtp-srv.pcap
RTP_FILTER="ip6 and udp and (portrange 20000-20099 or port 6000)"
created0=$(stat 'kernel entries created')
lab_capture_start "$SP" "$LAB_SP_TE_IF" "$RTP_TE" "$RTP_FILTER" || sp_fail "capture of RTP on te-sp"
lab_capture_start "$SP" "$LAB_SP_SRV1_IF" "$RTP_SRV" "$RTP_FILTER" || sp_fail "capture of RTP on sp-srv1"
lab_sipp_bg "$SRV1" rtp-uas -sf "$LAB_SIPP_DIR/uas.xml" -i "$D6" -p 5070 -mp 6000 -rtp_echo -m 1
sp_wait_for "the UAS on [D1]:5070" 10 lab_bound "$SRV1" "$D6" 5070
# D1's SIPp is not Kamailio: this strategy sends E6:5060 from alice's
# 2001:db8:1::10 port 5062 to it
sp_cli sp1 -c "configure terminal" -c "proxy-strategy rtp seq 5" -c "match source $A6/128 port 5062" \
	-c "match destination $E6/128 port 5060" -c "server $D6 port 5070" -c "action proxy" -c "end" >/dev/null
# -d 7500: the pcap plays 7.05 s, so all of it is sent before the BYE (and the
# call stays under SIPp's 8 s receive timeout, as in test_media); with a
# shorter call the packets sent after the BYE removed the entries are dropped
# by the media guard (as they should be) and the counts below differ by them.
lab_sipp "$TE" rtp-uac -sf "$LAB_SIPP_DIR/rtp_uac.xml" -i "$A6" -p 5062 -mp 6000 -s echo -m 1 \
	-d 7500 "[$E6]:5060"
rc=$?
lab_sipp_wait "$LAB_SIPP_PID"
check_eq "RTP call over IPv6: caller and callee SIPp exit 0" "0 0" "$rc $?"
lab_capture_stop
created1=$(stat 'kernel entries created')
check "kernel entries created for the RTP and RTCP flows (${created0:-?} -> ${created1:-?})" \
	test "$((${created1:-0} - ${created0:-0}))" -ge 2
check_eq "no IPv6 entry of ours left after the BYE" 0 \
	"$(ip netns exec "$SP" conntrack -L -f ipv6 --mark 0x53500000/0xffff0000 2>/dev/null | grep -c udp)"
n_out=$(lab_pcap_count "$RTP_TE" "ipv6.src == $A6 && udp.srcport == 6000 && ipv6.dst == $E6")
n_srv=$(lab_pcap_count "$RTP_SRV" "ipv6.src == $C6 && ipv6.dst == $D6 && udp.dstport == 6000")
n_echo=$(lab_pcap_count "$RTP_SRV" "ipv6.src == $D6 && udp.srcport == 6000 && ipv6.dst == $C6")
n_back=$(lab_pcap_count "$RTP_TE" "ipv6.src == $E6 && ipv6.dst == $A6 && udp.dstport == 6000")
check "RTP alice -> E6 on the terminal link (${n_out:-0} packets)" test "${n_out:-0}" -ge 50
check_eq "... all of it leaves C6 -> D1 on the server link" "${n_out:-0}" "${n_srv:-0}"
check "the echo D1 -> C6 (${n_echo:-0} packets)" test "${n_echo:-0}" -ge 50
check_eq "... all of it reaches alice from E6" "${n_echo:-0}" "${n_back:-0}"
check_eq "no RTP reaches a terminal from C6 or D1" 0 \
	"$(lab_pcap_count "$RTP_TE" "ipv6.src == $C6 || ipv6.src == $D6")"

# ---- a restart: the IPv6 bindings come back from the store on disk ----
before=$(sp_cli sp1 -c 'show bindings' | grep -F "[$A6]:5060")
check_match "before the restart: alice's IPv6 binding" "\\[$C6\\]:4[0-9]{4}" "$before"
sp_cli sp1 -c "write memory" >/dev/null
sp_daemon_stop "$SP_DAEMON_PID"
check_eq "sigproxyd exits cleanly on SIGTERM" 0 $?
check_eq "no IPv6 rule of ours left once stopped" "" "$(ip -n "$SP" -6 rule show | grep 'proto 160')"
sp_daemon_start "$SP" sp1 --state-dir "$STATE" --cli-listen "[::]:2650" || sp_fail "sigproxyd starts again"
WORKERS=$(sp_workers sp1)
after=$(sp_cli sp1 -c 'show bindings' | grep -F "[$A6]:5060")
check_eq "after the restart: alice's IPv6 binding, same C6:c" \
	"$(printf '%s' "$before" | grep -oE "\\[$C6\\]:[0-9]+")" "$(printf '%s' "$after" | grep -oE "\\[$C6\\]:[0-9]+")"
check_match "... listed as before" "\\[$C6\\]:4[0-9]{4}" "$after"
check "... and she registers again through it" lab_register "$TE" "$A6" 5060 alice "$E6"

# ---- local-virtual-address: E6 on lo, handled as local traffic ----
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "local-virtual-address $E6" -c "end" 2>&1)
check_eq "local-virtual-address $E6 accepted" "" "$out"
check_match "E6 is on lo as a /128" "inet6 $E6/128" "$(ip -n "$SP" -6 addr show dev lo)"
check "bob registers at E6, now a local address" lab_register "$TE" "$B6" 5060 bob "$E6"
sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "no local-virtual-address" -c "end" >/dev/null
shared_checks "after the restart, bindings from the store"
check_no_match "E6 gone from lo with no local-virtual-address" "$E6" "$(ip -n "$SP" -6 addr show dev lo)"

# ---- the IPv6 C removed: the [::] listener goes with it ----
sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "no server-side-address $C6" -c "end" >/dev/null
check_eq "ss: the [::] UDP socket closed once there is no IPv6 C" "" \
	"$(wildcard6_sockets)"
check "... and the IPv4 listener stays" lab_bound "$SP" 0.0.0.0 5060

lab_down
sp_daemon_stop "$SP_DAEMON_PID"
check_eq "sigproxyd exits cleanly on SIGTERM" 0 $?
check_eq "no IPv6 rule of ours left" "" "$(ip -n "$SP" -6 rule show | grep 'proto 160')"
sp_done
