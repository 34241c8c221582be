#!/bin/bash
# sigproxyMediaProxyTable's counters and media addresses (issue 19 items 1
# and 3) against a real rtpengine: sigproxyd as an AgentX subagent of an
# snmpd in ns sp, one media proxy (rtpengine in ns mp1) with a media
# address per side and family. The address columns read what
# `media-address' set (the IPv4 pairs dotted, the IPv6 pairs typed ipv6(2)
# with their `...6' text view), a side and family without one reads
# unknown(0); pongs rise while it is pinged; one call through it makes
# offers, answers and deletes rise by one each and calls held read 1 while
# it lasts, 0 after; every counter column reads what `show media-proxy'
# shows.
#
#   te 10.1.0.10 --- sp --- srv1 192.0.2.10 (D1)
#                    |  192.0.2.33/28 --- mp1 192.0.2.34 (rtpengine, NG :2223)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/mplab.sh"
sp_require_root
sp_require_tools snmpd snmpget snmpwalk sipp python3 rtpengine

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
MP1=192.0.2.34
SC=$LAB_SIPP_DIR
sp_snmp_env

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
mp_ns 1 192.0.2.33 "$MP1" || { sp_fail "media proxy namespace"; sp_done; exit 1; }
rtpe_run "$SP_TAG-mp1" "$MP1" rtpe1
check "rtpengine answers NG pings" sp_wait_for "rtpengine" 5 rtpe_pings "$SP_TAG-mp1" "$MP1"
sp_snmpd_start "$SP" || { sp_fail "snmpd starts"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 --agentx "$AX" || { sp_fail "sigproxyd starts"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
sget() { ip netns exec "$SP" snmpget -OqvU -v2c -c public -t 2 -r 1 127.0.0.1 "$@" 2>&1; }
walk() { ip netns exec "$SP" snmpwalk -v2c -c public -t 2 -r 1 127.0.0.1 "$@" 2>&1; }
answers() { sget sigproxyHostname.0 | grep -q sigproxy; }
sp_wait_for "subagent registered" 10 answers || { sp_fail "subagent answers"; sp_done; exit 1; }
col() { sget "sigproxyMediaProxy$1.\"mp1\""; }
mp_field() { # mp_field FIELD: a number of show media-proxy mp1
	sp_cli sp1 -c "show media-proxy mp1" | sed -nE "s/.*$1 +([0-9]+).*/\\1/p" | head -1
}
mp_in_service() { sp_cli sp1 -c "show media-proxy mp1" | grep -q "^media-proxy mp1: in service"; }
v6() { python3 -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]))' "$1" 2>&1; }

out=$(sp_cli sp1 -c "configure terminal" \
	-c "media-proxy mp1" -c "control $MP1 port 2223" \
	-c "media-address terminal-side $MP1" -c "media-address terminal-side 2001:db8:7::34" \
	-c "media-address server-side $MP1" \
	-c "signaling-proxy" -c "server-side-address $C" -c "media proxy" -c "media-port-range 20000 20099" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "the media proxy, its media addresses and the strategy accepted" "" "$out"
check "mp1 in service" sp_wait_for "mp1 in service" 5 mp_in_service

# ---- the media addresses ----
check_eq "terminal side IPv4: ipv4 and the address" "ipv4 $MP1" \
	"$(col TermMediaIpv4Type) $(col TermMediaIpv4Addr)"
check_eq "terminal side IPv6: type ipv6" ipv6 "$(col TermMediaIpv6Type)"
check_eq "... and its text view reads the address" 2001:db8:7::34 "$(v6 "$(col TermMediaIpv6Addr6)")"
check_eq "server side IPv4: ipv4 and the address" "ipv4 $MP1" \
	"$(col ServerMediaIpv4Type) $(col ServerMediaIpv4Addr)"
check_eq "server side IPv6 (none set): unknown, all zeros" "unknown 0:0:0:0:0:0:0:0" \
	"$(col ServerMediaIpv6Type) $(col ServerMediaIpv6Addr6)"
check_match "snmpwalk shows the four address columns of the row" \
	"ServerMediaIpv6Addr6.\"mp1\" = STRING: 0:0:0:0:0:0:0:0" "$(walk sigproxyMediaProxyTable)"

# ---- the counters before a call, and the pings moving ----
p0=$(col Pongs)
pongs_rose() { [ "$(col Pongs)" -gt "$p0" ]; }
check "sigproxyMediaProxyPongs rises while mp1 is pinged" sp_wait_for "pongs rise" 5 pongs_rose
o0=$(col Offers); a0=$(col Answers); d0=$(col Deletes)
check_eq "no call yet: offers, answers, deletes, calls held" "0 0 0 0" "$o0 $a0 $d0 $(col CallsHeld)"

# ---- one call through mp1 (no RTP), held 3 s ----
lab_sipp_bg "$SRV1" uas -sf "$SC/uas.xml" -i "$D1" -p 5060 -m 1
UAS=$LAB_SIPP_PID
sp_wait_for "UAS on D1" 10 lab_bound "$SRV1" "$D1" 5060 || sp_fail "the SIPp callee listens"
lab_sipp_bg "$TE" alice -sf "$SC/uac.xml" -i 10.1.0.10 -p 5060 -mp 6000 -s bob -m 1 -d 3000 "$E:5060"
UAC=$LAB_SIPP_PID
held() { [ "$(col CallsHeld)" = 1 ]; }
check "sigproxyMediaProxyCallsHeld reads 1 during the call" sp_wait_for "call held" 5 held
check_eq "... as show media-proxy says" 1 "$(mp_field 'calls held')"
lab_sipp_wait "$UAC"; rc=$?
lab_sipp_wait "$UAS"
check_eq "the call completes" "0 0" "$rc $?"
deleted() { [ "$(col Deletes)" = $((d0 + 1)) ]; }
check "the call's end: sigproxyMediaProxyDeletes rose by one" sp_wait_for "delete counted" 5 deleted
check_eq "offers and answers rose by one, calls held back to 0" "$((o0 + 1)) $((a0 + 1)) 0" \
	"$(col Offers) $(col Answers) $(col CallsHeld)"

# ---- every counter column reads show media-proxy ----
# (pings go on once a second: the two reads are retried until they meet)
same() { [ "$(mp_field "$2")" = "$(col "$1")" ]; }
for pair in Offers:offers Answers:answers Deletes:deletes Pings:pings Pongs:pongs \
	Requests:requests Replies:replies Retransmissions:retransmissions Timeouts:timeouts \
	Errors:errors BadReplies:'bad replies' WrongCookies:'wrong cookie' Queries:queries \
	CallsHeld:'calls held'; do
	c=${pair%%:*} f=${pair#*:}
	check "sigproxyMediaProxy$c = show media-proxy's $f" sp_wait_for "$c" 3 same "$c" "$f"
done
check_match "requests counted (pings, offer, answer, delete)" '^[1-9][0-9]*$' "$(col Requests)"

lab_down
check "sigproxyd exits cleanly" sp_daemon_stop "$SP_DAEMON_PID"
sp_done
