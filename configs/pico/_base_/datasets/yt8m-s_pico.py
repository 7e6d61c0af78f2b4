# YT8M-S: shot-split 10 s snippets of YouTube-8M videos (tools/data/*.py with
# shot splitting). Same views and sampling as Kinetics-400; frames come from
# the snippet flow stores (flow/<video>/snippet_*.zip keep them: 5-8 MB per 10 s
# 256x340 snippet at q90, see k400_pico.py and docs/training.md). Each
# snippet has its own format-2 track file (tracks/<video>/snippet_*.npz): a
# sample reads its per-track table and two frames' rows (~41 KB) and two
# frames of the store, as on K400: 1.23-1.50x a MoCo-v2 sample with cache
# misses; per 10 s snippet: flow 3.6 MB, frames 9.2 MB (generated clips),
# tracks 3.4 MB (k400_pico.py, docs/training.md "Cache-miss case").
_base_ = './k400_pico.py'

data_root = 'data/yt8m-s/'
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='yt8m-s_train_list_videos.txt',
        data_prefix=dict(video='videos', tracks='tracks', flow='flow')))
