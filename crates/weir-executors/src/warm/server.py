# Weir's warm Python interpreter (a fork server), started by weir-executors' `warm` module.
#
#   python3 -c "<this file>" MODULE GRACE_SECONDS
#
# Imports what MODULE imports once (not MODULE itself), says `ready`, then reads one JSON
# request per line on stdin and answers one line per event on stdout (its own output, and
# anything an import prints, goes to stderr, the server's log):
#
#   {"id": N, "op": "run", "argv": [...], "env": {...}, "cwd": "...", "log": "...",
#    "program": "...", "memory": BYTES|null}     ->  "N started PID", later "N exited STATUS"
#   {"id": N, "op": "signal", "signal": SIG}      ->  (nothing; signals the step's group)
#   anything that cannot be done                  ->  "N failed MESSAGE-AS-JSON"
#
# A "run" forks a child that becomes what `sh -ec <KFP script> <program> <argv...>` would have
# started: a process group of its own, stdin from /dev/null, stdout and stderr appended to the
# log, the step's working directory and exact environment, the memory limit as RLIMIT_AS, the
# program written to `$TMPDIR/tmpXXXX/ephemeral_component.py`, then `python3 -m MODULE
# --component_module_path <that file> <argv...>` run in this (already warm) interpreter.
# STATUS is the raw wait status. When stdin closes (Weir is gone), every running step's group
# gets SIGTERM, then SIGKILL after GRACE_SECONDS, and the server exits.
#
# The server starts no thread: `fork` is only safe in a single-threaded process.

import json
import os
import selectors
import signal
import sys
import time

# What each step needs, imported once here rather than in every child: the step's own setup
# (tempfile alone pulls in shutil, random and three compression modules: several milliseconds
# per step) and what argparse loads lazily (locale, for its messages).
import atexit
import importlib
import locale  # noqa: F401
import resource
import runpy
import tempfile
import threading



REPLIES = None  # set by main(): the original stdout; fd 1 itself then goes to the log
STARTUP_ENV = dict(os.environ)


def reply(*words):
    REPLIES.write(" ".join(str(w) for w in words) + "\n")
    REPLIES.flush()


def preload(module):
    """Imports what MODULE imports at its top level, without running MODULE: its body may do
    anything (an executor script parses its arguments and runs), and `-m` will run it as
    __main__ in each step anyway."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or spec.loader is None:
        raise ImportError("no module named %r" % (module,))
    source = spec.loader.get_source(module) or ""
    for node in ast.parse(source).body:
        try:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    __import__(alias.name)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                __import__(node.module, fromlist=[alias.name for alias in node.names])
        except Exception:
            pass  # the step will meet the same error where it belongs: in its own log


def exit_code_of(error):
    """The exit status Python gives an uncaught SystemExit."""
    code = error.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(str(code) + "\n")
    except Exception:
        pass
    return 1


def become_step(module, request, server_fds):
    """Runs in the forked child; never returns."""
    code = 1
    try:
        os.setpgid(0, 0)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for fd in server_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        null = os.open(os.devnull, os.O_RDONLY)
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(null)
        os.close(log)
        os.chdir(request["cwd"])
        env = dict(request["env"])
        for name, value in STARTUP_ENV.items():
            # Set by the interpreter itself at start (PEP 538's LC_CTYPE), as it would be for
            # the step: every variable Weir gave the server is in the step's env too.
            env.setdefault(name, value)
        os.environ.clear()
        os.environ.update(env)
        memory = request.get("memory")
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        tempfile.tempdir = None  # computed again from this step's TMPDIR
        program_dir = tempfile.mkdtemp()
        program_path = os.path.join(program_dir, "ephemeral_component.py")
        with open(program_path, "w", encoding="utf-8", newline="") as program:
            program.write(request["program"])
        sys.path[0] = os.getcwd()
        importlib.invalidate_caches()
        sys.argv = ["-m", "--component_module_path", program_path] + request["argv"]
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as error:
            code = exit_code_of(error)
        except KeyboardInterrupt:
            sys.excepthook(*sys.exc_info())
            finish()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        except BaseException:
            sys.excepthook(*sys.exc_info())
            code = 1
        finish()
    except BaseException as error:
        try:
            os.write(2, ("weir: the warm interpreter could not start the step: %r\n" % (error,)).encode())
        except OSError:
            pass
    os._exit(code)


def finish():
    """What the interpreter does at exit: wait for threads, run atexit, flush."""
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:
        try:
            shutdown()
        except BaseException:
            pass
    try:
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


class Server:
    def __init__(self, module, grace_seconds):
        self.module = module
        self.grace_seconds = grace_seconds
        self.children = {}  # pid -> request id
        self.pending = b""
        self.selector = selectors.DefaultSelector()
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_read, False)
        os.set_blocking(self.wake_write, False)
        signal.set_wakeup_fd(self.wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        os.set_blocking(0, False)
        self.selector.register(0, selectors.EVENT_READ, "requests")
        self.selector.register(self.wake_read, selectors.EVENT_READ, "children")

    def serve(self):
        while True:
            for key, _ in self.selector.select():
                if key.data == "children":
                    self.drain_wakeups()
                    self.reap()
                elif not self.read_requests():
                    self.shut_down()
                    return

    def drain_wakeups(self):
        try:
            while os.read(self.wake_read, 512):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def reap(self):
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            request_id = self.children.pop(pid, None)
            try:
                os.killpg(pid, signal.SIGKILL)  # what the step left in its group goes with it
            except OSError:
                pass
            if request_id is not None:
                reply(request_id, "exited", status)

    def read_requests(self):
        try:
            chunk = os.read(0, 1 << 16)
        except (BlockingIOError, InterruptedError):
            return True
        if not chunk:
            return False
        self.pending += chunk
        while b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            if line.strip():
                self.handle(line)
        return True

    def handle(self, line):
        request_id = 0
        try:
            request = json.loads(line)
            request_id = int(request["id"])
            if request["op"] == "run":
                self.start(request_id, request)
            elif request["op"] == "signal":
                self.signal(request_id, int(request["signal"]))
            else:
                raise ValueError("unknown op %r" % (request["op"],))
        except Exception as error:
            reply(request_id, "failed", json.dumps("%s: %s" % (type(error).__name__, error)))

    def start(self, request_id, request):
        for stream in (sys.stdout, sys.stderr, REPLIES):
            stream.flush()
        pid = os.fork()
        if pid == 0:
            server_fds = [self.wake_read, self.wake_write, self.selector.fileno(), REPLIES.fileno()]
            become_step(self.module, request, server_fds)
        self.children[pid] = request_id
        reply(request_id, "started", pid)

    def signal(self, request_id, number):
        for pid, owner in self.children.items():
            if owner == request_id:
                try:
                    os.killpg(pid, number)
                except OSError:
                    pass

    def shut_down(self):
        for pid in list(self.children):
            try:
                os.killpg(pid, signal.SIGTERM)
            except OSError:
                pass
        deadline = time.monotonic() + self.grace_seconds
        while self.children and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.05)
        for pid in list(self.children):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        self.reap()


def main():
    global REPLIES
    REPLIES = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    module = sys.argv[1]
    grace_seconds = float(sys.argv[2])
    try:
        preload(module)
    except BaseException as error:
        reply("failed", json.dumps("cannot import %s: %s: %s" % (module, type(error).__name__, error)))
        return 1
    reply("ready")
    Server(module, grace_seconds).serve()
    return 0


sys.exit(main())
