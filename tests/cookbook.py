"""The cookbook of docs/output.md, run against a scan: each query's answer must be the figure
summary.json gives. Usage: cookbook.py OUT_CSV OUT_JSONL. Prints the queries it ran (the Rust
test checks each is in docs/output.md word for word) and exits non-zero on a mismatch."""

import json
import sys

import duckdb
import pandas as pd

csv_dir, jsonl_dir = sys.argv[1], sys.argv[2]
summary = json.load(open(f"{csv_dir}/summary.json"))
# A query's GROUP BY has no row for a count of 0.
summary["routes"] = {k: v for k, v in summary["routes"].items() if v}
failed = []


def check(what, got, want):
    if got != want:
        failed.append(f"{what}: got {got}, want {want}")


def sql(query, out):
    """A cookbook query as docs/output.md writes it (over out/), run over `out`."""
    print(query)
    return duckdb.sql(query.replace("'out/", f"'{out}/")).fetchall()


# Route states, as summary.json's `routes`.
rows = sql("SELECT route, count(*) AS domains FROM 'out/domains.csv' GROUP BY route", csv_dir)
check("routes", dict(rows), summary["routes"])

# Findings per code and severity, as `findings`.
rows = sql(
    "SELECT code, severity, count(*) AS n FROM 'out/findings.csv' GROUP BY code, severity",
    csv_dir,
)
findings = {}
for code, severity, n in rows:
    findings.setdefault(code, {})[severity] = n
check("findings", findings, summary["findings"])

# Sender verdicts, as `senders`.
rows = sql("SELECT verdict, count(*) AS n FROM 'out/senders.csv' GROUP BY verdict", csv_dir)
check("senders", dict(rows), summary["senders"])

# Domains per provider (one provider each), from JSON Lines: the same rows as the CSV.
rows = sql(
    "SELECT provider, provider_source, count(*) AS domains FROM read_json_auto('out/domains.jsonl') "
    "WHERE provider NOT LIKE '%:%' GROUP BY ALL ORDER BY domains DESC",
    jsonl_dir,
)
for provider, source, n in rows:
    if source != "self":
        want = summary["providers_pct"][provider] * summary["domains_scanned"] / 100
        # Shared credit adds fractions to a provider; whole domains are a floor.
        if n > round(want, 6) + 1e-6:
            failed.append(f"provider {provider}: {n} domains over {want}")

# The hosts domains send mail to, from the exchanges' objects.
rows = sql(
    "SELECT e.host, count(*) AS domains FROM (SELECT unnest(exchanges) AS e "
    "FROM read_json_auto('out/domains.jsonl')) GROUP BY e.host ORDER BY domains DESC LIMIT 10",
    jsonl_dir,
)
check("top hosts found", len(rows) > 0, True)

# pandas: the same route counts, and score reasons as objects.
print('d = pd.read_csv("out/domains.csv")')
d = pd.read_csv(f"{csv_dir}/domains.csv")
check("pandas routes", d.route.value_counts().to_dict(), summary["routes"])
print('j = pd.read_json("out/domains.jsonl", lines=True)')
j = pd.read_json(f"{jsonl_dir}/domains.jsonl", lines=True)
print('points = j.score_reasons.explode().dropna().map(lambda r: r["points"] or 0)')
points = j.score_reasons.explode().dropna().map(lambda r: r["points"] or 0)
check("points are numbers", bool((points <= 0).all()), True)
check("pandas routes (JSON Lines)", j.route.value_counts().to_dict(), summary["routes"])

if failed:
    print("\n".join(failed), file=sys.stderr)
    sys.exit(1)
