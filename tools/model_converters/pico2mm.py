#!/usr/bin/env python
"""Export a PiCo (or MoCo-v2) checkpoint for the MMSeg/MMDet benchmarks.

Input formats (detected from the keys; ``--source`` forces one):

* ``pico``      PiCo training checkpoint (mmengine ``{'state_dict': ...}``,
                keys ``backbone.*``, ``neck.*``, ``head.*``, ``encoder_k.*``,
                ``queue*``); see docs/contracts.md.
* ``moco``      facebookresearch/moco checkpoint (``module.encoder_q.*``,
                ``fc.*`` projection head dropped), an mmselfsup MoCo
                checkpoint (``backbone.*`` kept, ``neck/encoder_k/queue``
                dropped), or a plain torchvision ResNet state dict.

Output: ``{'state_dict': ..., 'meta': {'pico_mm_export': {...}}}`` with

* ``--target mmseg``  ``backbone.*`` (+ for PiCo the whole ``neck.*``: FPN and
  semantic-FPN decoder), the key layout of ``pico_mm.seg.FrozenDenseEncoder``
  → use ``--cfg-options model.backbone.checkpoint=OUT``;
* ``--target mmdet``  ``backbone.*`` (+ for PiCo ``neck.lateral_convs.*`` and
  ``neck.fpn_convs.*``: the part that is an mmdet ``FPN``) → use
  ``--cfg-options model.frozen_checkpoint=OUT`` (the frozen Mask R-CNN
  configs of configs/benchmarks/mmdet load it strictly at model init).

Momentum encoder, queues and projection heads are always dropped. Unless
``--no-verify``, the export is checked against the real downstream modules
(built with mmseg / mmdet): zero missing and zero unexpected keys, equal
shapes. The file is written to a temporary name and renamed.

Example::

    python tools/model_converters/pico2mm.py \
        work_dirs/pico_r50-fpn_8xb32-coslr-100e_k400/epoch_100.pth \
        work_dirs/export/pico_r50_mmseg.pth --target mmseg
"""
import argparse
import math
import os
import os.path as osp
import sys
import tempfile
from collections import OrderedDict
from typing import Dict, Optional, Tuple

import torch

# Make the repo importable when pico_mm is not pip-installed (plain clone).
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

RESNET_ARCH = {  # depth: (blocks per stage, bottleneck)
    18: ((2, 2, 2, 2), False),
    34: ((3, 4, 6, 3), False),
    50: ((3, 4, 6, 3), True),
    101: ((3, 4, 23, 3), True),
    152: ((3, 8, 36, 3), True),
}
FPN_PARTS = ('neck.lateral_convs.', 'neck.fpn_convs.')


class ExportError(Exception):
    """Bad input: the message names the file and the fix."""


def load_state(path: str, trust: Optional[bool] = None
               ) -> Dict[str, torch.Tensor]:
    """Read a checkpoint and return its (possibly nested) state dict.

    The file is read with ``weights_only=True`` and pico_mm's allow-list
    (mmengine training checkpoints and MoCo releases load that way); a file
    that needs code execution is refused unless ``trust``.

    Args:
        path (str): Checkpoint file.
        trust (bool, optional): Allow executing pickled objects (the
            ``--trust-checkpoint`` flag); None = the process-wide setting.

    Returns:
        dict[str, Tensor]: Flat state dict (``state_dict`` / ``model`` entry
        when present), tensors only.
    """
    from pico_mm.utils.safe_load import load_checkpoint_file
    if not osp.isfile(path):
        raise ExportError(f'{path}: no such file; pass the path of a PiCo or '
                          'MoCo-v2 checkpoint')
    try:
        ckpt = load_checkpoint_file(path, trust=trust, what='checkpoint')
    except RuntimeError as err:  # untrusted, truncated, not a torch file
        raise ExportError(str(err)) from None
    if isinstance(ckpt, dict):
        for key in ('state_dict', 'model'):
            if isinstance(ckpt.get(key), dict):
                ckpt = ckpt[key]
                break
    if not isinstance(ckpt, dict) or not any(
            isinstance(v, torch.Tensor) for v in ckpt.values()):
        raise ExportError(f'{path}: holds no state dict (no tensors found); '
                          'pass a training checkpoint, not a log or config')
    return OrderedDict((k, v) for k, v in ckpt.items()
                       if isinstance(v, torch.Tensor))


def detect_source(state: Dict[str, torch.Tensor]) -> str:
    """Return ``'pico'`` or ``'moco'`` from the key names.

    Args:
        state (dict): State dict from :func:`load_state`.

    Returns:
        str: ``'pico'`` when PiCo's neck is present, else ``'moco'``.
    """
    keys = [_strip_ddp(k) for k in state]
    if any(k.startswith('neck.lateral_convs.') for k in keys) and any(
            k.startswith('backbone.') for k in keys):
        return 'pico'
    return 'moco'


def _strip_ddp(key: str) -> str:
    return key[len('module.'):] if key.startswith('module.') else key


def _resnet_from(state: Dict[str, torch.Tensor], path: str
                 ) -> 'OrderedDict[str, torch.Tensor]':
    """Extract the query-encoder ResNet as ``backbone.*`` keys."""
    keys = list(state)
    # original MoCo (DataParallel or not), mmselfsup 1.x (wrapped or not),
    # mmselfsup 0.x MoCo, plain torchvision ResNet
    for prefix in ('module.encoder_q.', 'encoder_q.', 'module.backbone.',
                   'backbone.', 'encoder_q.0.', 'module.', ''):
        sel = [k for k in keys if k.startswith(prefix)]
        if any(k[len(prefix):] == 'conv1.weight' for k in sel):
            break
    else:
        raise ExportError(f'{path}: no ResNet found (no *conv1.weight key); '
                          'pass a PiCo/MoCo-v2 ResNet checkpoint')
    out = OrderedDict()
    for k in sel:
        name = k[len(prefix):]
        if name.startswith(('conv1.', 'bn1.', 'layer1.', 'layer2.', 'layer3.',
                            'layer4.')):
            out['backbone.' + name] = state[k]
    return out


def resnet_depth(state: Dict[str, torch.Tensor]) -> int:
    """Infer the ResNet depth from ``backbone.layerX.Y`` keys.

    Args:
        state (dict): Exported state dict (``backbone.*`` keys).

    Returns:
        int: 18, 34, 50, 101 or 152.
    """
    blocks = []
    for stage in range(1, 5):
        idx = {int(k.split('.')[2]) for k in state
               if k.startswith(f'backbone.layer{stage}.')}
        blocks.append(max(idx) + 1 if idx else 0)
    bottleneck = 'backbone.layer1.0.conv3.weight' in state
    for depth, (arch, bott) in RESNET_ARCH.items():
        if tuple(blocks) == arch and bott == bottleneck:
            return depth
    raise ExportError(f'unknown ResNet layout: blocks per stage {blocks}, '
                      f'bottleneck={bottleneck}')


def neck_config(state: Dict[str, torch.Tensor]) -> dict:
    """``PiCoFPNNeck`` arguments matching the exported ``neck.*`` weights.

    Args:
        state (dict): Exported state dict with ``neck.*`` keys.

    Returns:
        dict: ``in_channels, fpn_channels, decoder_channels, out_channels,
        norm_cfg``.
    """
    n = len({k.split('.')[2] for k in state
             if k.startswith('neck.lateral_convs.')})
    lat = [state[f'neck.lateral_convs.{i}.conv.weight'] for i in range(n)]
    dec = state['neck.scale_heads.0.0.conv.weight'].shape[0]
    return dict(
        in_channels=[int(w.shape[1]) for w in lat],
        fpn_channels=int(lat[0].shape[0]),
        decoder_channels=int(dec),
        out_channels=int(state['neck.conv_emb.weight'].shape[0]),
        norm_cfg=dict(type='GN', num_groups=math.gcd(32, int(dec)),
                      requires_grad=True))


def convert(state: Dict[str, torch.Tensor], target: str,
            source: str = 'auto', path: str = '<state>'
            ) -> Tuple['OrderedDict[str, torch.Tensor]', dict]:
    """Turn a training checkpoint into the downstream key layout.

    Args:
        state (dict): Input state dict (:func:`load_state`).
        target (str): ``'mmseg'`` or ``'mmdet'``.
        source (str): ``'pico'``, ``'moco'`` or ``'auto'``.
        path (str): Input name for error messages.

    Returns:
        tuple: ``(out_state, info)``; ``info`` has ``source``, ``depth``,
        ``neck`` (PiCoFPNNeck kwargs or None), ``kept``, ``dropped``.
    """
    if target not in ('mmseg', 'mmdet'):
        raise ExportError(f'unknown --target {target!r}; use mmseg or mmdet')
    found = detect_source(state)
    source = found if source == 'auto' else source
    if source == 'pico' and found != 'pico':
        raise ExportError(f'{path}: no PiCo neck (neck.lateral_convs.*) in '
                          'the checkpoint; use --source moco for a MoCo-v2 '
                          'file')
    out = _resnet_from(state, path)
    neck = None
    if source == 'pico':
        clean = OrderedDict((_strip_ddp(k), v) for k, v in state.items())
        neck_keys = [k for k in clean if k.startswith('neck.')]
        if target == 'mmdet':
            neck_keys = [k for k in neck_keys if k.startswith(FPN_PARTS)]
        for k in neck_keys:
            out[k] = clean[k]
        neck = neck_config(clean)
    info = dict(source=source, target=target, depth=resnet_depth(out),
                neck=neck, kept=len(out), dropped=len(state) - len(out))
    return out, info


def build_downstream(info: dict) -> Dict[str, torch.nn.Module]:
    """Build the modules the export must load into (imports mmseg/mmdet).

    Args:
        info (dict): ``info`` from :func:`convert`.

    Returns:
        dict[str, nn.Module]: key prefix (``'backbone.'``/``'neck.'``, or
        ``''`` for the whole mmseg encoder) → module.
    """
    from mmengine.registry import DefaultScope
    depth = info['depth']
    if info['target'] == 'mmseg':
        from pico_mm.seg import FrozenDenseEncoder
        if info['neck'] is not None:
            backbone = dict(type='ResNet', depth=depth)
        else:  # MoCo-v2 baseline: dilated ResNet, output stride 4
            backbone = dict(type='ResNet', depth=depth, strides=(1, 1, 1, 1),
                            dilations=(1, 2, 4, 8), out_indices=(3, ),
                            contract_dilation=True)
        # explicit scope: a Runner created earlier may have left another one
        with DefaultScope.overwrite_default_scope('mmseg'):
            return {'': FrozenDenseEncoder(backbone=backbone,
                                           neck=info['neck'])}
    import pico_mm.det  # noqa: F401  (registers FrozenFPN)
    from mmdet.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmdet'):
        mods = {'backbone.': MODELS.build(dict(
            type='ResNet', depth=depth, frozen_stages=4, norm_eval=True))}
        if info['neck'] is not None:
            mods['neck.'] = MODELS.build(dict(
                type='FrozenFPN', in_channels=info['neck']['in_channels'],
                out_channels=info['neck']['fpn_channels'], num_outs=5))
    return mods


def check_keys(module: torch.nn.Module, state: Dict[str, torch.Tensor]
               ) -> Tuple[list, list, list]:
    """Compare a state dict with a module's own keys and shapes.

    Args:
        module (nn.Module): Target module.
        state (dict): State dict with the module's key names.

    Returns:
        tuple[list, list, list]: missing keys, unexpected keys, keys whose
        shapes differ.
    """
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and own[k].shape != state[k].shape]
    return missing, unexpected, shapes


def verify(out: Dict[str, torch.Tensor], info: dict) -> None:
    """Check that ``out`` loads into the downstream modules with no mismatch.

    Args:
        out (dict): Exported state dict.
        info (dict): ``info`` from :func:`convert`.
    """
    covered = set()
    for prefix, module in build_downstream(info).items():
        part = {k[len(prefix):]: v for k, v in out.items()
                if k.startswith(prefix)}
        covered.update(prefix + k for k in part)
        missing, unexpected, shapes = check_keys(module, part)
        if missing or unexpected or shapes:
            raise ExportError(
                f'export does not match {module.__class__.__name__}: missing '
                f'{missing[:5]}, unexpected {unexpected[:5]}, shape '
                f'mismatch {shapes[:5]}')
        module.load_state_dict(part, strict=True)
    left = [k for k in out if k not in covered]
    if left:
        raise ExportError(f'export holds keys no downstream module loads: '
                          f'{left[:5]}')


def save_atomic(obj: dict, path: str) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename.

    Args:
        obj (dict): Object to save.
        path (str): Destination.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.tmp_export_', suffix='.pth',
                               dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(obj, f)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def export(src: str, dst: str, target: str, source: str = 'auto',
           check: bool = True, trust: Optional[bool] = None) -> dict:
    """Load, convert, (verify,) and save. Returns ``info``.

    Args:
        src (str): Input checkpoint.
        dst (str): Output file.
        target (str): ``'mmseg'`` or ``'mmdet'``.
        source (str): ``'pico'``, ``'moco'`` or ``'auto'``.
        check (bool): Run :func:`verify`.
        trust (bool, optional): Allow ``src`` to run pickled code
            (``--trust-checkpoint``); None = the process-wide setting.

    Returns:
        dict: ``info`` from :func:`convert`.
    """
    out, info = convert(load_state(src, trust), target, source, src)
    if check:
        verify(out, info)
    meta = dict(pico_mm_export=dict(
        source_file=osp.abspath(src), source=info['source'], target=target,
        depth=info['depth'], neck=info['neck']))
    save_atomic(dict(state_dict=out, meta=meta), dst)
    return info


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a PiCo / MoCo-v2 checkpoint for the pico_mm '
        'MMSeg (model.backbone.checkpoint=OUT) or MMDet '
        '(model.frozen_checkpoint=OUT) benchmark configs.')
    parser.add_argument('src', help='PiCo training checkpoint, or MoCo-v2 '
                        '(facebookresearch/moco, mmselfsup, torchvision)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow SRC to run the Python code pickled in it '
                        'when the weights-only loader refuses it (only for '
                        'files you trust)')
    parser.add_argument('dst', help='output .pth')
    parser.add_argument('--target', required=True, choices=['mmseg', 'mmdet'])
    parser.add_argument('--source', default='auto',
                        choices=['auto', 'pico', 'moco'],
                        help='input kind (default: detect from the keys)')
    parser.add_argument('--no-verify', action='store_true',
                        help='skip the strict load into the mmseg/mmdet '
                        'modules (no mmseg/mmdet import)')
    return parser.parse_args(argv)


def main(argv: Optional[list] = None) -> int:
    args = parse_args(argv)
    try:
        info = export(args.src, args.dst, args.target, args.source,
                      check=not args.no_verify, trust=args.trust_checkpoint)
    except ExportError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    from pico_mm.utils.benchmark_cfg import WEIGHTS_KEY
    task = 'seg' if args.target == 'mmseg' else 'det'
    how = f'--cfg-options {WEIGHTS_KEY[task]}={args.dst}'
    print(f'exported {info["source"]} ResNet-{info["depth"]}'
          f'{" + neck" if info["neck"] else ""} for {args.target}: '
          f'{info["kept"]} tensors kept, {info["dropped"]} dropped '
          f'(momentum encoder/queue/heads); '
          + ('not verified' if args.no_verify else
             'verified: 0 missing, 0 unexpected keys') +
          f'\nuse it with: {how}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
