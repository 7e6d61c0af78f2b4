#!/usr/bin/env python
"""Convert an MMFlow RAFT checkpoint into a torchvision ``raft_large`` state dict.

Example::

    python tools/model_converters/mmflow2torchvision_raft.py \\
        raft_8x2_100k_mixed_368x768.pth raft_large_mmflow_mixed.pth

The output is a plain torchvision state dict (RGB input convention: the first
conv of both encoders has its input channels flipped, since MMFlow was fed
BGR), loadable with ``raft_large(weights=None).load_state_dict(...)`` and by
``tools/data/extract_flow.py --backend raft --raft-checkpoint OUT``.
(``extract_flow.py`` also accepts the MMFlow file directly.)
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..')))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('src', help='MMFlow RAFT checkpoint (.pth; plain or under "state_dict")')
    p.add_argument('dst', help='output torchvision state dict (.pth)')
    p.add_argument('--keep-bgr', action='store_true',
                   help='do not flip the first-conv channels (model then expects BGR)')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='allow SRC to run the Python code pickled in it when the '
                   'weights-only loader refuses it (only for files you trust)')
    args = p.parse_args(argv)

    import torch

    from pico_mm.flow.raft_convert import (convert_mmflow_raft, detect_format,
                                           unwrap_state_dict)
    from pico_mm.utils.batch_job import atomic_output
    from pico_mm.utils.safe_load import load_checkpoint_file
    if not os.path.isfile(args.src):
        print(f'error: {args.src}: file not found', file=sys.stderr)
        return 2
    try:
        sd = unwrap_state_dict(load_checkpoint_file(
            args.src, trust=args.trust_checkpoint, what='MMFlow RAFT checkpoint'))
    except (RuntimeError, ValueError) as e:  # untrusted / unreadable / no tensors
        msg = str(e) if str(e).startswith(args.src) else f'{args.src}: {e}'
        print(f'error: {msg}', file=sys.stderr)
        return 2
    fmt = detect_format(sd)
    if fmt != 'mmflow':
        print(f'error: {args.src}: not an MMFlow RAFT checkpoint (detected: {fmt}); '
              'torchvision RAFT files need no conversion', file=sys.stderr)
        return 2
    try:
        out = convert_mmflow_raft(sd, flip_bgr=not args.keep_bgr)
    except ValueError as e:
        print(f'error: {args.src}: {e}', file=sys.stderr)
        return 2
    with atomic_output(args.dst) as tmp:
        torch.save(out, tmp)
    n = sum(v.numel() for k, v in out.items() if not k.endswith(
        ('running_mean', 'running_var', 'num_batches_tracked')))
    print(f'converted {len(sd)} MMFlow keys -> {len(out)} torchvision keys '
          f'({n:,} parameters), first convs {"BGR" if args.keep_bgr else "RGB"}; '
          f'wrote {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
