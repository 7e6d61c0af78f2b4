"""Mask R-CNN whose frozen parts are loaded strictly at model initialisation."""
from typing import Optional, Sequence

from mmdet.models.detectors import MaskRCNN
from mmdet.registry import MODELS
from mmengine.logging import print_log

from pico_mm.utils.strict_load import load_state_dict_strict


@MODELS.register_module()
class FrozenMaskRCNN(MaskRCNN):
    """mmdet ``MaskRCNN`` with frozen features taken from a named file.

    The frozen parts (the ResNet backbone and, for PiCo, the ``FrozenFPN``)
    are never trained, so they must never stay random. ``load_from`` cannot
    promise that: it loads with ``strict=False`` (a wrong file only warns)
    and an auto-resume that finds no checkpoint skips it. Here
    :meth:`init_weights` (which the Runner calls before any resume or
    ``load_from``) loads ``frozen_checkpoint`` strictly into ``frozen_parts``:
    every key of those parts must be in the file and the file must hold no
    other key, otherwise one error names the file, the keys and the fix. This
    is the mmdet counterpart of mmseg's ``FrozenDenseEncoder.checkpoint``.

    Args:
        frozen_checkpoint (str): Export of ``tools/model_converters/
            pico2mm.py --target mmdet`` (``backbone.*`` [+ ``neck.*``]).
        frozen_parts (Sequence[str]): Sub-modules loaded from it: PiCo
            ``('backbone', 'neck')``, MoCo-v2 ``('backbone',)`` (its FPN is
            trained).
        **kwargs: ``MaskRCNN`` arguments (backbone, neck, rpn_head,
            roi_head, train_cfg, test_cfg, data_preprocessor, init_cfg).
    """

    def __init__(self,
                 frozen_checkpoint: Optional[str] = None,
                 frozen_parts: Sequence[str] = ('backbone', 'neck'),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.frozen_checkpoint = frozen_checkpoint
        self.frozen_parts = tuple(frozen_parts)
        unknown = [p for p in self.frozen_parts if not hasattr(self, p)]
        if unknown:
            raise ValueError(f'FrozenMaskRCNN: frozen_parts {unknown} are not '
                             'sub-modules of the detector; use backbone/neck')

    def init_weights(self) -> None:
        """Initialise the heads, then load the frozen parts strictly."""
        super().init_weights()
        info = load_state_dict_strict(
            self, self.frozen_checkpoint,
            'export the weights with tools/model_converters/pico2mm.py CKPT '
            'OUT --target mmdet and set model.frozen_checkpoint=OUT (PiCo '
            'configs freeze backbone + neck, MoCo-v2 configs the backbone '
            'only)', parts=self.frozen_parts)
        print_log(f'FrozenMaskRCNN: loaded {"+".join(self.frozen_parts)} '
                  f'({info["loaded"]} tensors, all keys matched) from '
                  f'{self.frozen_checkpoint}', logger='current')
