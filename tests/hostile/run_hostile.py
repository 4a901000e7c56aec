#!/usr/bin/env python3
"""Hostile-input suite of the `surgery` tool (docs/security.md): each case builds a small world in its
own directory (models and tensors written byte by byte, FIFOs, sockets, devices, links), runs one
command there and checks what the tool promises for untrusted input:

  - the exit code (0 where the input is valid, 1 or 2 where it is refused) and a message substring;
  - nothing created but the expected outputs: no leftover file, no temporary, no directory; and no
    file that was there (inputs, existing outputs) changed, compared by content hash;
  - a bounded time (a per-case timeout: a FIFO must not hang the tool) and bounded memory (the tool
    runs with RLIMIT_AS, so an attempt at a huge allocation fails fast, and its peak RSS is checked);
  - output safe for a terminal on every case: stdout and stderr are valid UTF-8 without control
    characters (other than newline and tab), C1 controls or bidirectional overrides; an error is one
    line; JSON output parses with Python's json.

  run_hostile.py --exe build/tools/surgery --work DIR [--filter SUBSTRING] [--list] [--no-as] [--verbose]

Exit status 0 when every case passes (cases marked xfail may fail: they document what remains to be
done elsewhere, and are reported as XFAIL, or XPASS once fixed). Standard library only.
"""
import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_wire as w  # noqa: E402

GiB = 1 << 30
AS_LIMIT = 3 * GiB  # the tool's default budget is then half of it, 1.5 GiB


# ---- the worlds -------------------------------------------------------------------------------

class Fifo:
    """A named pipe; with `writer`, the suite holds it open for writing and never writes."""
    def __init__(self, writer=False):
        self.writer = writer


class Sock:
    """A bound Unix socket."""


class Link:
    def __init__(self, target):
        self.target = target


class Hard:
    def __init__(self, source):
        self.source = source


class Dir:
    def __init__(self, files=None):
        self.files = files or {}


class Sparse:
    """A regular file of `size` bytes that takes no disk space (all zeros but `head`)."""
    def __init__(self, size, head=b""):
        self.size, self.head = size, head


RELU = w.relu_model()
CONV_W = [((k * 7) % 11 - 5) / 10.0 for k in range(8 * 3 * 3 * 3)]
CONV_RELU = w.model(w.graph(
    [w.node(b"Conv", [b"x", b"W"], [b"c"], b"the_conv"), w.node(b"Relu", [b"c"], [b"y"], b"the_relu")],
    [w.value_info(b"x", w.FLOAT, (1, 3, 8, 8))], [w.value_info(b"y", w.FLOAT, (1, 8, 6, 6))],
    [w.tensor(b"W", (8, 3, 3, 3), floats=CONV_W)]))
TWO_IO = w.model(w.graph(
    [w.node(b"Add", [b"a", b"b"], [b"sum"], b"add"), w.node(b"Relu", [b"a"], [b"act"], b"relu")],
    [w.value_info(b"a", w.FLOAT, (2, 4)), w.value_info(b"b", w.FLOAT, (2, 4))],
    [w.value_info(b"sum", w.FLOAT, (2, 4)), w.value_info(b"act", w.FLOAT, (2, 4))]))
X14 = w.npy("(1, 4)", data=struct.pack("<4f", 1, -2, 3, -4))
X24 = w.npy("(2, 4)", data=struct.pack("<8f", *range(8)))


def build(root, files):
    """Writes `files` (name -> bytes | Fifo | Sock | Link | Hard | Dir | Sparse) under `root`;
    returns the things to close afterwards (FIFO writers, sockets)."""
    keep = []
    for name, spec in files.items():
        p = os.path.join(root, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if isinstance(spec, (bytes, bytearray)):
            with open(p, "wb") as f:
                f.write(spec)
        elif isinstance(spec, Fifo):
            os.mkfifo(p)
            if spec.writer:
                keep.append(os.open(p, os.O_RDWR | os.O_NONBLOCK))  # a writer that never writes
        elif isinstance(spec, Sock):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(p)
            keep.append(s)
        elif isinstance(spec, Link):
            os.symlink(spec.target, p)
        elif isinstance(spec, Hard):
            os.link(os.path.join(root, spec.source), p)
        elif isinstance(spec, Dir):
            os.makedirs(p, exist_ok=True)
            keep += build(p, spec.files)
        elif isinstance(spec, Sparse):
            with open(p, "wb") as f:
                f.write(spec.head)
                f.truncate(spec.size)
        else:
            raise TypeError(name)
    return keep


def snapshot(root):
    """path -> (kind, content hash for regular files, link target for links); never opens anything else."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(p, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
                out[rel] = ("file", h.hexdigest(), st.st_ino)
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
            else:
                out[rel] = ("special", stat.S_IFMT(st.st_mode))
    return out


# ---- running one command ----------------------------------------------------------------------

def run(argv, cwd, timeout, as_limit):
    """Runs argv; returns (exit code or None on timeout, stdout, stderr, seconds, max RSS in KiB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        def limit():
            os.setsid()
            if as_limit:
                resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
        t0 = time.monotonic()
        p = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, preexec_fn=limit)
        code = None
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() - t0 > timeout:
                os.killpg(p.pid, signal.SIGKILL)
                _, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.003)
        p.returncode = code if code is not None else -9
        secs = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        return code, out.read(), err.read(), secs, ru.ru_maxrss


UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def terminal_problem(data, what):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"{what} is not valid UTF-8 ({e})"
    m = UNSAFE.search(text)
    if m:
        return f"{what} holds the raw character U+{ord(m.group()):04X} at {m.start()}: {text[max(0, m.start() - 40):m.start() + 20]!r}"
    return None


# ---- cases ------------------------------------------------------------------------------------

class Case:
    def __init__(self, category, name, args, rc, err=None, out=None, files=None, created=(), changed=(), json_out=False,
                 json_files=(), check=None, xfail=None, timeout=20, max_rss_mb=None, as_limit=AS_LIMIT, out_not=None, needs_as=False):
        self.category, self.name, self.args, self.rc = category, name, args, rc
        self.err, self.out, self.out_not = err, out, out_not
        self.files = files or {}
        self.created, self.changed = set(created), set(changed)
        self.json_out, self.json_files, self.check, self.xfail = json_out, json_files, check, xfail
        self.timeout, self.as_limit = timeout, as_limit
        self.needs_as = needs_as  # the expectation depends on RLIMIT_AS (the default budget is half of it): skipped with --no-as
        self.max_rss_mb = max_rss_mb if max_rss_mb is not None else (1024 if rc == 0 else 600)


CASES = []


def case(*a, **k):
    CASES.append(Case(*a, **k))


def hexname(b):
    return b.hex()


# A. Output paths: clashes with inputs and other outputs, directories, special files -----------------
A = "output paths"
IN = {"in.onnx": RELU}
SAME_IN = r"is the same file as the input model 'in\.onnx'"
case(A, "lite -o is the input", ["lite", "in.onnx", "-o", "in.onnx"], 2, SAME_IN, files=IN)
case(A, "lite -o is the input, spelled ./sub/../in.onnx", ["lite", "in.onnx", "-o", "./sub/../in.onnx"], 2,
     SAME_IN, files={**IN, "sub": Dir()})
case(A, "lite -o is the input, spelled ./in.onnx", ["lite", "in.onnx", "-o", "./in.onnx"], 2, SAME_IN, files=IN)
case(A, "lite -o is the input, absolute path", ["lite", "in.onnx", "-o", "@ABS@/in.onnx"], 2, SAME_IN, files=IN)
case(A, "lite -o is a symlink to the input", ["lite", "in.onnx", "-o", "link.onnx"], 2, SAME_IN + r" \(through a link or another spelling\)",
     files={**IN, "link.onnx": Link("in.onnx")})
case(A, "lite -o is a symlink chain to the input", ["lite", "in.onnx", "-o", "l2.onnx"], 2, SAME_IN,
     files={**IN, "l1.onnx": Link("in.onnx"), "l2.onnx": Link("l1.onnx")})
case(A, "lite -o is a hard link of the input", ["lite", "in.onnx", "-o", "hard.onnx"], 2, SAME_IN, files={**IN, "hard.onnx": Hard("in.onnx")})
case(A, "lite input given through a symlink, -o the real file", ["lite", "link.onnx", "-o", "in.onnx"], 2,
     r"is the same file as the input model 'link\.onnx'", files={**IN, "link.onnx": Link("in.onnx")})
case(A, "lite -o is the input through a symlinked directory", ["lite", "in.onnx", "-o", "dl/in.onnx"], 2, SAME_IN, files={**IN, "dl": Link(".")})
case(A, "lite --report is the input", ["lite", "in.onnx", "-o", "out.onnx", "--report", "in.onnx"], 2,
     r"--report 'in\.onnx' is the same file as the input model", files=IN)
case(A, "lite --report is the input via ../", ["lite", "in.onnx", "-o", "out.onnx", "--report", "sub/../in.onnx"], 2,
     r"--report 'sub/\.\./in\.onnx' is the same file as the input model", files={**IN, "sub": Dir()})
case(A, "lite --report is a symlink to the input", ["lite", "in.onnx", "-o", "out.onnx", "--report", "r.json"], 2,
     r"--report 'r\.json' is the same file as the input model", files={**IN, "r.json": Link("in.onnx")})
case(A, "lite --report is a hard link of the input", ["lite", "in.onnx", "-o", "out.onnx", "--report", "r.json"], 2,
     r"--report 'r\.json' is the same file as the input model", files={**IN, "r.json": Hard("in.onnx")})
case(A, "lite --report is the output (known bug: JSON landed in out.onnx)", ["lite", "in.onnx", "-o", "out.onnx", "--report", "out.onnx"], 2,
     r"--report 'out\.onnx' is the same file as -o 'out\.onnx': each output needs its own path", files=IN)
case(A, "lite --report is the output, spelled ./", ["lite", "in.onnx", "-o", "out.onnx", "--report", "./out.onnx"], 2,
     r"--report '\./out\.onnx' is the same file as -o 'out\.onnx'", files=IN)
case(A, "lite --report is the output via sub/..", ["lite", "in.onnx", "-o", "out.onnx", "--report", "sub/../out.onnx"], 2,
     r"is the same file as -o", files={**IN, "sub": Dir()})
case(A, "lite --report is a symlink to the existing output", ["lite", "in.onnx", "-o", "out.onnx", "--report", "r.json"], 2,
     r"--report 'r\.json' is the same file as -o 'out\.onnx'", files={**IN, "out.onnx": b"old output", "r.json": Link("out.onnx")})
case(A, "lite --report is a hard link of the existing output", ["lite", "in.onnx", "-o", "out.onnx", "--report", "r.json"], 2,
     r"--report 'r\.json' is the same file as -o 'out\.onnx'", files={**IN, "out.onnx": b"old output", "r.json": Hard("out.onnx")})
case(A, "lite --report is a directory (known bug: failed after out.onnx was written)", ["lite", "in.onnx", "-o", "out.onnx", "--report", "rdir"], 1,
     r"--report 'rdir': is a directory, not a regular file; it is not overwritten", files={**IN, "rdir": Dir()})
case(A, "lite -o is a directory", ["lite", "in.onnx", "-o", "odir"], 1, r"-o 'odir': is a directory", files={**IN, "odir": Dir()})
case(A, "lite -o is a symlink to a directory", ["lite", "in.onnx", "-o", "ol"], 1, r"-o 'ol': is a symbolic link to a directory",
     files={**IN, "odir": Dir(), "ol": Link("odir")})
case(A, "lite -o is a FIFO (no reader, must not hang)", ["lite", "in.onnx", "-o", "out.onnx"], 1, r"-o 'out\.onnx': is a FIFO \(named pipe\)",
     files={**IN, "out.onnx": Fifo()})
case(A, "lite --report is a FIFO with a reader", ["lite", "in.onnx", "-o", "out.onnx", "--report", "r.json"], 1, r"--report 'r\.json': is a FIFO",
     files={**IN, "r.json": Fifo(writer=True)})
case(A, "lite -o is /dev/null", ["lite", "in.onnx", "-o", "/dev/null"], 1, r"-o '/dev/null': is a character device", files=IN)
case(A, "lite -o is a symlink to /dev/null", ["lite", "in.onnx", "-o", "null.onnx"], 1, r"is a symbolic link to a character device",
     files={**IN, "null.onnx": Link("/dev/null")})
case(A, "lite --report is /dev/full", ["lite", "in.onnx", "-o", "out.onnx", "--report", "/dev/full"], 1, r"is a character device", files=IN)
case(A, "lite -o is a socket", ["lite", "in.onnx", "-o", "s.onnx"], 1, r"-o 's\.onnx': is a socket", files={**IN, "s.onnx": Sock()})
case(A, "lite --dot is a regular file", ["lite", "in.onnx", "-o", "out.onnx", "--dot", "f"], 1, r"--dot 'f': is a regular file, not a directory",
     files={**IN, "f": b"a file"})
case(A, "lite --dot is a FIFO", ["lite", "in.onnx", "-o", "out.onnx", "--dot", "f"], 1, r"--dot 'f': is a FIFO \(named pipe\), not a directory",
     files={**IN, "f": Fifo()})
case(A, "lite --dot DIR/before.dot is a FIFO", ["lite", "in.onnx", "-o", "out.onnx", "--dot", "d"], 1,
     r"--dot 'd/before\.dot': is a FIFO \(named pipe\), not a regular file; it is not overwritten", files={**IN, "d": Dir({"before.dot": Fifo()})})
case(A, "lite --dot DIR/after.svg is a directory", ["lite", "in.onnx", "-o", "out.onnx", "--dot", "d"], 1, r"'d/after\.svg': is a directory",
     files={**IN, "d": Dir({"after.svg": Dir()})})
case(A, "lite --dot DIR/before.dot is a hard link of the input", ["lite", "in.onnx", "-o", "out.onnx", "--dot", "d"], 2,
     r"'d/before\.dot' is the same file as the input model", files={**IN, "d": Dir({"x": b""}), "d/before.dot": Hard("in.onnx")})
case(A, "lite --dot DIR/after.dot is a symlink to the input", ["lite", "in.onnx", "-o", "out.onnx", "--dot", "d"], 2,
     r"'d/after\.dot' is the same file as the input model", files={**IN, "d": Dir({"after.dot": Link("../in.onnx")})})
case(A, "lite --report inside --dot DIR", ["lite", "in.onnx", "-o", "out.onnx", "--dot", "d", "--report", "d/before.dot"], 2,
     r"--dot 'd/before\.dot' is the same file as --report 'd/before\.dot': each output needs its own path", files={**IN, "d": Dir()})
case(A, "lite -o inside --dot DIR", ["lite", "in.onnx", "-o", "d/after.dot", "--dot", "d"], 2, r"--dot 'd/after\.dot' is the same file as -o 'd/after\.dot'",
     files={**IN, "d": Dir()})
case(A, "lite -o and --dot the same new name", ["lite", "in.onnx", "-o", "new", "--dot", "new"], 2, r"--dot 'new' is the same file as -o 'new'", files=IN)
case(A, "lite -o and --report the same new name in a new spelling", ["lite", "in.onnx", "-o", "sub/x", "--report", "sub/./x"], 2,
     r"is the same file as -o 'sub/x'", files={**IN, "sub": Dir()})
case(A, "lite -o in a directory that does not exist", ["lite", "in.onnx", "-o", "no/such/dir/out.onnx"], 1,
     r"-o 'no/such/dir/out\.onnx': the directory 'no/such/dir' does not exist", files=IN)
case(A, "lite -o under a regular file", ["lite", "in.onnx", "-o", "f/out.onnx"], 1, r"the directory 'f/?' does not exist|is a regular file, not a directory",
     files={**IN, "f": b"x"})
case(A, "lite -o with a trailing slash", ["lite", "in.onnx", "-o", "out.onnx/"], 1, r"names a directory, not a file", files=IN)
case(A, "lite -o is ..", ["lite", "in.onnx", "-o", "sub/.."], 1, r"names a directory, not a file", files={**IN, "sub": Dir()})
case(A, "lite --dot under a missing directory", ["lite", "in.onnx", "-o", "out.onnx", "--dot", "a/b/c"], 1, r"--dot 'a/b/c': the directory 'a/b' does not exist",
     files=IN)
case(A, "lite --dot DIR not created when loading fails (known bug)", ["lite", "bad.onnx", "-o", "out.onnx", "--dot", "newdot"], 1,
     r"'bad\.onnx': not a valid onnx\.ModelProto", files={"bad.onnx": b"this is not an ONNX model\n"})
case(A, "lite --dot, --report, -o not written when a rule fails", ["lite", "cr.onnx", "-o", "out.onnx", "--rule", "Conv=>identity",
                                                                   "--report", "r.json", "--dot", "newdot"], 1,
     r"rule 'Conv=>identity' at node 'the_conv'.*nothing was written", files={"cr.onnx": CONV_RELU})
case(A, "lite: nothing written when --check is over --tolerance", ["lite", "in.onnx", "-o", "out.onnx", "--rule", "Relu=>Sigmoid", "--tolerance",
                                                                   "1e-9", "--report", "r.json", "--dot", "d"], 1,
     r"--check: max relative error .* exceeds the tolerance 1e-09; 'out\.onnx' was not written", files={**IN, "d": Dir()})
case(A, "lite: an existing output is kept when a rule fails", ["lite", "cr.onnx", "-o", "out.onnx", "--rule", "Conv=>identity", "--report", "r.json"],
     1, r"rule 'Conv=>identity'", files={"cr.onnx": CONV_RELU, "out.onnx": b"previous model", "r.json": b"previous report"})
case(A, "lite: everything written (control)", ["lite", "in.onnx", "-o", "out.onnx", "--rule", "Relu=>Sigmoid", "--report", "r.json", "--dot", "d",
                                              "--no-svg"], 0, out=r"wrote 'out\.onnx' \(1 nodes\)\nwrote report 'r\.json'\nwrote 'd/before\.dot'",
     files=IN, created={"out.onnx", "r.json", "d", "d/before.dot", "d/after.dot"}, json_files=["r.json"])
case(A, "lite: --dot into an existing directory keeps its other files (control)", ["lite", "in.onnx", "-o", "out.onnx", "--dot", "d", "--no-svg"], 0,
     files={**IN, "d": Dir({"mine.txt": b"keep me", "before.dot": b"old"})}, created={"out.onnx", "d/after.dot"}, changed={"d/before.dot"})
case(A, "lite: SVGs of an earlier run in --dot DIR are noted, not removed", ["lite", "in.onnx", "-o", "out.onnx", "--dot", "d", "--no-svg"], 0,
     out=r"note: 'd/before\.svg' is from an earlier run, not this one", files={**IN, "d": Dir({"before.svg": b"<svg/>"})},
     created={"out.onnx", "d/before.dot", "d/after.dot"})
case(A, "lite: an existing output file is replaced (control)", ["lite", "in.onnx", "-o", "out.onnx"], 0, files={**IN, "out.onnx": b"old"},
     changed={"out.onnx"})
case(A, "lite: -o a dangling symlink replaces the link, not its target (control)", ["lite", "in.onnx", "-o", "dangling.onnx"], 0,
     files={**IN, "dangling.onnx": Link("nowhere/target.onnx")}, changed={"dangling.onnx"},
     check=lambda d: None if os.path.isfile(os.path.join(d, "dangling.onnx")) and not os.path.islink(os.path.join(d, "dangling.onnx"))
     else "dangling.onnx is not a regular file")
case(A, "run --output is the model", ["run", "m.onnx", "--output", "m.onnx"], 1, r"unknown tensor file type '\.onnx'", files={"m.onnx": RELU})
case(A, "run --output is the model through a .npy symlink", ["run", "m.onnx", "--output", "y.npy"], 2, r"--output 'y\.npy' is the same file as the model",
     files={"m.onnx": RELU, "y.npy": Link("m.onnx")})
case(A, "run --output is the --input file", ["run", "m.onnx", "--input", "x.npy", "--output", "x.npy"], 2,
     r"--output 'x\.npy' is the same file as --input 'x\.npy'", files={"m.onnx": RELU, "x.npy": X14})
case(A, "run --output is a hard link of the --input file", ["run", "m.onnx", "--input", "x.npy", "--output", "y.npy"], 2,
     r"--output 'y\.npy' is the same file as --input 'x\.npy'", files={"m.onnx": RELU, "x.npy": X14, "y.npy": Hard("x.npy")})
case(A, "run --output is the --expect file", ["run", "m.onnx", "--input", "x.npy", "--output", "e.npy", "--expect", "e.npy"], 2,
     r"--output 'e\.npy' is the same file as --expect 'e\.npy'", files={"m.onnx": RELU, "x.npy": X14, "e.npy": X14})
case(A, "run two --output files are the same", ["run", "two.onnx", "--output", "sum=o.npy", "--output", "act=./o.npy"], 2,
     r"--output '\./o\.npy' is the same file as --output 'o\.npy'", files={"two.onnx": TWO_IO})
case(A, "run --output is a FIFO", ["run", "m.onnx", "--output", "y.npy"], 1, r"--output 'y\.npy': is a FIFO", files={"m.onnx": RELU, "y.npy": Fifo()})
case(A, "run --output is a directory", ["run", "m.onnx", "--output", "y.npy"], 1, r"--output 'y\.npy': is a directory",
     files={"m.onnx": RELU, "y.npy": Dir()})
case(A, "run --output is a symlink to /dev/null", ["run", "m.onnx", "--output", "y.npy"], 1, r"is a symbolic link to a character device",
     files={"m.onnx": RELU, "y.npy": Link("/dev/null")})
case(A, "run --output in a missing directory", ["run", "m.onnx", "--output", "no/y.npy"], 1, r"the directory 'no' does not exist", files={"m.onnx": RELU})
case(A, "run --output written (control)", ["run", "m.onnx", "--input", "x.npy", "--output", "y.npy"], 0, out=r"wrote 'y\.npy'",
     files={"m.onnx": RELU, "x.npy": X14}, created={"y.npy"})
case(A, "run --output over an existing file (control)", ["run", "m.onnx", "--input", "x.npy", "--output", "y.pb"], 0,
     files={"m.onnx": RELU, "x.npy": X14, "y.pb": b"old"}, changed={"y.pb"})
case(A, "demo --save into a directory whose target is a FIFO", ["demo", "--no-run", "--resolution", "32", "--save", "d"], 1,
     r"--save 'd/mobilenet_v3_large\.onnx': is a FIFO", files={"d": Dir({"mobilenet_v3_large.onnx": Fifo()})})
case(A, "demo --save into a file", ["demo", "--no-run", "--save", "f"], 1, r"--save needs an existing directory", files={"f": b"x"})
if os.geteuid() != 0:  # root may write anywhere
    case(A, "lite -o in a read-only directory", ["lite", "in.onnx", "-o", "ro/out.onnx"], 1, r"cannot write in the directory 'ro'",
         files={**IN, "ro": Dir()})

# B. Inputs that are not regular files, or empty ---------------------------------------------------
B = "special inputs"
NOT_REG = r"not a regular file; nothing was read from it"
for cmd in (["inspect", "X"], ["lite", "X", "-o", "out.onnx"], ["run", "X"], ["compare", "X", "X"]):
    c = cmd[0]
    case(B, f"{c}: a FIFO without a writer", [a.replace("X", "f.onnx") for a in cmd], 1, r"'f\.onnx': is a FIFO \(named pipe\), " + NOT_REG,
         files={"f.onnx": Fifo()})
    case(B, f"{c}: a FIFO with a writer that never writes", [a.replace("X", "f.onnx") for a in cmd], 1, r"'f\.onnx': is a FIFO",
         files={"f.onnx": Fifo(writer=True)})
    case(B, f"{c}: /dev/zero", [a.replace("X", "/dev/zero") for a in cmd], 1, r"'/dev/zero': is a character device, " + NOT_REG)
    case(B, f"{c}: a directory", [a.replace("X", "d.onnx") for a in cmd], 1, r"'d\.onnx': is a directory, " + NOT_REG, files={"d.onnx": Dir()})
    case(B, f"{c}: a socket", [a.replace("X", "s.onnx") for a in cmd], 1, r"'s\.onnx': is a socket, " + NOT_REG, files={"s.onnx": Sock()})
case(B, "inspect: a symlink to /dev/urandom", ["inspect", "r.onnx"], 1, r"'r\.onnx': is a character device", files={"r.onnx": Link("/dev/urandom")})
case(B, "inspect: a symlink to a FIFO", ["inspect", "l.onnx"], 1, r"'l\.onnx': is a FIFO", files={"f": Fifo(), "l.onnx": Link("f")})
case(B, "inspect: /proc/self/mem", ["inspect", "/proc/self/mem"], 1, r"'/proc/self/mem': ")
case(B, "inspect: a dangling symlink", ["inspect", "l.onnx"], 1, r"'l\.onnx': cannot open the file for reading: No such file or directory",
     files={"l.onnx": Link("nowhere")})
case(B, "inspect: an empty file", ["inspect", "e.onnx"], 1, r"'e\.onnx': the file is empty, not an ONNX model", files={"e.onnx": b""})
case(B, "inspect: stdin as a path", ["inspect", "/dev/stdin"], 1, r"'/dev/stdin': is a character device")
for what, spec, msg in (("FIFO", Fifo(), r"is a FIFO"), ("FIFO with a writer", Fifo(writer=True), r"is a FIFO"),
                        ("/dev/zero", Link("/dev/zero"), r"is a character device"), ("directory", Dir(), r"is a directory"),
                        ("socket", Sock(), r"is a socket")):
    case(B, f"run --input .npy is a {what}", ["run", "m.onnx", "--input", "x.npy"], 1, r"'x\.npy': " + msg, files={"m.onnx": RELU, "x.npy": spec})
case(B, "run --input .pb is a FIFO with a writer", ["run", "m.onnx", "--input", "x.pb"], 1, r"'x\.pb': is a FIFO",
     files={"m.onnx": RELU, "x.pb": Fifo(writer=True)})
case(B, "run --expect is /dev/zero", ["run", "m.onnx", "--expect", "e.npy"], 1, r"'e\.npy': is a character device",
     files={"m.onnx": RELU, "e.npy": Link("/dev/zero")})
case(B, "compare: the second model is a FIFO", ["compare", "m.onnx", "f.onnx"], 1, r"'f\.onnx': is a FIFO", files={"m.onnx": RELU, "f.onnx": Fifo()})

# C. Sizes a file declares: huge inputs, huge .npy shapes, zero-size arrays, files beyond the limits --
C = "oversized declarations"
BIG = w.relu_model(shape=(1, 1 << 30))
case(C, "run: a 100-byte model declaring a [1,2^30] input (no 4 GiB random tensor)", ["run", "big.onnx"], 1,
     r"'big\.onnx': random input 'x' of shape \[1,1073741824\] needs 4 GiB, more than the memory budget of 1\.5 GiB \(default: half of "
     r"the address-space limit \(ulimit -v\); raise it with --max-memory\); nothing was allocated", files={"big.onnx": BIG}, needs_as=True)
case(C, "run: the same without a process limit: the default budget is at most 2 GiB", ["run", "big.onnx"], 1,
     r"needs 4 GiB, more than the memory budget of [0-9.]+ [MG]iB \(default: half of [^;]*; raise it with --max-memory\)",
     files={"big.onnx": BIG}, as_limit=None)
case(C, "run: the same with --max-memory 1G", ["run", "big.onnx", "--max-memory", "1G"], 1, r"needs 4 GiB, more than the memory budget of 1 GiB \(--max-memory\)",
     files={"big.onnx": BIG})
case(C, "run: --max-memory 8G lets it through to the process limit (out of memory, said)", ["run", "big.onnx", "--max-memory", "8G"], 1,
     r"out of memory while building random inputs for 'big\.onnx'", files={"big.onnx": BIG}, max_rss_mb=3200, needs_as=True)
case(C, "lite --check: huge declared input", ["lite", "big.onnx", "-o", "out.onnx", "--check"], 1, r"random input 'x' of shape \[1,1073741824\] needs 4 GiB",
     files={"big.onnx": BIG}, needs_as=True)
case(C, "compare: huge declared input", ["compare", "big.onnx", "big.onnx"], 1, r"random input 'x' .* needs 4 GiB", files={"big.onnx": BIG}, needs_as=True)
case(C, "run: int64 input [1,2^28] is 2 GiB (int64 elements)", ["run", "i.onnx"], 1, r"random input 'x' of shape \[1,268435456\] needs 2 GiB",
     files={"i.onnx": w.relu_model(shape=(1, 1 << 28), elem=w.INT64, op=b"Identity")}, needs_as=True)
case(C, "run: bool input counts 8 bytes per element", ["run", "b.onnx", "--max-memory", "1G"], 1, r"random input 'x' of shape \[1,134217728\] needs 1 GiB",
     files={"b.onnx": w.relu_model(shape=(1, 1 << 27), elem=w.BOOL, op=b"Identity")})
case(C, "run: input dims whose element count overflows (the reader refuses)", ["run", "o.onnx"], 1, r"'o\.onnx': .*shape \[4294967296,4294967296,4\] is too large",
     files={"o.onnx": w.relu_model(shape=(1 << 32, 1 << 32, 4))})
case(C, "run: int64 input dims whose byte count overflows 64 bits", ["run", "o.onnx"], 1,
     r"random input 'x' of shape \[2147483648,1073741825\]: its size overflows 64 bits|'o\.onnx': .* is too large",
     files={"o.onnx": w.relu_model(shape=(1 << 31, (1 << 30) + 1), elem=w.INT64, op=b"Identity")})
FOUR = w.model(w.graph([w.node(b"Add", [b"a", b"b"], [b"s1"], b"n1"), w.node(b"Add", [b"s1", b"c"], [b"s2"], b"n2"),
                        w.node(b"Add", [b"s2", b"d"], [b"y"], b"n3")],
                       [w.value_info(n, w.FLOAT, (1, 1 << 27)) for n in (b"a", b"b", b"c", b"d")], [w.value_info(b"y", w.FLOAT, (1, 1 << 27))]))
case(C, "run: four 512 MiB inputs add up past the budget", ["run", "four.onnx"], 1, r"random input '[cd]' of shape \[1,134217728\] needs 512 MiB, with 1(\.5)? GiB already in use, more than the memory budget of 1\.5 GiB",
     files={"four.onnx": FOUR}, needs_as=True)
NPY_ZERO = w.npy("(1073741824, 0)")
case(C, ".npy (2^30, 0): a zero-size array declaring a huge other dimension", ["run", "m.onnx", "--input", "z.npy"], 1,
     r"'z\.npy': shape \[1073741824,0\] is too large: a zero-size array, but its other dimensions multiply to 1073741824 elements \(4 GiB of float32\)",
     files={"m.onnx": RELU, "z.npy": NPY_ZERO}, needs_as=True)
case(C, ".npy (0, 4): an ordinary zero-size array is read", ["run", "m.onnx", "--input", "z.npy"], 1, r"input 'x' must have shape \[1,4\], got \[0,4\]",
     files={"m.onnx": RELU, "z.npy": w.npy("(0, 4)")})
case(C, ".npy (2^30,) float32 with 8 bytes of data: refused before reading", ["run", "m.onnx", "--input", "h.npy"], 1,
     r"'h\.npy': shape \[1073741824\] is too large: 1073741824 elements are 4 GiB of float32, more than the memory limit of 1\.5 GiB",
     files={"m.onnx": RELU, "h.npy": w.npy("(1073741824,)", data=b"\0" * 8)}, needs_as=True)
case(C, ".npy shape whose element count overflows", ["run", "m.onnx", "--input", "h.npy"], 1, r"is too large \(its element count overflows 64 bits\)",
     files={"m.onnx": RELU, "h.npy": w.npy("(4611686018427387904, 4611686018427387904)")})
case(C, ".npy shape with a 19-digit dimension", ["run", "m.onnx", "--input", "h.npy"], 1, r"'h\.npy': .*too large",
     files={"m.onnx": RELU, "h.npy": w.npy("(9223372036854775807,)")})
case(C, ".npy a dimension past int64", ["run", "m.onnx", "--input", "h.npy"], 1, r"a dimension of the shape is too large",
     files={"m.onnx": RELU, "h.npy": w.npy("(99999999999999999999999,)")})
case(C, ".npy with 100 dimensions", ["run", "m.onnx", "--input", "h.npy"], 1, r"the shape has more than 64 dimensions",
     files={"m.onnx": RELU, "h.npy": w.npy("(" + "1, " * 100 + ")", data=b"\0" * 4)})
case(C, ".npy v2 header claiming 4 GiB", ["run", "m.onnx", "--input", "h.npy"], 1, r"the \.npy header claims 4294967295 bytes",
     files={"m.onnx": RELU, "h.npy": b"\x93NUMPY\x02\x00\xff\xff\xff\xff{}"})
case(C, ".npy apparent size 3 GiB (sparse), budget 1 GiB", ["run", "m.onnx", "--input", "s.npy", "--max-memory", "1G"], 1,
     r"'s\.npy': the file has 3221225472 bytes \(3 GiB\), more than the 1\.001 GiB allowed",  # the budget and 1 MiB of header
     files={"m.onnx": RELU, "s.npy": Sparse(3 * GiB, w.npy("(805306368,)"))})
case(C, ".npy truncated data", ["run", "m.onnx", "--input", "t.npy"], 1, r"truncated \.npy file \(shape \[1,4\] needs 16 bytes of data, the file has 8\)",
     files={"m.onnx": RELU, "t.npy": w.npy("(1, 4)", data=b"\0" * 8)})
case(C, ".npy extra data", ["run", "m.onnx", "--input", "t.npy"], 1, r"4 unexpected bytes after the data",
     files={"m.onnx": RELU, "t.npy": w.npy("(1, 4)", data=b"\0" * 20)})
case(C, ".npy control characters in the header key are escaped", ["run", "m.onnx", "--input", "t.npy"], 1, r"unexpected key 'k\\x1b\[2J'",
     files={"m.onnx": RELU, "t.npy": w.npy(None, header="{'k\x1b[2J': 1, 'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), }")})
case(C, ".npy float64 refused with the fix", ["run", "m.onnx", "--input", "t.npy"], 1, r"element type '<f8' is not supported.*astype",
     files={"m.onnx": RELU, "t.npy": w.npy("(1, 4)", descr="<f8", data=b"\0" * 32)})
case(C, ".pb raw_data not a multiple of 4 bytes", ["run", "m.onnx", "--input", "t.pb"], 1,
     r"'t\.pb': raw_data has 15 bytes, not a whole number of float32 values \(4 bytes each\)",
     files={"m.onnx": RELU, "t.pb": w.tensor(b"x", (1, 4), raw=b"\0" * 15)})
case(C, ".pb declaring [2^40] with no data", ["run", "m.onnx", "--input", "t.pb"], 1, r"'t\.pb': ",
     files={"m.onnx": RELU, "t.pb": w.tensor(b"x", (1 << 40,), raw=b"")})
case(C, ".pb apparent size 3 GiB (sparse)", ["run", "m.onnx", "--input", "t.pb"], 1, r"'t\.pb': the file has 3221225472 bytes",
     files={"m.onnx": RELU, "t.pb": Sparse(3 * GiB)})
case(C, "a model file of 3 GiB (sparse): over protobuf's 2 GB", ["inspect", "s.onnx", "--max-memory", "8G"], 1,
     r"'s\.onnx': the file has 3221225472 bytes \(3 GiB\), more than the 2 GiB allowed for an ONNX model \(protobuf's limit\); nothing was read",
     files={"s.onnx": Sparse(3 * GiB)})
case(C, "a model larger than --max-memory", ["inspect", "in.onnx", "--max-memory", "1M"], 1,
     r"'s\.onnx'|'in\.onnx': the file has .* more than the 1 MiB allowed for a model within the memory budget",
     files={"in.onnx": w.relu_model(graph_name=b"g" * (2 << 20))})
SUM_OVER = w.model(w.graph(
    [w.node(b"MatMul", [b"a", b"b"], [b"m%d" % k], b"mm%d" % k) for k in range(17)],
    [w.value_info(b"a", w.FLOAT, (1 << 20, 1 << 20)), w.value_info(b"b", w.FLOAT, (1 << 20, 1 << 20))],
    [w.value_info(b"m%d" % k, w.FLOAT, (1 << 20, 1 << 20)) for k in range(17)]))
case(C, "inspect: MACs that add up past 2^64 say overflow", ["inspect", "m.onnx"], 0, out=r"MACs: overflow \(more than 2\^64 - 1",
     files={"m.onnx": SUM_OVER})
case(C, "inspect --json: an overflowed count is null", ["inspect", "m.onnx", "--json"], 0, files={"m.onnx": SUM_OVER}, json_out=True,
     check=None)
# One Conv past 2^64 MACs with every tensor within the reader's 2^40 elements: a 2^19 x 2^19 kernel over a 2^20 x 2^20 image.
ONE_OVER = w.model(w.graph([w.node(b"Conv", [b"x", b"W"], [b"c"], b"cv")],
                           [w.value_info(b"x", w.FLOAT, (1, 1, 1 << 20, 1 << 20)), w.value_info(b"W", w.FLOAT, (1, 1, 1 << 19, 1 << 19))],
                           [w.value_info(b"c", w.FLOAT, (1, 1, (1 << 19) + 1, (1 << 19) + 1))]))
case(C, "inspect --nodes: one node's MACs past 2^64", ["inspect", "m.onnx", "--nodes"], 0,
     out=r"MACs: overflow.*cv  Conv .* -> \[1,1,524289,524289\]  MACs overflow", files={"m.onnx": ONE_OVER})
for text, msg in (("abc", "expects a size in bytes"), ("-1", "expects a size in bytes"), ("1X", "expects a size in bytes"), ("0", "must be at least 1M"),
                  ("1K", "must be at least 1M"), ("99999999T", "is too large"), ("1e3G", "expects a size in bytes"), ("nan", "expects a size")):
    case(C, f"--max-memory {text}", ["inspect", "m.onnx", "--max-memory", text], 2, r"option '--max-memory' " + re.escape(msg), files={"m.onnx": RELU})
case(C, "--max-memory 1.5G is accepted (control)", ["run", "m.onnx", "--max-memory", "1.5GiB"], 0, files={"m.onnx": RELU})

# D. Protobuf that is truncated, garbage or nested past protobuf's recursion limit -------------------
D = "malformed protobuf"
GOOD = CONV_RELU
for frac in (1, 2, 7, 100):
    cut = len(GOOD) * frac // 101 if frac > 2 else frac
    case(D, f"model truncated to {cut} of {len(GOOD)} bytes", ["inspect", "t.onnx"], 1, r"'t\.onnx': (not a valid onnx\.ModelProto \(protobuf parsing failed: .*truncated|.*)",
         files={"t.onnx": GOOD[:cut]})
for cut in (len(GOOD) // 2, len(GOOD) - 1):
    case(D, f"model truncated to {cut} bytes: the parser says where", ["inspect", "t.onnx"], 1,
         r"protobuf parsing failed: .*(runs past the end|but only \d+ remain).*\(truncated\?\)", files={"t.onnx": GOOD[:cut]})
import random  # noqa: E402
rng = random.Random(9)
for k in range(6):
    junk = bytes(rng.randrange(256) for _ in range(rng.choice((16, 300, 5000))))
    case(D, f"random bytes #{k}", ["inspect", "j.onnx"], 1, r"'j\.onnx': ", files={"j.onnx": junk})
case(D, "zeros", ["inspect", "z.onnx"], 1, r"field number 0 at byte 0", files={"z.onnx": b"\0" * 1024})
case(D, "0xff bytes", ["inspect", "z.onnx"], 1, r"a field tag at byte 0 at the top level is a malformed varint", files={"z.onnx": b"\xff" * 1024})
case(D, "text", ["lite", "z.onnx", "-o", "out.onnx"], 1, r"not a valid onnx\.ModelProto", files={"z.onnx": b"this is not an ONNX model\n"})
case(D, "invalid wire type", ["inspect", "z.onnx"], 1, r"invalid wire type 7 at byte 0", files={"z.onnx": b"\x3f\x00"})
case(D, "a field longer than the data", ["inspect", "z.onnx"], 1, r"field 'graph' at byte 0 at the top level declares 1000 bytes but only 2 remain",
     files={"z.onnx": w.key(7, 2) + w.varint(1000) + b"ab"})
case(D, "a length varint that never ends", ["inspect", "z.onnx"], 1, r"the length of field 'graph' at byte 0 at the top level is a malformed varint", files={"z.onnx": w.key(7, 2) + b"\xff" * 12})
for depth in (34, 40, 400, 3000):
    case(D, f"subgraphs nested {depth} deep (over protobuf's recursion limit)", ["inspect", "n.onnx"], 1,
         r"messages are nested more than 100 levels deep .* protobuf's recursion limit", files={"n.onnx": w.nested_model(depth)})
case(D, "subgraphs nested 20 deep (within the limit): the If is carried as opaque", ["inspect", "n.onnx"], 0, None, out=r"\bIf\b",
     files={"n.onnx": w.nested_model(20)})
case(D, "a tensor file given as a model", ["inspect", "t.onnx"], 1, r"'t\.onnx': ", files={"t.onnx": w.tensor(b"x", (1, 4), raw=b"\0" * 16)})
case(D, "an .npy file given as a model", ["inspect", "t.onnx"], 1, r"'t\.onnx': not a valid onnx\.ModelProto", files={"t.onnx": X14})
case(D, ".pb tensor truncated", ["run", "m.onnx", "--input", "t.pb"], 1, r"'t\.pb': not a valid onnx\.TensorProto",
     files={"m.onnx": RELU, "t.pb": w.tensor(b"x", (1, 4), raw=b"\0" * 16)[:-5]})
case(D, ".pb tensor garbage", ["run", "m.onnx", "--input", "t.pb"], 1, r"'t\.pb': not a valid onnx\.TensorProto", files={"m.onnx": RELU, "t.pb": b"\xff" * 64})

# E. Names from the model: control characters, escape sequences, NUL, bytes that are not UTF-8 -------
E = "hostile names"
NAMES = {
    "ansi_colour": b"x\x1b[31mred\x1b[0m",
    "osc_title": b"x\x1b]0;pwned\x07",
    "clear_screen": b"\x1b[2J\x1b[H",
    "nul": b"before\x00after",
    "newline": b"line1\nline2",
    "carriage_return": b"visible\rhidden",
    "tab_and_del": b"a\tb\x7fc",
    "invalid_utf8": b"bad\xff\xfebytes",
    "truncated_utf8": b"cut\xe2\x82",
    "overlong_utf8": b"slash\xc0\xaf",
    "surrogate_utf8": b"sur\xed\xa0\x80",
    "c1_csi": "csi\u009b31m".encode(),
    "bidi_override": "abc\u202edcba".encode(),
    "zero_width": "a\u200bb\ufeff".encode(),
    "backslash_quote": b'back\\slash "quoted" \'single\'',
    "emoji_ok": "caf\u00e9 \U0001F600".encode(),
    "long": b"n" * 100000,
}


for kind, nm in NAMES.items():
    m = {"m.onnx": w.relu_model(x=b"in_" + nm, y=b"out_" + nm, node_name=b"node_" + nm, graph_name=b"graph_" + nm, producer=b"prod_" + nm)}
    case(E, f"inspect, {kind}", ["inspect", "m.onnx", "--nodes"], 0, out=r"inputs:\n  in_", files=m)
    case(E, f"inspect --json, {kind}", ["inspect", "m.onnx", "--json", "--nodes"], 0, files=m, json_out=True, check=("names", nm))
    case(E, f"run --json, {kind}", ["run", "m.onnx", "--json"], 0, files=m, json_out=True, check=("run-names", nm))
    case(E, f"run, error naming the input, {kind}", ["run", "m.onnx", "--input", "x.npy"], 1, r"input 'in_.*' must have shape \[1,4\], got \[2,4\]",
         files={**m, "x.npy": X24},
         xfail="lead: executor messages carry raw names; a NUL cuts what() short" if b"\0" in nm else None)
    case(E, f"lite --report, {kind}", ["lite", "m.onnx", "-o", "out.onnx", "--rule", "Relu=>Sigmoid", "--report", "r.json"], 0, files=m,
         created={"out.onnx", "r.json"}, json_files=["r.json"])
case(E, "run: unknown input name lists the model's names escaped", ["run", "m.onnx", "--input", "zz=x.npy"], 2,
     r"'zz' is not an input of the model \(its inputs: 'in_x\\x1b\[31mred\\x1b\[0m'\)",
     files={"m.onnx": w.relu_model(x=b"in_x\x1b[31mred\x1b[0m"), "x.npy": X14})
case(E, "compare: output names escaped", ["compare", "m.onnx", "m.onnx"], 0, out=r"output 'out\\x00nul\\xff': max_abs 0",
     files={"m.onnx": w.relu_model(y=b"out\x00nul\xff")})
case(E, "reader error quoting a node name with NUL and escapes", ["inspect", "m.onnx"], 1, r"node 'evil\\x1b\[2J\\x00tail'.*'FancyOp' is not supported",
     files={"m.onnx": w.relu_model(node_name=b"evil\x1b[2J\x00tail", op=b"FancyOp")},
     xfail="lead: surgery::error messages are C strings; a NUL in a node name cuts the message (escape names where messages are built)")
case(E, "an op type with escapes, carried as opaque: printed escaped", ["inspect", "m.onnx"], 0, None, out=r"Fancy\\x1b\[31mOp",
     files={"m.onnx": w.relu_model(op=b"Fancy\x1b[31mOp")})

# F. Bad rule text and command lines ---------------------------------------------------------------
F = "bad rule text"
for text, rc, msg in (
        ("", 2, r"bad --rule: "), ("=>", 2, r"bad --rule: "), ("Relu=>", 2, r"bad --rule: "), ("=>Relu", 2, r"bad --rule: "),
        ("Relu,,Relu=>Relu", 2, r"bad --rule: "), ("Relu|=>Relu", 2, r"bad --rule: "), ("|=>|", 2, r"bad --rule: "),
        ("Relu=>Relu=>Relu", 2, r"bad --rule: "), ("Conv,Relu", 2, r"expected 'PATTERN => REPLACEMENT'"),
        ("\x1b[31mRelu=>Sigmoid", 2, r"\\x1b\[31mRelu"), ("Relu=>\x1b]0;t\x07", 2, r"\\x1b\]0;t\\x07"),
        ("Re\nlu=>Sigmoid", 2, r"Re\\nlu"), ("Relu=>Sig\u202emoid", 2, r"\\u202e"), ("R" * 100000 + "=>Relu", 0, None),  # an op name outside the catalogue: matches nothing here
        (",".join(["*"] * 200) + "=>identity", None, None), ("*=>identity", None, None), ("Relu=>Relu", 0, None),
        ("Relu=>identity", 0, None), ("Relu=>Sigmoid,Relu,Sigmoid", 0, None), ("Conv=>identity", 1, r"rule 'Conv=>identity' at node 'the_conv'")):
    args = ["lite", "cr.onnx", "-o", "out.onnx", "--rule", text]
    created = {"out.onnx"} if rc == 0 else set()
    if rc is None:  # no promise but the universal ones: an exit of 0 to 2, a clean message, nothing half-written
        case(F, f"--rule {text[:40]!r}", args, None, files={"cr.onnx": CONV_RELU}, created={"out.onnx"})
    else:
        case(F, f"--rule {text[:40]!r}", args, rc, msg, files={"cr.onnx": CONV_RELU}, created=created)
case(F, "200 --rule options", ["lite", "cr.onnx", "-o", "out.onnx"] + sum((["--rule", "Relu=>Relu"] for _ in range(200)), []), 0,
     files={"cr.onnx": CONV_RELU}, created={"out.onnx"})
case(F, "--rules with an escape sequence", ["lite", "cr.onnx", "-o", "out.onnx", "--rules", "fold\x1b[2Jbatchnorm"], 2, r"unknown rule 'fold\\x1b\[2Jbatchnorm'",
     files={"cr.onnx": CONV_RELU})
case(F, "--preset with invalid UTF-8", ["lite", "cr.onnx", "-o", "out.onnx", "--preset", b"lite\xff"], 2, r"unknown preset 'lite\\xff'",
     files={"cr.onnx": CONV_RELU})
case(F, "unknown option with a terminal escape", ["inspect", "--\x1b[2Jx"], 2, r"unknown option '--\\x1b\[2Jx'")
case(F, "unknown command with a terminal escape", ["\x1b]0;title\x07"], 2, r"unknown command '\\x1b\]0;title\\x07'")
case(F, "--max-iterations with an escape", ["lite", "cr.onnx", "-o", "out.onnx", "--max-iterations", "1\x1b[A"], 2,
     r"expects an integer, got '1\\x1b\[A'", files={"cr.onnx": CONV_RELU})


# ---- checks -----------------------------------------------------------------------------------

def check_names_json(doc, nm, kind):
    """The JSON names the values and node exactly: the string itself when nm is UTF-8, else U+FFFD
    in the string and the exact bytes in NAME_hex."""
    def same(obj, key, expected):
        try:
            text = expected.decode("utf-8")
        except UnicodeDecodeError:
            if obj.get(key + "_hex") != expected.hex():
                return f"{key}_hex is {obj.get(key + '_hex')!r}, expected {expected.hex()}"
            return None
        if obj.get(key) != text:
            return f"{key} is {obj.get(key)!r}, expected {text!r}"
        return None
    if kind == "names":
        for obj, key, val in ((doc["inputs"][0], "name", b"in_" + nm), (doc["outputs"][0], "name", b"out_" + nm),
                              (doc["node_list"][0], "name", b"node_" + nm), (doc, "graph", b"graph_" + nm), (doc, "producer", b"prod_" + nm)):
            e = same(obj, key, val)
            if e:
                return e
    else:
        for obj, key, val in ((doc["inputs"][0], "name", b"in_" + nm), (doc["outputs"][0], "name", b"out_" + nm)):
            e = same(obj, key, val)
            if e:
                return e
    return None


def run_case(c, exe, work, use_as, verbose):
    d = os.path.join(work, re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{c.category}__{c.name}")[:150])
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    keep = build(d, c.files)
    try:
        before = snapshot(d)
        args = [a.replace("@ABS@", d) if isinstance(a, str) else a for a in c.args]
        code, out, err, secs, rss = run([exe] + args, d, c.timeout, c.as_limit if use_as else None)
        after = snapshot(d)
    finally:
        for k in keep:
            if isinstance(k, int):
                os.close(k)
            else:
                k.close()
    problems = []
    if code is None:
        problems.append(f"did not finish within {c.timeout} s")
    elif c.rc is None:
        if code not in (0, 1, 2):
            problems.append(f"exit code {code}")
    elif code != c.rc:
        problems.append(f"exit code {code}, expected {c.rc}")
    for data, what in ((out, "stdout"), (err, "stderr")):
        p = terminal_problem(data, what)
        if p:
            problems.append(p)
    errtext = err.decode("utf-8", "replace")
    outtext = out.decode("utf-8", "replace")
    if code not in (0, None):
        if errtext.count("\n") != 1 or not errtext.endswith("\n"):
            problems.append(f"the error is not one line: {errtext!r}"[:300])
        if not errtext.startswith("surgery"):
            problems.append("the error does not start with 'surgery'")
    if c.err and not re.search(c.err, errtext, re.S):
        problems.append(f"stderr does not match {c.err!r}")
    if c.out and not re.search(c.out, outtext, re.S):
        problems.append(f"stdout does not match {c.out!r}")
    if code == 0 or (c.rc is None and code is not None):
        allowed_new = c.created if code == 0 else set()
    else:
        allowed_new = set()
    for p in sorted(set(after) - set(before)):
        if p not in allowed_new:
            problems.append(f"left behind: {p} ({after[p][0]})")
    for p in sorted(c.created - set(after)) if (code == 0 and c.rc is not None) else ():
        problems.append(f"not written: {p}")
    for p in sorted(set(before) - set(after)):
        problems.append(f"removed: {p}")
    for p in sorted(set(before) & set(after)):
        if before[p] != after[p] and not (code == 0 and p in c.changed):
            problems.append(f"changed: {p} ({before[p][0]} -> {after[p][0]})")
    if rss > c.max_rss_mb * 1024:
        problems.append(f"peak RSS {rss // 1024} MiB, more than {c.max_rss_mb} MiB")
    if c.json_out and code == 0:
        try:
            doc = json.loads(out.decode("utf-8"))
            if isinstance(c.check, tuple):
                e = check_names_json(doc, c.check[1], c.check[0])
                if e:
                    problems.append(e)
            elif "macs_overflow" in doc and doc["macs_overflow"] and doc["macs"] is not None:
                problems.append("macs is a number although macs_overflow is true")
        except (ValueError, KeyError, IndexError) as e:
            problems.append(f"stdout is not the expected JSON: {e}")
    for f in c.json_files if code == 0 else ():
        try:
            with open(os.path.join(d, f), "rb") as fh:
                raw = fh.read()
            p = terminal_problem(raw, f)
            if p:
                problems.append(p)
            json.loads(raw.decode("utf-8"))
        except (OSError, ValueError) as e:
            problems.append(f"{f} is not valid JSON: {e}")
    if callable(c.check) and not problems:
        e = c.check(d)
        if e:
            problems.append(e)
    if verbose or problems:
        print(f"    $ surgery {' '.join(repr(a) if not isinstance(a, str) or not a.isprintable() else a for a in args)[:300]}")
        print(f"    exit {code} in {secs:.2f} s, peak RSS {rss // 1024} MiB")
        if out and (verbose or problems):
            print("    stdout: " + outtext[:600].replace("\n", "\n            "))
        if err:
            print("    stderr: " + errtext[:600].replace("\n", "\n            "))
    if not problems:
        shutil.rmtree(d, ignore_errors=True)
    return problems, secs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exe", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--filter", default="")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--no-as", action="store_true", help="no RLIMIT_AS (for sanitizer builds, which reserve terabytes of address space)")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    cases = [c for c in CASES if a.filter in f"{c.category}: {c.name}" and not (a.no_as and c.needs_as)]
    if a.list:
        for c in cases:
            print(f"{c.category}: {c.name}")
        cats = {}
        for c in cases:
            cats[c.category] = cats.get(c.category, 0) + 1
        print(f"{len(cases)} cases: " + ", ".join(f"{k} {v}" for k, v in cats.items()))
        return 0
    exe = os.path.abspath(a.exe)
    os.makedirs(a.work, exist_ok=True)
    failed, xfailed, xpassed = [], [], []
    total = 0.0
    for c in cases:
        problems, secs = run_case(c, exe, os.path.abspath(a.work), not a.no_as, a.verbose)
        total += secs
        label = f"{c.category}: {c.name}"
        if problems and c.xfail:
            xfailed.append(label)
            print(f"XFAIL {label} ({c.xfail})")
        elif problems:
            failed.append(label)
            print(f"FAIL  {label}")
            for p in problems:
                print(f"      - {p}")
        elif c.xfail:
            xpassed.append(label)
            print(f"XPASS {label} (fixed? remove the xfail: {c.xfail})")
        elif a.verbose:
            print(f"ok    {label}")
    cats = {}
    for c in cases:
        cats[c.category] = cats.get(c.category, 0) + 1
    print(f"\n{len(cases)} cases ({', '.join(f'{k} {v}' for k, v in cats.items())}) in {total:.1f} s: "
          f"{len(cases) - len(failed) - len(xfailed) - len(xpassed)} passed, {len(failed)} failed, {len(xfailed)} xfail, {len(xpassed)} xpass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
