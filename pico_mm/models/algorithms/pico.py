"""PiCo: pixel-level correspondence contrastive learning (MoCo-style)."""
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import get_world_size
from mmengine.logging import print_log
from mmengine.model import ExponentialMovingAverage
from mmengine.structures import PixelData
from mmselfsup.models.algorithms.base import BaseModel
from mmselfsup.registry import MODELS
from mmselfsup.structures import SelfSupDataSample
from mmselfsup.utils import batch_unshuffle_ddp

from ..utils import (PixelQueue, collect_points, global_mean_count,
                     has_train_batchnorm, load_moco_backbone, sample_points,
                     select_pairs, shuffle_keys_ddp)


@MODELS.register_module()
class PiCo(BaseModel):
    """PiCo (`Sharma et al. 2022 <https://arxiv.org/abs/2207.03866>`_).

    Query path: backbone → neck (128-d stride-4 embedding) → projection
    head, at ``points_q`` of view 1 (bilinear sampling of the embedding,
    then the 1×1-conv head on the points; or head on the dense map, then
    sampling, with ``head_on_points=False``). Key path: momentum (EMA) copy
    of neck + head (+ backbone when it is trained), at ``points_k`` of
    view 2. Negatives come from a :class:`PixelQueue` of key
    pixels; the loss is pixel-level InfoNCE.

    Sampling uses the contract's coordinates (``grid_sample``,
    ``align_corners=False``, border padding); features are L2-normalised
    *after* sampling, so every q/k is exactly unit length.

    Args:
        backbone (dict): mmselfsup ``ResNet`` config, ``out_indices`` giving
            C2..C5 (``(1, 2, 3, 4)``).
        neck (dict): ``PiCoFPNNeck`` config.
        head (dict): ``DenseProjectionHead`` config.
        loss (dict): ``PixelInfoNCELoss`` config.
        queue_len (int): Negative keys kept. Defaults to 65536.
        feat_dim (int): Dimension of projected keys. Defaults to 128.
        momentum (float): EMA momentum in the MoCo sense
            (``k = m·k + (1-m)·q``); mmengine's ``ExponentialMovingAverage``
            is given ``1 - momentum``. Defaults to 0.999.
        max_pairs (int): At most this many valid point pairs (random subset)
            enter the loss per iteration and GPU; ``<= 0`` = all.
            Defaults to 4096.
        enqueue_per_iter (int, optional): At most this many of those keys are
            enqueued per GPU (random subset); None = all. Defaults to None.
        freeze_backbone (bool): Keep the backbone fixed (no grads, BN in eval
            mode across ``train()``); it is then shared by the key path.
            Defaults to True.
        head_on_points (bool): Apply the (1×1-conv) projection head to the
            sampled point embeddings instead of the whole stride-4 map; BN
            statistics are then taken over the sampled points. Much cheaper
            (the head is 2048 wide at stride 4). Defaults to True.
        shuffle_keys (bool, optional): Shuffle the key images across
            processes (MoCo) before the key path. None (the default): only
            when the key path (backbone, neck, head of the key encoder) has
            a BatchNorm layer in training mode, the one thing the shuffle
            protects; the default PiCo has none (frozen backbone in eval
            mode, GroupNorm neck, head without norm), so no image is
            gathered. True/False force it. Without DDP nothing is shuffled.
        backbone_checkpoint (str, optional): MoCo-v2 checkpoint loaded into
            the backbone by :meth:`init_weights` (mmselfsup or original
            ``module.encoder_q.*`` format). Defaults to None.
        pretrained (str, optional): Whole-model checkpoint (mmselfsup).
        data_preprocessor (dict, optional): Defaults to
            ``SelfSupDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 loss: dict,
                 queue_len: int = 65536,
                 feat_dim: int = 128,
                 momentum: float = 0.999,
                 max_pairs: int = 4096,
                 enqueue_per_iter: Optional[int] = None,
                 freeze_backbone: bool = True,
                 head_on_points: bool = True,
                 shuffle_keys: Optional[bool] = None,
                 backbone_checkpoint: Optional[str] = None,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if not 0.0 < momentum < 1.0:
            raise ValueError(f'PiCo: momentum must be in (0, 1), got '
                             f'{momentum} (MoCo convention, e.g. 0.999)')
        self.contrast_loss = MODELS.build(loss)
        self.momentum = momentum
        self.max_pairs = int(max_pairs)
        self.enqueue_per_iter = enqueue_per_iter
        self.freeze_backbone = freeze_backbone
        self.head_on_points = head_on_points
        self.shuffle_keys = shuffle_keys
        if head_on_points and any(
                type(m).__name__ == 'SyncBatchNorm'
                for m in self.head.modules()):
            raise ValueError(
                'PiCo: SyncBN in the head with head_on_points=True: a '
                'process without pairs skips the head and so its SyncBN '
                'collective, and the others wait forever; use BN (the keys '
                'are then shuffled across GPUs) or head_on_points=False')
        self.backbone_checkpoint = backbone_checkpoint
        if freeze_backbone:
            self.backbone.requires_grad_(False)
        # The frozen backbone is shared by both paths: no copy in the EMA.
        self.encoder_k = ExponentialMovingAverage(
            self._query_modules(), momentum=1.0 - momentum)
        self.queue = PixelQueue(feat_dim, queue_len)

    # ------------------------------------------------------------ set-up --
    def _query_modules(self) -> nn.ModuleDict:
        """Modules averaged into the key encoder (same names each call)."""
        mods = dict(neck=self.neck, head=self.head)
        if not self.freeze_backbone:
            mods = dict(backbone=self.backbone, **mods)
        return nn.ModuleDict(mods)

    @torch.no_grad()
    def _momentum_update(self) -> None:
        """``self.encoder_k.update_parameters(query modules)``, on the device.

        mmengine's ``ExponentialMovingAverage.update_parameters`` tests its
        ``steps`` buffer (a GPU tensor) with ``if`` twice per call: two
        host synchronisations. Same update here without them: ``k.lerp_(q,
        w)`` with ``w = 1`` at step 0 (an exact copy) and ``1 - momentum``
        after, ``steps`` incremented on the device, buffers copied.
        """
        ema = self.encoder_k
        query = self._query_modules()
        src = dict(query.named_parameters())
        weight = torch.where(ema.steps == 0, 1.0, ema.momentum)
        for name, avg in ema.avg_parameters.items():
            avg.lerp_(src[name].to(avg.device), weight.to(avg.dtype))
        for b_avg, b_src in zip(ema.module.buffers(), query.buffers()):
            b_avg.copy_(b_src.to(b_avg.device))
        ema.steps += 1

    def init_weights(self) -> None:
        """Initialise, then load the MoCo-v2 backbone if configured."""
        super().init_weights()
        if self.backbone_checkpoint:
            info = load_moco_backbone(self.backbone, self.backbone_checkpoint)
            print_log(
                f'PiCo: loaded {info["loaded"]} backbone tensors from '
                f'{self.backbone_checkpoint}',
                logger='current')
        elif self.freeze_backbone:
            print_log(
                'PiCo: freeze_backbone=True but no backbone_checkpoint: the '
                'frozen backbone keeps its random initialisation',
                logger='current',
                level=30)

    def train(self, mode: bool = True) -> 'PiCo':
        """Set train mode, keeping a frozen backbone in eval mode."""
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        return self

    # ---------------------------------------------------------- features --
    def _backbone(self, img: torch.Tensor) -> Tuple[torch.Tensor]:
        """C2..C5 of the query backbone (under ``no_grad`` when frozen)."""
        if self.freeze_backbone:
            with torch.no_grad():
                return self.backbone(img)
        return self.backbone(img)

    def extract_feat(self, inputs: Union[torch.Tensor, List[torch.Tensor]],
                     **kwargs) -> torch.Tensor:
        """Dense 128-d stride-4 embedding (neck output, before the head).

        Args:
            inputs (Tensor | list[Tensor]): N×3×H×W images (normalised), or
                the list of views (the first view is used).

        Returns:
            Tensor: N×C×H/4×W/4 embedding (not normalised).
        """
        img = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        return self.neck(self._backbone(img))[0]

    def predict(self, inputs: Union[torch.Tensor, List[torch.Tensor]],
                data_samples: Optional[List[SelfSupDataSample]] = None,
                **kwargs) -> List[SelfSupDataSample]:
        """Return data samples carrying ``dense_emb`` (``PixelData``,
        ``value`` C×H/4×W/4, L2-normalised over C)."""
        emb = F.normalize(self.extract_feat(inputs), dim=1)
        if data_samples is None:
            data_samples = [SelfSupDataSample() for _ in range(len(emb))]
        for sample, e in zip(data_samples, emb):
            sample.dense_emb = PixelData(value=e)
        return data_samples

    def parse_losses(self, losses: Dict[str, torch.Tensor]
                     ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """mmengine's ``parse_losses``, with the logged values on the host.

        mmengine's ``RuntimeInfoHook`` reads every logged value with
        ``.item()`` at every iteration: one host synchronisation per value
        (six here) when they are on the GPU. They are copied to the host
        together instead (one synchronisation); the returned loss stays on
        the device for the backward pass.

        Returns:
            tuple[Tensor, dict[str, Tensor]]: The loss, and the logged values
            as 0-d float32 CPU tensors.
        """
        loss, log_vars = super().parse_losses(losses)
        host = torch.stack([v.detach().float().reshape(())
                            for v in log_vars.values()]).cpu()
        return loss, OrderedDict(zip(log_vars, host.unbind()))

    # -------------------------------------------------------------- loss --
    @staticmethod
    def _project_points(head: nn.Module, emb: torch.Tensor) -> torch.Tensor:
        """Apply the 1×1-conv head to M×C point embeddings (M ≥ 1).

        A single point is duplicated so that train-mode BN does not fail.
        """
        x = emb[:, :, None, None]
        if x.shape[0] == 1:
            return head(torch.cat([x, x]))[:1].flatten(1)
        return head(x).flatten(1)

    def _key_path(self) -> List[nn.Module]:
        """Modules that compute the keys (frozen backbone included)."""
        mods = list(self.encoder_k.module.values())
        return [self.backbone] + mods if self.freeze_backbone else mods

    def _shuffle(self) -> bool:
        """Whether this iteration shuffles the key images across processes.

        Decided from the configuration and the modules' modes only, never
        from the data, so every process decides the same.
        """
        if get_world_size() == 1:
            return False
        if self.shuffle_keys is None:
            return has_train_batchnorm(self._key_path())
        return bool(self.shuffle_keys)

    def _key_embeddings(self, im_k: torch.Tensor, points_k: torch.Tensor,
                        valid: torch.Tensor,
                        chosen: torch.Tensor) -> torch.Tensor:
        """Key projections of the chosen pairs (not normalised).

        Without the shuffle (see ``shuffle_keys``) the head runs on the
        chosen points only: without BatchNorm it is a per-point function.
        With it (BatchNorm in the key path, as in MoCo) the key images are
        shuffled across processes; instead of gathering dense key maps
        back, the small point sets follow the images, the head sees every
        valid point of the shuffled batch, and only the sampled key vectors
        (N×P×C) are unshuffled. The collectives depend only on
        :meth:`_shuffle`, never on the points.

        Args:
            im_k (Tensor): N×3×H×W key view.
            points_k (Tensor): N×P×2 key points (pixels).
            valid (Tensor): N×P bool.
            chosen (Tensor): M flat indices into N·P (``select_pairs``).

        Returns:
            Tensor: M×C keys.
        """
        mods = self.encoder_k.module
        img_size = im_k.shape[-2:]
        shuffle = self._shuffle()
        if shuffle:
            im_k, points_k, valid, idx_unshuffle = shuffle_keys_ddp(
                im_k, points_k, valid)
        if self.freeze_backbone:
            feats = self.backbone(im_k)
        else:
            feats = mods['backbone'](im_k)
        emb = mods['neck'](feats)[0]
        if not self.head_on_points:
            keys = sample_points(mods['head'](emb), points_k, img_size)
        elif not shuffle:
            sampled = sample_points(emb, points_k, img_size).flatten(0, 1)
            if chosen.numel() == 0:
                return sampled.new_zeros((0, self.queue.feat_dim))
            return self._project_points(mods['head'], sampled[chosen])
        else:
            sampled = sample_points(emb, points_k, img_size)
            keys = sampled.new_zeros(sampled.shape[:2] +
                                     (self.queue.feat_dim, ))
            if valid.any():  # one host sync, only with BN in the key path
                keys[valid] = self._project_points(mods['head'],
                                                   sampled[valid]).to(
                                                       keys.dtype)
        if shuffle:
            keys = batch_unshuffle_ddp(keys.contiguous(), idx_unshuffle)
        return keys.flatten(0, 1)[chosen]

    def loss(self, inputs: List[torch.Tensor],
             data_samples: List[SelfSupDataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Pixel-level InfoNCE between matching points of the two views.

        Args:
            inputs (list[Tensor]): ``[view1, view2]``, each N×3×H×W.
            data_samples (list[SelfSupDataSample]): with ``points_q``,
                ``points_k`` (P×2 pixel coords) and ``points_valid`` (P).

        Returns:
            dict[str, Tensor]: ``loss``; logged statistics ``num_pairs``
            (pairs in the loss of this process), ``pairs_per_sample`` (mean
            valid pairs per sample, after the ``num_points`` cap),
            ``no_pair_frac`` (fraction of samples without a pair: they are
            skipped by the loss), ``frame_gap`` (mean ``|t2 - t1|`` of the
            samples' ``frame_inds``, when present) and ``queue_fill`` (real
            keys in the queue). Under DDP the loss is the mean over the
            pairs of all processes (``global_mean_count``).

        Every process enters the same collectives in the same order whatever
        its data (no pairs, no valid point, nothing to enqueue): the key
        shuffle (when :meth:`_shuffle`), the pair-count all-reduce, the
        queue's two all-gathers; and the loss reaches every trainable
        parameter, so DDP's gradient all-reduce runs on every process.
        Host synchronisations: the ``nonzero`` that sizes the pairs, the
        queue's key counts under DDP, and a few in the key path only when it
        has BatchNorm (:meth:`parse_losses` adds one copy of the logged
        values; docs/training.md counts them).
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError('PiCo.loss expects a list of two views')
        im_q, im_k = inputs[0], inputs[1]
        if im_q.shape != im_k.shape:
            raise ValueError('PiCo: both views must have the same size, got '
                             f'{tuple(im_q.shape)} and {tuple(im_k.shape)}')
        img_size = im_q.shape[-2:]
        points_q, points_k, valid = collect_points(data_samples, im_q.device)
        chosen = select_pairs(valid, self.max_pairs)  # waits for the device

        emb_q = self.neck(self._backbone(im_q))[0]
        if self.head_on_points:
            q = sample_points(emb_q, points_q, img_size).flatten(0, 1)[chosen]
            if q.shape[0] > 0:
                q = self._project_points(self.head, q)
        else:
            q = sample_points(self.head(emb_q), points_q,
                              img_size).flatten(0, 1)[chosen]
        q = F.normalize(q, dim=1)

        with torch.no_grad():
            self._momentum_update()
            k = F.normalize(
                self._key_embeddings(im_k, points_k, valid, chosen), dim=1)

        # A collective: every process calls it, also without pairs.
        mean_count = global_mean_count(chosen.numel(), q.device)
        if chosen.numel() == 0:
            # Zero loss that still reaches every trainable parameter, so DDP
            # (find_unused_parameters=False) does not stall.
            loss = sum(p.sum() * 0.0 for p in self.parameters()
                       if p.requires_grad) + emb_q.sum() * 0.0
        else:
            # clone: the queue is updated in place below, but the
            # checkpointed loss chunks re-read it during backward.
            loss = self.contrast_loss(
                q, k, self.queue.buffer.clone(), avg_factor=mean_count)

        to_enqueue = k
        if (self.enqueue_per_iter is not None
                and k.shape[0] > self.enqueue_per_iter):
            sub = torch.randperm(k.shape[0], device=k.device)
            to_enqueue = k[sub[:self.enqueue_per_iter]]
        self.queue.enqueue(to_enqueue)
        per_sample = valid.sum(1).float()
        # Logged values: float32 tensors made on the device (new_full, not
        # new_tensor: no blocking host-to-device copy); parse_losses copies
        # them to the host together.
        stats = dict(
            loss=loss,
            num_pairs=per_sample.new_full((), float(chosen.numel())),
            pairs_per_sample=per_sample.mean(),
            no_pair_frac=(per_sample == 0).float().mean(),
            queue_fill=self.queue.fill.float())
        gaps = [abs(int(ds.frame_inds[1]) - int(ds.frame_inds[0]))
                for ds in data_samples if 'frame_inds' in ds]
        if gaps:
            stats['frame_gap'] = per_sample.new_full((),
                                                     sum(gaps) / len(gaps))
        return stats
