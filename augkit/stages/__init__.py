"""The seven augmentation stages and the registry that names them."""

from augkit.stages.base import Params, Stage, StageOptionError, VariantContext
from augkit.stages.blur import MotionBlur, Pixelate
from augkit.stages.geometry import CylindricalWarp, Rotate
from augkit.stages.glare import SectionedGlare
from augkit.stages.photometric import BrightnessContrast, GaussianNoise

STAGES: dict[str, type[Stage]] = {
    cls.name: cls
    for cls in (CylindricalWarp, Rotate, BrightnessContrast, GaussianNoise, MotionBlur, Pixelate, SectionedGlare)
}

__all__ = ["STAGES", "Params", "Stage", "StageOptionError", "VariantContext"]
