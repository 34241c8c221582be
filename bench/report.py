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


def main():
    fig = load(sys.argv[1])
    hz = fig["hz"]
    res = {"date": fig.get("date"), "mode": fig.get("mode"),
           "machine": {k.split(".", 1)[1]: v for k, v in fig.items() if k.startswith("machine.")},
           "versions": {k.split(".", 1)[1]: v for k, v in fig.items() if k.startswith("version.")},
           "fixed_rate_cps": fig["fixed_rate"], "fixed_seconds": fig["fixed_seconds"],
           "kamailio_workers": fig["kam_workers"], "sigproxy_media": fig.get("sp_media")}

    # Fixed-rate runs: CPU per call over every repetition; latency per
    # repetition against the direct path of the same repetition.
    reps = sorted({k.split(".")[0] for k in fig if k.startswith("fixed") and k[5:6].isdigit()})
    per = {}
    for who in ("sp", "kam"):
        ticks = sum(fig.get(f"{r}.{who}.cpu_ticks", 0) for r in reps)
        calls = sum(fig.get(f"{r}.{who}.calls", 0) for r in reps)
        ok = all(fig.get(f"{r}.{who}.ok") == 1 for r in reps)
        lat, base = [], []
        for r in reps:
            lat += rtts(fig.get(f"{r}.{who}.rtt"))
            base += rtts(fig.get(f"{r}.base.rtt"))
        lat.sort()
        base.sort()
        per[who] = {
            "fixed_all_calls_ok": ok,
            "fixed_calls": calls,
            "cpu_us_per_call": round(ticks / hz / calls * 1e6, 1) if calls else None,
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
        if who == "kam":
            per[who]["processes"] = fig.get("kam.processes")
        half = fig.get(f"half.{who}.rate")
        if half:
            hl = rtts(fig.get(f"half.{who}.{who}.rtt"))
            hb = rtts(fig.get(f"half.{who}.base.rtt"))
            per[who]["half_rate_cps"] = half
            per[who]["half_rate_ok"] = fig.get(f"half.{who}.{who}.ok") == 1
            for p in (50, 99):
                a, b = pct(hl, p), pct(hb, p)
                per[who][f"half_rate_p{p}_added_ms"] = round(a - b, 3) if a is not None and b is not None else None
    res["sigproxy"], res["kamailio"] = per["sp"], per["kam"]
    sp, kam = per["sp"], per["kam"]
    res["ratios_sigproxy_over_kamailio"] = {
        "max_cps": ratio(sp["max_cps"], kam["max_cps"]),
        "cpu_per_call": ratio(sp["cpu_us_per_call"], kam["cpu_us_per_call"]),
        "p50_added": ratio(sp["p50_added_ms"], kam["p50_added_ms"]),
        "p99_added": ratio(sp["p99_added_ms"], kam["p99_added_ms"]),
        # PSS: Kamailio's processes share their shm; summed RSS counts it
        # once per process
        "pss": ratio(sp["pss_kib"], kam["pss_kib"]),
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
               f"(media {res['sigproxy_media']}).")
    out.append("")
    out.append("| figure | sigproxyd | Kamailio | sigproxy/Kamailio |")
    out.append("|---|---|---|---|")
    out.append(f"| highest rate, zero failed calls (calls/s) | {f(sp['max_cps'])} | {f(kam['max_cps'])} | {f(r['max_cps'])} |")
    out.append(f"| CPU per call at {res['fixed_rate_cps']} calls/s (µs, utime+stime) | "
               f"{f(sp['cpu_us_per_call'])} | {f(kam['cpu_us_per_call'])} | {f(r['cpu_per_call'])} |")
    out.append(f"| added INVITE→200 time p50 at {res['fixed_rate_cps']} calls/s (ms) | "
               f"{f(sp['p50_added_ms'])} | {f(kam['p50_added_ms'])} | {f(r['p50_added'])} |")
    out.append(f"| added INVITE→200 time p99 at {res['fixed_rate_cps']} calls/s (ms) | "
               f"{f(sp['p99_added_ms'])} | {f(kam['p99_added_ms'])} | {f(r['p99_added'])} |")
    out.append(f"| added p50 / p99 at half its own highest rate (ms) | "
               f"{f(sp.get('half_rate_p50_added_ms'))} / {f(sp.get('half_rate_p99_added_ms'))} at {f(sp.get('half_rate_cps'))}/s | "
               f"{f(kam.get('half_rate_p50_added_ms'))} / {f(kam.get('half_rate_p99_added_ms'))} at {f(kam.get('half_rate_cps'))}/s | |")
    out.append(f"| resident memory after the load (KiB, PSS summed; VmRSS summed) | {f(sp['pss_kib'])}; {f(sp['rss_kib'])} | "
               f"{f(kam['pss_kib'])}; {f(kam['rss_kib'])} ({f(kam.get('processes'))} processes) | {f(r['pss'])} |")
    out.append(f"| fixed-rate calls, all successful | {sp['fixed_calls']}, {sp['fixed_all_calls_ok']} | "
               f"{kam['fixed_calls']}, {kam['fixed_all_calls_ok']} | |")
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
               ", ".join(f"{k} {v}" for k, v in sorted(res["udp_rcvbuf_drops"].items())) + ".")
    out.append("")
    out.append(f"Run time {res['run_seconds']} s.")
    open(sys.argv[3], "w").write("\n".join(out) + "\n")


main()
