"""Memory probe for bench/load.py --probe: where a server process's memory goes.

Python imports `sitecustomize` at start-up from the first folder on sys.path that has one;
bench/load.py puts this folder first on the server's PYTHONPATH when `--probe` is given, so
every server process (the parent and each spawned web process) runs this module, and
nothing in Domus itself knows about it. With DOMUS_MEMPROBE_DIR unset it does nothing.

Every DOMUS_MEMPROBE_SECONDS (default 10) a daemon thread appends one JSON line to
DIR/probe-PID.jsonl with what each layer holds:

- the kernel's view: VmRSS, RssAnon (the heap and anonymous maps), RssFile;
- glibc malloc (mallinfo2): bytes in use (uordblks + hblkhd: small chunks and mmapped big
  ones), bytes free inside the arenas (fordblks: fragmentation or not yet returned), the
  arenas' total size (arena), and what RssAnon holds beyond arena and mmapped chunks
  (outside_malloc_mb: pymalloc's own arenas, which it maps itself, and thread stacks);
- Python's own allocator: sys.getallocatedblocks() (pymalloc blocks and objects alive), the
  number of objects the garbage collector tracks;
- SQLite: sqlite3_memory_used() of the libsqlite3 this process loaded (page caches,
  statements, schema of every connection).

and the process's name in multiprocessing ("domus web 1": bench/load.py sums those).

With DOMUS_MEMPROBE_TRACE=N (frames, e.g. 1), tracemalloc is on from start-up; at each
sample after DOMUS_MEMPROBE_BASELINE seconds (default 120) the first such snapshot is the
baseline and DIR/trace-PID.txt is rewritten with the 30 places whose allocations grew the
most since then. tracemalloc slows the process (roughly 1.5-2x): its load figures are not
the product's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import sys
import threading
import time


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


def _libc():  # type: ignore[no-untyped-def]
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        return libc
    except (OSError, AttributeError):
        return None


def _sqlite():  # type: ignore[no-untyped-def]
    """The SQLite library _sqlite3 is linked against (a shared library is loaded once per
    process, so its sqlite3_memory_used() counts the connections' memory), looked up once:
    find_library runs ldconfig."""
    try:
        import _sqlite3  # noqa: F401  (loads libsqlite3 into the process)

        lib = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
        lib.sqlite3_memory_used.restype = ctypes.c_int64
        return lib
    except (OSError, AttributeError, ImportError):
        return None


def _status() -> dict[str, float]:
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) / 1024
    return fields


def _process_name() -> str:
    """multiprocessing's name for this process ("domus web 1" for `domus serve`'s web
    processes, domus/serve.py), read only if the process imported it."""
    module = sys.modules.get("multiprocessing")
    return module.current_process().name if module is not None else "MainProcess"


def _sample(libc, sqlite, started: float) -> dict[str, object]:  # type: ignore[no-untyped-def]
    row: dict[str, object] = {"t": round(time.monotonic() - started, 1), **_status(),
                              "py_blocks": sys.getallocatedblocks(),
                              "gc_objects": len(gc.get_objects()),
                              "threads": threading.active_count(),
                              "process": _process_name()}
    if libc is not None:
        info = libc.mallinfo2()
        row.update(malloc_used_mb=(info.uordblks + info.hblkhd) / 2**20,
                   malloc_free_mb=info.fordblks / 2**20, malloc_arena_mb=info.arena / 2**20,
                   malloc_mmap_mb=info.hblkhd / 2**20)
        # pymalloc takes its 256 KiB arenas from mmap, not malloc: what RssAnon holds
        # beyond malloc's arenas and maps is mostly Python's small objects (and stacks)
        row["outside_malloc_mb"] = (row.get("RssAnon", 0.0)  # type: ignore[operator]
                                    - (info.arena + info.hblkhd) / 2**20)
    if sqlite is not None:
        row["sqlite_mb"] = int(sqlite.sqlite3_memory_used()) / 2**20
    return row


def _trace(folder: str, baseline: list, frames: int) -> None:  # type: ignore[type-arg]
    import linecache
    import tracemalloc

    # the probe's own: tracemalloc, and the source lines linecache keeps for format() below
    snapshot = tracemalloc.take_snapshot().filter_traces(
        (tracemalloc.Filter(False, tracemalloc.__file__),
         tracemalloc.Filter(False, linecache.__file__)))
    if not baseline:
        baseline.append(snapshot)
        return
    key = "traceback" if frames > 1 else "lineno"
    grown = snapshot.compare_to(baseline[0], key)[:30]
    lines = [f"pid {os.getpid()}: growth since the baseline, {time.strftime('%H:%M:%S')}"]
    for stat in grown:
        lines.append(f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+8d} blocks  "
                     f"{stat.traceback.format()[-1].strip() if frames == 1 else ''}")
        if frames > 1:
            lines += ["      " + line for line in stat.traceback.format()]
    with open(os.path.join(folder, f"trace-{os.getpid()}.txt"), "w") as out:
        out.write("\n".join(lines) + "\n")


def _run(folder: str, every: float, frames: int, baseline_after: float) -> None:
    libc, sqlite, started, baseline = _libc(), _sqlite(), time.monotonic(), []
    path = os.path.join(folder, f"probe-{os.getpid()}.jsonl")
    while True:
        time.sleep(every)
        row = _sample(libc, sqlite, started)
        with open(path, "a") as out:
            out.write(json.dumps(row) + "\n")
        if frames and row["t"] >= baseline_after:  # type: ignore[operator]
            _trace(folder, baseline, frames)


def _start() -> None:
    folder = os.environ.get("DOMUS_MEMPROBE_DIR")
    if not folder:
        return
    frames = int(os.environ.get("DOMUS_MEMPROBE_TRACE", "0"))
    if frames:
        import tracemalloc

        tracemalloc.start(frames)
    threading.Thread(target=_run, name="memprobe", daemon=True,
                     args=(folder, float(os.environ.get("DOMUS_MEMPROBE_SECONDS", "10")),
                           frames, float(os.environ.get("DOMUS_MEMPROBE_BASELINE", "120")))
                     ).start()


_start()
