"""What machine a benchmark ran on: CPU model, cores, memory and the instruction sets that decide its speed."""

from __future__ import annotations

import os
import re
from pathlib import Path

#: The instruction-set flags that move a step's speed: AVX2 only, AVX-512, and bf16 units (AVX-512 BF16, AMX).
SPEED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def proc_gb(path: str, key: str) -> float:
    """A `kB` field of a /proc status or meminfo file in GB (10^9 bytes); 0 once the process is gone."""
    try:
        with open(path) as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024 / 1e9
    except FileNotFoundError:
        pass
    return 0.0


def host() -> dict:
    """The CPU model, cores, memory, load average now, and whether each of SPEED_FLAGS is present."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    flags = set(re.search(r"^flags\s*:(.*)$", cpuinfo, re.M).group(1).split())
    return {
        "cpu": re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M).group(1),
        "cores": os.cpu_count(),
        "memory_gb": round(proc_gb("/proc/meminfo", "MemTotal"), 1),
        "load_average_at_start": os.getloadavg()[0],
        **{flag: flag in flags for flag in SPEED_FLAGS},
    }


def describe(machine: dict) -> str:
    """One line of `host()`'s figures."""
    return (f"host: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB; "
            + ", ".join(f"{flag} {'yes' if machine.get(flag) else 'no'}" for flag in SPEED_FLAGS)
            + f"; load average {machine['load_average_at_start']:.1f} at start")
