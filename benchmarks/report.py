"""Benchmark result rows: console tables and BENCHMARKS.md sections."""

import dataclasses
import datetime
import os
import platform
import typing


@dataclasses.dataclass
class BenchmarkRow:
    """One measurement of ours against a peer, in the same run.

    Args:
        name: What was measured.
        unit: Unit of `ours` and `peer` (higher is better unless `lower_is_better`).
        ours: Our value.
        peer: The peer's value.
        peer_name: Which implementation the peer is.
        settings: Shape, batch, precision, threads and the like.
        notes: Extra findings (agreement rates, ...).
        lower_is_better: For latencies and memory.
    """

    name: str
    unit: str
    ours: float
    peer: float
    peer_name: str
    settings: typing.Dict[str, typing.Any]
    notes: str = ""
    lower_is_better: bool = False

    @property
    def ratio(self):
        """How many times better ours is than the peer."""
        if self.lower_is_better:
            return self.peer / self.ours if self.ours else float("inf")
        return self.ours / self.peer if self.peer else float("inf")


def format_table(rows):
    """A plain-text table of rows for the console."""
    header = ("benchmark", "ours", "peer", "peer name", "ratio", "settings", "notes")
    lines = [header] + [
        (r.name, f"{r.ours:,.1f} {r.unit}", f"{r.peer:,.1f} {r.unit}", r.peer_name, f"{r.ratio:.2f}x",
         ", ".join(f"{k}={v}" for k, v in r.settings.items()), r.notes)
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)


def markdown_section(rows, command):
    """A BENCHMARKS.md section: the command that produced the rows, then a table."""
    machine = f"{_cpu_name()}, {os.cpu_count()} cores"
    lines = [
        f"### {rows[0].name} ({datetime.date.today().isoformat()}, {machine})",
        "",
        f"Command: `{command}`",
        "",
        "| benchmark | ours | peer | ratio | settings | notes |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        settings = ", ".join(f"{k}={v}" for k, v in r.settings.items())
        lines.append(f"| {r.name} | {r.ours:,.1f} {r.unit} | {r.peer:,.1f} {r.unit} ({r.peer_name}) | "
                     f"{r.ratio:.2f}x | {settings} | {r.notes} |")
    return "\n".join(lines) + "\n"


# The int8 speed-ups hinge on these: without VNNI, int8 matmuls sum products in int16 pairs.
_VECTOR_EXTENSIONS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def _cpu_name():
    """The processor's model name and vector extensions (Linux /proc/cpuinfo), else the architecture."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            info = dict((key.strip(), value) for key, value in (line.split(":", 1) for line in f if ":" in line))
    except OSError:
        info = {}
    if "model name" not in info:
        return platform.processor() or platform.machine()
    flags = set(info.get("flags", "").split())
    extensions = [flag for flag in _VECTOR_EXTENSIONS if flag in flags]
    name = f"{info['model name'].strip()} {platform.machine()}"
    return f"{name} ({' '.join(extensions)})" if extensions else name


def append_markdown(path, rows, command):
    """Appends a section for `rows` to the markdown file `path`."""
    with open(path, "a", encoding="utf-8") as f:
        f.write("\n" + markdown_section(rows, command))
