"""augkit: realistic text-line training images for PaddleOCR, at scale."""

import os as _os

# albumentations checks for updates over the network on import unless told not to.
_os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.8.0"
