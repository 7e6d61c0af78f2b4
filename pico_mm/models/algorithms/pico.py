"""PiCo: pixel-level correspondence contrastive learning (MoCo-style)."""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import get_rank, get_world_size
from mmengine.logging import print_log
from mmengine.model import ExponentialMovingAverage
from mmengine.structures import PixelData
from mmselfsup.models.algorithms.base import BaseModel
from mmselfsup.registry import MODELS
from mmselfsup.structures import SelfSupDataSample
from mmselfsup.utils import (batch_shuffle_ddp, batch_unshuffle_ddp,
                             concat_all_gather)
from torch.nn.utils.rnn import pad_sequence

from ..utils import (PixelQueue, global_mean_count, load_moco_backbone,
                     sample_points)


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

    # -------------------------------------------------------------- loss --
    @staticmethod
    def _collect_points(data_samples: List[SelfSupDataSample],
                        device: torch.device
                        ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Stack ``points_q``/``points_k``/``points_valid`` into N×P(×2)."""
        try:
            pq = [ds.points_q for ds in data_samples]
            pk = [ds.points_k for ds in data_samples]
            pv = [ds.points_valid for ds in data_samples]
        except AttributeError as e:
            raise KeyError(
                'PiCo needs data samples with points_q, points_k and '
                'points_valid (use PackPiCoInputs in the pipeline): '
                f'{e}') from None
        pq = pad_sequence([torch.as_tensor(p, dtype=torch.float32)
                           for p in pq], batch_first=True)
        pk = pad_sequence([torch.as_tensor(p, dtype=torch.float32)
                           for p in pk], batch_first=True)
        pv = pad_sequence([torch.as_tensor(v, dtype=torch.bool) for v in pv],
                          batch_first=True)
        return pq.to(device), pk.to(device), pv.to(device)

    def _select_pairs(self, valid: torch.Tensor) -> torch.Tensor:
        """Flat indices (into N·P) of at most ``max_pairs`` valid pairs."""
        idx = valid.flatten().nonzero().squeeze(1)
        if 0 < self.max_pairs < idx.numel():
            perm = torch.randperm(idx.numel(), device=idx.device)
            idx = idx[perm[:self.max_pairs]]
        return idx

    @staticmethod
    def _project_points(head: nn.Module, emb: torch.Tensor) -> torch.Tensor:
        """Apply the 1×1-conv head to M×C point embeddings (M ≥ 1).

        A single point is duplicated so that train-mode BN does not fail.
        """
        x = emb[:, :, None, None]
        if x.shape[0] == 1:
            return head(torch.cat([x, x]))[:1].flatten(1)
        return head(x).flatten(1)

    def _key_embeddings(self, im_k: torch.Tensor, points_k: torch.Tensor,
                        valid: torch.Tensor) -> torch.Tensor:
        """Key projections at ``points_k`` (N×P×C, zeros where invalid).

        Under DDP the key images are shuffled across GPUs (BN in the key
        path, as in MoCo); instead of gathering dense key maps back, the
        small point sets follow the images and only the sampled vectors are
        unshuffled.
        """
        mods = self.encoder_k.module
        img_size = im_k.shape[-2:]
        shuffle = get_world_size() > 1
        if shuffle:
            im_k, idx_unshuffle = batch_shuffle_ddp(im_k)
            mine = torch.argsort(idx_unshuffle).view(
                -1, im_k.shape[0])[get_rank()]
            points_k = concat_all_gather(points_k.contiguous())[mine]
            valid = concat_all_gather(valid.to(torch.uint8))[mine].bool()
        if self.freeze_backbone:
            feats = self.backbone(im_k)
        else:
            feats = mods['backbone'](im_k)
        emb = mods['neck'](feats)[0]
        if self.head_on_points:
            sampled = sample_points(emb, points_k, img_size)
            keys = sampled.new_zeros(sampled.shape[:2] +
                                     (self.queue.feat_dim, ))
            if valid.any():
                keys[valid] = self._project_points(mods['head'],
                                                   sampled[valid]).to(
                                                       keys.dtype)
        else:
            keys = sample_points(mods['head'](emb), points_k, img_size)
        if shuffle:
            keys = batch_unshuffle_ddp(keys.contiguous(), idx_unshuffle)
        return keys

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
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError('PiCo.loss expects a list of two views')
        im_q, im_k = inputs[0], inputs[1]
        if im_q.shape != im_k.shape:
            raise ValueError('PiCo: both views must have the same size, got '
                             f'{tuple(im_q.shape)} and {tuple(im_k.shape)}')
        img_size = im_q.shape[-2:]
        points_q, points_k, valid = self._collect_points(
            data_samples, im_q.device)
        chosen = self._select_pairs(valid)

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
            self.encoder_k.update_parameters(self._query_modules())
            k = self._key_embeddings(im_k, points_k, valid)
            k = F.normalize(k.flatten(0, 1)[chosen], dim=1)

        if chosen.numel() == 0:
            # Zero loss that still reaches every trainable parameter, so DDP
            # (find_unused_parameters=False) does not stall.
            loss = sum(p.sum() * 0.0 for p in self.parameters()
                       if p.requires_grad) + emb_q.sum() * 0.0
        else:
            # clone: the queue is updated in place below, but the
            # checkpointed loss chunks re-read it during backward.
            loss = self.contrast_loss(
                q, k, self.queue.buffer.clone(),
                avg_factor=global_mean_count(chosen.numel(), q.device))

        to_enqueue = k
        if (self.enqueue_per_iter is not None
                and k.shape[0] > self.enqueue_per_iter):
            sub = torch.randperm(k.shape[0], device=k.device)
            to_enqueue = k[sub[:self.enqueue_per_iter]]
        self.queue.enqueue(to_enqueue)
        per_sample = valid.sum(1).float()
        stats = dict(
            loss=loss,
            num_pairs=loss.new_tensor(float(chosen.numel())),
            pairs_per_sample=per_sample.mean().to(loss.dtype),
            no_pair_frac=(per_sample == 0).float().mean().to(loss.dtype),
            queue_fill=loss.new_tensor(float(self.queue.fill)))
        gaps = [abs(int(ds.frame_inds[1]) - int(ds.frame_inds[0]))
                for ds in data_samples if 'frame_inds' in ds]
        if gaps:
            stats['frame_gap'] = loss.new_tensor(sum(gaps) / len(gaps))
        return stats
