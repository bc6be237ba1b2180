#!/usr/bin/env python3
"""Figures as data: the figures README.md and docs/ quote live in figures.json,
with the command that produced them, the machine and the date; the figure
tables between `<!-- figures:NAME -->` markers (README.md, docs/*.md) are
generated from that file by the template scripts/figures/NAME.md, so a figure
in them without a command cannot appear.

    scripts/figures.py list                       the figures, their kind and command
    scripts/figures.py run ID... [--into FILE]    run each figure's command, store its values
    scripts/figures.py run --main [--into FILE]   the figures the main evaluation measures
    scripts/figures.py render                     rewrite the generated tables
    scripts/figures.py sync-bench-runs N [--postgres]
                                                  N runs of `faceseal-sync bench --json`: the median run
    scripts/figures.py check [--against FILE]     the generated tables are the rendering of
                                                  figures.json; with --against, a fresh
                                                  measurement agrees with it

Kinds: an `accuracy` figure must come out the same on any machine (within its
stated tolerance), so `check --against` compares it; a `speed` figure depends on
the machine and the load, so it is stored with the machine and only printed.

Needs FACESEAL_MODEL_DIR and FACESEAL_DATA_DIR for `run`; FACESEAL_BIN (default
target/debug) is where the `faceseal` binary is; FACESEAL_BUILD names the build
(default: from FACESEAL_BIN) and FACESEAL_FIGURES_NOTE adds a note to what is run
(for instance the machine's load). Exit codes: 0 success, 1 a check
failed, 2 usage, 3 a figure's command failed.
"""

import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "figures.json"
README = ROOT / "README.md"


# ---------------------------------------------------------------- commands


def faceseal(*args):
    """A `faceseal` command line: shown with DATA, run with the real paths."""
    return ["faceseal", "--json", *args]


def percent(x):
    return 100.0 * x


def cue_of(report, scheme, name):
    for s in report["crossval"]["schemes"]:
        if s["name"].startswith(scheme):
            for cue in s["cues"]:
                if cue["cue"] == name:
                    return cue
    raise KeyError(f"{scheme} / {name}")


def fused(report, scheme, level="Standard"):
    return cue_of(report, scheme, f"fused decision, {level}")


def method(report, name):
    for m in report["methods"]:
        if name in m["method"]:
            return m
    raise KeyError(name)


def verification(r):
    """The 10-fold figures every LFW report shares (plain, protected, split)."""
    return {
        "accuracy_pct": percent(r["accuracy"]),
        "accuracy_std_pct": percent(r["accuracy_std"]),
        "tar_at_far_1e3_pct": percent(r["tar_at_far_1e3"]),
    }


def parse_lfw(r):
    return {
        **verification(r),
        "failures_to_detect": r["failures_to_detect"],
        "pictures": r["n_images"],
        "pairs": r["n_pairs"],
    }


def parse_lfw_protected(r):
    return verification(r["protected"])


def parse_lfw_split(r):
    return {
        **verification(r),
        "encrypted_decisions": r["encrypted_decisions"],
        "mismatches": r["mismatches"],
    }


def parse_detect(r):
    return {
        "recall_pct": percent(r["recall"]),
        "pictures": r["n_pos"],
        "found": r["n_pos"] - len(r["missed"]),
        "negatives": r["n_neg"],
        "false_positives": len(r["false_positive_images"]),
        "false_positive_pct": percent(r["false_positive_rate"]),
    }


def parse_counts(r):
    return {"exact": r["exact_counts"], "photos": len(r["counts"])}


def parse_nuaa(r):
    return {
        "apcer_pct": percent(r["apcer"]),
        "bpcer_pct": percent(r["bpcer"]),
        "acer_pct": percent(r["acer"]),
        "eer_pct": percent(r["eer"]),
        "eer_threshold": r["eer_threshold"],
    }


CUES = {
    "passive": "passive texture",
    "frequency": "screen frequency cues",
    "border": "screen border",
    "glare": "glare",
    "parallax": "parallax (planar)",
    "temporal": "temporal consistency",
    "strict": "fused decision, Strict",
}


def parse_nuaa_burst(r):
    out = {}
    for key, scheme in (("person", "leave one person out"), ("condition", "leave one condition out")):
        cue = fused(r, scheme)
        out.update(
            {
                f"{key}_live_refused": cue["live_refused"],
                f"{key}_live": cue["live"],
                f"{key}_bpcer_pct": percent(cue["bpcer"]),
                f"{key}_bpcer_worst_pct": percent(cue["bpcer_worst"]),
                f"{key}_attacks_accepted": cue["attacks_accepted"],
                f"{key}_attacks": cue["attacks"],
                f"{key}_apcer_pct": percent(cue["apcer"]),
            }
        )
        # Every signal of docs/liveness.md's out-of-fold table, and Strict.
        for slug, name in CUES.items():
            c = cue_of(r, scheme, name)
            out.update(
                {
                    f"{key}_{slug}_live_refused": c["live_refused"],
                    f"{key}_{slug}_bpcer_pct": percent(c["bpcer"]),
                    f"{key}_{slug}_bpcer_worst_pct": percent(c["bpcer_worst"]),
                    f"{key}_{slug}_attacks_accepted": c["attacks_accepted"],
                }
            )
    frame = method(r, "single frame")
    out.update(
        {
            "frame_live_refused": frame["live_refused"],
            "frame_live": frame["n_live"],
            "frame_bpcer_pct": percent(frame["bpcer"]),
            "frame_attacks_accepted": frame["attacks_accepted"],
            "frame_attacks": frame["n_attack"],
        }
    )
    s = r["through_sessions"]
    out.update(
        {
            "sessions_bursts": s["bursts"],
            "sessions_identical": s["identical"],
            "sessions_sealed": s["sealed"],
            "sessions_refused": s["refused"],
        }
    )
    return out


def parse_replay(r):
    burst = method(r, "fused")
    frame = method(r, "single frame")
    return {
        "bursts_accepted": burst["attacks_accepted"],
        "attack_bursts": burst["n_attack"],
        "burst_apcer_pct": percent(burst["apcer"]),
        "live_refused": burst["live_refused"],
        "live_bursts": burst["n_live"],
        "burst_bpcer_pct": percent(burst["bpcer"]),
        "frame_apcer_pct": percent(frame["apcer"]),
        "frame_bpcer_pct": percent(frame["bpcer"]),
        "frame_live_refused": frame["live_refused"],
        "frame_live": frame["n_live"],
        # Per replay set, for docs/liveness.md's table.
        **replay_sets(r, frame),
    }


def replay_sets(r, frame):
    out = {}
    by_type = {name: (accepted, n) for name, accepted, n, _ in frame["apcer_by_type"]}
    for s in r["sets"]:
        if s["live"]:
            continue
        slug = s["set"].split("/")[0]
        accepted, n = by_type[s["set"]]
        out.update(
            {
                f"{slug}_frames_accepted": accepted,
                f"{slug}_frames": n,
                f"{slug}_frame_apcer_pct": percent(accepted / n),
                f"{slug}_bursts_accepted": s["accepted"],
                f"{slug}_bursts": s["bursts"],
                f"{slug}_burst_apcer_pct": percent(s["rate_accepted"]),
            }
        )
    return out


def parse_bench_burst(r):
    f = r["latency_after_last_frame"]
    return {"median_ms": f["median_ms"], "p90_ms": f["p90_ms"]}


def parse_session(r):
    out = {}
    for run in r["runs"]:
        w = run["workers"]
        out[f"w{w}_push_ms"] = run["push_frame"]["median_ms"]
        out[f"w{w}_push_p90_ms"] = run["push_frame"]["p90_ms"]
        out[f"w{w}_finish_ms"] = run["finish_sealed"]["median_ms"]
        out[f"w{w}_last_frame_ms"] = run["last_frame_to_envelope"]["median_ms"]
        out[f"w{w}_last_frame_p90_ms"] = run["last_frame_to_envelope"]["p90_ms"]
        out[f"w{w}_ratio"] = run["latency_ratio"]
    return out


GOLDEN_INPUTS = re.compile(
    r"inputs against the reference \(max abs / mean abs\): detector ([\d.]+) / ([\d.]+), "
    r"liveness ([\d.]+) / ([\d.]+), embedder ([\d.]+) / ([\d.]+)"
)
GOLDEN_MODELS = re.compile(
    r"worst relative error: detector ([\d.e+-]+), liveness ([\d.e+-]+), embedder ([\d.e+-]+)"
)


def parse_golden(text):
    inputs = GOLDEN_INPUTS.search(text)
    models = GOLDEN_MODELS.search(text)
    if not inputs or not models:
        raise ValueError("the golden test printed no figures")
    v = [float(x) for x in inputs.groups()]
    m = [float(x) for x in models.groups()]
    return {
        "detector_max": v[0], "detector_mean": v[1],
        "liveness_max": v[2], "liveness_mean": v[3],
        "embedder_max": v[4], "embedder_mean": v[5],
        "detector_rel": m[0], "liveness_rel": m[1], "embedder_rel": m[2],
    }


def parse_cross_person(r):
    out = {}
    for threshold, t in r["thresholds"].items():
        key = threshold.replace("0.", "t")
        c = t["counts"]
        out[f"{key}_matched"] = c["match"]
        out[f"{key}_decided"] = c["match"] + c["no-match"]
        out[f"{key}_false_match_pct"] = percent(t["false_match_rate"])
    return out


def parse_engine_load(text):
    def grab(pattern):
        m = re.search(pattern, text)
        if not m:
            raise ValueError(f"engine_load printed no {pattern!r}")
        return [float(x) for x in m.groups()]

    ok, busy, timeout, _ = grab(r"results: (\d+) ok, (\d+) busy, (\d+) timeout, (\d+) other")
    (rate,) = grab(r"throughput: ([\d.]+) results/s")
    p50, p99, _ = grab(r"latency of results: +p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms")
    _, _, latest = grab(r"latency of all calls: p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms")
    (late,) = grab(r"calls returning after their deadline: (\d+)")
    return {
        "results_per_s": rate, "p50_ms": p50, "p99_ms": p99, "latest_ms": latest,
        "calls": int(ok + busy + timeout), "timeouts": int(timeout), "late": int(late),
    }


def dist(prefix, s, keys=("mean", "p5", "p95")):
    """Some fields of a score summary of `faceseal eval template`."""
    return {f"{prefix}_{k}": s[k] for k in keys}


def parse_template(r):
    """`eval template`: linkability across keys and renewability; with
    --attack, the stolen-key inversion."""
    out = {
        "genuine_pairs": r["genuine_pairs"],
        "impostor_pairs": r["impostor_pairs"],
        "null_control_dsys": r["null_control_dsys"],
        "threshold": r["protected_score_threshold"],
    }
    for name in ("same_key", "cross_tenant", "cross_version"):
        link = r[name]
        out[f"{name}_dsys"] = link["dsys"]
        out.update(dist(f"{name}_mated", link["mated"]))
        out.update(dist(f"{name}_non_mated", link["non_mated"]))
    out["same_key_mated_matching_pct"] = percent(r["same_key"]["mated"]["share_matching"])
    out["same_key_non_mated_matching_pct"] = percent(r["same_key"]["non_mated"]["share_matching"])
    renew = r["renewability"]
    for name in ("same_capture", "other_capture"):
        out.update(dist(f"renew_{name}", renew[name], ("mean", "p5", "p95", "max")))
        out[f"renew_{name}_n"] = renew[name]["n"]
        out[f"renew_{name}_matching"] = round(renew[name]["share_matching"] * renew[name]["n"])
    out["renew_max"] = max(renew["same_capture"]["max"], renew["other_capture"]["max"])
    out["renew_n"] = renew["same_capture"]["n"] + renew["other_capture"]["n"]
    out["renew_matching"] = out["renew_same_capture_matching"] + out["renew_other_capture_matching"]
    a = r.get("attack")
    if a:
        out.update(
            {
                "attack_pairs": a["pairs"],
                "attack_iterations": a["iterations"],
                "attack_target_norm": a["target_norm"],
                "attack_unprotected_pct": percent(a["unprotected_success"]),
                "attack_unprotected_baseline_pct": percent(a["unprotected_baseline"]),
                "attack_protected_pct": percent(a["protected_success"]),
                "attack_protected_baseline_pct": percent(a["protected_baseline"]),
                "attack_agreement_mean_pct": percent(a["agreement"]["mean"]),
                "attack_agreement_p5_pct": percent(a["agreement"]["p5"]),
                "attack_cosine_mean": a["cosine_to_original"]["mean"],
                "attack_cosine_p5": a["cosine_to_original"]["p5"],
            }
        )
    return out


def parse_template_sweep(r):
    out = {
        "genuine_pairs": r["genuine_pairs"],
        "unprotected_accuracy_pct": percent(r["unprotected_accuracy"]),
        "unprotected_baseline_pct": percent(r["unprotected_baseline"]),
    }
    for row in r["rows"]:
        k = f"m{row['hashes']}q{row['window']}"
        out.update(
            {
                f"{k}_accuracy_pct": percent(row["accuracy"]),
                f"{k}_gar_pct": percent(row["genuine_accept_rate"]),
                f"{k}_far_pct": percent(row["false_accept_rate"]),
                f"{k}_unprotected_pct": percent(row["unprotected_success"]),
                f"{k}_protected_pct": percent(row["protected_success"]),
                f"{k}_cosine": row["mean_cosine_to_original"],
                f"{k}_accuracy_loss_pts": percent(r["unprotected_accuracy"] - row["accuracy"]),
            }
        )
    return out


def parse_keyholder(r):
    return {
        "encrypted_template_bytes": r["encrypted_template_bytes"],
        "enrolment_envelope_bytes": r["enrolment_envelope_bytes"],
        "partial_comparison_bytes": r["partial_comparison_bytes"],
        "device_encrypt_ms": r["device_encrypt_ms"],
        "server_compare_ms": r["server_compare_ms"],
        "key_holder_decide_ms": r["key_holder_decide_ms"],
        "verifications_per_s": r["loopback_verifications_per_s"],
        "median_ms": r["loopback_median_ms"],
        "clients": r["loopback_clients"],
        "verifications": r["loopback_verifications"],
        "noise_bits": r["noise_bits_before_flooding"],
        "budget_bits": r["budget_bits_after_flooding"],
    }


def parse_mesh(r):
    """examples/mesh_planarity --json: out-of-fold rates per cue, protocol
    and threshold rule (mesh|five _ person|condition _ p1|p5), separation."""
    out = {
        "live_bursts": next(c["bursts"] for c in r["classes"] if c["class"] == "live"),
        "print_bursts": sum(c["bursts"] for c in r["classes"] if c["class"] != "live"),
        "detector_ms": r["detector_ms_median"],
        "mesh_ms": r["mesh_ms_median"],
    }
    for f in r["out_of_fold"]:
        cue = "mesh" if f["cue"].startswith("mesh") else "five"
        protocol = "person" if "person" in f["protocol"] else "condition"
        rule = "p" + re.search(r"live p(\d+)", f["rule"]).group(1)
        key = f"{cue}_{protocol}_{rule}"
        out[f"{key}_live_refused_pct"] = 100 * f["pooled"]["bpcer"]
        out[f"{key}_worst_live_refused_pct"] = 100 * f["worst_bpcer"]
        out[f"{key}_prints_refused_pct"] = 100 * (1 - f["pooled"]["apcer"])
    for sep in r["separation"]:
        cue = "mesh" if sep["cue"].startswith("mesh") else "five"
        out[f"{cue}_eer_pct"] = 100 * sep["eer_moving"]
        for t, e, _n in sep["eer_by_type"]:
            out[f"{cue}_eer_{t.replace(' ', '_').replace('-', '_')}_pct"] = 100 * e
    return out


ENGINE_PICTURE = "DATA/lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg"


def sr(kind):
    base = "DATA/screen_replay"
    return [x for who in ("apfol", "jtboing", "trickyf0x") for x in (f"--{'live' if kind == 'real' else 'spoof'}", f"{base}/{who}/{kind}")]


# A figure: its command (DATA and MODELS stand for the directories), how its
# values are read from the command's output, its kind, whether the main
# evaluation measures it, and the tolerance of each accuracy value.
SPECS = {
    "lfw": dict(
        command=faceseal("eval", "lfw", "--data", "DATA/lfw"),
        parse=parse_lfw, kind="accuracy", main=True,
        tolerance={"*_pct": 0.06, "failures_to_detect": 0},
    ),
    "lfw_protected": dict(
        command=faceseal("eval", "lfw", "--data", "DATA/lfw", "--protected"),
        parse=parse_lfw_protected, kind="accuracy", main=False, minutes=10,
        tolerance={"*_pct": 0.06},
    ),
    "lfw_split": dict(
        command=faceseal("eval", "lfw-split", "--data", "DATA/lfw"),
        parse=parse_lfw_split, kind="accuracy", main=False, minutes=20,
        tolerance={"*_pct": 0.06, "mismatches": 0},
    ),
    "detect": dict(
        command=faceseal("eval", "detect", "--pos", "DATA/lfw/images", "--neg", "DATA/negatives"),
        parse=parse_detect, kind="accuracy", main=True, tolerance={"*": 1},
    ),
    "multiface_640": dict(
        command=faceseal("--det-size", "640", "eval", "detect", "--counts", "DATA/multiface/annotations.json"),
        parse=parse_counts, kind="accuracy", main=True, tolerance={"*": 0},
    ),
    "multiface_320": dict(
        command=faceseal("eval", "detect", "--counts", "DATA/multiface/annotations.json"),
        parse=parse_counts, kind="accuracy", main=True, tolerance={"*": 1},
    ),
    "nuaa": dict(
        command=faceseal("eval", "nuaa", "--data", "DATA/nuaa", "--split", "train"),
        parse=parse_nuaa, kind="accuracy", main=True, tolerance={"*_pct": 0.3, "eer_threshold": 0.01},
    ),
    "nuaa_burst": dict(
        command=faceseal("eval", "nuaa", "--data", "DATA/nuaa", "--split", "train", "--burst", "5", "--through-sessions"),
        parse=parse_nuaa_burst, kind="accuracy", main=True, tolerance={"*_pct": 2.0, "*": 1},
    ),
    "screen_replay": dict(
        command=faceseal("eval", "liveness", "--burst", "5", *sr("real"), *sr("fake")),
        parse=parse_replay, kind="accuracy", main=True, tolerance={"*_pct": 2.0, "*": 1},
    ),
    "nuaa_cross_person": dict(
        command=["scripts/nuaa_cross_person.py", "--json"],
        parse=parse_cross_person, kind="accuracy", main=False, minutes=4,
        tolerance={"*_pct": 3.0, "*": 1},
    ),
    "bench_burst": dict(
        command=faceseal("bench", "--images", "DATA/nuaa/ClientRaw", "--limit", "150", "--burst", "15"),
        parse=parse_bench_burst, kind="speed", main=True,
    ),
    "session_latency": dict(
        command=faceseal("bench", "--images", "DATA/nuaa/ClientRaw", "--limit", "150", "--session", "5"),
        parse=parse_session, kind="speed", main=False, minutes=2,
    ),
    "session_workers": dict(
        command=faceseal("bench", "--images", "DATA/nuaa/ClientRaw", "--limit", "100", "--session", "5", "--workers", "1,2"),
        parse=parse_session, kind="speed", main=False, minutes=3,
    ),
    "engine_load": dict(
        command=["examples/engine_load", ENGINE_PICTURE, "64", "30", "150"],
        parse=parse_engine_load, kind="speed", main=False, text=True, minutes=1,
    ),
    "engine_load_1s": dict(
        command=["examples/engine_load", ENGINE_PICTURE, "64", "20", "1000"],
        parse=parse_engine_load, kind="speed", main=False, text=True, minutes=1,
    ),
    "golden": dict(
        command=["cargo", "test", "--locked", "--workspace", "--test", "golden", "--", "--nocapture"],
        parse=parse_golden, kind="accuracy", main=False, text=True, minutes=2,
        tolerance={"*_max": 1.0, "*_mean": 0.05, "*_rel": 1e-4},
    ),
    "template_link": dict(
        command=faceseal("eval", "template", "--data", "DATA/lfw", "--pairs", "1500"),
        parse=parse_template, kind="accuracy", main=False, minutes=8,
        tolerance={"*_pct": 0.2, "*dsys": 0.005, "*": 0.002},
    ),
    "template_link_500": dict(
        command=faceseal("eval", "template", "--data", "DATA/lfw", "--pairs", "500", "--attack", "100"),
        parse=parse_template, kind="accuracy", main=False, minutes=6,
        tolerance={"*_pct": 2.0, "*dsys": 0.01, "*": 0.002},
    ),
    "template_link_3000": dict(
        command=faceseal("eval", "template", "--data", "DATA/lfw", "--pairs", "3000"),
        parse=parse_template, kind="accuracy", main=False, minutes=12,
        tolerance={"*_pct": 0.2, "*dsys": 0.005, "*": 0.002},
    ),
    "template_sweep": dict(
        command=faceseal("eval", "template-sweep", "--data", "DATA/lfw", "--pairs", "600", "--attack", "100",
                         "--params", "1024x8,256x8,64x8,16x8"),
        parse=parse_template_sweep, kind="accuracy", main=False, minutes=10,
        tolerance={"*_pct": 2.0, "*": 0.01},
    ),
    "keyholder_costs": dict(
        command=["faceseal-keyholder", "bench"],
        parse=parse_keyholder, kind="speed", main=False, minutes=1,
    ),
    "mesh_planarity": dict(
        command=["examples/mesh_planarity", "DATA/nuaa", "--json"],
        parse=parse_mesh, kind="accuracy", main=False, minutes=3,
        tolerance={"*_ms": 1e9, "*_pct": 1.0, "*": 0},
    ),
    "sync_bench": dict(
        command=["scripts/figures.py", "sync-bench-runs", "3"],
        parse=None, kind="speed", main=False, minutes=3,
    ),
    "sync_bench_postgres": dict(
        command=["scripts/figures.py", "sync-bench-runs", "3", "--postgres"],
        parse=None, kind="speed", main=False, minutes=3,
    ),
    "speed": dict(
        command=["scripts/figures.py", "speed-runs", "5"],
        parse=None, kind="speed", main=False, minutes=6,
    ),
}


# ---------------------------------------------------------------- machine


def machine():
    fields, flags = {}, set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "flags":
                flags = set(value.split())
            elif key not in fields:
                fields[key] = value.strip()
    except OSError:
        pass
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else platform.machine()
    model = fields.get("model name", "unknown CPU")
    # Virtual machines often hide the marketing name: family and model say
    # which generation it is (AMD family 25 is Zen 3 below model 16, Zen 4 from it).
    generation = f"family {fields['cpu family']} model {fields['model']}, " if "cpu family" in fields else ""
    return f"{os.cpu_count()}-core {model} ({generation}{isa})"


def expand(argv):
    data = os.environ.get("FACESEAL_DATA_DIR")
    if not data:
        raise SystemExit(usage("set FACESEAL_DATA_DIR"))
    out = []
    for a in argv:
        a = a.replace("DATA", data, 1) if a.startswith("DATA") else a
        out.append(a)
    if out[0] in ("faceseal", "faceseal-keyholder", "faceseal-sync") or out[0].startswith("examples/"):
        # Built by `cargo build --workspace --all-targets` (the test build)
        # or its --release form, in FACESEAL_BIN.
        out[0] = str(Path(os.environ.get("FACESEAL_BIN", ROOT / "target" / "debug")) / out[0])
    elif out[0].startswith("scripts/"):
        out[:1] = [sys.executable, str(ROOT / out[0])]
    return out


def usage(message):
    print(f"figures.py: {message}", file=sys.stderr)
    return 2


def run_command(fid, spec):
    argv = expand(spec["command"])
    shown = " ".join(spec["command"])
    eta = f" (about {spec['minutes']} min)" if "minutes" in spec else ""
    print(f"== {fid}: {shown}{eta}", file=sys.stderr, flush=True)
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE if spec.get("text") else None, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr or "")
        print(f"figures.py: {fid}: the command exited {proc.returncode}", file=sys.stderr)
        raise SystemExit(3)
    output = proc.stdout + (proc.stderr or "")
    if spec["parse"] is None:
        values = json.loads(proc.stdout)
    elif spec.get("text"):
        values = spec["parse"](output)
    else:
        values = spec["parse"](json.loads(proc.stdout))
    print(f"   {time.monotonic() - start:.0f} s: " + ", ".join(f"{k} {fmt(v)}" for k, v in values.items()), file=sys.stderr)
    return {
        "command": shown,
        "kind": spec["kind"],
        "machine": machine(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "build": os.environ.get("FACESEAL_BUILD", "test build" if "debug" in argv[0] else "release build"),
        "values": values,
        **({"note": os.environ["FACESEAL_FIGURES_NOTE"]} if os.environ.get("FACESEAL_FIGURES_NOTE") else {}),
    }


def fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def load(path):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {"figures": {}}


def save(path, doc):
    doc["figures"] = dict(sorted(doc["figures"].items()))
    Path(path).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- speed runs


def speed_runs(n):
    """Five interleaved runs of the one-thread bench (chip + mirror, single
    chip) and of onnxruntime on the same frames: medians of the run medians."""
    data = os.environ["FACESEAL_DATA_DIR"]
    models = os.environ["FACESEAL_MODEL_DIR"].replace(":", " ").split()
    bench = expand(faceseal("bench", "--images", "DATA/nuaa/ClientRaw", "--limit", "200"))
    ort = [sys.executable, str(ROOT / "scripts" / "bench_onnxruntime.py"), f"{data}/nuaa/ClientRaw", *models, "--limit", "200", "--json"]
    runs = {"mirror": [], "single": [], "onnxruntime": []}
    for i in range(n):
        for name, argv in (("mirror", bench), ("single", bench + ["--no-mirror"]), ("onnxruntime", ort)):
            print(f"   run {i + 1}/{n}: {name}", file=sys.stderr, flush=True)
            out = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, check=True, text=True).stdout
            runs[name].append(json.loads(out))
    values = {"runs": n}
    for name, reports in runs.items():
        for stage in ("decode", "detect", "align", "liveness", "embed", "total"):
            values[f"{name}_{stage}_ms"] = statistics.median(r["stages"][stage]["median_ms"] for r in reports)
        values[f"{name}_total_p90_ms"] = statistics.median(r["stages"]["total"]["p90_ms"] for r in reports)
        values[f"{name}_total_min_ms"] = min(r["stages"]["total"]["median_ms"] for r in reports)
        values[f"{name}_total_max_ms"] = max(r["stages"]["total"]["median_ms"] for r in reports)
        values[f"{name}_peak_rss_mb"] = statistics.median(r["peak_rss_mb"] for r in reports)
    values["ratio"] = values["mirror_total_ms"] / values["onnxruntime_total_ms"]
    print(json.dumps(values))


def sync_bench_runs(n, postgres):
    """`faceseal-sync bench --json`, n runs: the figures of the run of median
    saturation, and the lowest and highest of the headline ones over all runs. With `postgres`, each run
    gets a fresh database on the server FACESEAL_SYNC_BENCH_POSTGRES names
    (a URL whose user may create databases), dropped afterwards."""
    bench = expand(["faceseal-sync", "bench", "--seconds", "4", "--json"])
    reports = []
    for i in range(n):
        argv = list(bench)
        database = None
        if postgres:
            server = os.environ.get("FACESEAL_SYNC_BENCH_POSTGRES")
            if not server:
                raise SystemExit(usage("set FACESEAL_SYNC_BENCH_POSTGRES to a PostgreSQL URL that may create databases"))
            database = f"faceseal_bench_{os.getpid()}_{i}"
            subprocess.run(["psql", server, "-qc", f"CREATE DATABASE {database}"], check=True)
            argv += ["--database-url", server.rsplit("/", 1)[0] + "/" + database]
        print(f"   run {i + 1}/{n}", file=sys.stderr, flush=True)
        try:
            out = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, check=True, text=True).stdout
        finally:
            if database:
                subprocess.run(["psql", server, "-qc", f"DROP DATABASE IF EXISTS {database}"], check=False)
        reports.append(json.loads(out))
    # The run of median saturation, whole (medians taken figure by figure
    # would mix runs), with the spread of the headline figures over all runs.
    reports.sort(key=lambda r: r["saturation_per_s"])
    middle = reports[len(reports) // 2]
    values = {"runs": n}
    values.update({k: v for k, v in middle.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
    for key in ("saturation_per_s", "overload_2x_accepted_pct", "overload_4x_accepted_pct",
                "overload_2x_p99_ratio", "overload_4x_p99_ratio", "unloaded_p99_ms"):
        values[f"{key}_min"] = min(r[key] for r in reports)
        values[f"{key}_max"] = max(r[key] for r in reports)
    values["crash_missing"] = sum(r["crash_missing"] for r in reports)
    values["crash_chains_intact"] = sum(r["crash_chain_status"] == "intact" for r in reports)
    print(json.dumps(values))


# ---------------------------------------------------------------- README


def tolerance_of(spec, key):
    tol = spec.get("tolerance", {})
    for pattern, value in tol.items():
        if re.fullmatch(pattern.replace("*", ".*"), key):
            return value
    return 0


def v(doc, ref):
    fid, _, key = ref.partition(".")
    try:
        return doc["figures"][fid]["values"][key]
    except KeyError:
        raise SystemExit(usage(f"figures.json has no {ref}: run `scripts/figures.py run {fid}`"))


def render_text(template, doc):
    """`{id.key:format}` is the value; `{id:command}`, `{id:machine}`,
    `{id:date}` and `{id:build}` what figures.json says of the figure."""

    def sub(m):
        ref, spec = m.group(1), m.group(2) or ""
        if spec in (":command", ":machine", ":date", ":build", ":note") and "." not in ref:
            fig = doc["figures"].get(ref)
            if fig is None:
                raise SystemExit(usage(f"figures.json has no {ref}"))
            text = fig.get(spec[1:], "")
            if spec == ":note":
                return f"; {text}" if text else ""
            if spec == ":command":
                text = text.replace("faceseal --json ", "faceseal ")
                return f"`{text}`"
            return text
        value = v(doc, ref)
        if spec == ":,":
            return f"{value:,}"
        return format(value, spec[1:]) if spec else str(value)

    return re.sub(r"\{([a-z0-9_]+(?:\.[a-z0-9_]+)?)(:[^}]*)?\}", sub, template)


def tables():
    return {f.stem: f.read_text() for f in sorted((ROOT / "scripts" / "figures").glob("*.md"))}


BLOCK = re.compile(r"(<!-- figures:(\w+) -->\n)(.*?)(<!-- /figures:\2 -->)", re.S)


def documents():
    """README.md, every page of docs/ and the sync service's README: where
    generated figure blocks may stand."""
    return [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "sync" / "README.md"]


def rendered(path, doc, templates):
    text = path.read_text()

    def sub(m):
        name = m.group(2)
        if name not in templates:
            raise SystemExit(usage(f"{path.relative_to(ROOT)} has an unknown figures block {name}"))
        return m.group(1) + render_text(templates[name], doc) + m.group(4)

    return BLOCK.sub(sub, text)


def stale_documents(doc):
    templates = tables()
    return [p for p in documents() if rendered(p, doc, templates) != p.read_text()]


def check(against):
    doc = load(FIGURES)
    failures = []
    for fid, fig in doc["figures"].items():
        for field in ("command", "kind", "machine", "date", "values"):
            if field not in fig:
                failures.append(f"{fid}: no {field}")
    for path in stale_documents(doc):
        failures.append(f"{path.relative_to(ROOT)}: its figure tables differ from figures.json: run scripts/figures.py render")
    if against:
        fresh = load(against)
        for fid, fig in fresh["figures"].items():
            if fig["kind"] != "accuracy":
                continue
            old = doc["figures"].get(fid)
            if old is None:
                failures.append(f"{fid}: measured but not in figures.json")
                continue
            for key, value in fig["values"].items():
                tol = tolerance_of(SPECS[fid], key)
                if key not in old["values"] or abs(value - old["values"][key]) > tol:
                    failures.append(f"{fid}.{key}: measured {fmt(value)}, figures.json says {fmt(old['values'].get(key))} (tolerance {tol})")
    for f in failures:
        print(f"figures.py: {f}", file=sys.stderr)
    if not failures:
        print(f"figures: {len(doc['figures'])} figures, the tables of README.md and docs/ generated from them" + (", fresh accuracy figures agree" if against else ""))
    return 1 if failures else 0


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    into = FIGURES
    if "--into" in rest:
        i = rest.index("--into")
        into = Path(rest[i + 1])
        rest = rest[:i] + rest[i + 2:]
    if cmd == "list":
        for fid, spec in SPECS.items():
            print(f"{fid:<16} {spec['kind']:<9} {'main' if spec['main'] else 'own  '} {' '.join(spec['command'])}")
        return 0
    if cmd == "sync-bench-runs":
        sync_bench_runs(int(rest[0]) if rest and rest[0].isdigit() else 3, "--postgres" in rest)
        return 0
    if cmd == "speed-runs":
        speed_runs(int(rest[0]) if rest else 5)
        return 0
    if cmd == "run":
        ids = [f for f, s in SPECS.items() if s["main"]] if rest == ["--main"] else rest
        unknown = [f for f in ids if f not in SPECS]
        if not ids or unknown:
            return usage(f"unknown figure {' '.join(unknown)}; `scripts/figures.py list` names them")
        doc = load(into)
        for fid in ids:
            doc["figures"][fid] = run_command(fid, SPECS[fid])
            save(into, doc)
        return 0
    if cmd == "render":
        doc = load(FIGURES)
        templates = tables()
        for path in documents():
            path.write_text(rendered(path, doc, templates))
        return 0
    if cmd == "check":
        against = None
        if "--against" in rest:
            against = rest[rest.index("--against") + 1]
        return check(against)
    return usage(f"unknown command {cmd}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
