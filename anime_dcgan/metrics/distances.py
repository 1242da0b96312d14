"""FID and KID from Inception features: the Frechet distance of their float64 means and covariances, and the unbiased
polynomial-kernel MMD^2 averaged over random subsets."""

from __future__ import annotations

import numpy as np

from anime_dcgan.metrics.errors import MetricsError

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
KID_PRECOMPUTE_LIMIT = 3 * 3000**2  # kernel entries (float64) worth computing once for all subsets


class FeatureStatistics:
    """Mean and covariance of features from float64 sums, so batch by batch equals all at once."""

    def __init__(self) -> None:
        self.count = 0
        self.sum: np.ndarray | None = None
        self.outer_sum: np.ndarray | None = None

    def update(self, features: np.ndarray) -> FeatureStatistics:
        features = np.asarray(features, np.float64)
        if self.sum is None:
            self.sum = np.zeros(features.shape[1])
            self.outer_sum = np.zeros((features.shape[1], features.shape[1]))
        self.count += len(features)
        self.sum += features.sum(axis=0)
        self.outer_sum += features.T @ features
        return self

    @property
    def mean(self) -> np.ndarray:
        return self.sum / self.count

    @property
    def covariance(self) -> np.ndarray:
        """The unbiased sample covariance (as np.cov)."""
        if self.count < 2:
            raise MetricsError(f"a covariance needs at least 2 images, not {self.count}")
        return (self.outer_sum - self.count * np.outer(self.mean, self.mean)) / (self.count - 1)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix (negative round-off clipped)."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """|mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 sqrtm(sigma1 sigma2)), also for singular covariances.

    tr sqrtm(sigma1 sigma2) is the sum of the square roots of the eigenvalues of the symmetric PSD matrix
    sqrt(sigma1) sigma2 sqrt(sigma1), which has the same eigenvalues as sigma1 sigma2."""
    mu1, mu2, sigma1, sigma2 = (np.asarray(a, np.float64) for a in (mu1, mu2, sigma1, sigma2))
    root = _psd_sqrt(sigma1)
    product = root @ sigma2 @ root
    eigenvalues = np.linalg.eigvalsh((product + product.T) / 2)
    trace_covmean = np.sqrt(np.clip(eigenvalues, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_covmean)


def features_frechet_distance(real_features: np.ndarray, fake_features: np.ndarray) -> float:
    """The Frechet distance of two feature sets' float64 statistics.

    With fewer images than dimensions the covariances are singular, and tr sqrtm(sigma1 sigma2) is cheaper as the
    sum of the singular values of A B^T / sqrt((n1 - 1)(n2 - 1)), A and B the centred features (n1 x n2)."""
    real, fake = np.asarray(real_features, np.float64), np.asarray(fake_features, np.float64)
    if min(len(real), len(fake)) >= real.shape[1]:
        a, b = FeatureStatistics().update(real), FeatureStatistics().update(fake)
        return frechet_distance(a.mean, a.covariance, b.mean, b.covariance)
    mu1, mu2 = real.mean(axis=0), fake.mean(axis=0)
    centred1, centred2 = real - mu1, fake - mu2
    scale1, scale2 = len(real) - 1, len(fake) - 1
    trace_covmean = np.linalg.svd(centred1 @ centred2.T, compute_uv=False).sum() / np.sqrt(scale1 * scale2)
    diff = mu1 - mu2
    traces = np.sum(centred1**2) / scale1 + np.sum(centred2**2) / scale2
    return float(diff @ diff + traces - 2 * trace_covmean)


def _polynomial_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a @ b.T / a.shape[1] + 1) ** 3


def _unbiased_mmd2(k_xx: np.ndarray, k_yy: np.ndarray, k_xy: np.ndarray) -> float:
    m = len(k_xy)
    within = k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)
    return within / (m * (m - 1)) - 2 * k_xy.sum() / (m * m)


def kernel_inception_distance(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    seed: int = 0,
) -> tuple[float, float]:
    """(mean, std) over `subsets` random subsets of min(subset_size, n_real, n_fake) of the unbiased MMD^2 with
    k(x, y) = (x.y / d + 1)^3; each subset draws its fake rows, then its real rows, from RandomState(seed)."""
    fake = np.asarray(fake_features, np.float64)
    real = np.asarray(real_features, np.float64)
    m = min(subset_size, len(real), len(fake))
    if m < 2:
        raise MetricsError(f"KID needs at least 2 real and 2 generated images, not {len(real)} and {len(fake)}")
    precompute = len(fake) ** 2 + len(real) ** 2 + len(fake) * len(real) <= KID_PRECOMPUTE_LIMIT
    if precompute:
        k_ff, k_rr = _polynomial_kernel(fake, fake), _polynomial_kernel(real, real)
        k_fr = _polynomial_kernel(fake, real)
    rng = np.random.RandomState(seed)
    values = []
    for _ in range(subsets):
        f = rng.choice(len(fake), m, replace=False)
        r = rng.choice(len(real), m, replace=False)
        if precompute:
            kernels = k_ff[np.ix_(f, f)], k_rr[np.ix_(r, r)], k_fr[np.ix_(f, r)]
        else:
            x, y = fake[f], real[r]
            kernels = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
        values.append(_unbiased_mmd2(*kernels))
    return float(np.mean(values)), float(np.std(values))


def fid_kid(real_features: np.ndarray, fake_features: np.ndarray) -> dict[str, float]:
    """{"fid", "kid", "kid_std"} between two sets of features (FID from float64 statistics)."""
    for name, features in (("real", real_features), ("generated", fake_features)):
        if np.ndim(features) != 2 or len(features) < 2:
            raise MetricsError(f"FID needs features of at least 2 {name} images, got shape {np.shape(features)}")
    if np.shape(real_features)[1] != np.shape(fake_features)[1]:
        raise MetricsError(f"feature sizes differ: {np.shape(real_features)[1]} and {np.shape(fake_features)[1]}")
    fid = features_frechet_distance(real_features, fake_features)
    kid, kid_std = kernel_inception_distance(real_features, fake_features)
    return {"fid": fid, "kid": kid, "kid_std": kid_std}
