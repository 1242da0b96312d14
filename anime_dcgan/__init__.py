"""anime-dcgan: train GANs that draw anime faces, with Keras 3 on TensorFlow."""

__version__ = "0.1.0"
