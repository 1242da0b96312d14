"""Run folders written before the GAN was built from parts still resume: tests/data/run-before-redesign was made by
the code of commit b42c8a0 (a tiny run with R1 and the default DiffAugment and weight average, 160 of the bundled
faces at batch 4, stopped by SIGTERM at step 10 of epoch 2)."""

import shutil
from pathlib import Path

from anime_dcgan.commands import fit
from anime_dcgan.outputs import read_history
from conftest import copy_faces

OLD_RUN = Path(__file__).resolve().parent / "data" / "run-before-redesign"


def test_a_run_stopped_mid_epoch_before_the_redesign_resumes_and_finishes(tmp_path, capsys):
    run = Path(shutil.copytree(OLD_RUN, tmp_path / "run"))
    faces = copy_faces(tmp_path / "faces", 160)
    assert fit.main(["--out", str(run), "--data", str(faces), "--epochs", "3", "--verbose", "0"]) == 0
    assert "at step 10 of 40 in epoch 2" in capsys.readouterr().out
    rows = read_history(run / "history.csv")
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    assert all(float(row["r1"]) > 0 for row in rows)
    assert (run / "samples" / "epoch_0003.png").exists()
