#!/usr/bin/env python3
"""tools/sweep end to end on a small sweep: `run` with two workers, then `jobs` + the job lines run one by one
(as GNU parallel or a Slurm array would) + `merge`; both must give the same CSV, with one row per point, the
varied values, derived columns computed from each point's statistics, and the plot."""
import csv
import os
import subprocess
import sys
import tempfile


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def check_firmware_params(sweep_tool, vp, fw_dir):
    """vary.fw.SYMBOL patches a firmware global per point: study_unmap with 16 and 32 pages, strict and batched.
    The patch must take effect: the pages count shows in the SMMU's CMD_SYNC count, and strict unmap issues more
    CMD_SYNCs than batched."""
    with tempfile.TemporaryDirectory() as tmp:
        sweep = os.path.join(tmp, "fw.sweep")
        with open(sweep, "w") as f:
            f.write("scenario = study_unmap\n"
                    "args = --max-sim-time 1s\n"
                    "vary.fw.study_unmap_pages = 16, 32\n"
                    "vary.fw.study_unmap_batched = 0, 1\n"
                    "derive.ns_per_page = out('unmap_ps_per_page') / 1000\n")
        out = os.path.join(tmp, "out")
        r = subprocess.run([sys.executable, sweep_tool, "run", sweep, "-j", "2", "-o", out, "--vp", vp,
                            "--fw", fw_dir], capture_output=True, text=True)
        if r.returncode != 0:
            fail("firmware-parameter sweep failed: " + r.stdout + r.stderr)
        rows = {(r["fw.study_unmap_pages"], r["fw.study_unmap_batched"]): r
                for r in csv.DictReader(open(os.path.join(out, "results.csv")))}
        if len(rows) != 4 or any(r["exit_status"] != "0" for r in rows.values()):
            fail(f"firmware-parameter sweep: {len(rows)} points, statuses {[r['exit_status'] for r in rows.values()]}")
        syncs = {k: int(r["smmu.cmd.SYNC"]) for k, r in rows.items()}
        for pages in ("16", "32"):
            if not syncs[(pages, "0")] > syncs[(pages, "1")]:
                fail(f"{pages} pages: strict unmap issued {syncs[(pages, '0')]} CMD_SYNCs, batched "
                     f"{syncs[(pages, '1')]}: the patched globals did not take effect")
        if not syncs[("32", "0")] > syncs[("16", "0")]:
            fail("strict unmap of 32 pages issued no more CMD_SYNCs than of 16: study_unmap_pages was not patched")
        for r in rows.values():
            if not float(r["ns_per_page"]) > 0:
                fail("out('unmap_ps_per_page') gave no figure")
    print("sweep: firmware globals patched per point: ok")


def main():
    sweep_tool, vp, fw_dir = sys.argv[1:4]
    if len(sys.argv) > 4 and sys.argv[4] == "firmware-params":
        check_firmware_params(sweep_tool, vp, fw_dir)
        return
    with tempfile.TemporaryDirectory() as tmp:
        sweep = os.path.join(tmp, "quanta.sweep")
        with open(sweep, "w") as f:
            f.write("scenario = hello  # the greeting program\n"
                    "args = --max-sim-time 1s\n"
                    "vary.cpu.quantum = 1, 1000\n"
                    "vary.cpu.ns_per_insn = 1, 2\n"
                    "derive.ns_total = stat('platform.sim_time_ps') / 1000\n"
                    "derive.per_insn = stat('platform.sim_time_ps') / stat('cpu.instructions') / 1000\n"
                    "plot.time = x=cpu.quantum y=ns_total series=cpu.ns_per_insn\n")
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        r = subprocess.run([sys.executable, sweep_tool, "run", sweep, "-j", "2", "-o", a, "--vp", vp,
                            "--fw", fw_dir], capture_output=True, text=True)
        if r.returncode != 0:
            fail("sweep run failed: " + r.stdout + r.stderr)
        r = subprocess.run([sys.executable, sweep_tool, "jobs", sweep, "-o", b, "--vp", vp, "--fw", fw_dir],
                           capture_output=True, text=True)
        if r.returncode != 0:
            fail("sweep jobs failed: " + r.stderr)
        jobs = open(os.path.join(b, "jobs.txt")).read().splitlines()
        if len(jobs) != 4:
            fail(f"{len(jobs)} jobs, expected 4")
        if "--array=0-3" not in open(os.path.join(b, "slurm.sh")).read():
            fail("the Slurm script does not name a 4-task array")
        for job in jobs:
            subprocess.run(job, shell=True, check=True)
        r = subprocess.run([sys.executable, sweep_tool, "merge", sweep, "-o", b], capture_output=True, text=True)
        if r.returncode != 0:
            fail("sweep merge failed: " + r.stderr)
        rows_a = list(csv.DictReader(open(os.path.join(a, "results.csv"))))
        rows_b = list(csv.DictReader(open(os.path.join(b, "results.csv"))))
        if len(rows_a) != 4:
            fail(f"{len(rows_a)} rows, expected 4")
        seen = {(r["cpu.quantum"], r["cpu.ns_per_insn"]) for r in rows_a}
        if seen != {("1", "1"), ("1", "2"), ("1000", "1"), ("1000", "2")}:
            fail(f"points {sorted(seen)} are not the cross product")
        for r in rows_a:
            if r["exit_status"] != "0":
                fail(f"point {r['point']} exited {r['exit_status']}")
            if abs(float(r["per_insn"]) - float(r["cpu.ns_per_insn"])) > 0.25 * float(r["cpu.ns_per_insn"]):
                fail(f"point {r['point']}: {r['per_insn']} ns per instruction, set {r['cpu.ns_per_insn']}")
        strip = lambda rows: [{k: v for k, v in r.items()} for r in rows]
        if strip(rows_a) != strip(rows_b):
            fail("run and jobs+merge gave different results")
        for d in (a, b):
            png = os.path.join(d, "time.png")
            if not os.path.exists(png) or open(png, "rb").read(8) != b"\x89PNG\r\n\x1a\n":
                fail(f"no PNG plot in {d}")
    print("sweep: run, jobs + merge, derived columns, plot: ok")


if __name__ == "__main__":
    main()
