"""anime-dcgan: train GANs that draw anime faces, with Keras 3 on TensorFlow."""

import os

# TensorFlow's C++ start-up lines (oneDNN, CUDA probing, "failed call to cuInit" on machines without a GPU) read as
# errors and are not; set TF_CPP_MIN_LOG_LEVEL=0 to see them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
