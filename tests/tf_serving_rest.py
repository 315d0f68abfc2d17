"""A loopback server speaking TF Serving's REST predict API over a real SavedModel (for tests).

Implements POST /v1/models/NAME[/versions/N]:predict with the columnar
("inputs") and row ("instances") request formats, as documented for TF Serving.
"""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import tensorflow as tf


def _json(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_json(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


class TfServingRestServer:
    """Serves `models` (name -> SavedModel directory) on localhost until `stop()`."""

    def __init__(self, models):
        loaded = {name: tf.saved_model.load(path) for name, path in models.items()}

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                match = re.fullmatch(r"/v1/models/([^/:]+)(?:/versions/\d+)?:predict", self.path)
                if not match or match.group(1) not in loaded:
                    return self._reply(404, {"error": f"Servable not found for request: {self.path}"})
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                signatures = loaded[match.group(1)].signatures
                name = body.get("signature_name", "serving_default")
                if name not in signatures:
                    return self._reply(400, {"error": f"Serving signature name: \"{name}\" not found"})
                function = signatures[name]
                specs = function.structured_input_signature[1]
                if "instances" in body:
                    inputs = {k: [row[k] for row in body["instances"]] for k in specs}
                else:
                    inputs = body["inputs"]
                try:
                    tensors = {k: tf.constant(np.asarray(inputs[k]), dtype=spec.dtype) for k, spec in specs.items()}
                    outputs = {k: v.numpy() for k, v in function(**tensors).items()}
                except (tf.errors.InvalidArgumentError, KeyError, ValueError) as e:
                    return self._reply(400, {"error": str(e)})
                if "instances" in body:
                    rows = [{k: _json(v[i]) for k, v in outputs.items()} for i in range(len(body["instances"]))]
                    return self._reply(200, {"predictions": rows})
                return self._reply(200, {"outputs": {k: _json(v) for k, v in outputs.items()}})

            def _reply(self, status, payload):
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, name):
        return f"http://127.0.0.1:{self.port}/v1/models/{name}:predict"

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
