# YT8M-S: shot-split 10 s snippets of YouTube-8M videos (tools/data/*.py with
# shot splitting). Same views and sampling as Kinetics-400; frames come from
# the snippet flow stores (flow/<video>/snippet_*.zip keep them: 5-8 MB per 10 s
# 256x340 snippet at q90, see k400_pico.py and docs/training.md).
_base_ = './k400_pico.py'

data_root = 'data/yt8m-s/'
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='yt8m-s_train_list_videos.txt',
        data_prefix=dict(video='videos', tracks='tracks', flow='flow')))
