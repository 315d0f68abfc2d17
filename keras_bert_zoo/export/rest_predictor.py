"""A client of TF Serving's REST predict API."""

import json
import re
import urllib.error
import urllib.request

import numpy as np

_PREDICT_URL = re.compile(r"https?://[^/]+/v1/models/[^/:]+(/versions/\d+|/labels/[\w-]+)?:predict")


class RestPredictor:
    """POSTs columnar requests to `/v1/models/NAME[/versions/N]:predict`.

    Args:
        server_url: The predict URL, e.g. http://localhost:8501/v1/models/sst2:predict.
        signature: Signature name.
        timeout: Seconds to wait for each response.
    """

    def __init__(self, server_url, signature="serving_default", timeout=30.0):
        if not _PREDICT_URL.fullmatch(server_url):
            raise ValueError(f"{server_url!r} is not a TF Serving predict URL "
                             "(http://HOST:PORT/v1/models/NAME[/versions/N]:predict).")
        self.server_url = server_url
        self.signature = signature
        self.timeout = timeout

    def predict(self, inputs):
        """Outputs (NumPy arrays, batch first) for `inputs`: input name -> list of B values."""
        body = json.dumps({"signature_name": self.signature, "inputs": inputs}).encode("utf-8")
        request = urllib.request.Request(self.server_url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                reply = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")
            raise RuntimeError(f"{self.server_url} answered HTTP {e.code}: {detail}") from e
        except (urllib.error.URLError, TimeoutError) as e:
            raise RuntimeError(f"{self.server_url} did not answer within {self.timeout}s: {e}") from e
        outputs = reply["outputs"]
        if not isinstance(outputs, dict):  # A signature with one output answers with the bare list.
            outputs = {"output": outputs}
        return {name: np.asarray(value) for name, value in outputs.items()}
