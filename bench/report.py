#!/usr/bin/env python3
"""bench/run's report: the "key value" figures file -> results.json and a
markdown table, sigproxy beside Kamailio with their ratios.

usage: report.py FIGURES RESULTS.json RESULTS.md
"""
import json
import sys


def load(path):
    fig = {}
    for line in open(path):
        key, _, value = line.rstrip("\n").partition(" ")
        if key.startswith(("version.", "machine.", "date")):
            fig[key] = value	# a commit like 8e12345 is no number
            continue
        try:
            fig[key] = int(value)
        except ValueError:
            try:
                fig[key] = float(value)
            except ValueError:
                fig[key] = value
    return fig


def rtts(path):
    """The INVITE->200 times (ms) of one SIPp -trace_rtt file."""
    if not path:
        return []
    rows = [l.strip().split(";") for l in open(path) if l.strip()]
    col = next(i for i, h in enumerate(rows[0]) if "response" in h.lower())
    return sorted(float(r[col]) for r in rows[1:] if len(r) > col)


def pct(values, p):
    if not values:
        return None
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * len(values) + 0.5)) - 1))
    return values[k]


def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def per_call_us(ns, ticks, hz, calls):
    """CPU per call (µs): from the run time in ns (schedstat) when the run
    measured it, else from utime+stime ticks (figures of older runs)."""
    if not calls:
        return None
    if ns:
        return round(ns / 1e3 / calls, 1)
    return round(ticks / hz / calls * 1e6, 1) if ticks is not None else None


def main():
    fig = load(sys.argv[1])
    hz = fig["hz"]
    res = {"date": fig.get("date"), "mode": fig.get("mode"),
           "machine": {k.split(".", 1)[1]: v for k, v in fig.items() if k.startswith("machine.")},
           "versions": {k.split(".", 1)[1]: v for k, v in fig.items() if k.startswith("version.")},
           "fixed_rate_cps": fig["fixed_rate"], "fixed_seconds": fig["fixed_seconds"],
           "kamailio_workers": fig["kam_workers"], "kamailio_tuned_workers": fig.get("kamt_workers"),
           "sustain_seconds": fig.get("sustain_seconds"), "sigproxy_media": fig.get("sp_media"),
           "sigproxy_workers": fig.get("sp_workers", 1)}

    # Fixed-rate runs: CPU per call over every repetition; latency per
    # repetition against the direct path of the same repetition.
    reps = sorted({k.split(".")[0] for k in fig if k.startswith("fixed") and k[5:6].isdigit()})
    per = {}
    whos = [w for w in ("sp", "sp6", "spt", "spl", "kam", "kamt", "kamtcp", "kamtls") if f"{w}.max_cps" in fig]
    # each row's direct path: its own family's, or TCP's (TLS: the TCP
    # callee straight over TCP, by the same generator, bench/siptls.c)
    base_of = {"sp6": "base6", "spt": "baset", "kamtcp": "baset", "spl": "basel", "kamtls": "basel"}
    for who in whos:
        ticks = sum(fig.get(f"{r}.{who}.cpu_ticks", 0) for r in reps)
        ns = sum(fig.get(f"{r}.{who}.cpu_ns", 0) for r in reps)
        calls = sum(fig.get(f"{r}.{who}.calls", 0) for r in reps)
        ok = all(fig.get(f"{r}.{who}.ok") == 1 for r in reps)
        lat, base = [], []
        for r in reps:
            lat += rtts(fig.get(f"{r}.{who}.rtt"))
            # sp6 against the IPv6 direct path
            base += rtts(fig.get(f"{r}.{base_of.get(who, 'base')}.rtt"))
        lat.sort()
        base.sort()
        per[who] = {
            "fixed_all_calls_ok": ok,
            "fixed_calls": calls,
            "cpu_us_per_call": per_call_us(ns, ticks, hz, calls),
            "cpu_us_per_call_ticks": per_call_us(0, ticks, hz, calls),
            "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
            "base_p50_ms": pct(base, 50), "base_p99_ms": pct(base, 99),
        }
        for p in ("p50", "p99"):
            a, b = per[who][p + "_ms"], per[who]["base_" + p + "_ms"]
            per[who][p + "_added_ms"] = round(a - b, 3) if a is not None and b is not None else None
        per[who]["max_cps"] = fig.get(f"{who}.max_cps")
        per[who]["rss_kib"] = fig.get(f"{who}.rss_kib")
        per[who]["rss_idle_kib"] = fig.get(f"{who}.rss_idle_kib")
        per[who]["pss_kib"] = fig.get(f"{who}.pss_kib")
        if who not in ("sp", "sp6", "spt", "spl"):
            per[who]["processes"] = fig.get(f"{who}.processes")
        # PSS growth per idle connection held (stream rows)
        per[who]["kib_per_connection"] = fig.get(f"{who}.conn_kib_per_conn")
        per[who]["connections_held"] = fig.get(f"{who}.conns_up")
        # a Kamailio's shared memory in use before, while the connections
        # were held, and after they closed (KiB)
        for k in ("before", "held", "after"):
            if f"{who}.shm_kib_{k}" in fig:
                per[who][f"shm_kib_{k}"] = fig[f"{who}.shm_kib_{k}"]
        # the highest sustained rate: zero failed calls, zero receive-buffer
        # drops, each step held sustain_seconds; CPU per call over that step
        per[who]["sustained_cps"] = fig.get(f"{who}.sustained_cps")
        per[who]["sustained_fail_cps"] = fig.get(f"{who}.sustained_fail_cps")
        why = fig.get(f"{who}.sustained_fail_why")
        per[who]["sustained_fail_why"] = why.replace("_", " ") if isinstance(why, str) else None
        sc, st = fig.get(f"{who}.sustained_calls"), fig.get(f"{who}.sustained_cpu_ticks")
        sn = fig.get(f"{who}.sustained_cpu_ns")
        per[who]["sustained_cpu_us_per_call"] = per_call_us(sn, st, hz, sc)
        per[who]["sustained_cpu_us_per_call_ticks"] = per_call_us(0, st, hz, sc)
        # the two clocks over the longest step: schedstat's ns against
        # utime+stime's ticks
        if sn and st:
            per[who]["sustained_cpu_ns_over_ticks"] = round(sn / (st * 1e9 / hz), 3)
        # latency at the sustained rate ("sust") and at half of it ("half",
        # the p99 target's point), each against the direct path at that rate
        for part, name in (("sust", "sustained_rate"), ("half", "half_rate")):
            rate = fig.get(f"{part}.{who}.rate")
            if not rate:
                continue
            hl = rtts(fig.get(f"{part}.{who}.{who}.rtt"))
            hb = rtts(fig.get(f"{part}.{who}.base.rtt"))
            per[who][f"{name}_cps"] = rate
            per[who][f"{name}_ok"] = fig.get(f"{part}.{who}.{who}.ok") == 1
            for p in (50, 99):
                a, b = pct(hl, p), pct(hb, p)
                per[who][f"{name}_p{p}_added_ms"] = round(a - b, 3) if a is not None and b is not None else None
    res["sigproxy"], res["kamailio"] = per["sp"], per.get("kam")
    if "kamt" in per:
        res["kamailio_tuned"] = per["kamt"]
    if "sp6" in per:
        res["sigproxy_ipv6"] = per["sp6"]
    if "spt" in per:
        res["sigproxy_tcp"] = per["spt"]
    if "kamtcp" in per:
        res["kamailio_tcp"] = per["kamtcp"]
    if "spl" in per:
        res["sigproxy_tls"] = per["spl"]
    if "kamtls" in per:
        res["kamailio_tls"] = per["kamtls"]
    # BENCH_PROXIES=sp: no Kamailio, every ratio n/a
    sp, kam = per["sp"], per.get("kam") or {k: None for k in per["sp"]}

    def ratios(k):
        return {
            "max_cps": ratio(sp["max_cps"], k["max_cps"]),
            "sustained_cps": ratio(sp["sustained_cps"], k["sustained_cps"]),
            "cpu_per_call": ratio(sp["cpu_us_per_call"], k["cpu_us_per_call"]),
            "cpu_per_call_sustained": ratio(sp["sustained_cpu_us_per_call"], k["sustained_cpu_us_per_call"]),
            "p50_added": ratio(sp["p50_added_ms"], k["p50_added_ms"]),
            "p99_added": ratio(sp["p99_added_ms"], k["p99_added_ms"]),
            # PSS: Kamailio's processes share their shm; summed RSS counts
            # it once per process
            "pss": ratio(sp["pss_kib"], k["pss_kib"]),
        }
    res["ratios_sigproxy_over_kamailio"] = ratios(kam)
    spw = workers_rows(fig, hz)
    if spw:
        res["sigproxy_workers_scaling"] = spw
    if "kamt" in per:
        res["ratios_sigproxy_over_kamailio_tuned"] = ratios(per["kamt"])
    if "sp6" in per:
        s6 = per["sp6"]
        res["ratios_ipv6_over_ipv4"] = {
            "sustained_cps": ratio(s6["sustained_cps"], sp["sustained_cps"]),
            "cpu_per_call_sustained": ratio(s6["sustained_cpu_us_per_call"], sp["sustained_cpu_us_per_call"]),
            "max_cps": ratio(s6["max_cps"], sp["max_cps"]),
            "cpu_per_call": ratio(s6["cpu_us_per_call"], sp["cpu_us_per_call"]),
        }

    if "spt" in per:
        st, kt_ = per["spt"], per.get("kamtcp") or {k: None for k in per["spt"]}
        res["ratios_tcp"] = {
            "tcp_over_udp_sustained_cps": ratio(st["sustained_cps"], sp["sustained_cps"]),
            "tcp_over_udp_cpu_per_call_sustained": ratio(st["sustained_cpu_us_per_call"],
                                                         sp["sustained_cpu_us_per_call"]),
            "sigproxy_over_kamailio_sustained_cps": ratio(st["sustained_cps"], kt_["sustained_cps"]),
            "sigproxy_over_kamailio_max_cps": ratio(st["max_cps"], kt_["max_cps"]),
            "sigproxy_over_kamailio_cpu_per_call": ratio(st["cpu_us_per_call"], kt_["cpu_us_per_call"]),
            "sigproxy_over_kamailio_cpu_per_call_sustained": ratio(st["sustained_cpu_us_per_call"],
                                                                   kt_["sustained_cpu_us_per_call"]),
            "sigproxy_over_kamailio_kib_per_connection": ratio(st["kib_per_connection"],
                                                               kt_["kib_per_connection"]),
        }
    if "spl" in per:
        sl, kl = per["spl"], per.get("kamtls") or {k: None for k in per["spl"]}
        kt_ = per.get("kamtcp") or {k: None for k in per["spl"]}
        res["ratios_tls"] = {
            "sigproxy_over_kamailio_sustained_cps": ratio(sl["sustained_cps"], kl["sustained_cps"]),
            "sigproxy_over_kamailio_max_cps": ratio(sl["max_cps"], kl["max_cps"]),
            # the goal's: the highest TLS rate against Kamailio's highest TCP rate
            "sigproxy_tls_over_kamailio_tcp_max_cps": ratio(sl["max_cps"], kt_["max_cps"]),
            "sigproxy_over_kamailio_cpu_per_call": ratio(sl["cpu_us_per_call"], kl["cpu_us_per_call"]),
            "sigproxy_over_kamailio_cpu_per_call_sustained": ratio(sl["sustained_cpu_us_per_call"],
                                                                   kl["sustained_cpu_us_per_call"]),
            "sigproxy_over_kamailio_kib_per_connection": ratio(sl["kib_per_connection"],
                                                               kl["kib_per_connection"]),
        }

    scale = {}
    for k, v in fig.items():
        if k.startswith("scale."):
            scale[k[6:]] = v
    res["scale"] = scale
    res["strategies_daemon"] = {k.split(".", 1)[1]: v for k, v in fig.items() if k.startswith("strategies.")}
    res["run_seconds"] = fig.get("run_seconds")
    res["direct_max_cps"] = fig.get("base.max_cps")
    res["udp_rcvbuf_drops"] = {k.split(".", 1)[1]: v for k, v in fig.items() if k.startswith("udp_rcvbuf_drops.")}
    json.dump(res, open(sys.argv[2], "w"), indent=2, sort_keys=True)

    def f(v, unit=""):
        return "n/a" if v is None else f"{v}{unit}"

    r = res["ratios_sigproxy_over_kamailio"]
    out = []
    m = res["machine"]
    out.append(f"Run {res['date']} ({res['mode']}), {m.get('nproc')} CPUs "
               f"({str(m.get('cpu')).replace('_', ' ')}), kernel {m.get('kernel')}, "
               f"Kamailio {res['versions'].get('kamailio')} with {res['kamailio_workers']} UDP worker(s), "
               f"SIPp {res['versions'].get('sipp')}, sigproxy {res['versions'].get('sigproxy')} "
               f"(media {res['sigproxy_media']}, {res['sigproxy_workers']} engine worker(s)).")
    out.append("")
    kt = per.get("kamt")
    rt = res.get("ratios_sigproxy_over_kamailio_tuned", {})
    cols = [("sp", sp), ("kam", kam)] + ([("kamt", kt)] if kt else [])
    cols = [(k, w) for k, w in cols if k == "sp" or k in per]
    head = "| figure | sigproxyd |" + (" Kamailio (1 worker, untuned) |" if "kam" in per else "")
    if kt:
        head += f" Kamailio tuned ({res['kamailio_tuned_workers']} workers) |"
    head += " sigproxy/Kamailio |" + (" sigproxy/Kamailio tuned |" if kt else "")
    out.append(head)
    out.append("|---" * (head.count("|") - 1) + "|")

    def row(label, values, rkey=None):
        cells = [label] + values + [f(r.get(rkey)) if rkey else ""]
        if kt:
            cells.append(f(rt.get(rkey)) if rkey else "")
        out.append("| " + " | ".join(cells) + " |")

    def lat(w, name):
        return (f"{f(w.get(name + '_p50_added_ms'))} / {f(w.get(name + '_p99_added_ms'))} "
                f"at {f(w.get(name + '_cps'))}/s" + ("" if w.get(name + "_ok", True) else " (calls failed)"))

    ss = res.get("sustain_seconds")
    row(f"highest sustained rate: {ss} s steps, zero failed calls, zero receive-buffer drops (calls/s)",
        [f"{f(w['sustained_cps'])} " + ("(held at the burst rate, the search's top)"
                                         if not w.get("sustained_fail_cps") else
                                         f"(fails at {f(w.get('sustained_fail_cps'))}"
                                         + (f": {w['sustained_fail_why']})" if w.get("sustained_fail_why") else ")"))
         for _, w in cols], "sustained_cps")
    row("CPU per call at the sustained rate, over its step (µs, run time from schedstat)",
        [f(w["sustained_cpu_us_per_call"]) for _, w in cols], "cpu_per_call_sustained")
    row("added INVITE→200 p50 / p99 at the sustained rate (ms)", [lat(w, "sustained_rate") for _, w in cols])
    row("added p50 / p99 at half the sustained rate (ms)", [lat(w, "half_rate") for _, w in cols])
    row("highest burst rate, short steps, zero failed calls (calls/s)", [f(w["max_cps"]) for _, w in cols], "max_cps")
    row(f"CPU per call at {res['fixed_rate_cps']} calls/s (µs, run time from schedstat)",
        [f(w["cpu_us_per_call"]) for _, w in cols], "cpu_per_call")
    row(f"added INVITE→200 time p50 at {res['fixed_rate_cps']} calls/s (ms)",
        [f(w["p50_added_ms"]) for _, w in cols], "p50_added")
    row(f"added INVITE→200 time p99 at {res['fixed_rate_cps']} calls/s (ms)",
        [f(w["p99_added_ms"]) for _, w in cols], "p99_added")
    row("resident memory after the load (KiB, PSS summed; VmRSS summed)",
        [f"{f(w['pss_kib'])}; {f(w['rss_kib'])}" + (f" ({f(w.get('processes'))} processes)" if k != "sp" else "")
         for k, w in cols], "pss")
    row("fixed-rate calls, all successful", [f"{w['fixed_calls']}, {w['fixed_all_calls_ok']}" for _, w in cols])
    clocks(out, per, cols, f)
    if spw:
        workers_table(out, res, spw, f)
    if "sp6" in per:
        ipv6_table(out, res, sp, per["sp6"], f, lat)
    if "spt" in per:
        tcp_table(out, res, sp, per["spt"], per.get("kamtcp"), f, lat)
    if "spl" in per:
        tls_table(out, res, per["spl"], per.get("kamtls"), f, lat)
    out.append("")
    out.append(f"Direct path (no proxy) INVITE→200 p50/p99 during the fixed-rate runs: "
               f"{f(sp['base_p50_ms'])} / {f(sp['base_p99_ms'])} ms; its highest rate with zero "
               f"failed calls (the lab's ceiling: both SIPps share the CPUs): {f(fig.get('base.max_cps'))} calls/s.")
    if scale:
        out.append("")
        out.append("Scale (bench/sp_scale.c through sp_table, the CLI loader, sp_classify, sp_kernel):")
        out.append("")
        out.append("| bindings | dialogs | heap/binding (B) | heap/dialog (B) | table per binding / dialog (B) | binding lookup (ns) | dialog lookup (ns) | binding create (ns) | dialog create (ns) |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        sizes = []
        for k in scale:
            s = k.split(".")[0]
            if k.endswith(".bindings") and s not in sizes:
                sizes.append(s)
        for s in sizes:
            g = lambda n: scale.get(f"{s}.{n}")
            out.append(f"| {g('bindings')} | {f(g('dialogs'), '') if g('dialogs') is not None else 0} | "
                       f"{g('binding_heap_bytes')} | {f(g('dialog_heap_bytes'))} | "
                       f"{g('table_per_binding')} / {g('table_per_dialog') if g('dialogs') else 'n/a'} | {g('binding_lookup_ns')} | "
                       f"{f(g('dialog_lookup_ns'))} | {g('binding_create_ns')} | {f(g('dialog_create_ns'))} |")
        sd = res["strategies_daemon"]
        out.append("")
        out.append(f"{scale.get('strategies')} strategies: CLI loader {scale.get('strategy_load_ms')} ms, "
                   f"commit {scale.get('strategy_commit_ms')} ms, classification build "
                   f"{scale.get('classify_build_ms')} ms ({scale.get('nft_entries')} nft entries), "
                   f"nftables install {scale.get('nft_install_ms')} ms, replace {scale.get('nft_reinstall_ms')} ms; "
                   f"through the running daemon (SIGHUP until `show proxy-strategy` lists the last one): "
                   f"{sd.get('sighup_s')} s; a call through it afterwards ok: {sd.get('call_ok')}.")
    out.append("")
    out.append("UDP receive-buffer drops over the whole run, per namespace: " +
               ", ".join(f"{k} {v}" for k, v in sorted(res["udp_rcvbuf_drops"].items())) +
               f"; sigproxyd's own count (SO_RXQ_OVFL): listener {f(fig.get('sp.socket_drops_listener'))}, "
               f"server side {f(fig.get('sp.socket_drops_server_side'))}.")
    out.append("")
    out.append(f"Run time {res['run_seconds']} s.")
    open(sys.argv[3], "w").write("\n".join(out) + "\n")


def clocks(out, per, cols, f):
    """Whether schedstat's run time (ns) and utime+stime (10 ms ticks) agree
    over each row's sustained step, the longest one it has."""
    cells = [f"{k} {w['sustained_cpu_ns_over_ticks']}" for k, w in cols if w.get("sustained_cpu_ns_over_ticks")]
    if not cells:
        return
    out.append("")
    out.append("CPU clocks over the step that set the sustained rate, run time (schedstat, ns) / utime+stime "
               "(ticks): " + ", ".join(cells) + f"; at the fixed rate, utime+stime gives " +
               ", ".join(f"{k} {f(w.get('cpu_us_per_call_ticks'))} µs" for k, w in cols) + " per call.")


def workers_rows(fig, hz):
    """The spw rows: the load of several callers on 1 worker (spw1) and on
    N (spw), sigproxyd started again for each."""
    rows = {}
    for who in ("spw1", "spw"):
        if f"{who}.max_cps" not in fig:
            continue
        sc = fig.get(f"{who}.sustained_calls")
        why = fig.get(f"{who}.sustained_fail_why")
        rows[who] = {
            "workers": fig.get(f"{who}.workers"),
            "callers": fig.get("spw.callers"),
            "caller_ports": str(fig.get("spw.ports")),
            "sustained_cps": fig.get(f"{who}.sustained_cps"),
            "sustained_fail_cps": fig.get(f"{who}.sustained_fail_cps"),
            "sustained_fail_why": why.replace("_", " ") if isinstance(why, str) else None,
            "sustained_cpu_us_per_call": per_call_us(fig.get(f"{who}.sustained_cpu_ns"),
                                                     fig.get(f"{who}.sustained_cpu_ticks"), hz, sc),
            "max_cps": fig.get(f"{who}.max_cps"),
            "fixed_calls": fig.get(f"{who}.fixed_calls"),
            "fixed_all_calls_ok": fig.get(f"{who}.fixed_ok") == 1,
            "cpu_us_per_call": per_call_us(fig.get(f"{who}.fixed_cpu_ns"), fig.get(f"{who}.fixed_cpu_ticks"),
                                           hz, fig.get(f"{who}.fixed_calls")),
            # per worker "id:from terminals/from servers/bindings/lock waits(ms waited)"
            "worker_split": str(fig.get(f"{who}.worker_split") or ""),
        }
    if "spw1" in rows and "spw" in rows:
        a, b = rows["spw"], rows["spw1"]
        rows["ratios_n_over_1"] = {k: ratio(a[k], b[k]) for k in
                                   ("sustained_cps", "sustained_cpu_us_per_call", "max_cps", "cpu_us_per_call")}
    return rows


def workers_table(out, res, rows, f):
    """The spw rows side by side: the same traffic on 1 and on N workers."""
    one, n, r = rows.get("spw1", {}), rows.get("spw", {}), rows.get("ratios_n_over_1", {})
    out.append("")
    out.append(f"Engine workers (spw1, spw): the load of {f(one.get('callers'))} SIPp callers (ports "
               f"{one.get('caller_ports', '').replace(',', ', ')} of the caller's address, spread evenly by "
               f"sigproxyd's steering hash), each at its share of the rate, on sigproxyd with 1 worker and with "
               f"{f(n.get('workers'))}:")
    out.append("")
    out.append(f"| figure | 1 worker | {f(n.get('workers'))} workers | N/1 |")
    out.append("|---|---|---|---|")

    def sust(w):
        if not w:
            return "n/a"
        tail = ("(held at the burst rate, the search's top)" if not w.get("sustained_fail_cps") else
                f"(fails at {w['sustained_fail_cps']}" + (f": {w['sustained_fail_why']})"
                                                         if w.get("sustained_fail_why") else ")"))
        return f"{f(w.get('sustained_cps'))} {tail}"
    out.append(f"| highest sustained rate (calls/s) | {sust(one)} | {sust(n)} | {f(r.get('sustained_cps'))} |")
    out.append(f"| CPU per call at the sustained rate (µs) | {f(one.get('sustained_cpu_us_per_call'))} | "
               f"{f(n.get('sustained_cpu_us_per_call'))} | {f(r.get('sustained_cpu_us_per_call'))} |")
    out.append(f"| highest burst rate (calls/s) | {f(one.get('max_cps'))} | {f(n.get('max_cps'))} | "
               f"{f(r.get('max_cps'))} |")
    out.append(f"| CPU per call at {res['fixed_rate_cps']} calls/s (µs) | {f(one.get('cpu_us_per_call'))} | "
               f"{f(n.get('cpu_us_per_call'))} | {f(r.get('cpu_us_per_call'))} |")
    out.append(f"| per worker: messages from terminals / from servers / bindings / waits for the lock (ms) | "
               f"{one.get('worker_split') or 'one worker'} | {(n.get('worker_split') or 'n/a').replace(',', ', ')} | |")


def tcp_table(out, res, udp, tcp, kam, f, lat):
    """The TCP rows: sigproxyd with TCP on both sides (spt) beside itself
    over UDP and beside Kamailio on TCP (kamtcp); the goals: at least 4x
    Kamailio's highest TCP rate, CPU per call at most 0.5x."""
    r = res["ratios_tcp"]
    kam = kam or {}
    out.append("")
    out.append("TCP (spt: the caller's calls over one TCP connection to E, the callee reached over TCP "
               "from C:c; kamtcp: Kamailio on TCP both ways) beside UDP (sp):")
    out.append("")
    out.append("| figure | sigproxyd UDP | sigproxyd TCP | Kamailio TCP (untuned) | TCP/UDP | "
               "sigproxy/Kamailio on TCP |")
    out.append("|---|---|---|---|---|---|")
    out.append(f"| highest sustained rate (calls/s) | {f(udp['sustained_cps'])} | {f(tcp['sustained_cps'])} | "
               f"{f(kam.get('sustained_cps'))} | {f(r['tcp_over_udp_sustained_cps'])} | "
               f"{f(r['sigproxy_over_kamailio_sustained_cps'])} |")
    out.append(f"| CPU per call at the sustained rate (µs) | {f(udp['sustained_cpu_us_per_call'])} | "
               f"{f(tcp['sustained_cpu_us_per_call'])} | {f(kam.get('sustained_cpu_us_per_call'))} | "
               f"{f(r['tcp_over_udp_cpu_per_call_sustained'])} | "
               f"{f(r['sigproxy_over_kamailio_cpu_per_call_sustained'])} |")
    out.append(f"| highest burst rate (calls/s) | {f(udp['max_cps'])} | {f(tcp['max_cps'])} | "
               f"{f(kam.get('max_cps'))} | | {f(r['sigproxy_over_kamailio_max_cps'])} |")
    out.append(f"| CPU per call at {res['fixed_rate_cps']} calls/s (µs) | {f(udp['cpu_us_per_call'])} | "
               f"{f(tcp['cpu_us_per_call'])} | {f(kam.get('cpu_us_per_call'))} | | "
               f"{f(r['sigproxy_over_kamailio_cpu_per_call'])} |")
    out.append(f"| added p50 / p99 at the sustained rate (ms, against the direct path on the same transport) | "
               f"{lat(udp, 'sustained_rate')} | {lat(tcp, 'sustained_rate')} | "
               f"{lat(kam, 'sustained_rate') if kam else 'n/a'} | | |")
    out.append(f"| resident memory after the load (KiB, PSS; VmRSS) | {f(udp['pss_kib'])}; {f(udp['rss_kib'])} | "
               f"{f(tcp['pss_kib'])}; {f(tcp['rss_kib'])} | {f(kam.get('pss_kib'))}; {f(kam.get('rss_kib'))} | | |")
    out.append(f"| memory per idle connection (KiB of PSS, {f(tcp.get('connections_held'))} / "
               f"{f(kam.get('connections_held'))} held) | | {f(tcp.get('kib_per_connection'))} | "
               f"{f(kam.get('kib_per_connection'))} | | {f(r['sigproxy_over_kamailio_kib_per_connection'])} |")


def tls_table(out, res, tls, kam, f, lat):
    """The TLS rows: bench/siptls.c's calls over one TLS connection to E:5061
    (spl, terminated by sigproxyd) and to Kamailio's tls module (kamtls),
    both relayed over TCP to the TCP callee; the goals: CPU per call at most
    0.5x Kamailio's, and the highest rate against Kamailio's on TCP (4x)."""
    r = res["ratios_tls"]
    kam = kam or {}

    def goal(x, limit, higher):
        if x is None:
            return "n/a"
        return "yes" if (x >= limit if higher else x <= limit) else "no"
    out.append("")
    out.append("TLS (spl: bench/siptls.c's calls over one TLS connection to E:5061, terminated by sigproxyd, "
               "relayed over TCP; kamtls: Kamailio's tls module, the same relay; latency against siptls over "
               "TCP straight to the callee):")
    out.append("")
    out.append("| figure | sigproxyd TLS | Kamailio TLS (untuned) | sigproxy/Kamailio | goal met |")
    out.append("|---|---|---|---|---|")
    out.append(f"| highest sustained rate (calls/s) | {f(tls['sustained_cps'])} | {f(kam.get('sustained_cps'))} | "
               f"{f(r['sigproxy_over_kamailio_sustained_cps'])} | |")
    out.append(f"| CPU per call at the sustained rate (µs) | {f(tls['sustained_cpu_us_per_call'])} | "
               f"{f(kam.get('sustained_cpu_us_per_call'))} | "
               f"{f(r['sigproxy_over_kamailio_cpu_per_call_sustained'])} | "
               f"{goal(r['sigproxy_over_kamailio_cpu_per_call_sustained'], 0.5, False)} (<= 0.5) |")
    out.append(f"| highest burst rate (calls/s) | {f(tls['max_cps'])} | {f(kam.get('max_cps'))} | "
               f"{f(r['sigproxy_over_kamailio_max_cps'])}; over Kamailio's TCP rate "
               f"{f(r['sigproxy_tls_over_kamailio_tcp_max_cps'])} | "
               f"{goal(r['sigproxy_tls_over_kamailio_tcp_max_cps'], 4, True)} (>= 4x TCP) |")
    out.append(f"| CPU per call at {res['fixed_rate_cps']} calls/s (µs) | {f(tls['cpu_us_per_call'])} | "
               f"{f(kam.get('cpu_us_per_call'))} | {f(r['sigproxy_over_kamailio_cpu_per_call'])} | "
               f"{goal(r['sigproxy_over_kamailio_cpu_per_call'], 0.5, False)} (<= 0.5) |")
    out.append(f"| added p50 / p99 at {res['fixed_rate_cps']} calls/s (ms) | {f(tls['p50_added_ms'])} / "
               f"{f(tls['p99_added_ms'])} | {f(kam.get('p50_added_ms'))} / {f(kam.get('p99_added_ms'))} | | |")
    out.append(f"| added p50 / p99 at the sustained rate (ms) | {lat(tls, 'sustained_rate')} | "
               f"{lat(kam, 'sustained_rate') if kam else 'n/a'} | | |")
    out.append(f"| resident memory after the load (KiB, PSS; VmRSS) | {f(tls['pss_kib'])}; {f(tls['rss_kib'])} | "
               f"{f(kam.get('pss_kib'))}; {f(kam.get('rss_kib'))} | | |")
    out.append(f"| memory per idle TLS connection (KiB of PSS, {f(tls.get('connections_held'))} / "
               f"{f(kam.get('connections_held'))} held) | {f(tls.get('kib_per_connection'))} | "
               f"{f(kam.get('kib_per_connection'))} | {f(r['sigproxy_over_kamailio_kib_per_connection'])} | |")
    if kam.get("shm_kib_before") is not None:
        out.append(f"| Kamailio's shared memory in use before / while held / 2 s after the idle connections (KiB) | | "
                   f"{kam['shm_kib_before']} / {kam.get('shm_kib_held')} / {kam.get('shm_kib_after')} | | |")


def ipv6_table(out, res, v4, v6, f, lat):
    """The IPv6 row: the same sigproxyd, the same lab in IPv6, beside IPv4;
    the target is IPv6 within 10 % of IPv4 (calls/s at least 0.9 times,
    CPU per call at most 1.1 times)."""
    r = res["ratios_ipv6_over_ipv4"]
    out.append("")
    out.append("IPv6 (sp6: the same sigproxyd and lab in IPv6, E6 -> D6 from C6) beside IPv4 (sp):")
    out.append("")
    out.append("| figure | IPv4 | IPv6 | IPv6/IPv4 | within 10 % |")
    out.append("|---|---|---|---|---|")

    def within(x, higher_is_better):
        if x is None:
            return "n/a"
        return "yes" if (x >= 0.9 if higher_is_better else x <= 1.1) else "no"
    out.append(f"| highest sustained rate (calls/s) | {f(v4['sustained_cps'])} | {f(v6['sustained_cps'])} | "
               f"{f(r['sustained_cps'])} | {within(r['sustained_cps'], True)} |")
    out.append(f"| CPU per call at the sustained rate (µs) | {f(v4['sustained_cpu_us_per_call'])} | "
               f"{f(v6['sustained_cpu_us_per_call'])} | {f(r['cpu_per_call_sustained'])} | "
               f"{within(r['cpu_per_call_sustained'], False)} |")
    out.append(f"| highest burst rate (calls/s) | {f(v4['max_cps'])} | {f(v6['max_cps'])} | "
               f"{f(r['max_cps'])} | {within(r['max_cps'], True)} |")
    out.append(f"| CPU per call at {res['fixed_rate_cps']} calls/s (µs) | {f(v4['cpu_us_per_call'])} | "
               f"{f(v6['cpu_us_per_call'])} | {f(r['cpu_per_call'])} | {within(r['cpu_per_call'], False)} |")
    out.append(f"| added p50 / p99 at the sustained rate (ms, against its own family's direct path) | "
               f"{lat(v4, 'sustained_rate')} | {lat(v6, 'sustained_rate')} | | |")


main()
