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


def face_files(folder):
    return [np.asarray(Image.open(path)) for path in sorted(folder.glob("*.png"))]


def test_truncation_at_zero_gives_every_seed_one_face_and_at_one_changes_nothing(trained_run, tmp_path):
    for psi, name in (("0", "mean"), ("1", "psi1")):
        assert generate.main(["--model", str(trained_run), "--seeds", "3,17,42", "--truncation", psi,
                              "--out", str(tmp_path / name)]) == 0  # fmt: skip
    assert generate.main(["--model", str(trained_run), "--seeds", "3,17,42", "--out", str(tmp_path / "plain")]) == 0
    mean, psi1, plain = (face_files(tmp_path / name) for name in ("mean", "psi1", "plain"))
    assert all(np.array_equal(face, mean[0]) for face in mean)
    assert all(np.array_equal(a, b) for a, b in zip(psi1, plain)) and not np.array_equal(plain[0], plain[1])
    half = sampling.truncate(np.ones((2, 4), "float32"), 0.5)
    np.testing.assert_array_equal(half, np.full((2, 4), 0.5))


def test_each_seed_draws_the_face_its_seed_draws_alone(trained_run, tmp_path):
    assert generate.main(["--model", str(trained_run), "--seeds", "5,2", "--out", str(tmp_path / "seeds")]) == 0
    for seed, face in zip((5, 2), face_files(tmp_path / "seeds")):
        assert generate.main(["--model", str(trained_run), "--seed", str(seed), "--n", "1",
                              "--out", str(tmp_path / f"alone{seed}")]) == 0  # fmt: skip
        np.testing.assert_array_equal(face, face_files(tmp_path / f"alone{seed}")[0])


def test_interpolation_starts_and_ends_on_the_seeds_faces_with_the_frames_asked(trained_run, tmp_path):
    import imageio.v3 as iio

    out = tmp_path / "walk"
    assert generate.main(["--model", str(trained_run), "--interpolate", "3,17,42", "--frames", "9",
                          "--out", str(out)]) == 0  # fmt: skip
    gif = iio.imread(out.with_suffix(".gif"), index=None)
    mp4 = list(iio.imiter(out.with_suffix(".mp4"), plugin="FFMPEG"))
    assert gif.shape[0] == 9 and len(mp4) == 9
    generator = sampling.load_generator(trained_run)
    keys = sampling.seed_latents([3, 17, 42], generator.input_shape[-1])
    path = sampling.walk(keys, 9)
    np.testing.assert_allclose(path[[0, 4, 8]], keys, atol=1e-6)  # frame 4 of 9 is the middle key
    faces = sampling.draw(generator, keys).astype(float)

    def distance(frame, face):  # a GIF's 256-colour palette moves pixels by a few levels
        return np.abs(frame[..., :3].astype(float) - face).mean()

    for frame, own, other in ((gif[0], faces[0], faces[2]), (gif[4], faces[1], faces[0]), (gif[-1], faces[2], faces[0])):
        assert distance(frame, own) < 3.0 < distance(frame, other)
    assert generate.main(["--model", str(trained_run), "--interpolate", "3,17", "--frames", "6", "--loop",
                          "--out", str(tmp_path / "loop")]) == 0  # fmt: skip
    looped = iio.imread(tmp_path / "loop.gif", index=None)
    assert looped.shape[0] == 6 and not np.array_equal(looped[-1], looped[0])  # ends just before the first again


def test_slerp_keeps_the_noise_on_its_sphere_between_the_keys():
    a, b = np.array([3.0, 0.0], "float32"), np.array([0.0, 3.0], "float32")
    middle = sampling.slerp(a, b, 0.5)
    np.testing.assert_allclose(middle, [3 / np.sqrt(2), 3 / np.sqrt(2)], rtol=1e-6)
    np.testing.assert_allclose(sampling.slerp(a, b, 0.0), a) and np.testing.assert_allclose(sampling.slerp(a, b, 1.0), b)
    path = sampling.walk(np.stack([a, b, -a]), frames=5)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 3.0, rtol=1e-5)
    np.testing.assert_allclose(path[2], b, atol=1e-6)


def test_a_saved_latent_draws_its_face_and_a_wrong_one_is_a_clear_error(trained_run, tmp_path, capsys):
    generator = sampling.load_generator(trained_run)
    latent = sampling.seed_latents([9], generator.input_shape[-1])[0]
    np.save(tmp_path / "z.npy", latent)
    assert generate.main(["--model", str(trained_run), "--latent", str(tmp_path / "z.npy"), "--out", str(tmp_path / "z")]) == 0
    np.testing.assert_array_equal(face_files(tmp_path / "z")[0], sampling.draw(generator, latent[None])[0])
    np.save(tmp_path / "bad.npy", np.zeros(3))
    assert generate.main(["--model", str(trained_run), "--latent", str(tmp_path / "bad.npy")]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "this generator takes noise vectors of 8 numbers" in error


def test_an_mp4_without_the_ffmpeg_plugin_is_a_clear_error_and_the_gif_is_still_written(trained_run, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if not installed
    assert generate.main(["--model", str(trained_run), "--interpolate", "1,2", "--frames", "3",
                          "--out", str(tmp_path / "walk")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert (tmp_path / "walk.gif").is_file() and not (tmp_path / "walk.mp4").exists()
    assert "pip install imageio-ffmpeg" in out
