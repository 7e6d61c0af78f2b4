# Kinetics-400 frame pairs + point tracks, MoCo-v2 views that keep the points.
# Layout (mmaction2 + tools/data/*.py):
#   data/kinetics400/videos_train/<class>/<id>.mp4
#   data/kinetics400/flow_train/<class>/<id>.zip         (extract_flow.py)
#   data/kinetics400/tracks_train/<class>/<id>.npz       (track_points.py)
#   data/kinetics400/kinetics400_train_list_videos.txt   ('path label')
# Frames are read from the flow stores (extract_flow.py keeps them as JPEG q90,
# the frames the flow was computed on): ~1 ms for the two frames of a sample
# instead of decoding the video from its start. Storage: 5-8 MB per 10 s 256x340
# clip at q90 (4.8 MB on a real clip, 8.0 MB on generated ones; benchmarks/),
# i.e. 1.2-1.9 TB for the 240k K400 clips, about as much as the flow
# (docs/training.md).
# Stores without frames fall back to decoding videos_train (slow, warned).
# What a sample reads (every sample misses the per-worker caches on K400):
# from its track file (format 2) the per-track table at alpha/beta below
# (stored in the file for every shipped config: no re-thresholding) and the
# point rows of its two frames, ~41 KB; then two frames of the flow store,
# ~230 KB. Measured with cache misses (benchmarks/bench_data.py, 64 distinct
# 10 s clips, page cache dropped): 1.23-1.50x a MoCo-v2 sample (old format-1
# track files: 3.1-3.3x; convert them once with tools/data/convert_tracks.py).
# Storage per 10 s clip / for the 240k K400 clips (generated clips; frames of
# real footage compress to about half): flow 3.6 MB / 0.86 TB, frames 9.2 MB
# / 2.2 TB, tracks 3.4 MB / 0.80 TB (docs/training.md, "Cache-miss case").
dataset_type = 'VideoCorrespondenceDataset'
data_root = 'data/kinetics400/'

# Point pairs kept per sample (padded): 32 samples x 128 = 4096 pairs per GPU,
# i.e. the model's max_pairs, so none are thrown away (our choice).
num_points = 128

# MoCo-v2 augmentation (mmselfsup mocov2 pipeline, geometric ops made
# point-preserving), drawn independently for each view.
view_pipeline = [
    dict(
        type='PointRandomResizedCrop',
        size=224,
        scale=(0.2, 1.),
        backend='pillow'),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.4,
                contrast=0.4,
                saturation=0.4,
                hue=0.1)
        ],
        prob=0.8),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='RandomGaussianBlur', sigma_min=0.1, sigma_max=2.0, prob=0.5),
    dict(type='PointRandomFlip', prob=0.5),
]
train_pipeline = [
    dict(type='CorrespondenceViews', transforms=view_pipeline),
    dict(type='PackPiCoInputs', num_points=num_points),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    # Workers live across epochs (no re-fork, track caches kept); the images
    # arrive in page-locked memory, so the model's data_preprocessor
    # (non_blocking=True) copies them to the GPU without waiting for it.
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='kinetics400_train_list_videos.txt',
        data_prefix=dict(
            video='videos_train', tracks='tracks_train', flow='flow_train'),
        frame_sampler='anchor',
        alpha=0.01,
        beta=0.5,
        k=4,
        pipeline=train_pipeline))
