#!/bin/bash
# What real terminals and servers do to the proxy's SIP (issue 14 items 3, 5,
# 6), with raw SIP from field_ua.py so every byte is the test's:
#  - two devices registered on one AoR at Kamailio D1 (10.1.0.0/24 -> D1):
#    each binding's lifetime comes from its own Contact in the 200 OK, a
#    de-registration (expires=0, or a 200 OK without our Contact) ends the
#    binding at once, a binding in a call stays until the call ends;
#  - against a raw server at D2 (10.2.0.0/24 -> D2, field_ua.py server): a
#    Contact that changes after the first message is rewritten too, stray
#    responses from either side are dropped and counted, Max-Forwards: 0
#    gets 483 from E (and other values are decremented), a bare-LF message
#    is rewritten completely, message-size-limit gives 513, no free media
#    port gives 503 with Retry-After.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools kamailio kamcmd python3 nft

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
D2=$LAB_D2
UA=$(dirname "$0")/field_ua.py

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
lab_start_kamailio "$SRV1" "$D1" srv1 || { sp_fail "kamailio starts"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" \
	-c "proxy-strategy west seq 20" -c "match source 10.2.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D2" -c "action proxy" \
	-c "signaling-proxy" -c "media-port-range 30000 30003" -c "end" 2>&1)
check_eq "strategies to Kamailio D1 and to the raw server D2; media ports for one stream" "" "$out"

# stat LABEL: a counter of `show statistics`
stat() {
	sp_cli sp1 -c 'show statistics' |
		sed -nE "s/^[[:space:]]*$1[[:space:]:.=]*([0-9]+).*/\\1/Ip" | head -1
}
stat_is() { [ "$(stat "$1")" = "$2" ]; }

# ---- raw user agents ----
# ua_start NS NAME IP PORT [server]: a field_ua.py on IP:PORT in NS
ua_start() {
	local dir=$SP_TMP/ua/$2
	mkdir -p "$dir"
	ip netns exec "$1" python3 "$UA" "$dir" "$3" "$4" ${5:-} >"$dir.log" 2>&1 &
	SP_PIDS+=("$!")
	sp_wait_for "field_ua $2" 10 test -e "$dir/ready"
}
# ua_send NAME DEST [lf]: the message on stdin (LF lines; CRLF unless "lf",
# Content-Length filled in for a body after the blank line) sent to DEST
UA_SEQ=0
ua_send() {
	local dir=$SP_TMP/ua/$1 tmp
	UA_SEQ=$((UA_SEQ + 1))
	tmp=$SP_TMP/ua/msg.$UA_SEQ
	python3 -c '
import sys
text = sys.stdin.read()
head, _, body = text.partition("\n\n")
head = head.rstrip("\n")
eol = "\n" if sys.argv[1] == "lf" else "\r\n"
body = body.replace("\n", eol)
lines = head.split("\n") + ["Content-Length: %d" % len(body.encode())]
sys.stdout.write(eol.join(lines) + eol + eol + body)' "${3:-crlf}" >"$tmp"
	mv "$tmp" "$dir/out/$(printf %05d $UA_SEQ)@$2"
}
# ua_count NAME: datagrams received so far
ua_count() { find "$SP_TMP/ua/$1/in" -name '[0-9]*[0-9]' | wc -l; }
# ua_since NAME N: every datagram after the first N, concatenated
ua_since() {
	find "$SP_TMP/ua/$1/in" -name '[0-9]*[0-9]' | sort | tail -n +$(($2 + 1)) | xargs -r cat
}
# ua_got NAME N REGEX: has a datagram after the first N matched?
ua_got() { ua_since "$1" "$2" | grep -qaE -- "$3"; }
# binding_of TERMINAL: the `show bindings` line of that A:a
binding_of() { sp_cli sp1 -c 'show bindings' | awk -v t="$1" '$3 == t'; }
has_binding() { [ -n "$(binding_of "$1")" ]; }
no_binding() { [ -z "$(binding_of "$1")" ]; }
# expires_of TERMINAL: seconds left of its registration (- if none)
expires_of() { binding_of "$1" | awk '{ sub(/s$/, "", $7); print $7 }'; }
# cport_of TERMINAL: its c
cport_of() { binding_of "$1" | awk '{ n = split($5, a, ":"); print a[n] }'; }

# register NAME FROM-IP FROM-PORT USER CONTACT-PARAMS [EXTRA-HEADER]
register() {
	ua_send "$1" "$E:5060" <<EOF
REGISTER sip:$E SIP/2.0
Via: SIP/2.0/UDP $2:$3;branch=z9hG4bK-$1-$RANDOM$RANDOM
Max-Forwards: 70
From: <sip:$4@$E>;tag=$1
To: <sip:$4@$E>
Call-ID: reg-$1@$2
CSeq: $((++REG_CSEQ)) REGISTER
Contact: $5${6:+
$6}
EOF
}
REG_CSEQ=1

ua_start "$TE" dev1 10.1.0.10 5070 && ua_start "$TE" dev2 10.1.0.11 5070 ||
	sp_fail "field_ua devices start"

# ==== item 3: two devices on one AoR ====
# dev1 registers alice for 60 s at q=1.0, dev2 for 3600 s at q=0.5: the
# registrar lists dev1's Contact first in every 200 OK of the AoR, and
# dev2's binding must live by its own 3600 s, not by dev1's 60.
n1=$(ua_count dev1)
register dev1 10.1.0.10 5070 alice "<sip:alice@10.1.0.10:5070>;q=1.0;expires=60"
check "dev1 registers alice (60 s): 200 OK" sp_wait_for "dev1 200" 5 ua_got dev1 "$n1" '^SIP/2.0 200'
n2=$(ua_count dev2)
register dev2 10.1.0.11 5070 alice "<sip:alice@10.1.0.11:5070>;q=0.5" "Expires: 3600"
check "dev2 registers alice (3600 s): 200 OK" sp_wait_for "dev2 200" 5 ua_got dev2 "$n2" '^SIP/2.0 200'
loc=$(lab_kamailio_contacts srv1)
check_eq "Kamailio holds two contacts of alice, both at C" 2 \
	"$(printf '%s\n' "$loc" | grep -c "^alice sip:alice@$C:4[0-9]*")"
check_match "dev2's 200 OK lists both devices (dev1 first, as C:c)" \
	"Contact: <sip:alice@$C:[0-9]+>;q=1" "$(ua_since dev2 "$n2")"
check_match "dev2's 200 OK shows dev2's own contact again" 'sip:alice@10\.1\.0\.11:5070' "$(ua_since dev2 "$n2")"
e1=$(expires_of 10.1.0.10:5070) e2=$(expires_of 10.1.0.11:5070)
check "dev1's binding lives by its 60 s (${e1:-?})" test "${e1:-0}" -le 60 -a "${e1:-0}" -gt 30
check "dev2's binding lives by its own 3600 s, not dev1's 60 (${e2:-?})" test "${e2:-0}" -gt 3000 2>/dev/null

# dev2 de-registers (expires=0): the 200 OK lists only dev1; dev2's binding
# ends at once, dev1's stays.
n2=$(ua_count dev2)
register dev2 10.1.0.11 5070 alice "<sip:alice@10.1.0.11:5070>;expires=0"
check "dev2 de-registers: 200 OK" sp_wait_for "dev2 200" 5 ua_got dev2 "$n2" '^SIP/2.0 200'
check "dev2's binding ends at once (not after the idle time)" sp_wait_for "dev2 unbound" 3 no_binding 10.1.0.11:5070
check "dev1's binding stays" has_binding 10.1.0.10:5070
# dev1 de-registers everything: a 200 OK without any Contact or Expires
n1=$(ua_count dev1)
register dev1 10.1.0.10 5070 alice "*" "Expires: 0"
check "dev1 removes all of alice: 200 OK" sp_wait_for "dev1 200" 5 ua_got dev1 "$n1" '^SIP/2.0 200'
check_no_match "... which lists no Contact" '^Contact:' "$(ua_since dev1 "$n1")"
check "dev1's binding ends at once (not after 3600 s)" sp_wait_for "dev1 unbound" 3 no_binding 10.1.0.10:5070
check_eq "Kamailio holds no contact of alice" "" "$(lab_kamailio_contacts srv1 | grep '^alice ')"

# ==== the raw server D2 ====
ua_start "$SRV2" srv "$D2" 5060 server || sp_fail "field_ua server starts"
ua_start "$TE" t1 10.2.0.10 5070 && ua_start "$TE" t2 10.2.0.11 5070 || sp_fail "field_ua terminals start"

# request NAME FROM-IP METHOD CALL-ID CSEQ [lf] [EXTRA-HEADERS]: an
# out-of-dialog request to E from FROM-IP:5070
request() {
	local name=$1 ip=$2 method=$3 cid=$4 cseq=$5 lf=${6:-crlf} extra=${7:-Max-Forwards: 70}
	ua_send "$name" "$E:5060" "$lf" <<EOF
$method sip:srv@$E SIP/2.0
Via: SIP/2.0/UDP $ip:5070;branch=z9hG4bK-$cid-$cseq
$extra
From: <sip:$name@$E>;tag=f-$name
To: <sip:srv@$E>
Call-ID: $cid
CSeq: $cseq $method
Contact: <sip:$name@$ip:5070>
EOF
}

# ---- contact learning: a Contact that changes after the first message ----
ns=$(ua_count srv) nt=$(ua_count t1)
register t1 10.2.0.10 5070 t1 "<sip:t1@10.2.0.10:5070>" "Expires: 600"
check "t1 registers at the raw server" sp_wait_for "t1 200" 5 ua_got t1 "$nt" '^SIP/2.0 200'
ns=$(ua_count srv) nt=$(ua_count t1)
ua_send t1 "$E:5060" <<EOF
INVITE sip:srv@$E SIP/2.0
Via: SIP/2.0/UDP 10.2.0.10:5070;branch=z9hG4bK-moved-1
Max-Forwards: 70
From: <sip:t1@$E>;tag=f-t1
To: <sip:srv@$E>
Call-ID: moved-contact@t1
CSeq: 1 INVITE
Contact: <sip:t1@192.168.77.7:5070>
EOF
check "t1's INVITE from a changed contact: 200 OK" sp_wait_for "t1 invite 200" 5 ua_got t1 "$nt" '^SIP/2.0 200'
got=$(ua_since srv "$ns")
check_match "the server got the INVITE" '^INVITE ' "$got"
check_no_match "the changed private Contact does not reach the server" '192\.168\.77\.7' "$got"
check_match "... it is C:c, like the first one" "Contact: <sip:t1@$C:4[0-9]+>" "$got"
check_match "the 200 OK's Contact (D) reaches t1 as E" "Contact: <sip:srv@$E(:5060)?>" "$(ua_since t1 "$nt")"

# ---- a binding in a call outlives its de-registration ----
# t1's call above is confirmed once t1 ACKs; then t1 de-registers: the
# binding stays for the call, and ends with its BYE.
ua_send t1 "$E:5060" <<EOF
ACK sip:srv@$E SIP/2.0
Via: SIP/2.0/UDP 10.2.0.10:5070;branch=z9hG4bK-moved-ack
Max-Forwards: 70
From: <sip:t1@$E>;tag=f-t1
To: <sip:srv@$E>;tag=srv5060
Call-ID: moved-contact@t1
CSeq: 1 ACK
EOF
nt=$(ua_count t1)
register t1 10.2.0.10 5070 t1 "<sip:t1@192.168.77.7:5070>;expires=0"
check "t1 de-registers during its call: 200 OK" sp_wait_for "t1 dereg 200" 5 ua_got t1 "$nt" '^SIP/2.0 200'
sleep 1
check "t1's binding stays while its call lasts" has_binding 10.2.0.10:5070
nt=$(ua_count t1)
ua_send t1 "$E:5060" <<EOF
BYE sip:srv@$E SIP/2.0
Via: SIP/2.0/UDP 10.2.0.10:5070;branch=z9hG4bK-moved-bye
Max-Forwards: 70
From: <sip:t1@$E>;tag=f-t1
To: <sip:srv@$E>;tag=srv5060
Call-ID: moved-contact@t1
CSeq: 2 BYE
EOF
check "t1's BYE: 200 OK" sp_wait_for "t1 bye 200" 5 ua_got t1 "$nt" '^SIP/2.0 200'
check "... and the de-registered binding ends with the call" sp_wait_for "t1 unbound" 3 no_binding 10.2.0.10:5070

# ==== item 5: RFC 3261 proxy hygiene ====
ua_start "$TE" t3 10.2.0.10 5072 || sp_fail "field_ua t3 starts"
# stray NAME FROM-IP VIA: a 200 OK to nothing, from NAME, top Via VIA
stray() {
	ua_send "$1" "$E:5060" <<EOF
SIP/2.0 200 OK
Via: SIP/2.0/UDP $3;branch=z9hG4bK-stray-$RANDOM
From: <sip:srv@$E>;tag=f-x
To: <sip:$1@$E>;tag=t-x
Call-ID: stray-$RANDOM@$2
CSeq: 7 OPTIONS
EOF
}
U0=$(stat 'unmatched responses') ns=$(ua_count srv)
stray t2 10.2.0.11 10.2.0.11:5070
check "a response from a terminal without a binding is dropped and counted" \
	sp_wait_for "unmatched" 3 stat_is 'unmatched responses' $((${U0:-0} + 1))
check "... creates no binding" no_binding 10.2.0.11:5070
nt=$(ua_count t2)
register t2 10.2.0.11 5070 t2 "<sip:t2@10.2.0.11:5070>" "Expires: 600"
check "t2 registers at the raw server" sp_wait_for "t2 200" 5 ua_got t2 "$nt" '^SIP/2.0 200'
stray t2 10.2.0.11 10.2.0.11:5070
check "a response from a bound terminal to nothing the SP forwarded is dropped and counted" \
	sp_wait_for "unmatched" 3 stat_is 'unmatched responses' $((${U0:-0} + 2))
check_no_match "... neither stray response reached the server" 'stray-' "$(ua_since srv "$ns")"
C2=$(cport_of 10.2.0.11:5070)
# the server's request, answered by t2: a matching response still passes
nt=$(ua_count t2) ns=$(ua_count srv)
ua_send srv "$C:$C2" <<EOF
OPTIONS sip:t2@$C:$C2 SIP/2.0
Via: SIP/2.0/UDP $D2:5060;branch=z9hG4bK-srvopt-1
Max-Forwards: 70
From: <sip:srv@$D2>;tag=srv-opt
To: <sip:t2@$C>
Call-ID: srv-options@$D2
CSeq: 1 OPTIONS
EOF
check "the server's OPTIONS reaches t2 (from E, top Via E)" sp_wait_for "t2 options" 3 \
	ua_got t2 "$nt" "^Via: SIP/2.0/UDP $E:5060;branch=z9hG4bK-srvopt-1"
check_match "... its Max-Forwards decremented (70 -> 69)" '^Max-Forwards: 69' "$(ua_since t2 "$nt")"
ua_send t2 "$E:5060" <<EOF
SIP/2.0 200 OK
Via: SIP/2.0/UDP $E:5060;branch=z9hG4bK-srvopt-1
From: <sip:srv@$D2>;tag=srv-opt
To: <sip:t2@$C>;tag=t2-opt
Call-ID: srv-options@$D2
CSeq: 1 OPTIONS
EOF
check "t2's answer (top Via E) reaches the server with its own Via back" sp_wait_for "srv 200" 3 \
	ua_got srv "$ns" "^Via: SIP/2.0/UDP $D2(:5060)?;branch=z9hG4bK-srvopt-1"
check_eq "... not counted as unmatched" "$((${U0:-0} + 2))" "$(stat 'unmatched responses')"
# a response from the server whose top Via is not C:c
nt=$(ua_count t2)
ua_send srv "$C:$C2" <<EOF
SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK-notours
From: <sip:t2@$E>;tag=x
To: <sip:srv@$E>;tag=y
Call-ID: notours@$D2
CSeq: 3 OPTIONS
EOF
check "a response from the server to nothing forwarded (top Via not C:c) is dropped and counted" \
	sp_wait_for "unmatched" 3 stat_is 'unmatched responses' $((${U0:-0} + 3))
check_eq "... and t2 gets nothing" "" "$(ua_since t2 "$nt")"

# Max-Forwards
H0=$(stat 'too many hops') nt=$(ua_count t2) ns=$(ua_count srv)
request t2 10.2.0.11 OPTIONS mf0@t2 1 crlf "Max-Forwards: 0"
check "Max-Forwards: 0 from a terminal gets 483 Too Many Hops" sp_wait_for "483" 3 \
	ua_got t2 "$nt" '^SIP/2.0 483 Too Many Hops'
check_match "... with a To tag added" 'To: <sip:srv@[0-9.]+>;tag=' "$(ua_since t2 "$nt")"
check_eq "... counted" "$((${H0:-0} + 1))" "$(stat 'too many hops')"
nt=$(ua_count t1)
request t1 10.2.0.10 OPTIONS mf0@t1 1 crlf "Max-Forwards: 0"
check "... also to a terminal without a binding" sp_wait_for "483 t1" 3 ua_got t1 "$nt" '^SIP/2.0 483'
check "... for which none is created" no_binding 10.2.0.10:5070
request t2 10.2.0.11 OPTIONS mf10@t2 1 crlf "Max-Forwards: 10"
check "Max-Forwards: 10 reaches the server as 9" sp_wait_for "mf 9" 3 ua_got srv "$ns" '^Max-Forwards: 9'
check_no_match "... and the Max-Forwards: 0 request never did" 'mf0@t2' "$(ua_since srv "$ns")"
ns=$(ua_count srv) nt=$(ua_count t2)
ua_send srv "$C:$C2" <<EOF
MESSAGE sip:t2@$C:$C2 SIP/2.0
Via: SIP/2.0/UDP $D2:5060;branch=z9hG4bK-srvmf0
Max-Forwards: 0
From: <sip:srv@$D2>;tag=srv-mf0
To: <sip:t2@$C>
Call-ID: srv-mf0@$D2
CSeq: 1 MESSAGE
EOF
check "Max-Forwards: 0 from the server gets 483 from C:c" sp_wait_for "srv 483" 3 \
	ua_got srv "$ns" '^SIP/2.0 483'
check_eq "... and t2 gets nothing" "" "$(ua_since t2 "$nt")"

# Bare LF line ends: parsed leniently, rewritten completely (the first
# message creates t3's binding, the second changes its Contact)
ns=$(ua_count srv) nt=$(ua_count t3)
ua_send t3 "$E:5060" lf <<EOF
REGISTER sip:$E SIP/2.0
Via: SIP/2.0/UDP 10.2.0.10:5072;branch=z9hG4bK-lf-reg
Max-Forwards: 70
From: <sip:t3@$E>;tag=lf
To: <sip:t3@$E>
Call-ID: lf-reg@t3
CSeq: 1 REGISTER
Contact: <sip:t3@10.2.0.10:5072>
Expires: 600
EOF
check "a bare-LF REGISTER is answered" sp_wait_for "t3 200" 5 ua_got t3 "$nt" '^SIP/2.0 200'
ua_send t3 "$E:5060" lf <<EOF
MESSAGE sip:srv@$E SIP/2.0
Via: SIP/2.0/UDP 10.2.0.10:5072;branch=z9hG4bK-lf-msg
Max-Forwards: 70
From: <sip:t3@$E>;tag=lf
To: <sip:srv@$E>
Call-ID: lf-msg@t3
CSeq: 1 MESSAGE
Contact: <sip:t3@192.168.77.9:5070>
EOF
check "a bare-LF MESSAGE reaches the server" sp_wait_for "lf msg" 5 ua_got srv "$ns" 'lf-msg@t3'
got=$(ua_since srv "$ns")
check_no_match "no address of t3 (10.2.0.10:5072, 192.168.77.9) reaches the server" '10\.2\.0\.10|192\.168\.77\.9' "$got"
check_eq "both bare-LF Contacts became C:c" 2 "$(printf '%s\n' "$got" | grep -cE "^Contact: <sip:t3@$C:4[0-9]+>")"

# message-size-limit
check_fails "message-size-limit 511 is refused" sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "message-size-limit 511"
check_fails "message-size-limit 65508 is refused" sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "message-size-limit 65508"
check "message-size-limit 1000" sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "message-size-limit 1000"
check_match "show running-config has it" '^ message-size-limit 1000$' "$(sp_cli sp1 -c 'show running-config')"
# message NAME FROM-IP CALL-ID BODY-BYTES
message() {
	ua_send "$1" "$E:5060" <<EOF
MESSAGE sip:srv@$E SIP/2.0
Via: SIP/2.0/UDP $2:5070;branch=z9hG4bK-$3
Max-Forwards: 70
From: <sip:$1@$E>;tag=m
To: <sip:srv@$E>
Call-ID: $3
CSeq: 1 MESSAGE
Content-Type: text/plain

$(head -c "$4" /dev/zero | tr '\0' x)
EOF
}
L0=$(stat 'too large') nt=$(ua_count t2) ns=$(ua_count srv)
message t2 10.2.0.11 big@t2 1200
check "a request over the limit gets 513 Message Too Large" sp_wait_for "513" 3 \
	ua_got t2 "$nt" '^SIP/2.0 513 Message Too Large'
check_eq "... counted" "$((${L0:-0} + 1))" "$(stat 'too large')"
message t2 10.2.0.11 small@t2 600
check "a request within it passes" sp_wait_for "small" 3 ua_got srv "$ns" 'small@t2'
check_no_match "... the big one never reached the server" 'big@t2' "$(ua_since srv "$ns")"
check "no message-size-limit" sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "no message-size-limit"
check_no_match "show running-config: back to the default (not shown)" 'message-size-limit' "$(sp_cli sp1 -c 'show running-config')"

# ==== item 6: refusals the caller can see ====
# invite CALL-ID: an INVITE with an SDP offer from t2
invite() {
	ua_send t2 "$E:5060" <<EOF
INVITE sip:srv@$E SIP/2.0
Via: SIP/2.0/UDP 10.2.0.11:5070;branch=z9hG4bK-$1
Max-Forwards: 70
From: <sip:t2@$E>;tag=f-$1
To: <sip:srv@$E>
Call-ID: $1
CSeq: 1 INVITE
Contact: <sip:t2@10.2.0.11:5070>
Content-Type: application/sdp

v=0
o=t2 1 1 IN IP4 10.2.0.11
s=-
c=IN IP4 10.2.0.11
t=0 0
m=audio 8000 RTP/AVP 8
EOF
}
P0=$(stat 'no media port') nt=$(ua_count t2) ns=$(ua_count srv)
invite media1
check "a call takes the only media ports: 200 OK" sp_wait_for "media1 200" 5 ua_got t2 "$nt" '^SIP/2.0 200'
nt=$(ua_count t2)
invite media2
check "the next call, with no free media port, gets 503 from E" sp_wait_for "media2 503" 3 \
	ua_got t2 "$nt" '^SIP/2.0 503 Service Unavailable'
check_match "... with Retry-After" 'Retry-After: [0-9]+' "$(ua_since t2 "$nt")"
check_eq "... counted" "$((${P0:-0} + 1))" "$(stat 'no media port')"
nt=$(ua_count t2)
invite media3
check "another one too" sp_wait_for "media3 503" 3 ua_got t2 "$nt" '^SIP/2.0 503'
check_eq "... counted" "$((${P0:-0} + 2))" "$(stat 'no media port')"
check_no_match "neither reached the server" 'media[23]' "$(ua_since srv "$ns")"
check_eq "the refusals are logged once per 10 s" 1 "$(grep -c '503 Service Unavailable (no free media port)' "$SP_TMP/sp1/log")"
# the session limit says 503 with Retry-After too
check "session-limit 1" sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "session-limit 1"
S0=$(stat 'session limit') nt=$(ua_count t2)
ua_send t2 "$E:5060" <<EOF
INVITE sip:srv@$E SIP/2.0
Via: SIP/2.0/UDP 10.2.0.11:5070;branch=z9hG4bK-limit1
Max-Forwards: 70
From: <sip:t2@$E>;tag=f-limit1
To: <sip:srv@$E>
Call-ID: limit1
CSeq: 1 INVITE
Contact: <sip:t2@10.2.0.11:5070>
EOF
check "over the session limit: 503 from E" sp_wait_for "limit 503" 3 ua_got t2 "$nt" '^SIP/2.0 503'
check_match "... with Retry-After" 'Retry-After: [0-9]+' "$(ua_since t2 "$nt")"
check_eq "... counted" "$((${S0:-0} + 1))" "$(stat 'session limit')"

sp_done
