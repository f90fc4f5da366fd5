"""What a worker's numbers depend on besides the job: its CPU, TensorFlow build and thread counts.

Training is bit for bit per numeric environment, not across environments: XLA
compiles for the host's instruction set and oneDNN picks its kernels at run
time, so an AVX-512 AMD EPYC rounds differently from the machines that made
taskset-mini (1e-7 to 1e-6 relative after 1,000 steps, 10% for a config near
its stability limit; pinning the instruction sets did not restore the bits),
and TensorFlow's thread count changes reduction orders. `describe()` records
those facts and `id` hashes them, so a curve's job can say where it was made
and a check knows whether to demand its bits here.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import sys
from typing import Any

SIMD_FLAGS = ("sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512cd", "avx512bw",
              "avx512vl", "avx512ifma", "avx512vbmi", "avx512_vbmi2", "avx512_vnni", "avx512_bf16",
              "avx512_fp16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16", "asimd", "sve", "sve2")
"""The instruction-set flags (x86 and Arm) that XLA's code generation and oneDNN's dispatch look at."""


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty where there is none)."""
    try:
        text = open("/proc/cpuinfo", encoding="utf-8", errors="replace").read()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@functools.lru_cache(maxsize=1)
def _cpu() -> dict[str, str]:
    info = _cpuinfo()
    flags = set((info.get("flags") or info.get("Features") or "").split())
    model = " ".join(f"{key} {info[key]}" for key in ("vendor_id", "cpu family", "model", "stepping", "CPU part")
                     if key in info)
    return {"cpu": f"{model} {info.get('model name', platform.processor())!r}".strip(),
            "machine": platform.machine(), "simd": " ".join(f for f in SIMD_FLAGS if f in flags)}


def describe() -> dict[str, Any]:
    """This process's numeric environment, with its `id` (16 hex digits of the sha256 of the rest).

    Call it where the training ran (a worker sets its thread counts first): the thread
    counts are TensorFlow's settings for this process, 0 ("as many as cores") resolved to
    the cores it may use. In a process that has not loaded TensorFlow (its numbers did
    not come from it) the TensorFlow facts are None, and describing does not load it.
    """
    tf = sys.modules.get("tensorflow")
    facts: dict[str, Any] = {**_cpu(), "tensorflow": None, "threads": None}
    if tf is not None and hasattr(tf, "config"):
        threading = tf.config.threading
        facts.update(tensorflow=tf.__version__,
                     threads=[threading.get_intra_op_parallelism_threads() or _cores(),
                              threading.get_inter_op_parallelism_threads() or _cores()])
    digest = hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]
    return {"id": digest, **facts}
