"""Curve store vs TaskSet's released npz layout: size on disk, and a typical query's time and memory.

Writes the same synthetic curves three ways:
  - npz, as TaskSet released them: one file per (task, optimizer family) with
    `optimizers` [C] config names, `xs` [T] steps, `ys` [C, R, T, 4] float32
    losses (train, valid_inner, valid_outer, test), NaN after divergence;
    written with `np.savez` (and, for reference, `np.savez_compressed`);
  - our job shards, through the real code path (`curves_to_table` +
    `write_shard` + `Store`): one shard per job of `--population` configs x
    one replica, as `curves generate` leaves them;
  - the same after `curves compact`: one pack per task.

Every store read verifies each shard it opens against the manifest (size and
sha256; verdicts cached by path, size and mtime, see `curves.integrity`). Each
query process starts with an empty verdict cache, so `first_seconds` includes
hashing every shard (a dataset never read before on this machine); the best-of
time has the verdicts cached (every later read, and any read of shards this
machine generated or downloaded, which are recorded as they are written).

Then answers "best final validation loss per task" (per task: the lowest,
over configs, of the mean over replicas of the final valid_inner; a config
with a diverged replica does not count) each way, in a fresh subprocess per
layout: through `curves.iter_tasks(columns=["optimizer",
"final_valid_inner"], arrow=True)` with a NumPy bincount over the optimizer
codes per task, and by loading every npz file's `ys`. The answers must agree. Reported: time (best
of --repeats), and memory as the peak the query holds at once (tracemalloc
for Python and NumPy plus the Arrow pool's high-water mark; not RSS, which
also counts library code paged in and memory the allocator keeps), with the
process's peak RSS for reference. Both read from the page cache: the files
were just written, so the npz side is not slowed by disk reads.

The curves are smooth exponential decays with 2% multiplicative noise per
point and replica (incompressible float32 mantissas, as in real curves) and
5% of configs diverging to NaN part-way.

  python benchmarks/curve_store.py            # 1,000,000 curves x 51 points (~3 GB of scratch, minutes)
  python benchmarks/curve_store.py --quick    # 20,000 curves, a smoke test
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

# TaskSet released five optimizer sets per task; these are our families of the same names.
FAMILIES = ("adam1p", "adam4p", "adam6p", "adam8p", "nadamw")
EVALS = 51
TOTAL_STEPS = 10_000


def synthetic_ys(rng: np.random.Generator, configs: int, replicas: int) -> np.ndarray:
    """[configs, replicas, EVALS, 4] float32 loss curves, NaN after divergence."""
    xs = np.linspace(0, TOTAL_STEPS, EVALS)
    floor = rng.uniform(0.05, 2.0, size=(configs, 1, 1, 1))
    rate = np.exp(rng.uniform(np.log(1e-4), np.log(3e-3), size=(configs, 1, 1, 1)))
    split = np.array([1.0, 1.04, 1.05, 1.07]).reshape(1, 1, 1, 4)
    clean = (floor + (2.3 - floor) * np.exp(-rate * xs.reshape(1, 1, EVALS, 1))) * split
    ys = (clean * rng.lognormal(0.0, 0.02, size=(configs, replicas, EVALS, 4))).astype(np.float32)
    diverging = rng.uniform(size=configs) < 0.05
    starts = rng.integers(5, EVALS, size=configs)
    for c in np.flatnonzero(diverging):
        ys[c, :, starts[c]:, :] = np.nan
    return ys


def build(root: pathlib.Path, tasks: int, configs: int, replicas: int, population: int) -> dict:
    """Writes both layouts under `root`; returns their sizes and build times."""
    from taskset import __version__
    from taskset.optimizers import get_family
    from taskset.tasks import get_task

    from curves.schema import curves_to_table
    from curves.store import Store, write_shard

    npz_dir, npzc_dir, store_dir = root / "npz", root / "npz_compressed", root / "store"
    npz_dir.mkdir(parents=True)
    npzc_dir.mkdir()
    xs = np.linspace(0, TOTAL_STEPS, EVALS).astype(np.int64)
    pools = {f: [get_family(f).sample(s) for s in range(configs)] for f in FAMILIES}
    task_names = [f"mlp_seed{i}" for i in range(tasks)]
    rng = np.random.default_rng(0)
    seconds = {"npz": 0.0, "npz_compressed": 0.0, "shards": 0.0}
    with Store.open(store_dir, save_every_s=30.0) as store:
        for name in task_names:
            task = get_task(name)
            config = task.config_dict
            for family in FAMILIES:
                ys = synthetic_ys(rng, configs, replicas)
                names = np.array([c.name for c in pools[family]])
                start = time.perf_counter()
                np.savez(npz_dir / f"{name}__{family}.npz", optimizers=names, xs=xs, ys=ys)
                seconds["npz"] += time.perf_counter() - start
                start = time.perf_counter()
                np.savez_compressed(npzc_dir / f"{name}__{family}.npz", optimizers=names, xs=xs, ys=ys)
                seconds["npz_compressed"] += time.perf_counter() - start
                start = time.perf_counter()
                for replica in range(replicas):
                    for lo in range(0, configs, population):
                        chunk = range(lo, min(lo + population, configs))
                        curves = [_curve(name, config, pools[family][c], replica, xs, ys[c, replica])
                                  for c in chunk]
                        key = hashlib.sha256(f"{name}/{family}/{replica}/{lo}".encode()).hexdigest()
                        meta = {"key": key, "task": name, "family": "mlp", "replica": replica,
                                "steps": TOTAL_STEPS, "optimizer_families": [family]}
                        entry, _ = write_shard(store.root, key, curves_to_table(curves, replica, key, __version__,
                                                                                meta))
                        store.record_shard(key, entry)
                seconds["shards"] += time.perf_counter() - start
    sizes = {"npz": _du(npz_dir), "npz_compressed": _du(npzc_dir), "shards": _du(store_dir)}
    files = {"npz": len(list(npz_dir.iterdir())), "shards": len(list((store_dir / "shards").iterdir()))}
    return {"seconds": seconds, "bytes": sizes, "files": files}


def _curve(task, config, optimizer, replica, xs, ys):
    """A trainer `Curve` (the library's record, `taskset.training.curve`) holding synthetic losses."""
    from taskset.training.curve import Curve

    bad = ~np.isfinite(ys).all(axis=1)
    diverged = int(xs[np.argmax(bad)]) if bad.any() else None
    return Curve(task=task, task_config=config, optimizer=optimizer, replica_seed=replica, init_seed=replica,
                 steps=xs, train=ys[:, 0], valid_inner=ys[:, 1], valid_outer=ys[:, 2], test=ys[:, 3],
                 status="diverged" if diverged is not None else "ok", diverged_step=diverged,
                 seconds_per_step=0.01)


def _du(path: pathlib.Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --- the query, run in a fresh subprocess per layout ------------------------------

def query_store(root: pathlib.Path) -> dict[str, float]:
    import curves

    best = {}
    for task, table in curves.iter_tasks(root, columns=["optimizer", "final_valid_inner"], arrow=True):
        configs = table.column("optimizer").combine_chunks()  # dictionary-encoded: integer codes per row
        codes = configs.indices.to_numpy(zero_copy_only=False)
        final = table.column("final_valid_inner").to_numpy()  # NaN for a diverged curve
        count = np.bincount(codes, minlength=len(configs.dictionary))
        total = np.bincount(codes, weights=final, minlength=len(configs.dictionary))  # NaN if a replica diverged
        mean = total[count > 0] / count[count > 0]
        best[task] = float(np.min(np.where(np.isnan(mean), np.inf, mean)))
    return best


def query_npz(root: pathlib.Path) -> dict[str, float]:
    best: dict[str, float] = {}
    for path in sorted(root.glob("*.npz")):
        task = path.name.split("__")[0]
        with np.load(path) as data:
            final = data["ys"][:, :, -1, 1].mean(axis=1)  # NaN if any replica diverged
        value = float(np.min(np.where(np.isnan(final), np.inf, final)))
        best[task] = min(best.get(task, math.inf), value)
    return best


def _rss_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, in MB.

    Not `ru_maxrss`: that keeps the parent's peak across fork and exec.
    """
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def run_query(layout: str, root: str, repeats: int) -> None:
    """Subprocess entry: prints {"seconds", "first_seconds", "alloc_peak_mb", "rss_peak_mb", "answer"} as JSON.

    seconds: best of `repeats` untraced runs. first_seconds: the first run in
    the process, which for the store also hashes every shard it opens (the
    reader verifies each against the manifest and caches the verdict for the
    process, so later runs pay one stat per shard). alloc_peak_mb: the most memory
    the query holds at once, from one run under tracemalloc (Python objects
    and NumPy arrays) plus the Arrow memory pool's high-water mark (Arrow
    buffers, which tracemalloc does not see); unlike RSS it excludes library
    code paged in and memory the allocator keeps for reuse. rss_peak_mb: the
    process's peak resident memory, imports included, for reference.
    """
    import tracemalloc

    fn = query_npz if layout == "npz" else query_store
    pool = None
    if layout != "npz":
        import curves  # noqa: F401 - import cost is not part of the query
        import pandas  # noqa: F401 - pyarrow imports it on first use
        import pyarrow
        import pyarrow.compute  # noqa: F401
        import pyarrow.parquet  # noqa: F401

        pool = pyarrow.default_memory_pool()
    times, answer = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        answer = fn(pathlib.Path(root))
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    fn(pathlib.Path(root))
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    arrow = pool.max_memory() if pool is not None else 0
    print(json.dumps({"seconds": min(times), "first_seconds": times[0], "alloc_peak_mb": (traced + arrow) / 2**20,
                      "rss_peak_mb": _rss_mb("VmHWM"), "answer": answer}))


def measure(layout: str, root: pathlib.Path, repeats: int) -> dict:
    """Runs the query in a fresh process with an empty cache, so its first run hashes every shard it opens."""
    with tempfile.TemporaryDirectory(prefix="curve_store_cache_") as cache:
        env = {**os.environ, "PYTHONPATH": os.getcwd(), "TASKSET_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, __file__, "--_query", layout, str(root), "--repeats", str(repeats)],
                             check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="curve_store", description=__doc__.split("\n")[0])
    parser.add_argument("--curves", type=int, default=1_000_000, help="curves to write (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="20,000 curves: a smoke test")
    parser.add_argument("--configs", type=int, default=1000, help="configs per (task, family) file (TaskSet: 1000)")
    parser.add_argument("--replicas", type=int, default=5, help="replicas per config (TaskSet: 5)")
    parser.add_argument("--population", type=int, default=1000, help="configs per job, i.e. rows per shard")
    parser.add_argument("--repeats", type=int, default=3, help="query repetitions (the best is reported)")
    parser.add_argument("--dir", help="scratch directory (default: a temporary one, deleted afterwards)")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--_query", nargs=2, metavar=("LAYOUT", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._query:
        run_query(args._query[0], args._query[1], args.repeats)
        return 0
    total = 20_000 if args.quick else args.curves
    if args.quick:
        args.configs = min(args.configs, 200)
    per_task = len(FAMILIES) * args.configs * args.replicas
    tasks = max(1, total // per_task)
    scratch = pathlib.Path(args.dir) if args.dir else pathlib.Path(tempfile.mkdtemp(prefix="curve_store_bench_"))
    data = scratch / "data"
    try:
        built = build(data, tasks, args.configs, args.replicas, min(args.population, args.configs))
        results = {layout: measure(layout, data / ("npz" if layout == "npz" else "store"), args.repeats)
                   for layout in ("npz", "shards")}
        from curves import compact

        start = time.perf_counter()
        compact(data / "store")
        built["seconds"]["compact"] = time.perf_counter() - start
        built["bytes"]["packed"] = _du(data / "store")
        built["files"]["packed"] = len(list((data / "store" / "shards").iterdir()))
        results["packed"] = measure("packed", data / "store", args.repeats)
    finally:
        if not args.dir:
            shutil.rmtree(scratch, ignore_errors=True)
    answers = {layout: r.pop("answer") for layout, r in results.items()}
    for layout in ("shards", "packed"):
        assert answers[layout].keys() == answers["npz"].keys() and all(
            math.isclose(answers["npz"][t], answers[layout][t], rel_tol=1e-6) for t in answers["npz"]), \
            f"{layout} and npz disagree"
    curves_n = tasks * per_task
    sizes, npz = built["bytes"], results["npz"]
    report = {
        "curves": curves_n, "points": EVALS, "tasks": tasks, "families": list(FAMILIES), "configs": args.configs,
        "replicas": args.replicas, "rows_per_job_shard": min(args.population, args.configs), "files": built["files"],
        "bytes_per_curve": {k: v / curves_n for k, v in sizes.items()},
        "write_seconds": built["seconds"], "query": results,
        "ratios": {layout: {"size_over_npz": sizes[layout] / sizes["npz"],
                            "size_over_npz_compressed": sizes[layout] / sizes["npz_compressed"],
                            "query_speedup_vs_npz": npz["seconds"] / results[layout]["seconds"],
                            "first_query_speedup_vs_npz": npz["first_seconds"] / results[layout]["first_seconds"],
                            "query_memory_npz_over_this": npz["alloc_peak_mb"] / max(results[layout]["alloc_peak_mb"],
                                                                                    1e-9)}
                   for layout in ("shards", "packed")},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    b = report["bytes_per_curve"]
    print(f"{curves_n:,} curves x {EVALS} points ({tasks} tasks x {len(FAMILIES)} families x {args.configs} configs "
          f"x {args.replicas} replicas)")
    print(f"files: {built['files']['npz']} npz; {built['files']['shards']} job shards of "
          f"{report['rows_per_job_shard']} rows; {built['files']['packed']} packs after `curves compact`")
    print(f"bytes per curve: npz {b['npz']:.0f}, npz compressed {b['npz_compressed']:.0f}, "
          f"job shards {b['shards']:.0f}, packed {b['packed']:.0f}")
    print(f"query: best final valid_inner per task (best of {args.repeats}; memory = peak held by the query)")
    for layout in ("npz", "shards", "packed"):
        q = results[layout]
        print(f"  {layout:7s} {q['seconds'] * 1e3:9.1f} ms  {q['alloc_peak_mb']:7.1f} MB  (peak RSS "
              f"{q['rss_peak_mb']:.0f} MB; first run, shards hashed: {q['first_seconds'] * 1e3:.1f} ms)")
    for layout in ("shards", "packed"):
        r = report["ratios"][layout]
        print(f"{layout}: size/npz {r['size_over_npz']:.3f}, size/npz_compressed {r['size_over_npz_compressed']:.3f}, "
              f"query {r['query_speedup_vs_npz']:.1f}x faster than npz ({r['first_query_speedup_vs_npz']:.1f}x on the "
              f"first, verifying run), npz needs "
              f"{r['query_memory_npz_over_this']:.1f}x its query memory")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
