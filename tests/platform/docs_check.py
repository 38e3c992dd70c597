#!/usr/bin/env python3
"""The docs list what --help lists: every option in README.md and docs/platform.md, every configuration key
and every exit code in docs/platform.md."""
import re
import subprocess
import sys


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def main():
    vp, root = sys.argv[1], sys.argv[2]
    help_text = subprocess.run([vp, "--help"], capture_output=True, text=True).stdout
    usage, _, keys_part = help_text.partition("Configuration keys:")
    options = sorted(set(re.findall(r"(--[a-z][a-z-]*)", usage)))
    keys = sorted(set(re.findall(r"^  ([a-z][a-z0-9_.]+) = ", keys_part, re.M)))
    exit_part = usage[usage.find("Exit status"):]
    codes = sorted(set(re.findall(r"\b(\d{1,3})\b", exit_part)) - {"0", "255"})
    readme = open(f"{root}/README.md").read()
    platform = open(f"{root}/docs/platform.md").read()
    missing = [f"README.md: option {o}" for o in options if o not in readme]
    missing += [f"docs/platform.md: option {o}" for o in options if o not in platform]
    missing += [f"docs/platform.md: key {k}" for k in keys if f"`{k}`" not in platform and f"{k} " not in platform]
    missing += [f"docs/platform.md: exit code {c}" for c in codes if not re.search(rf"\b{c}\b", platform)]
    if not options or not keys or not codes:
        fail(f"could not read --help (options {len(options)}, keys {len(keys)}, exit codes {len(codes)})")
    if missing:
        fail("missing from the docs:\n  " + "\n  ".join(missing))
    print(f"docs: {len(options)} options, {len(keys)} keys, {len(codes)} exit codes documented: ok")


if __name__ == "__main__":
    main()
