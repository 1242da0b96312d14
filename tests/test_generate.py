import sys

import numpy as np
import pytest
from PIL import Image

from anime_dcgan import sampling
from anime_dcgan.commands import fit, generate


def test_grid_of_faces_from_a_run_folder(trained_run, tmp_path, capsys):
    out = tmp_path / "faces.png"
    assert generate.main(["--model", str(trained_run), "--n", "6", "--out", str(out)]) == 0
    assert Image.open(out).size == (3 * 34 + 2, 2 * 34 + 2)  # 3 columns x 2 rows of 32 px faces
    assert "Wrote 6 faces" in capsys.readouterr().out


def test_one_png_per_face_in_a_folder(trained_run, tmp_path):
    out = tmp_path / "faces"
    model = trained_run / "generator.keras"
    assert generate.main(["--model", str(model), "--n", "5", "--seed", "3", "--out", str(out)]) == 0
    files = sorted(out.glob("*.png"))
    assert [f.name for f in files] == [f"face_{i:04d}.png" for i in range(5)]
    assert all(Image.open(f).size == (32, 32) for f in files)


def test_same_seed_draws_the_same_faces_and_another_seed_others(trained_run):
    generator = sampling.load_generator(trained_run)
    first, again, other = (sampling.generate_faces(generator, 4, seed) for seed in (1, 1, 2))
    assert first.shape == (4, 32, 32, 3) and first.dtype == np.uint8
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_missing_model_is_a_one_line_error(tmp_path, capsys):
    assert generate.main(["--model", str(tmp_path), "--out", str(tmp_path / "x.png")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "no generator at" in error and not (tmp_path / "x.png").exists()


def test_damaged_model_file_is_a_clear_error(tmp_path):
    broken = tmp_path / "generator.keras"
    broken.write_bytes(b"not a zip")
    with pytest.raises(sampling.ModelError, match="generator.keras is damaged or not a saved Keras model"):
        sampling.load_generator(broken)


def test_out_that_is_neither_png_nor_folder_is_refused_before_any_work(trained_run, tmp_path, capsys):
    assert generate.main(["--model", str(trained_run), "--out", str(tmp_path / "faces.txt")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "name a .png file for a grid, or a folder" in error
    assert not (tmp_path / "faces.txt").exists()


def test_replacing_an_earlier_grid_is_said(trained_run, tmp_path, capsys):
    out = tmp_path / "faces.png"
    for _ in range(2):
        assert generate.main(["--model", str(trained_run), "--n", "4", "--out", str(out)]) == 0
    first, second = capsys.readouterr().out.strip().splitlines()
    assert first.endswith("faces.png") and second.endswith("faces.png (replacing the file that was there)")


def test_compare_draws_one_labelled_row_per_run_from_the_same_noise(trained_run, tmp_path):
    from anime_dcgan.commands import compare

    out = tmp_path / "variants.png"
    assert compare.main([str(trained_run), str(trained_run), "--labels", "a", "b", "--faces", "4", "--out", str(out)]) == 0
    picture = np.asarray(Image.open(out))
    row_height = 32 + 2 * 2
    assert picture.shape[0] == 2 * row_height
    top, bottom = picture[:row_height], picture[row_height:]
    assert np.array_equal(top[:, 30:], bottom[:, 30:])  # same generator, same noise: same faces
    assert picture.shape[1] > 4 * 34  # faces plus the label margin


def test_compare_scales_every_row_to_the_largest_runs_size(trained_run, tmp_path):
    from anime_dcgan import models
    from anime_dcgan.commands import compare

    large = tmp_path / "large.keras"
    models.build_generator(latent_dim=8, image_size=64, width=4).save(large)
    picture = compare.compare([trained_run, large], ["32 px", "64 px"], faces=3)
    row_height = 64 + 2 * 2
    assert picture.shape[0] == 2 * row_height
    small_row = picture[2 : 2 + 64]  # the 32 px run's faces, each pixel now a 2x2 block
    face = small_row[:, -(2 + 64) : -2]
    assert np.array_equal(face[0::2, 0::2], face[1::2, 1::2]) and face.std() > 0


def test_compare_refuses_a_label_count_that_does_not_match(trained_run, capsys):
    from anime_dcgan.commands import compare

    with pytest.raises(SystemExit):
        compare.main([str(trained_run), "--labels", "a", "b"])
    assert "2 labels for 1 runs" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv0, usage",
    [("/venv/bin/anime-dcgan-generate", "anime-dcgan-generate"), ("/src/anime_dcgan/generate.py", "python -m anime_dcgan.generate")],
)
def test_usage_line_names_the_command_the_user_typed(argv0, usage, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [argv0])
    with pytest.raises(SystemExit):
        generate.main(["--help"])
    assert capsys.readouterr().out.startswith(f"usage: {usage} ")
    monkeypatch.setattr(sys, "argv", [argv0.replace("generate", "fit")])
    assert fit.build_parser().prog == usage.replace("generate", "fit")


def test_compare_with_no_runs_draws_the_packages_generator(tmp_path):
    from anime_dcgan.commands import compare

    out = tmp_path / "variants.png"
    assert compare.main(["--faces", "3", "--out", str(out)]) == 0
    assert np.asarray(Image.open(out)).shape[0] == 64 + 2 * 2  # one row of 64 px faces
