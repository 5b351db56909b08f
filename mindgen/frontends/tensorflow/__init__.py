"""TensorFlow frozen GraphDef frontend: reads .pb files with protobuf alone, never TensorFlow."""

from mindgen.frontends.tensorflow.loader import is_tensorflow_path, load_tensorflow

__all__ = ["is_tensorflow_path", "load_tensorflow"]
