#!/usr/bin/env python3
"""Waveforms of the scenarios listed in waves/scenarios.txt.

  waves.py prepare VP FIRMWARE_DIR OUT_DIR   run each scenario with --vcd into OUT_DIR/NAME.vcd and write
                                             OUT_DIR/NAME.gtkw, the save file with the VCD and the translate
                                             filters named by absolute paths (open it with gtkwave alone)
  waves.py check VP FIRMWARE_DIR OUT_DIR     the same runs, then every signal each save file names must be a
                                             variable of its VCD (exit 1 with the missing ones)
"""
import os
import re
import subprocess
import sys

WAVES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "waves")


def scenarios():
    entries = []
    with open(os.path.join(WAVES, "scenarios.txt")) as file:
        for line in file:
            words = line.split("#", 1)[0].split()
            if words:
                entries.append((words[0], words[1], words[2:]))
    return entries


def run(vp, firmware_dir, out_dir, program, extra, name):
    vcd = os.path.join(out_dir, name + ".vcd")
    elf = os.path.join(firmware_dir, program + ".elf")
    result = subprocess.run([vp, "--firmware", elf, "--vcd", vcd, "--max-sim-time", "100ms"] + extra,
                            capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        sys.exit("waves: %s: %s exited %d\n%s" % (name, program, result.returncode, result.stderr))
    return vcd


def vcd_signals(path):
    """GTKWave's names of the VCD's variables: SystemC.scope.name and, for vectors, name[msb:lsb]."""
    names, scope = set(), []
    with open(path) as file:
        for line in file:
            words = line.split()
            if not words:
                continue
            if words[0] == "$enddefinitions":
                break
            if words[0] == "$scope":
                scope.append(words[2])
            elif words[0] == "$upscope":
                scope.pop()
            elif words[0] == "$var":
                reference = words[4] + (words[5] if words[5].startswith("[") else "")
                names.add(".".join(scope + [reference]))
    return names


def savefile_signals(path):
    signals = []
    with open(path) as file:
        for line in file:
            line = line.strip()
            if line and line[0] not in "[@-^*#":
                signals.append(line)
    return signals


def write_ready_savefile(name, vcd, out_dir):
    text = open(os.path.join(WAVES, name + ".gtkw")).read()
    filters = os.path.abspath(os.path.join(WAVES, "filters"))
    text = re.sub(r"^(\^\d+) waves/filters/", lambda m: m.group(1) + " " + filters + "/", text, flags=re.M)
    with open(os.path.join(out_dir, name + ".gtkw"), "w") as file:
        file.write('[dumpfile] "%s"\n' % os.path.abspath(vcd) + text)


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("prepare", "check"):
        sys.exit(__doc__)
    mode, vp, firmware_dir, out_dir = sys.argv[1:]
    os.makedirs(out_dir, exist_ok=True)
    missing = []
    for name, program, extra in scenarios():
        vcd = run(vp, firmware_dir, out_dir, program, extra, name)
        if mode == "prepare":
            write_ready_savefile(name, vcd, out_dir)
            print("waves: %s (%s): gtkwave %s" % (name, program, os.path.join(out_dir, name + ".gtkw")))
            continue
        known = vcd_signals(vcd)
        named = savefile_signals(os.path.join(WAVES, name + ".gtkw"))
        missing += ["%s.gtkw: %s" % (name, s) for s in named if s not in known]
        filters = [l.split()[1] for l in open(os.path.join(WAVES, name + ".gtkw")) if l.startswith("^")]
        missing += ["%s.gtkw: filter %s" % (name, f) for f in filters
                    if not os.path.isfile(os.path.join(WAVES, "..", f))]
        print("waves: %s: %d signals, all in the VCD of %s" % (name, len(named), program)
              if not missing else "waves: %s checked" % name)
    if missing:
        sys.exit("waves: not in the VCD (or missing):\n  " + "\n  ".join(missing))


if __name__ == "__main__":
    main()
