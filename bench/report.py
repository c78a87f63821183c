#!/usr/bin/env python3
"""Side-by-side markdown table from bench/run.sh's JSON lines.

Usage: report.py RESULTS.jsonl [BASELINE=openbao]

One row per (case, metric) in the order they were first recorded; per server the median over
repetitions with the min-max range, and the ratio server / baseline of the medians. Servers
that recorded errors are listed below the table, then the goals of the core-API issue as ratios
to the baseline (GOALS), with met / not met.
"""
import json, statistics, sys
from collections import OrderedDict

NAMES = {'openbao': 'OpenBao', 'coffer': 'Coffer'}

# Goals of the core-API issue, as ratios of the medians server / baseline:
# (label, case, metric, '>=' or '<=', target ratio)
CONNS = (1, 16, 64)
GOALS = [('KV v2 write req/s, -c1', 'write', 'write_c1_rps', '>=', 4),
         ('KV v2 write req/s, -c64', 'write', 'write_c64_rps', '>=', 10)]
GOALS += [(f'KV v2 read req/s, -c{c}', 'read', f'read_c{c}_rps', '>=', 10) for c in CONNS]
GOALS += [(f'token lookup-self req/s, -c{c}', 'lookup', f'lookup_c{c}_rps', '>=', 10) for c in CONNS]
GOALS += [(f'server CPU per request, {name} -c{c}', t, f'{t}_c{c}_server_cpu_per_req', '<=', 0.1)
          for t, name in (('write', 'KV v2 write'), ('read', 'KV v2 read'), ('lookup', 'lookup-self'))
          for c in CONNS]


def fmt(v):
    a = abs(v)
    if a >= 100:
        return f'{v:.0f}'
    if a >= 10:
        return f'{v:.1f}'
    if a >= 1:
        return f'{v:.2f}'
    return f'{v:.3f}'


def main(path, base='openbao'):
    rows = OrderedDict()  # (case, metric) -> {server: [values]}
    meta = {}             # (case, metric) -> (unit, better)
    servers, errors, info = [], [], {}
    for line in open(path):
        line = line.strip()
        if not line.startswith('{'):
            continue
        r = json.loads(line)
        t = r.get('type')
        if t == 'metric':
            s = r['server']
            if s not in servers:
                servers.append(s)
            rows.setdefault((r['case'], r['metric']), {}).setdefault(s, []).append(r['value'])
            meta[(r['case'], r['metric'])] = (r['unit'], r['better'])
        elif t == 'error':
            errors.append(r)
        elif t == 'server':
            info[r['server']] = r
    for e in errors:
        if e['server'] not in servers:
            servers.append(e['server'])
    servers.sort(key=lambda s: (s != base, s))
    others = [s for s in servers if s != base]
    name = lambda s: NAMES.get(s, s)
    head = ['case', 'metric'] + [f'{name(s)} median (min-max)' for s in servers]
    head += [f'{name(s)} / {name(base)}' for s in others] + ['better', 'runs']
    print('| ' + ' | '.join(head) + ' |')
    print('|' + '---|' * len(head))
    for (case, metric), per in rows.items():
        unit, better = meta[(case, metric)]
        cells = [case, f'{metric} ({unit})']
        med = {}
        for s in servers:
            v = per.get(s)
            if not v:
                cells.append('—')
                continue
            med[s] = statistics.median(v)
            cells.append(f'{fmt(med[s])} ({fmt(min(v))}-{fmt(max(v))})' if len(v) > 1 else fmt(med[s]))
        for s in others:
            if s in med and base in med and med[base]:
                r = med[s] / med[base]
                cells.append(f'{r:.2f}×' if r >= 0.1 else f'{r:.2g}×')
            else:
                cells.append('—')
        runs = '/'.join(str(len(per.get(s, []))) for s in servers)
        cells += [better, runs]
        print('| ' + ' | '.join(cells) + ' |')
    if info:
        print()
        for s in servers:
            if s in info:
                print(f'- {name(s)}: `{info[s].get("bin", "")}` — {info[s].get("version", "")}')
    if errors:
        print()
        print('Errors:')
        for e in errors:
            print(f'- {name(e["server"])} rep {e["rep"]} case {e["case"]}: {e["message"]}')
    goals(rows, errors, servers, base, name)


def goals(rows, errors, servers, base, name):
    """Prints the GOALS table for every non-baseline server that has goal metrics."""
    for s in servers:
        if s == base:
            continue
        lines = []
        for label, case, metric, op, target in GOALS:
            per = rows.get((case, metric), {})
            if not per.get(s) or not per.get(base):
                continue
            b, v = statistics.median(per[base]), statistics.median(per[s])
            if not b:
                continue
            ratio = v / b
            met = ratio >= target if op == '>=' else ratio <= target
            errs = sum(1 for e in errors if e['server'] == s and e['case'] == case)
            verdict = 'met' if met else 'NOT met'
            if errs:
                verdict += f' ({errs} error records for {name(s)} in this case)'
            want = f'≥ {target:g}×' if op == '>=' else f'≤ {target:g}×'
            rs = f'{ratio:.2f}×' if ratio >= 0.1 else f'{ratio:.2g}×'
            lines.append(f'| {label} | {fmt(b)} | {fmt(v)} | {rs} | {want} | {verdict} |')
        if lines:
            print()
            print(f'Goals ({name(s)} / {name(base)}, ratios of the medians):')
            print()
            print(f'| goal | {name(base)} | {name(s)} | ratio | target | verdict |')
            print('|---|---|---|---|---|---|')
            print('\n'.join(lines))


if __name__ == '__main__':
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    main(*sys.argv[1:3])
