#!/usr/bin/env python3
"""How often a burst of one NUAA person matches another's enrolment.

Through the product path (a throwaway faceseal-sync on SQLite, the `faceseal`
CLI as backend and device): each of NUAA's nine people is enrolled from the
first five frames of their first live session of the train split, then every
other person's first session (first five frames) is verified against that
enrolment, at two tenant match thresholds:

- 0.685, the default (LFW's equal-error point in the protected domain);
- 0.717, LFW's operating point at a false-accept rate of 1e-3.

Both thresholds come from LFW (`faceseal eval lfw --protected`); nothing is
fitted on NUAA. Bursts the device finds not live are counted apart. Prints a
table and the false-match counts; `--json` prints them as JSON.

Usage: scripts/nuaa_cross_person.py [--json]   (FACESEAL_MODEL_DIR and
FACESEAL_DATA_DIR set, `cargo build -p faceseal-cli -p faceseal-sync` done)
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
import run as e2e  # noqa: E402  (the end-to-end suite's server and burst helpers)

THRESHOLDS = ["0.685", "0.717"]


def first_sessions():
    root = Path(os.environ["FACESEAL_DATA_DIR"]) / "nuaa"
    sessions = {}
    for line in sorted((root / "clientraw_train.txt").read_text().splitlines()):
        stem = line.split("/")[1]
        person, session = stem[:4], stem[:13]
        try:
            e2e.burst(("clientraw_train.txt", "ClientRaw", session, range(0, 5)))
        except e2e.Failure:
            continue
        sessions.setdefault(person, session)
    return sessions


def run_threshold(threshold, sessions, workdir):
    db = e2e.Database("sqlite", workdir)
    created = json.loads(
        e2e.sync(db, "tenant", "create", "x", "--match-threshold", threshold, "--attempt-limit", "1000")
    )
    server = e2e.Server(db)
    env = dict(
        os.environ,
        FACESEAL_SERVER=server.url,
        FACESEAL_API_KEY=created["api_key"],
        FACESEAL_TEMPLATE_SECRET=created["template_secret"],
        FACESEAL_MODEL_DIR=e2e.model_dirs(),
    )

    def faceseal(*args):
        out = subprocess.run([str(e2e.BIN / "faceseal"), "--json", *args], env=env, capture_output=True, text=True)
        return json.loads(out.stdout or out.stderr)

    outcomes, not_enrolled = {}, {}
    try:
        for enrolled, session in sessions.items():
            subject = f"person-{enrolled}"
            faceseal("subject", "create", subject)
            refs = {
                p: faceseal("consent", "grant", "--subject", subject, "--purpose", p)["consent_ref"]
                for p in ("enrol", "verify")
            }
            frames = e2e.burst(("clientraw_train.txt", "ClientRaw", session, range(0, 5)))
            answer = faceseal("enrol", "--subject", subject, "--consent", refs["enrol"], *frames)
            if answer.get("outcome") != "enrolled":
                not_enrolled[enrolled] = answer.get("outcome") or answer.get("error")
                continue
            row = {}
            for other, other_session in sessions.items():
                if other == enrolled:
                    continue
                frames = e2e.burst(("clientraw_train.txt", "ClientRaw", other_session, range(0, 5)))
                answer = faceseal("verify", "--subject", subject, "--consent", refs["verify"], *frames)
                row[other] = answer.get("outcome") or answer.get("error")
            outcomes[enrolled] = row
            print(f"threshold {threshold}: person {enrolled} done", file=sys.stderr, flush=True)
    finally:
        server.stop()
    return outcomes, not_enrolled


def main():
    as_json = "--json" in sys.argv[1:]
    sessions = first_sessions()
    report = {"sessions": sessions, "thresholds": {}}
    with tempfile.TemporaryDirectory(prefix="faceseal-xperson-") as tmp:
        for threshold in THRESHOLDS:
            workdir = Path(tmp) / threshold
            workdir.mkdir()
            outcomes, not_enrolled = run_threshold(threshold, sessions, workdir)
            counts = {"match": 0, "no-match": 0, "not_live": 0, "other": 0}
            for row in outcomes.values():
                for outcome in row.values():
                    counts[outcome if outcome in counts else "other"] += 1
            decided = counts["match"] + counts["no-match"]
            report["thresholds"][threshold] = {
                "outcomes": outcomes,
                "not_enrolled": not_enrolled,
                "counts": counts,
                "false_match_rate": counts["match"] / decided if decided else None,
            }
    if as_json:
        print(json.dumps(report, indent=1))
        return
    print("enrolled from each person's first live session:", ", ".join(sessions.values()))
    for threshold, r in report["thresholds"].items():
        c = r["counts"]
        decided = c["match"] + c["no-match"]
        rate = f"{100 * r['false_match_rate']:.1f}%" if decided else "-"
        print(
            f"threshold {threshold}: other people's live bursts matched {c['match']} of {decided} ({rate});"
            f" not live on the device {c['not_live']}; other outcomes {c['other']};"
            f" people not enrolled (first session not live): {', '.join(r['not_enrolled']) or 'none'}"
        )


if __name__ == "__main__":
    main()
