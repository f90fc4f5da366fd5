"""Benchmark: what checkpointing a job in chunks (`curves.partials`) costs against training it in one piece.

A local worker trains a job's configs in chunks of `CHUNK_CONFIGS` and writes each
finished chunk, so a stopped job resumes. The chunks reuse the compiled loops, but
each `train` call builds its batch streams and evaluates afresh. This times
`execute_job` on the same job with one chunk (the baseline) and with chunks of
`--chunk` configs, alternately, `--repeats` times each, in one process with one
TensorFlow thread (as the dataset workers run), after a warm-up that compiles
everything. It prints the best time of each and the ratio, and checks that both
give the same curves.

  python benchmarks/chunked_jobs.py [--task mlp_seed35] [--configs 160] [--steps 1000] [--chunk 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="mlp_seed35")
    parser.add_argument("--configs", type=int, default=160)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from curves.executors import limit_tf_threads

    limit_tf_threads(1)
    import pyarrow.parquet as pq

    from curves import partials
    from curves.jobs import plan
    from curves.runner import execute_job
    from curves.spec import parse_spec
    from curves.store import shard_relpath

    adam8p = min(32, args.configs // 5)
    spec = parse_spec(f"sweep.name = 'b'\nsweep.steps = {args.steps}\nsweep.eval_every = {args.steps // 10}\n"
                      f"sweep.eval_batches = 5\nsweep.population = {args.configs}\ntasks.names = ['{args.task}']\n"
                      f"optimizers.families = {{'nadamw': (0, {args.configs - adam8p}), 'adam8p': (0, {adam8p})}}\n",
                      source="benchmark.gin")
    (job,) = plan(spec)
    times: dict[int, list[float]] = {args.configs: [], args.chunk: []}
    frames = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.repeats + 1):  # run 0 warms up (traces, compiles, loads the data)
            for size in times:
                partials.CHUNK_CONFIGS = size
                out = pathlib.Path(tmp) / f"{size}-{run}"
                start = time.perf_counter()
                execute_job(job, out)
                if run:
                    times[size].append(time.perf_counter() - start)
                frames[size] = pq.read_table(out / shard_relpath(job.key)).to_pandas()
    whole, chunked = min(times[args.configs]), min(times[args.chunk])
    print(f"{args.task}: {args.configs} configs x {args.steps} steps, one TensorFlow thread, best of {args.repeats}")
    print(f"  one piece:            {whole:.1f} s")
    print(f"  chunks of {args.chunk:<3} configs: {chunked:.1f} s ({len(partials.chunks(args.configs, args.chunk))} "
          "chunks, each written)")
    print(f"  ratio chunked / one piece: {chunked / whole:.3f}")
    for split in ("train", "valid_inner", "valid_outer", "test"):
        if not np.array_equal(np.stack(frames[args.configs][split]), np.stack(frames[args.chunk][split]),
                              equal_nan=True):
            raise SystemExit(f"chunked and one-piece curves differ ({split})")


if __name__ == "__main__":
    main()
