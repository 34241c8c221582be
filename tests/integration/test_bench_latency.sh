#!/bin/bash
# bench/count --tool latency (the latency profile of issue 21): the lab's
# calls through sigproxyd and through Kamailio tuned (--proxy kamt), both
# links of the proxy's namespace captured, bench/residence.py pairing every
# message's copy in with its copy out:
# - sigproxyd relays all 7 messages of each call (100, 180, 200, ACK, BYE,
#   200 and the INVITE): 7 per call paired, none in without its copy out;
# - Kamailio answers the INVITE with its own 100 Trying before the server's
#   reaches it: one per call counted as the proxy's own, the rest paired;
# - the percentiles are ordered (p50 <= p99 <= max) and every residence is
#   a positive time below the calls' own length (a pairing gone wrong gives
#   negative or absurd times).
# Figures, not timings: nothing here asserts how fast.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_require_tools sipp kamailio dumpcap python3 nft bc

T=$SP_TMP
N=100
COUNT=$SP_TOP/bench/count

out=$("$COUNT" --build "$SP_BUILD" --tool latency --rate 50 --calls $N --out "$T/sp" 2>&1)
rc=$?
check_eq "sigproxyd: bench/count --tool latency exits 0" 0 "$rc"
[ $rc = 0 ] || echo "$out" | tail -20
check_match "sigproxyd: every call successful" "successful $N failed 0" "$out"
check_match "sigproxyd: the run-queue wait is printed" "run-queue wait [0-9]+ ms over [0-9]+ runs" "$out"
check_match "sigproxyd: the steal time is printed" "\(steal\) over the calls: [0-9]+ ms" "$out"
for m in INVITE 100/INVITE 180/INVITE 200/INVITE ACK BYE 200/BYE; do
	check_match "sigproxyd: $N ${m} paired" "^ +${m//\//\\/} +$N " "$out"
done
check_match "sigproxyd: $N INVITE + 200 pairs" "^ +INVITE \+ 200 +$N " "$out"
check_match "sigproxyd: no message in without its copy out" "without their copy out: 0 \(of them answered by the proxy itself first: 0\)" "$out"
check_eq "sigproxyd: residence.csv has a row per paired message" $((7 * N)) \
	"$(tail -n +2 "$T/sp/latency/residence.csv" | grep -c .)"
check_eq "summary.txt keeps what bench/count printed" "$(grep -c . <<<"$out")" "$(grep -c . "$T/sp/summary.txt")"

# ordered percentiles and sane values: every row's p50 <= p90 <= p99 <= p99.9 <= max,
# 0 < value < the run's length (N calls at 50/s, in µs)
rows_ok() {
	awk -v lim=$((N / 50 * 1000000)) '$NF ~ /^[0-9]+$/ && NF >= 7 && $(NF-5) ~ /^[0-9]+$/ {
		n++; p50 = $(NF-4); p90 = $(NF-3); p99 = $(NF-2); p999 = $(NF-1); mx = $NF
		if (!(p50 > 0 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= mx && mx < lim)) bad++ }
		END { print (n >= 8 && !bad) ? "ok" : "bad " n " " bad }' <<<"$1"
}
check_eq "sigproxyd: percentiles ordered, times positive and bounded" ok "$(rows_ok "$out")"
check "sigproxyd: no negative residence in the CSV" sh -c "! cut -d';' -f3 '$T/sp/latency/residence.csv' | grep -q '^-'"

out=$("$COUNT" --build "$SP_BUILD" --proxy kamt --tool latency --rate 50 --calls $N --out "$T/kamt" 2>&1)
rc=$?
check_eq "Kamailio: bench/count --proxy kamt --tool latency exits 0" 0 "$rc"
[ $rc = 0 ] || echo "$out" | tail -20
check_match "Kamailio: every call successful" "kamt: successful $N failed 0" "$out"
# (not the 180: Kamailio drops a 180 the server sends after its 200)
for m in INVITE 200/INVITE ACK BYE 200/BYE; do
	check_match "Kamailio: $N ${m} paired" "^ +${m//\//\\/} +$N " "$out"
done
check_no_match "Kamailio: the server's 100 is never paired with Kamailio's own" "^ +100/INVITE " "$out"
check_match "Kamailio: its own 100 Trying counted, one per call" "answered by the proxy itself first: $N\)" "$out"
check_eq "Kamailio: percentiles ordered, times positive and bounded" ok "$(rows_ok "$out")"
check_match "bench/count refuses an unknown proxy" "--proxy sp[|]kamt" "$("$COUNT" --build "$SP_BUILD" --proxy nope --tool latency 2>&1)"

sp_done
