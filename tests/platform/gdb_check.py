#!/usr/bin/env python3
"""The GDB stub (--gdb, --gdb-wait) driven as users drive it.

  gdb_check.py session VP ELF GDB   gdb-multiarch --batch: registers at entry, a breakpoint on main, stepi,
                                    memory and register writes, continue to the program's exit
  gdb_check.py interrupt VP ELF     a raw remote-protocol client: continue, Ctrl-C (0x03) stops the CPU
                                    with SIGINT, simulated time does not move while it is held, kill ends
                                    the simulator with 137
"""
import re
import socket
import struct
import subprocess
import sys
import time


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def elf_entry(path):
    with open(path, "rb") as f:
        head = f.read(64)
    return struct.unpack_from("<Q", head, 24)[0]


def start_vp(vp, elf, *extra):
    proc = subprocess.Popen([vp, "--gdb", "0", *extra, elf], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    match = re.search(r"gdb: listening on localhost:(\d+)", line)
    if not match:
        proc.kill()
        fail("no 'gdb: listening' line, got: " + line)
    return proc, int(match.group(1))


def check_session(vp, elf, gdb):
    entry = elf_entry(elf)
    proc, port = start_vp(vp, elf, "--gdb-wait")
    commands = [
        "set confirm off",
        "set pagination off",
        f"target remote 127.0.0.1:{port}",  # not "localhost": a minimal root may not resolve it
        "printf \"entry-pc=%#lx\\n\", $pc",
        "break main",
        "continue",
        "printf \"main-pc=%#lx\\n\", $pc",
        "printf \"main-addr=%#lx\\n\", &main",
        "stepi",
        "printf \"step-pc=%#lx\\n\", $pc",
        "set var $probe = (unsigned int *) ($sp - 64)",
        "set {unsigned int} $probe = 0xfeedc0de",
        "printf \"mem=%#x\\n\", *$probe",
        "set $x9 = 0x1122334455667788",
        "printf \"x9=%#lx\\n\", $x9",
        "delete",
        "continue",
    ]
    args = [gdb, "--batch", "-nx", elf]
    for c in commands:
        args += ["-ex", c]
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("gdb did not finish")
    text = out.stdout + out.stderr
    try:
        status = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("the simulator did not end after the debugger's continue:\n" + text)

    def value(name):
        m = re.search(name + r"=(0x[0-9a-f]+)", text)
        if not m:
            fail(f"no {name} in gdb output:\n" + text)
        return int(m.group(1), 16)

    if value("entry-pc") != entry:
        fail(f"PC at connection {value('entry-pc'):#x}, expected the ELF entry {entry:#x}")
    if "Breakpoint 1, main" not in text:
        fail("the breakpoint on main was not reported:\n" + text)
    if value("main-pc") < value("main-addr") or value("main-pc") > value("main-addr") + 64:
        fail(f"stopped at {value('main-pc'):#x}, not in main's prologue at {value('main-addr'):#x}")
    if value("step-pc") == value("main-pc"):
        fail("stepi did not move the PC")
    if value("mem") != 0xFEEDC0DE:
        fail(f"memory write read back as {value('mem'):#x}")
    if value("x9") != 0x1122334455667788:
        fail(f"register write read back as {value('x9'):#x}")
    if "exited normally" not in text and "exited with code" not in text:
        fail("gdb did not see the program exit:\n" + text)
    if status != 0:
        fail(f"the simulator exited with {status}, expected the firmware's 0")
    print("gdb session: entry, breakpoint, stepi, memory, registers, exit: ok")


class Rsp:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def _byte(self):
        while not self.buf:
            data = self.sock.recv(4096)
            if not data:
                raise EOFError
            self.buf += data
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def send(self, payload):
        data = payload.encode()
        self.sock.sendall(b"$%s#%02x" % (data, sum(data) & 0xFF))
        if self._byte() != b"+":
            fail("no acknowledgement for " + payload)

    def receive(self):
        while self._byte() != b"$":
            pass
        payload = b""
        while True:
            b = self._byte()
            if b == b"#":
                break
            payload += b
        checksum = self._byte() + self._byte()
        if int(checksum, 16) != sum(payload) & 0xFF:
            fail("bad checksum from the stub")
        self.sock.sendall(b"+")
        return payload.decode()

    def ask(self, payload):
        self.send(payload)
        return self.receive()


def check_interrupt(vp, elf):
    proc, port = start_vp(vp, elf)
    rsp = Rsp(port)
    # Connecting stops the CPU, wherever it was.
    if not re.fullmatch(r"S05", rsp.ask("?")):
        fail("the stop reason after connecting is not S05")
    regs = rsp.ask("g")
    if len(regs) != 33 * 16 + 8:
        fail(f"'g' returned {len(regs)} hex digits, expected 536 (x0-x30, sp, pc, cpsr)")
    rsp.send("c")
    time.sleep(0.5)
    rsp.sock.sendall(b"\x03")
    reply = rsp.receive()
    if reply != "S02":
        fail(f"Ctrl-C answered {reply!r}, expected S02")
    pc1 = rsp.ask("p20")
    time.sleep(0.3)  # held by the debugger: the CPU must not move
    if rsp.ask("p20") != pc1:
        fail("the PC moved while the debugger held the CPU")
    if rsp.ask("m0,4")[0] != "E":
        fail("reading unmapped address 0 did not give an error")
    rsp.sock.sendall(b"$k#6b")
    try:
        status = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("the simulator did not end after kill")
    if status != 137:
        fail(f"kill from the debugger gave exit status {status}, expected 137")
    print("gdb interrupt: connect stops, Ctrl-C stops with SIGINT, held CPU does not move, kill: ok")


def main():
    mode = sys.argv[1]
    if mode == "session":
        check_session(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "interrupt":
        check_interrupt(sys.argv[2], sys.argv[3])
    else:
        fail("unknown mode " + mode)


if __name__ == "__main__":
    main()
