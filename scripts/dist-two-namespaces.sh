#!/usr/bin/env bash
# A DistDGL job across two machines simulated on this Linux host (root only): two
# network namespaces joined by a veth pair (10.200.0.1 / 10.200.0.2), each with its own
# /dev/shm, the data partitioned in 2 parts, 1 server + TRAINERS trainers per namespace,
# started by mmkg-tui's launcher (engine.distributed.launch) through a per-host
# `ip netns exec NS unshare -m ...` prefix (engine.distributed.namespaces). Then, for
# comparison, the same settings on one machine (mmkg-tui run). Namespaces, veth and
# /dev/shm folders are removed at the end, also on failure or Ctrl-C.
#
#   sudo scripts/dist-two-namespaces.sh OUT [mmkg-tui run options...]
#   sudo scripts/dist-two-namespaces.sh /tmp/ns2 --epochs 4 --hidden 64 --no-baselines \
#        --objective sage --no-train-as-test --select-metric none --patience 0 --no-blend
#
# Writes OUT/parts (the partition), OUT/run (the run folder), OUT/run.json,
# OUT/single.json (the one-machine run) and OUT/timing.json; prints the figures.
# TRAINERS (default 1) and TIMEOUT (seconds, default 600) from the environment.
set -euo pipefail
OUT=${1:?usage: $0 OUT [mmkg-tui run options...]}
shift
cd "$(dirname "$0")/.."
export PYTHONPATH=${PYTHONPATH:-$PWD} HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} OMP_WAIT_POLICY=PASSIVE
exec timeout --signal=INT --kill-after=30 "${TIMEOUT:-600}" python3 - "$OUT" "${TRAINERS:-1}" "$@" <<'EOF'
import argparse, json, os, socket, sys, time
from pathlib import Path

from engine import api
from engine.distributed.namespaces import two_machines
from mmkg_tui.cli.commands.run import config_from_args, configure

out, trainers, run_args = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
parser = argparse.ArgumentParser(prog="mmkg-tui run")
configure(parser)
args = parser.parse_args(run_args)
config = config_from_args(args)
out.mkdir(parents=True, exist_ok=True)
t = time.perf_counter()
part_config = api.partition_dataset(args.data, 2, out / "parts", embeddings=args.embeddings, seed=config.seed)
partition_s = time.perf_counter() - t
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
os.environ.pop("DGL_ROLE", None)
with two_machines() as machines:
    ip = out / "ip_config.txt"
    ip.write_text("".join(f"{m.ip} {port}\n" for m in machines))
    t = time.perf_counter()
    api.run_distributed(part_config, ip, config, trainers=trainers, run_dir=out / "run", json_path=out / "run.json",
                        timeout=float(os.environ.get("TIMEOUT", 600)), hosts=[m.host() for m in machines])
    two_s = time.perf_counter() - t
t = time.perf_counter()
ds, f = api.compute_features(api.load_dataset(args.data, embeddings=args.embeddings))
single = api.run_experiment(ds, f, config).to_json()
single_s = time.perf_counter() - t
(out / "single.json").write_text(json.dumps(single))
dist = json.loads((out / "run.json").read_text())["methods"]
timing = {"partition_s": round(partition_s, 1), "two_namespaces_s": round(two_s, 1), "single_machine_s": round(single_s, 1),
          "trainers_per_machine": trainers, "load_average": os.getloadavg()}
(out / "timing.json").write_text(json.dumps(timing, indent=2))
print(json.dumps(timing))
print(f"{'method':<12} {'macro AUC 2 ns':>14} {'single':>8} {'micro AUC 2 ns':>14} {'single':>8}")
for m, d in dist.items():
    s = single["methods"][m]
    print(f"{m:<12} {d['macro_auc']['mean']:>14.4f} {s['macro_auc']['mean']:>8.4f} "
          f"{d['micro_auc']['mean']:>14.4f} {s['micro_auc']['mean']:>8.4f}")
EOF
