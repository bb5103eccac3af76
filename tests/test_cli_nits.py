"""Small things a newcomer reads: proper metavars in ``batch --help``, a description for ``methods --help``,
``--mel-key`` help naming every container, ``melrecon methods`` listing the common pipelines (``gl+gd``), an
unwritable virtual folder explained, and the planner putting items of one padded length in one bucket."""

from __future__ import annotations

import re

import pytest

from melrecon.apps.cli import main
from melrecon.methods.planner import padded_length, plan_buckets


def _help(capsys, *command) -> str:
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    return " ".join(capsys.readouterr().out.split())


def test_help_metavars_descriptions_and_mel_key(capsys):
    for command in ("batch", "invert"):
        text = _help(capsys, command)
        assert not re.search(r"\b(CFG_[A-Z_]+|MEL_KEY|RAY_ADDRESS|NUM_CPUS|BATCH_SIZE)\b", text), text
        assert "--n-fft N" in text and "--fmax HZ" in text and "--window NAME" in text
        assert ".npz/.pt/.h5" in text.rsplit("--mel-key KEY", 1)[1][:60]
    assert "pipeline" in _help(capsys, "methods")


def test_methods_lists_the_common_pipelines(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^gl\+gd: fgla \(projection\) then gd \(gradient\)", out, flags=re.M)
    assert "[default for a mel melrecon computed from audio]" in out and "[default for a mel handed in]" in out


def test_output_in_a_virtual_folder_is_explained(tmp_path, capsys):
    import numpy as np

    np.save(tmp_path / "m.npy", np.zeros((128, 20), np.float32))
    assert main(["invert", str(tmp_path / "m.npy"), "/proc/o.wav", "--preset", "seed"]) == 2
    err = capsys.readouterr().err
    assert "not writable" in err and "/proc" in err and "virtual" in err


@pytest.mark.parametrize("frames, max_buckets", [([173, 173, 173], 4), ([100, 170, 173, 175, 300, 301], 4),
                                                 ([9, 10, 11, 12, 40, 41, 80], 3), ([64] * 7, 2)])
def test_items_of_one_padded_length_share_a_bucket(frames, max_buckets):
    plan = plan_buckets(frames, batch_size=8, max_buckets=max_buckets)
    shape_of = {}
    for padded, members in plan:
        for i in members:
            assert frames[i] <= padded
            shape_of.setdefault(padded_length(frames[i]), set()).add(padded)
    assert all(len(shapes) == 1 for shapes in shape_of.values()), plan
    assert sorted({i for _, m in plan for i in m}) == list(range(len(frames)))
    assert len({p for p, _ in plan}) <= max_buckets
    if len(set(map(padded_length, frames))) == 1:
        assert len(plan) == 1  # one shape, one batch (up to batch_size)
