"""FID and KID with the standard FID network (TensorFlow's Inception graph of 2015-12-05) rebuilt in Keras.

The features are those of every published FID: float pixels in [0, 255], TF1 bilinear resize to 299 x 299,
(x - 128) / 128, the 2048-d `pool_3` average. FID is the Frechet distance of their float64 means and
covariances; KID the unbiased polynomial-kernel MMD^2 averaged over random subsets. FID depends on the number of
images (it is biased upward below 2,048): compare only numbers measured at the same count.
"""

from anime_dcgan.metrics.distances import (
    FeatureStatistics,
    features_frechet_distance,
    fid_kid,
    frechet_distance,
    kernel_inception_distance,
)
from anime_dcgan.metrics.features import compute_features, folder_features, generator_features
from anime_dcgan.metrics.errors import MetricsError
from anime_dcgan.metrics.inception import (
    build_inception,
    expected_weight_shapes,
    load_inception,
    read_inception_weights,
)

__all__ = [
    "FeatureStatistics", "MetricsError", "build_inception", "compute_features", "expected_weight_shapes",
    "features_frechet_distance", "fid_kid", "folder_features", "frechet_distance", "generator_features",
    "kernel_inception_distance", "load_inception", "read_inception_weights",
]  # fmt: skip
