"""SavedModels served through TensorFlow's C++ loader, the way TF Serving loads them.

TF Serving loads an export with C++ `tensorflow::LoadSavedModel` ("serve" tag) and answers each
Predict with `Session::Run` on the signature's tensor names; Python's `tf.saved_model.load` takes
another path. `CcSavedModelSession` runs cc_loader/serving_session.cc, built once with g++ against
the installed TensorFlow, which loads the model once and then answers requests over a framed
stdin/stdout protocol (described in the .cc), so tests can make many calls and benchmarks can
time `Session::Run` alone.

Only TensorFlow and numpy are imported here, no Keras.
"""

import glob
import hashlib
import importlib.util
import os
import shutil
import struct
import subprocess
import tempfile
import threading

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import step_stats_pb2, tensor_pb2
from tensorflow.core.protobuf import error_codes_pb2

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cc_loader", "serving_session.cc")
# The glue is not hot (TF's kernels live in its .so) and -O0/-O1/-O2 all build in about the same
# time: the TF headers dominate.
OPTIMIZATION = "-O2"
_STDERR_TAIL_CHARS = 4000
_binary_by_cache_dir = {}
# Request kinds of serving_session.cc's protocol.
_RUN, _TRACED_RUN, _LOAD = 0, 1, 2


class CcSessionError(RuntimeError):
    """A request the C++ session answered with a non-OK TensorFlow status.

    Attributes:
        code: The TensorFlow error code (3 is INVALID_ARGUMENT, 9 FAILED_PRECONDITION, ...).
        message: The status message.
    """

    def __init__(self, code, message):
        super().__init__(f"{_code_name(code)}: {message}")
        self.code = code
        self.message = message


def _code_name(code):
    try:
        return error_codes_pb2.Code.Name(code)
    except ValueError:
        return f"error code {code}"


def _compile_command(output):
    tf_dir = tf.sysconfig.get_lib()
    return ["g++", OPTIMIZATION, *tf.sysconfig.get_compile_flags(), SOURCE, "-o", output, f"-L{tf_dir}",
            "-Wl,--no-as-needed", "-l:libtensorflow_cc.so.2", "-l:libtensorflow_framework.so.2",
            f"-Wl,-rpath,{tf_dir}", "-ldl", "-w"]


def build_serving_session_binary(cache_dir=None):
    """Compiles serving_session.cc against the installed TensorFlow, once.

    The binary is cached under a name keyed by the source, the TensorFlow version and the compile
    command, and memoized per process, so later calls cost nothing. It is linked to a temporary
    file first and moved into place, so concurrent builders never run half a binary.

    Args:
        cache_dir: Where binaries are kept; defaults to $KBZ_CC_CACHE, else ~/.cache/keras_bert_zoo.

    Returns:
        The path of the executable.

    Raises:
        RuntimeError: If g++ is missing or the compile fails (with the tail of g++'s stderr).
    """
    cache_dir = os.path.abspath(os.path.expanduser(
        cache_dir or os.environ.get("KBZ_CC_CACHE") or os.path.join("~", ".cache", "keras_bert_zoo")))
    if cache_dir in _binary_by_cache_dir:
        return _binary_by_cache_dir[cache_dir]
    with open(SOURCE, encoding="utf-8") as f:
        source = f.read()
    # The output path is left out of the key: it is what the key names.
    command_key = " ".join(_compile_command("OUTPUT"))
    digest = hashlib.sha256("\0".join([source, tf.__version__, command_key]).encode()).hexdigest()[:16]
    binary = os.path.join(cache_dir, f"serving_session-{digest}")
    if not os.path.exists(binary):
        if shutil.which("g++") is None:
            raise RuntimeError("g++ is not on PATH; building the C++ SavedModel loader needs it (apt-get install g++).")
        os.makedirs(cache_dir, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=cache_dir, prefix=f".serving_session-{digest}-")
        os.close(fd)
        try:
            built = subprocess.run(_compile_command(partial), capture_output=True, text=True)
            if built.returncode:
                raise RuntimeError(f"g++ failed ({built.returncode}) building {SOURCE}:\n"
                                   f"{built.stderr[-_STDERR_TAIL_CHARS:]}")
            os.chmod(partial, 0o755)
            os.replace(partial, binary)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
    _binary_by_cache_dir[cache_dir] = binary
    return binary


def tf_text_op_libraries():
    """Paths of tf-text's kernel libraries, which TF Serving links into its binary.

    Found without importing tensorflow_text, which would register its ops in this process too.

    Returns:
        The sorted paths of tensorflow_text/python/ops/*.so; empty if tf-text is not installed.
    """
    spec = importlib.util.find_spec("tensorflow_text")
    if spec is None or not spec.submodule_search_locations:
        return []
    ops_dir = os.path.join(list(spec.submodule_search_locations)[0], "python", "ops")
    return sorted(glob.glob(os.path.join(ops_dir, "*.so")))


def _pack_bytes(data):
    return struct.pack("<I", len(data)) + data


def _pack_inputs(inputs):
    packed = [struct.pack("<I", len(inputs))]
    for key, value in inputs.items():
        packed += [_pack_bytes(key.encode()), _pack_bytes(tf.make_tensor_proto(value).SerializeToString())]
    return packed


class CcSavedModelSession:
    """One SavedModel loaded by TensorFlow's C++ LoadSavedModel, answering Session::Run calls.

    Use as a context manager, or call `close()`. Calls from Python are serialized, one request at a
    time; `load` runs many at once inside the C++ process.

    Attributes:
        export_dir: The SavedModel directory.
        signatures: {name: {"inputs": [keys], "outputs": [keys]}}, keys sorted.
    """

    def __init__(self, export_dir, intra_op_threads=0, inter_op_threads=0, binary=None, env=None):
        """Starts the C++ process and waits for the model to load.

        Args:
            export_dir: A SavedModel directory (one version, e.g. saved_models/NAME/1).
            intra_op_threads: SessionOptions intra-op parallelism; 0 lets TensorFlow choose.
            inter_op_threads: SessionOptions inter-op parallelism; 0 lets TensorFlow choose.
            binary: A serving_session executable; built (or taken from the cache) when None.
            env: Variables set in the C++ process's environment over this one's, e.g.
                {"TF_ENABLE_ONEDNN_OPTS": "1"}, which TensorFlow reads as it loads.

        Raises:
            RuntimeError: If the C++ load fails (naming export_dir and the status) or the process
                dies before answering.
        """
        self.export_dir = export_dir
        self._lock = threading.Lock()
        # A file, not a pipe: nobody has to drain TF's logging while we wait on stdout.
        self._stderr = tempfile.TemporaryFile()
        command = [binary or build_serving_session_binary(), export_dir,
                   "--intra_op_threads", str(intra_op_threads), "--inter_op_threads", str(inter_op_threads),
                   "--ops", *tf_text_op_libraries()]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._stderr, env={**os.environ, **(env or {})})
        try:
            code, message = self._read_status()
            if code:
                raise RuntimeError(f"C++ LoadSavedModel of {export_dir} failed: {_code_name(code)}: {message}")
            self.signatures = {}
            for _ in range(self._read_u32()):
                name = self._read_text()
                inputs = [self._read_text() for _ in range(self._read_u32())]
                outputs = [self._read_text() for _ in range(self._read_u32())]
                self.signatures[name] = {"inputs": inputs, "outputs": outputs}
        except BaseException:
            self.close()
            raise

    def run(self, signature, inputs):
        """Runs one signature through Session::Run.

        Args:
            signature: The signature name, e.g. "serving_default".
            inputs: {input key: value}; each value is anything tf.make_tensor_proto takes (numpy
                arrays, nested lists; strings as bytes or str; a TensorProto goes as is). An
                empty list has no dtype: give np.array([], dtype=object) for an empty string
                batch. As in TF Serving, dtypes are checked but shapes are not: Session::Run
                feeds a placeholder whatever shape it is given.

        Returns:
            (outputs, seconds): outputs maps every output key to an np.ndarray (string tensors as
            object arrays of bytes); seconds is the time Session::Run took in C++.

        Raises:
            CcSessionError: If the session answers with an error status; the session stays usable.
            RuntimeError: If the session is closed or the C++ process died.
        """
        outputs, seconds, _ = self._call(_RUN, signature, inputs)
        return outputs, seconds

    def trace(self, signature, inputs):
        """Like `run`, with RunOptions FULL_TRACE: also returns the run's per-node timings.

        Returns:
            (outputs, seconds, step_stats): as `run`, plus the RunMetadata's `StepStats` proto (one
            NodeExecStats per executed node and device, times in microseconds).
        """
        return self._call(_TRACED_RUN, signature, inputs)

    def load(self, signature, requests, clients, max_seconds):
        """Session::Run of many requests from `clients` C++ threads at once, on this one session.

        This is TF Serving's load of many small concurrent Predicts minus the RPC: each thread takes
        the next request and runs it, until all are answered or `max_seconds` have passed.

        Args:
            signature: The signature name.
            requests: A list of `inputs` dicts, as `run` takes.
            clients: Concurrent threads.
            max_seconds: No request starts after this many seconds.

        Returns:
            (seconds, latencies): the wall-clock seconds from the first start to the last answer,
            and the Session::Run seconds of each answered request, in the order they finished.

        Raises:
            CcSessionError: If any request fails (the first failure); the session stays usable.
            RuntimeError: If the session is closed or the C++ process died.
        """
        request = [struct.pack("<I", _LOAD), _pack_bytes(signature.encode()),
                   struct.pack("<IQI", clients, int(max_seconds * 1e9), len(requests))]
        for inputs in requests:
            request += _pack_inputs(inputs)
        with self._lock:
            self._send(request)
            code, message = self._read_status()
            (wall_nanoseconds, answered) = struct.unpack("<QI", self._read_exact(12))
            latencies = np.frombuffer(self._read_exact(8 * answered), "<u8") * 1e-9
        if code:
            raise CcSessionError(code, message)
        return wall_nanoseconds * 1e-9, latencies

    def _call(self, kind, signature, inputs):
        request = [struct.pack("<I", kind), _pack_bytes(signature.encode()), *_pack_inputs(inputs)]
        with self._lock:
            self._send(request)
            code, message = self._read_status()
            (nanoseconds,) = struct.unpack("<Q", self._read_exact(8))
            outputs = {}
            for _ in range(self._read_u32()):
                key = self._read_text()
                outputs[key] = tf.make_ndarray(tensor_pb2.TensorProto.FromString(self._read_bytes()))
            step_stats = step_stats_pb2.StepStats.FromString(self._read_bytes())
        if code:
            raise CcSessionError(code, message)
        return outputs, nanoseconds * 1e-9, step_stats

    def _send(self, request):
        if self._process.stdin is None or self._process.stdin.closed:
            raise RuntimeError(f"the C++ session for {self.export_dir} is closed")
        try:
            self._process.stdin.write(b"".join(request))
            self._process.stdin.flush()
        except BrokenPipeError:
            raise self._died() from None

    def close(self):
        """Ends the C++ process (EOF on its stdin) and releases its pipes; safe to call twice."""
        if self._process.stdin and not self._process.stdin.closed:
            try:
                self._process.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process.stdout.close()
        self._stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _died(self):
        self._process.wait()
        self._stderr.seek(0)
        tail = self._stderr.read().decode(errors="replace")[-_STDERR_TAIL_CHARS:]
        self.close()
        return RuntimeError(f"the C++ session for {self.export_dir} exited with code "
                            f"{self._process.returncode}; its stderr ends:\n{tail}")

    def _read_exact(self, size):
        data = self._process.stdout.read(size)
        if len(data) != size:
            raise self._died()
        return data

    def _read_u32(self):
        return struct.unpack("<I", self._read_exact(4))[0]

    def _read_bytes(self):
        return self._read_exact(self._read_u32())

    def _read_text(self):
        return self._read_bytes().decode()

    def _read_status(self):
        code = self._read_u32()
        # A status message may quote the request's own bytes, which need not be UTF-8.
        return code, self._read_bytes().decode(errors="replace")
