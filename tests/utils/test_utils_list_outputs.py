"""batch_job.list_outputs: the one folder walk of the batch tools."""
import os

from pico_mm.utils.batch_job import list_outputs, temp_path_for


def test_list_outputs_skips_temps_and_optionally_hidden_files(tmp_path):
    for rel in ('b/x.npz', 'a.npz', 'b/.x.npz.alpha-0.01.npz', 'b/y.zip', 'c/d/e.npz'):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'')
    tmp = temp_path_for(str(tmp_path / 'b' / 'z.npz'))  # a killed writer's leftover
    open(tmp, 'wb').close()
    assert tmp.endswith('.npz')
    got = list_outputs(str(tmp_path), '.npz')
    assert [r for r, _ in got] == ['a.npz', 'b/.x.npz.alpha-0.01.npz', 'b/x.npz',
                                   'c/d/e.npz']
    assert all(os.path.isfile(p) for _, p in got)
    hidden = list_outputs(str(tmp_path), '.npz', skip_hidden=True)
    assert [r for r, _ in hidden] == ['a.npz', 'b/x.npz', 'c/d/e.npz']
    assert [r for r, _ in list_outputs(str(tmp_path), '.zip')] == ['b/y.zip']
