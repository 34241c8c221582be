#!/bin/bash
# SIP over TCP (issue 17): terminals that open TCP connections to E =
# 198.51.100.1 have them intercepted (TPROXY) and accepted by sigproxyd,
# which cuts each stream into messages by Content-Length and proxies them
# like datagrams: SIPp over TCP (-t t1 and -t tn) registers and calls through
# E to Kamailio D1 (over UDP from C:c: the server side), the answers come
# back over the terminal's connection, the Via says TCP on the terminal's
# side and UDP on the server's. CRLFCRLF pings are answered with a CRLF.
# Bad input on streams is refused and counted by reason (a Content-Length
# larger than what follows and then silence, a 1 MB header, more idle
# connections from one address than its share), the daemon unharmed and a
# terminal on UDP calling meanwhile unaffected. The other way round, the
# strategy of 10.2.0.0/24 reaches Kamailio D2 over TCP (`server D2
# transport tcp`): UDP terminals register and call through the SP's own
# TCP connections from C:c, the Contact and Via saying tcp on that side
# only, and a 3 000-byte INVITE from a UDP terminal reaches D2 whole; a
# UDP-only server (`transport udp`) gets no request over 1300 bytes (513).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd dumpcap tshark python3 nft

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
D2=$LAB_D2

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts in ns sp"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
SPD_PID=$SP_DAEMON_PID
echo "# files: $SP_TMP"
sp_pass "sigproxyd starts in ns sp"

# stat LABEL: the counter on the first line of `show statistics` that
# starts with LABEL
stat() {
	sp_cli sp1 -c 'show statistics' |
		sed -nE "s/^[[:space:]]*$1[[:space:]:.=]*([0-9]+).*/\\1/Ip" | head -1
}
stat_is() {
	[ "$(stat "$1")" = "$2" ]
}

out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "limit tcp-source-connections 20" -c "limit tcp-header-timeout 2" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" \
	-c "proxy-strategy west seq 20" -c "match source 10.2.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D2 transport tcp" -c "action proxy" -c "end" 2>&1)
check_eq "the strategies and the TCP limits are accepted" "" "$out"
check_match "running-config shows the server's transport" "server ${D2//./\\.} transport tcp" \
	"$(sp_cli sp1 -c 'show running-config')"
check_match "running-config shows the TCP limits" "limit tcp-source-connections 20" \
	"$(sp_cli sp1 -c 'show running-config')"
sp_wait_for "TPROXY rules in ns sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q 'tcp dport 5060.*tproxy'"
check_match "TCP to the listen port is intercepted" "tcp dport 5060 .*tproxy ip to :5060" \
	"$(ip netns exec "$SP" nft list chain inet sigproxy intercept)"
check "sigproxyd listens on TCP 5060" sh -c "ip netns exec '$SP' ss -Hntl 'sport = :5060' | grep -q ."

lab_start_kamailio "$SRV1" "$D1" srv1 || { sp_fail "kamailio #1 starts"; sp_done; exit 1; }
lab_start_kamailio_tcp "$SRV2" "$D2" srv2 || { sp_fail "kamailio #2 starts on TCP"; sp_done; exit 1; }

TE_PCAP=$LAB_OUT/te-sp.pcap
SRV1_PCAP=$LAB_OUT/sp-srv1.pcap
lab_capture_start "$SP" "$LAB_SP_TE_IF" "$TE_PCAP" "tcp port 5060" || sp_fail "capture on te-sp"
lab_capture_start "$SP" "$LAB_SP_SRV1_IF" "$SRV1_PCAP" || sp_fail "capture on sp-srv1"
SRV2_PCAP=$LAB_OUT/sp-srv2.pcap
lab_capture_start "$SP" "$LAB_SP_SRV2_IF" "$SRV2_PCAP" "tcp port 5060" || sp_fail "capture on sp-srv2"

# ---- registration and calls over TCP ----
check "alice registers over TCP (-t t1) through E" \
	lab_sipp "$TE" reg-alice-tcp -sf "$LAB_SIPP_DIR/register.xml" -t t1 -i 10.1.0.10 -p 5070 \
	-s alice -m 1 "$E:5060"
check_match "D1 location table: alice at C:c" "^alice sip:alice@${C//./\\.}:4[0-9]{4} " \
	"$(lab_kamailio_contacts srv1)"

# bob answers on UDP; alice calls over TCP, one connection (t1) and one
# per call (tn)
for mode in t1 tn; do
	if lab_callee_start "$TE" 10.1.0.11 5060 bob "$E" 2 uas.xml; then
		lab_sipp "$TE" "alice-$mode" -sf "$LAB_SIPP_DIR/uac.xml" -t "$mode" -max_socket 100 \
			-i 10.1.0.10 -p 5072 -s bob -m 2 -d 200 "$E:5060"
		rc=$?
		lab_sipp_wait "$LAB_SIPP_PID"
		crc=$?
		check_eq "TCP caller ($mode) -> UDP callee: both SIPp exit 0" "0 0" "$rc $crc"
		[ "$rc $crc" == "0 0" ] || { lab_sipp_log "alice-$mode"; lab_sipp_log "callee-bob-uas"; } |
			sed 's/^/#   /'
	else
		sp_fail "bob registers on UDP through E ($mode)"
	fi
done
# a TCP callee whose registration's connection is gone: the server's
# INVITE reaches it over a new connection from E:5060 to its Contact
if lab_register "$TE" 10.1.0.11 5080 bobt "$E" -t t1; then
	lab_sipp_bg "$TE" callee-bobt -sf "$LAB_SIPP_DIR/uas.xml" -t t1 -i 10.1.0.11 -p 5080 -s bobt -m 1 "$E:5060"
	sp_wait_for "callee bobt on TCP 5080" 10 sh -c "ip netns exec '$TE' ss -Hntl 'sport = :5080' | grep -q ."
	lab_sipp "$TE" alice-bobt -sf "$LAB_SIPP_DIR/uac.xml" -i 10.1.0.10 -p 5062 -s bobt -m 1 -d 100 "$E:5060"
	rc=$?
	lab_sipp_wait "$LAB_SIPP_PID"
	crc=$?
	check_eq "UDP caller -> TCP callee reached over a new connection to its Contact: both SIPp exit 0" \
		"0 0" "$rc $crc"
	[ "$rc $crc" == "0 0" ] || { lab_sipp_log alice-bobt; lab_sipp_log callee-bobt; } | sed 's/^/#   /'
else
	sp_fail "bobt registers over TCP through E"
fi
bindings=$(sp_cli sp1 -c 'show bindings')
check_match "show bindings: alice over TCP, her server over UDP" "10\\.1\\.0\\.10:5070 .* tcp/udp$" "$bindings"
check_match "show bindings: the UDP callee over UDP on both sides" "10\\.1\\.0\\.11:5060 .* udp/udp$" "$bindings"
accepted=$(stat "TCP connections accepted")
check_match "show statistics counts accepted TCP connections" "^[1-9][0-9]*$" "$accepted"

# ---- UDP terminals, a TCP server ----
check "carol (UDP) registers through E at D2 over TCP" \
	lab_register "$TE" 10.2.0.10 5060 carol "$E"
check_match "show bindings: carol over UDP, her server over TCP" "10\\.2\\.0\\.10:5060 .* udp/tcp$" \
	"$(sp_cli sp1 -c 'show bindings')"
check_match "show bindings | json: the transports" '"terminal-transport": ?"udp", ?"server-transport": ?"tcp"' \
	"$(sp_cli sp1 -c 'show bindings | json')"
check_match "D2 location table: carol at C:c over TCP" \
	"^carol sip:carol@${C//./\\.}:4[0-9]{4};transport=tcp " "$(lab_kamailio_contacts srv2)"
if lab_callee_start "$TE" 10.2.0.11 5060 dave "$E" 1 uas.xml; then
	lab_sipp "$TE" carol-dave -sf "$LAB_SIPP_DIR/uac.xml" -i 10.2.0.10 -p 5060 -s dave -m 1 -d 100 "$E:5060"
	rc=$?
	lab_sipp_wait "$LAB_SIPP_PID"
	crc=$?
	check_eq "UDP caller -> UDP callee through a TCP server: both SIPp exit 0" "0 0" "$rc $crc"
	[ "$rc $crc" == "0 0" ] || { lab_sipp_log carol-dave; lab_sipp_log callee-dave-uas; } | sed 's/^/#   /'
else
	sp_fail "dave registers through E at D2 over TCP"
fi

# TCP on both sides: SIPp over TCP through E to D2 listening on TCP
check "carol registers over TCP (-t t1) through E at D2 over TCP" \
	lab_sipp "$TE" reg-carol-tcp -sf "$LAB_SIPP_DIR/register.xml" -t t1 -i 10.2.0.10 -p 5070 \
	-s carol2 -m 1 "$E:5060"
if lab_callee_start "$TE" 10.2.0.11 5060 dave "$E" 1 uas.xml; then
	lab_sipp "$TE" carol-dave-tcp -sf "$LAB_SIPP_DIR/uac.xml" -t t1 -i 10.2.0.10 -p 5072 -s dave -m 1 \
		-d 100 "$E:5060"
	rc=$?
	lab_sipp_wait "$LAB_SIPP_PID"
	check_eq "TCP caller -> TCP server -> UDP callee: both SIPp exit 0" "0 0" "$rc $?"
else
	sp_fail "dave registers again through E at D2"
fi

# big_invite SRC-IP: a 3 000-byte INVITE over UDP from SRC-IP to E; prints
# the status line of the final answer (or "none")
big_invite() {
	ip netns exec "$TE" timeout 15 python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('$1', 5066))
s.settimeout(8)
body = b'x' * 3000
msg = (b'INVITE sip:nobody@$E SIP/2.0\r\n'
       b'Via: SIP/2.0/UDP $1:5066;branch=z9hG4bK-big1;rport\r\n'
       b'Max-Forwards: 70\r\nFrom: <sip:big@$E>;tag=b1\r\nTo: <sip:nobody@$E>\r\n'
       b'Call-ID: big-$1\r\nCSeq: 1 INVITE\r\nContact: <sip:big@$1:5066>\r\n'
       b'Content-Type: text/plain\r\nContent-Length: 3000\r\n\r\n' + body)
s.sendto(msg, ('$E', 5060))
try:
    while True:
        d = s.recv(65536).decode(errors='replace')
        line = d.split('\r\n')[0]
        if not line.startswith('SIP/2.0 1'):
            print(line)
            s.sendto(('ACK sip:nobody@$E SIP/2.0\r\nVia: SIP/2.0/UDP $1:5066;branch=z9hG4bK-big1;rport\r\n'
                      'Max-Forwards: 70\r\nFrom: <sip:big@$E>;tag=b1\r\nTo: <sip:nobody@$E>\r\n'
                      'Call-ID: big-$1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n').encode(), ('$E', 5060))
            break
except socket.timeout:
    print('none')
"
}
check_match "a 3 000-byte INVITE from a UDP terminal is answered by the TCP server" \
	"^SIP/2.0 (404|480)" "$(big_invite 10.2.0.11)"

lab_capture_stop
# Kamailio handles a message on TCP once Content-Length bytes are in: its
# answer and its log line say the INVITE arrived whole from C:c
check_match "the 3 000-byte INVITE reached D2 whole, over TCP from C:c" \
	"INVITE sip:nobody@${D2//./\\.};transport=tcp from ${C//./\\.}:4[0-9]{4} \\(Call-ID big-10\\.2\\.0\\.11\\)" \
	"$(cat "$LAB_OUT/kam-srv2/log")"
check_match "towards D2 the Via says TCP at C:c" "SIP/2.0/TCP ${C//./\\.}:4[0-9]{4}" \
	"$(lab_tshark "$SRV2_PCAP" -d tcp.port==5060,sip -Y 'sip.Method == "REGISTER"' -T fields -e sip.Via)"

# a UDP-only server: a request over 1300 bytes is refused with 513
out=$(sp_cli sp1 -c "configure terminal" -c "proxy-strategy east seq 10" \
	-c "server $D1 transport udp" -c "end" 2>&1)
check_eq "east's server is said to be UDP only" "" "$out"
before=$(stat "too large")
check_match "a 3 000-byte INVITE towards a UDP-only server is refused 513" \
	"^SIP/2.0 513" "$(big_invite 10.1.0.12)"
check_eq "too large counted" "$((before + 1))" "$(stat "too large")"

# what reached the server: UDP from C, a Via saying UDP at C:c
check_match "the server side saw the REGISTER over UDP with Via SIP/2.0/UDP at C:c" \
	"SIP/2.0/UDP ${C//./\\.}:4[0-9]{4}" \
	"$(lab_tshark "$SRV1_PCAP" -Y 'sip.Method == "REGISTER"' -T fields -e sip.Via)"
check_match "the terminal side carried SIP over TCP with its own Via back (SIP/2.0/TCP)" \
	"SIP/2.0/TCP 10\\.1\\.0\\.10:5070" \
	"$(lab_tshark "$TE_PCAP" -d tcp.port==5060,sip -Y 'sip.Status-Code == 200' -T fields -e sip.Via)"

# ---- keep-alives ----
# tcp_probe SRC-IP SCRIPT: runs python with a socket s connected from
# SRC-IP to E:5060 in ns te; prints what the script prints
tcp_probe() {
	ip netns exec "$TE" timeout 20 python3 -c "
import socket, sys, time
s = socket.socket()
s.bind(('$1', 0))
s.settimeout(10)
s.connect(('$E', 5060))
$2
"
}
check_eq "CRLFCRLF ping answered with a CRLF pong (RFC 5626)" "b'\\r\\n'" \
	"$(tcp_probe 10.1.0.12 's.sendall(b"\r\n\r\n"); print(s.recv(100))')"

# ---- bad input ----
# a Content-Length larger than the data, then silence: closed by the
# header timeout (2 s here), counted
before=$(stat "header timeout")
out=$(tcp_probe 10.1.0.12 '
s.sendall(b"OPTIONS sip:x@198.51.100.1 SIP/2.0\r\nContent-Length: 500\r\n\r\nshort")
t = time.time()
print(s.recv(100), round(time.time() - t))')
check_match "a message left unfinished is closed by the header timeout" "^b'' [1-4]$" "$out"
check_eq "header timeout counted" "$((before + 1))" "$(stat "header timeout")"

# a 1 MB header: refused once it passes the size limit, counted
before=$(stat "message too large")
out=$(tcp_probe 10.1.0.12 '
try:
    s.sendall(b"OPTIONS sip:x@198.51.100.1 SIP/2.0\r\nX-Big: " + b"a" * 1048576)
    print(s.recv(100))
except (ConnectionResetError, BrokenPipeError):
    print("reset")')
check_match "a 1 MB header is refused (connection closed)" "^(b''|reset)$" "$out"
check_eq "message too large counted" "$((before + 1))" "$(stat "message too large")"

# 60 idle connections from one address: 20 (its share) stay, 40 refused
before=$(stat "source connection limit")
out=$(tcp_probe 10.1.0.13 '
socks = [s]
for i in range(59):
    c = socket.socket(); c.bind(("10.1.0.13", 0)); c.settimeout(5); c.connect(("198.51.100.1", 5060)); socks.append(c)
time.sleep(1)
closed = 0
for c in socks:
    c.setblocking(False)
    try:
        if c.recv(10) == b"": closed += 1
    except BlockingIOError:
        pass
    except ConnectionResetError:
        closed += 1
print(closed)')
check_eq "over its share, the connections of a source are closed at once (40 of 60)" "40" "$out"
check_eq "source connection limit counted 40" "$((before + 40))" "$(stat "source connection limit")"
check "sigproxyd is unharmed" kill -0 "$SPD_PID"

# another terminal's call over UDP, meanwhile: unaffected
if lab_callee_start "$TE" 10.1.0.11 5060 bob "$E" 1 uas.xml; then
	lab_sipp "$TE" carol-udp -sf "$LAB_SIPP_DIR/uac.xml" -i 10.1.0.12 -p 5060 -s bob -m 1 -d 100 "$E:5060"
	rc=$?
	lab_sipp_wait "$LAB_SIPP_PID"
	check_eq "a UDP call after the bad input succeeds" "0 0" "$rc $?"
else
	sp_fail "bob registers again over UDP"
fi

check "sigproxyd stops cleanly" sp_daemon_stop "$SPD_PID"
lab_down
sp_done
