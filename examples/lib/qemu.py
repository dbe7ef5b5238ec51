"""A small QMP client and QEMU process helper for the example tests (stdlib only).

    with Machine(binary, ["-machine", "none"]) as vm:
        print(vm.qmp("query-version"))

Every QEMU is started with a QMP socket, no display and no default devices.
Leaving the `with` block asks QEMU to quit over QMP and kills it if it does
not go within a few seconds, so no QEMU outlives a test, whatever happens.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time


class QMPError(Exception):
    pass


class Machine:
    def __init__(self, binary, args, name="vm", workdir=None, log=None):
        self.binary = binary
        self.name = name
        self.workdir = workdir or tempfile.mkdtemp(prefix=f"testbed-{name}-")
        # A socket path must fit in 108 bytes: sockets live in a short private
        # directory, logs in the (possibly long) work directory.
        self.socket_dir = tempfile.mkdtemp(prefix="tb-qmp-", dir="/tmp")
        self.socket_path = os.path.join(self.socket_dir, f"{name}.sock")
        self.log_path = log or os.path.join(self.workdir, f"{name}.log")
        self.args = [binary, "-nodefaults", "-display", "none",
                     "-qmp", f"unix:{self.socket_path},server=on,wait=off"] + list(args)
        self.process = None
        self.sock = None
        self.buffer = b""
        self.greeting = None
        self.events = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        return False

    def start(self, timeout=30):
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise QMPError(f"{self.name}: {self.binary} exited with {self.process.returncode} at start: {self.log_tail()}")
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(self.socket_path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() > deadline:
                    raise QMPError(f"{self.name}: no QMP socket after {timeout} s")
                time.sleep(0.02)
        self.sock.settimeout(timeout)
        try:
            self.greeting = self.receive()
            if "QMP" not in self.greeting:
                raise QMPError(f"{self.name}: no QMP greeting, got {self.greeting}")
            self.qmp("qmp_capabilities")
        except OSError as error:
            self.process.wait(timeout=5)
            raise QMPError(f"{self.name}: {self.binary} closed QMP ({error}); its log: {self.log_tail()}")

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-2000:].decode(errors="replace").strip()
        except OSError:
            return ""

    def receive(self):
        while b"\n" not in self.buffer:
            try:
                chunk = self.sock.recv(65536)
            except OSError as error:
                raise QMPError(f"{self.name}: QMP connection lost ({error}); {self.log_tail()}")
            if not chunk:
                raise QMPError(f"{self.name}: QMP connection closed; {self.log_tail()}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def qmp(self, command, **arguments):
        """Runs a QMP command and returns its "return" value; events are kept aside."""
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            reply = self.receive()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise QMPError(f"{self.name}: {command} failed: {reply['error'].get('desc', reply['error'])}")
            return reply.get("return")

    def shutdown(self, timeout=10):
        """Quits QEMU over QMP; kills it if it is still there after `timeout` seconds."""
        if self.process is None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
            return
        try:
            if self.sock is not None and self.process.poll() is None:
                self.qmp("quit")
        except (QMPError, OSError):
            pass
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        shutil.rmtree(self.socket_dir, ignore_errors=True)

    def gone(self):
        return self.process is not None and self.process.poll() is not None


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def version_text(greeting):
    """7.2.22 from a QMP greeting or query-version reply."""
    q = greeting.get("QMP", greeting).get("version", greeting).get("qemu", greeting.get("qemu", {}))
    return f"{q['major']}.{q['minor']}.{q['micro']}"
