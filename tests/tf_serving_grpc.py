"""A loopback server speaking TF Serving's gRPC PredictionService.Predict over a real SavedModel (for tests)."""

from concurrent import futures

import grpc
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc


class TfServingGrpcServer:
    """Serves `models` (name -> SavedModel directory) on `address` ("localhost:8500") until `stop()`."""

    def __init__(self, models, address="localhost:0"):
        loaded = {name: tf.saved_model.load(path) for name, path in models.items()}

        class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
            def Predict(self, request, context):
                if request.model_spec.name not in loaded:
                    context.abort(grpc.StatusCode.NOT_FOUND, f"Servable not found: {request.model_spec.name}")
                signatures = loaded[request.model_spec.name].signatures
                name = request.model_spec.signature_name or "serving_default"
                if name not in signatures:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, f'Serving signature name: "{name}" not found')
                inputs = {key: tf.make_ndarray(proto) for key, proto in request.inputs.items()}
                try:
                    outputs = signatures[name](**{key: tf.constant(value) for key, value in inputs.items()})
                except (tf.errors.InvalidArgumentError, TypeError, ValueError) as e:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
                response = predict_pb2.PredictResponse()
                response.model_spec.CopyFrom(request.model_spec)
                for key, value in outputs.items():
                    response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
                return response

        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), self._server)
        self.port = self._server.add_insecure_port(address)
        if not self.port:
            raise OSError(f"Cannot listen on {address}.")
        self._server.start()

    def stop(self):
        self._server.stop(grace=None)
