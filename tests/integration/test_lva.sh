#!/bin/bash
# local-virtual-address mode (SPEC §3.3): E configured on the SP as a local,
# unannounced address. The daemon puts E on lo, silences ARP for it on the
# terminal-side link, proxies as usual, and takes it all back when the
# command is removed or the daemon stops.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
lab_start_kamailio "$SRV1" "$LAB_D1" kam1 || { sp_fail "kamailio starts"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts"; sp_done; exit 1; }
PID=$SP_DAEMON_PID

ignore_before=$(ip netns exec "$SP" cat /proc/sys/net/ipv4/conf/$LAB_SP_TE_IF/arp_ignore)
announce_before=$(ip netns exec "$SP" cat /proc/sys/net/ipv4/conf/$LAB_SP_TE_IF/arp_announce)
check "configure local-virtual-address" sp_cli sp1 -c "configure terminal" \
	-c "interface $LAB_SP_TE_IF" -c "signaling-proxy terminal-side" \
	-c "signaling-proxy" -c "server-side-address $LAB_C" -c "local-virtual-address $LAB_E" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $LAB_E/32 port 5060" -c "server $LAB_D1" -c "action proxy"
check_match "E is a local address on lo" "inet $LAB_E/32" "$(ip -n "$SP" addr show dev lo)"
check_eq "arp_ignore=1 on the terminal-side link" 1 \
	"$(ip netns exec "$SP" cat /proc/sys/net/ipv4/conf/$LAB_SP_TE_IF/arp_ignore)"
check_eq "arp_announce=2 on the terminal-side link" 2 \
	"$(ip netns exec "$SP" cat /proc/sys/net/ipv4/conf/$LAB_SP_TE_IF/arp_announce)"
check_eq "the server-side link is left alone" 0 \
	"$(ip netns exec "$SP" cat /proc/sys/net/ipv4/conf/$LAB_SP_SRV1_IF/arp_ignore)"
check_match "E is in the local table, not announced by a route" "local $LAB_E" \
	"$(ip -n "$SP" route show table local)"

check "a terminal registers through the local E" lab_register "$TE" 10.1.0.10 5070 alice "$LAB_E"
check_match "the registrar saw it from C" "alice.*$LAB_C:4" "$(lab_kamailio_contacts kam1)"
lab_callee_start "$TE" 10.1.0.11 5070 bob "$LAB_E" 1 uas.xml || sp_fail "callee bob"
check "a call through the local E" lab_call "$TE" 10.1.0.10 5071 bob "$LAB_E" uac.xml
lab_sipp_wait "$LAB_SIPP_PID"
check_match "show bindings lists both terminals" '10\.1\.0\.11:5070' "$(sp_cli sp1 -c 'show bindings')"

check "no local-virtual-address" sp_cli sp1 -c "configure terminal" -c "signaling-proxy" \
	-c "no local-virtual-address"
check_no_match "E left lo" "inet $LAB_E/32" "$(ip -n "$SP" addr show dev lo)"
check_eq "arp_ignore restored" "$ignore_before" \
	"$(ip netns exec "$SP" cat /proc/sys/net/ipv4/conf/$LAB_SP_TE_IF/arp_ignore)"
check_eq "arp_announce restored" "$announce_before" \
	"$(ip netns exec "$SP" cat /proc/sys/net/ipv4/conf/$LAB_SP_TE_IF/arp_announce)"

# a bad local-virtual-address is refused as one transaction
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "local-virtual-address $LAB_C" 2>&1)
check_match "E equal to C is refused" "is the server-side-address" "$out"
check_no_match "... and nothing was installed" "inet $LAB_C/32 scope global lo" "$(ip -n "$SP" addr show dev lo)"

check "local-virtual-address again" sp_cli sp1 -c "configure terminal" -c "signaling-proxy" \
	-c "local-virtual-address $LAB_E"
sp_daemon_stop "$PID"; rc=$?
check_eq "SIGTERM: clean exit" 0 $rc
check_no_match "SIGTERM removed E from lo" "inet $LAB_E/32" "$(ip -n "$SP" addr show dev lo)"
check_eq "SIGTERM restored arp_ignore" "$ignore_before" \
	"$(ip netns exec "$SP" cat /proc/sys/net/ipv4/conf/$LAB_SP_TE_IF/arp_ignore)"
check_eq "SIGTERM removed the policy rules" "" "$(ip -n "$SP" rule | grep 'proto 160')"
check_eq "SIGTERM removed the nftables table" "" "$(ip netns exec "$SP" nft list tables | grep sigproxy)"
lab_down
sp_done
