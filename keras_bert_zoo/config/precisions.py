"""The Keras dtype policies that training and benchmarks accept, importable without TensorFlow."""

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
