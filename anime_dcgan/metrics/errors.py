"""The error of the metrics package."""

from anime_dcgan.errors import UserError


class MetricsError(UserError, ValueError):
    """FID/KID cannot be measured; the message says what to do."""
