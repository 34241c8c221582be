#!/bin/bash
# The steering program's port owner map (issue 21 item 3, sp_steer_owner:
# C's port -> the worker owning the binding that holds it) holds an entry
# for each binding whose UDP server side is open on its worker, and for
# nothing else: every path that closes a binding's UDP C:c clears its entry.
# sigproxyd runs 2 workers; six UDP terminals register through E at
# Kamailio D1; the map is read with bpftool (the map of this daemon's
# program, by the id its descriptor's fdinfo gives) and compared with
# `show bindings` (C:c's port, and the terminal's worker by the steering
# hash of sp_steer_map.h):
# - registered: one entry per binding, its terminal's worker;
# - one terminal unregisters (Expires: 0): its binding expires, its
#   entry goes, the others stay;
# - the strategy's server moves to `transport tcp`: the bindings keep their
#   C:c over TCP (worker 0's, steered by no entry): the map is empty; back
#   to UDP: every entry again;
# - `role standby`: the binding sockets go, and the entries with them (the
#   standby's table changes by the state sync alone, which never reached
#   the engine: the entries of bindings deleted there stayed for good);
#   `role active` again: every entry again.
# The move to TCP and the standby left every entry behind before.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd python3 nft bpftool

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
WORKERS=2
PORTS="5070 5071 5072 5073 5074 5075"
SC=$SP_TMP/scenarios
mkdir -p "$SC"
# unregister.xml: register.xml with Expires: 0, the 200 taken as it comes
# (the registrar's answer has no Contact left)
sed -e 's/Expires: 300/Expires: 0/' -e '/<action>/,/<\/action>/d' -e '/<Reference/d' \
	"$LAB_SIPP_DIR/register.xml" >"$SC/unregister.xml"

lab_up_or_end
lab_sp_start --workers "$WORKERS"
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "limit source-rate 0" -c "limit source-new-bindings 0" -c "media off" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "sigproxyd with 2 workers configured" "" "$out"
sp_wait_for "the tproxy rule" 10 sh -c "ip netns exec '$SP' nft list ruleset | grep -q tproxy"
lab_start_kamailio "$SRV1" "$D1" srv1 || { sp_fail "kamailio #1 starts"; sp_done; exit 1; }

# the daemon's port owner map: its descriptor's fdinfo gives the map's id
# (map names are not unique on a machine where other daemons run)
MAP_ID=
for f in /proc/"$SPD_PID"/fdinfo/*; do
	id=$(awk '/^map_type:/ { t = $2 } /^max_entries:/ { m = $2 } /^map_id:/ { i = $2 }
		END { if (t == 2 && m == 131072) print i }' "$f" 2>/dev/null)
	[ -n "$id" ] && [ "$(bpftool -j map show id "$id" | python3 -c 'import json, sys; print(json.load(sys.stdin)["name"])')" = sp_steer_owner ] &&
		MAP_ID=$id && break
done
check "sigproxyd holds the steering program's sp_steer_owner map (id ${MAP_ID:-none})" test -n "$MAP_ID"
# owners: "PORT:WORKER" of every entry (IPv6 ones as 6/PORT), sorted
owners() {
	bpftool -j map dump id "$MAP_ID" | python3 -c '
import json, sys
out = []
for e in json.load(sys.stdin):
    f = e.get("formatted")
    if f:
        k, v = f["key"], f["value"]
    else:
        k, v = (int.from_bytes(bytes(int(b, 16) for b in e[x]), "little") for x in ("key", "value"))
    if v:
        out.append("%s%d:%d" % ("6/" if k >= 65536 else "", k % 65536, v - 1))
print(" ".join(sorted(out)))'
}
# pick ADDR PORT: the worker the steering hash gives (sp_steer_pick)
pick() {
	local IFS=. a
	read -r -a a <<<"$1"
	local addr=$(( (a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3] ))
	echo $(( ((((addr ^ ($2 << 16) ^ $2) * 2654435761) & 0xffffffff) >> 16) % WORKERS ))
}
# expected: "PORT:WORKER" of every binding of show bindings, sorted
expected() {
	local line t c
	sp_cli sp1 -c "show bindings" | awk '$3 ~ /:[0-9]+$/ && $5 ~ /:[0-9]+$/ { print $3, $5 }' |
		while read -r t c; do
			echo "${c##*:}:$(pick "${t%:*}" "${t##*:}")"
		done | sort | tr '\n' ' ' | sed 's/ $//'
}
owners_are() {
	[ "$(owners)" = "$1" ]
}
nbindings() {
	sp_cli sp1 -c "show bindings" | sed -nE 's/^([0-9]+) bindings?$/\1/p'
}
nbindings_is() {
	[ "$(nbindings)" = "$1" ]
}

check_eq "no entry before any binding" "" "$(owners)"
for p in $PORTS; do
	check "terminal 10.1.0.10:$p registers through E" lab_register "$TE" 10.1.0.10 "$p" "u$p" "$E"
done
check_eq "six bindings" 6 "$(nbindings)"
all=$(expected)
echo "# bindings (C's port:worker): $all"
check_eq "one owner entry per binding, its terminal's worker" "$all" "$(owners)"
both_workers() {
	[[ " $all " == *":0 "* && " $all " == *":1 "* ]]
}
check "both workers own some" both_workers

# ---- a binding expires ----
gone=$(sp_cli sp1 -c "show bindings" | awk '$3 == "10.1.0.10:5075" { print $5 }')
check "10.1.0.10:5075 unregisters (Expires: 0)" lab_sipp "$TE" unreg-5075 -sf "$SC/unregister.xml" \
	-i 10.1.0.10 -p 5075 -s u5075 -m 1 "$E:5060"
check "... and its binding expires" sp_wait_for "5 bindings" 10 nbindings_is 5
five=$(expected)
check_no_match "... its C port (${gone:-none}) left the bindings" "^${gone##*:}:| ${gone##*:}:" "$five"
check "its owner entry went with it, the others stayed" sp_wait_for "owners of 5" 5 owners_are "$five"
check_eq "... (owners)" "$five" "$(owners)"

# ---- the server side moves to TCP and back ----
out=$(sp_cli sp1 -c "configure terminal" -c "proxy-strategy east seq 10" -c "server $D1 transport tcp" -c "end" 2>&1)
check_eq "the strategy's server moves to TCP" "" "$out"
sp_wait_for "the bindings' server side over TCP" 5 sh -c \
	"[ \"\$('$SPCLI' -s '$SP_TMP/sp1/cli.sock' -c 'show bindings' | grep -c 'udp/tcp\$')\" = 5 ]"
check_eq "the bindings stay, their server side over TCP" 5 \
	"$(sp_cli sp1 -c "show bindings" | grep -c 'udp/tcp$')"
check_eq "no owner entry left (TCP server sides are worker 0's)" "" "$(owners)"
out=$(sp_cli sp1 -c "configure terminal" -c "proxy-strategy east seq 10" -c "server $D1" -c "end" 2>&1)
check_eq "the strategy's server back on UDP" "" "$out"
check "every binding's owner entry again" sp_wait_for "owners again" 5 owners_are "$five"

# ---- standby and active again ----
out=$(sp_cli sp1 -c "configure terminal" -c "redundancy" -c "role standby" -c "end" 2>&1)
check_eq "role standby" "" "$out"
sp_wait_for "the binding sockets closed" 5 sh -c "! ip netns exec '$SP' ss -Hnua 'src $C' | grep -q ."
check_eq "the standby keeps the bindings" 5 "$(nbindings)"
check_eq "the standby holds no owner entry" "" "$(owners)"
out=$(sp_cli sp1 -c "configure terminal" -c "redundancy" -c "role active" -c "end" 2>&1)
check_eq "role active" "" "$out"
check "active again: every binding's owner entry" sp_wait_for "owners after the takeover" 5 owners_are "$five"
check_eq "... (owners)" "$five" "$(owners)"

check "sigproxyd still runs" kill -0 "$SPD_PID"
check "sigproxyd stops cleanly" sp_daemon_stop "$SPD_PID"
lab_down
sp_done
