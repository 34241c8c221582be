#!/bin/bash
# test_media_local.sh's call on IPv6: alice (2001:db8:1::10) calls bob
# (2001:db8:1::11), both registered through E6 to Kamailio on D1's IPv6
# address, which record-routes, so both legs pass sigproxyd. Each leg's SDP
# towards the server names [C6]:pc, which the other leg receives as its far
# side; sigproxyd must recognise that port as its own on IPv6 too and join
# the legs into one IPv6 conntrack entry per flow (alice -> E6:pe1 becoming
# E6:pe2 -> bob, and back). Checked: one entry per flow, RTP both ways in
# conntrack's counters, `show sessions detail` and the joined counter, no
# entry and no port left after the BYE.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/lab6.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd nft conntrack
PCAP=/usr/share/sip-tester/g711a.pcap
sp_require_files "$PCAP"

E6=$LAB6_E
C6=$LAB6_C
D6=$LAB6_D1
A6=${LAB6_TE_NET}10 # alice
B6=${LAB6_TE_NET}11 # bob
SC=$SP_TMP/scenarios
mkdir -p "$SC"
# alice's scenario: the lab's caller (INVITE, ACK and BYE through the
# Record-Route set) playing RTP while the call lasts
lab_rtp_uac "$SC/rtp_uac.xml" "$PCAP"

stat() {
	sp_cli sp1 -c 'show statistics' |
		sed -nE "s/^[[:space:]]*$1[[:space:]:.=]*([0-9]+).*/\\1/Ip" | head -1
}
entries() {
	ip netns exec "$SP" conntrack -L -f ipv6 -p udp --mark 0x53500000/0xffff0000 2>/dev/null
}
entry_count() { entries | grep -c udp; }
no_entries() { [ "$(entry_count)" -eq 0 ]; }
two_entries() { [ "$(entry_count)" -eq 2 ]; }
ports_free() { [ "$(stat 'media ports allocated')" = 0 ]; }

lab6_up || { sp_fail "dual-stack lab namespaces and links"; sp_done; exit 1; }
lab6_start_kamailio "$SRV1" "$D6" srv1 || { sp_fail "kamailio on IPv6 D1"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts in ns sp"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C6" \
	-c "media kernel" -c "media-port-range 20000 20099" \
	-c "proxy-strategy east6 seq 10" -c "match source ${LAB6_TE_NET}/64" \
	-c "match destination $E6/128 port 5060" -c "server $D6" -c "action proxy" -c "end" 2>&1)
check_eq "IPv6 strategy and media configuration accepted" "" "$out"
sp_wait_for "ip6 TPROXY rule in ns sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q 'tproxy ip6 to :5060'"
check "alice ($A6) registers at E6" lab_register "$TE" "$A6" 5060 alice "$E6"
check "bob ($B6) registers at E6" lab_register "$TE" "$B6" 5060 bob "$E6"

lab_sipp_bg "$TE" bob -sf "$LAB_SIPP_DIR/uas.xml" -i "$B6" -p 5060 -mp 6100 -rtp_echo -s bob -m 1 "[$E6]:5060"
BOB=$LAB_SIPP_PID
sp_wait_for "bob on [$B6]:5060" 10 lab_bound "$TE" "$B6" 5060
# -d 7500: the pcap plays 7.05 s, all of it before the BYE
lab_sipp_bg "$TE" alice -sf "$SC/rtp_uac.xml" -i "$A6" -p 5060 -mp 6000 -s bob -m 1 -d 7500 "[$E6]:5060"
ALICE=$LAB_SIPP_PID
check "one IPv6 entry per flow (RTP, RTCP), not one per leg" sp_wait_for "two entries" 5 two_entries
sleep 7
during=$(entries)
detail=$(sp_cli sp1 -c 'show sessions detail')
echo "$during" | sed 's/^/#   /'
echo "$detail" | sed 's/^/#   /'
check_eq "IPv6 entries during the call: RTP and RTCP" 2 "$(echo "$during" | grep -c udp)"
# whichever leg owns it: alice:6000 <-> E6:pe1 on one side, bob:6100 <-> E6:pe2 on the other
check_match "conntrack: alice:6000 -> E6 joined to bob:6100 -> E6" \
	"src=2001:db8:1::1[01] dst=$E6 sport=(6000|6100) dport=200[0-9][02468] .*src=2001:db8:1::1[01] dst=$E6 sport=(6000|6100) dport=200[0-9][02468] " "$during"
rtp=$(echo "$during" | grep -E 'sport=(6000|6100) ' | head -1)
orig_pk=$(echo "$rtp" | sed -nE 's/.* dport=[0-9]+ packets=([0-9]+).*/\1/p')
repl_pk=$(echo "$rtp" | sed -nE 's/.* dport=[0-9]+ packets=[0-9]+ bytes=[0-9]+ .* dport=[0-9]+ packets=([0-9]+).*/\1/p')
check "conntrack counted RTP one way (${orig_pk:-none} packets)" test "${orig_pk:-0}" -ge 200
check "conntrack counted RTP the other way (${repl_pk:-none} packets)" test "${repl_pk:-0}" -ge 200
check_match "show sessions detail: bob's leg joined to alice's" \
	"joined with dialog [0-9]+: terminal to terminal \\[?2001:db8:1::11\\]?:6100" "$detail"
check_match "show sessions detail: alice's leg joined to bob's" \
	"joined with dialog [0-9]+: terminal to terminal \\[?2001:db8:1::10\\]?:6000" "$detail"
check_eq "statistics: one stream joined" 1 "$(stat 'streams joined here')"
lab_sipp_wait "$ALICE"; rc=$?
lab_sipp_wait "$BOB"
check_eq "the call ends well (alice, bob)" "0 0" "$rc $?"
[ "$rc" = 0 ] || lab_sipp_log alice | sed 's/^/#   /'
check "no IPv6 entry after BYE" sp_wait_for "no entries" 3 no_entries
check "no media port left" sp_wait_for "ports free" 3 ports_free

lab_down
sp_daemon_stop "$SP_DAEMON_PID"
check_eq "sigproxyd exits cleanly on SIGTERM" 0 $?
sp_done
