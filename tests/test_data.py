import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from anime_dcgan import data
from conftest import SAMPLE, copy_faces


def test_bundled_sample_gives_full_batches_in_unit_range():
    dataset, folder = data.make_dataset(SAMPLE, image_size=32, batch_size=64, seed=0)
    assert folder.images == 1000 and folder.skipped == ()
    batches = list(dataset)
    assert len(batches) == 1000 // 64 == dataset.cardinality()
    batch = batches[0].numpy()
    assert batch.shape == (64, 32, 32, 3) and batch.dtype == np.float32
    assert batch.min() >= -1.0 and batch.max() <= 1.0 and batch.std() > 0.2


def test_batches_are_reshuffled_every_epoch():
    dataset, _ = data.make_dataset(SAMPLE, image_size=32, batch_size=64, seed=0)
    first, second = (next(iter(dataset)).numpy() for _ in range(2))
    assert not np.array_equal(first, second)


@pytest.fixture
def mixed_folder(tmp_path):
    """Real faces plus grayscale, RGBA, WebP, non-square, corrupt and truncated files, some in a subfolder."""
    folder = copy_faces(tmp_path / "mixed", 20)
    nested = folder / "nested"
    nested.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (50, 70), dtype=np.uint8), "L").save(nested / "gray.png")
    Image.fromarray(rng.integers(0, 255, (40, 40, 4), dtype=np.uint8), "RGBA").save(nested / "rgba.png")
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(nested / "face.webp")
    (folder / "corrupt.jpg").write_bytes(b"this is not a jpeg")
    (nested / "truncated.PNG").write_bytes((SAMPLE / "000001.png").read_bytes()[:300])
    (folder / "notes.txt").write_text("not an image")
    Image.fromarray(rng.integers(0, 255, (1, 1, 3), dtype=np.uint8)).save(folder / "dot.png")
    Image.fromarray(rng.integers(0, 255, (15, 200, 3), dtype=np.uint8)).save(nested / "strip.png")  # 15 px tall
    Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(nested / "small.png")  # just enough
    return folder


def test_unreadable_files_are_skipped_and_named(mixed_folder):
    dataset, folder = data.make_dataset(mixed_folder, image_size=32, batch_size=4, seed=0)
    assert folder.images == 24
    assert sorted(folder.skipped) == ["corrupt.jpg", "dot.png", "nested/strip.png", "nested/truncated.PNG"]
    assert "skipped 4 unreadable or tiny (under 16 px) file(s)" in folder.describe()
    images = np.concatenate([batch.numpy() for batch in dataset])
    assert images.shape == (24, 32, 32, 3)  # 24 images: six full batches of 4
    assert images.min() >= -1.0 and images.max() <= 1.0  # the generator's tanh range
    assert images.min() < -0.5 and images.max() > 0.5  # and spread over it, not squeezed


def test_grayscale_and_rgba_become_rgb(mixed_folder):
    gray = data.decode_image(tf.constant(str(mixed_folder / "nested" / "gray.png")), 16).numpy()
    rgba = data.decode_image(tf.constant(str(mixed_folder / "nested" / "rgba.png")), 16).numpy()
    webp = data.decode_image(tf.constant(str(mixed_folder / "nested" / "face.webp")), 16).numpy()
    assert gray.shape == rgba.shape == webp.shape == (16, 16, 3)
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])


def test_wide_image_is_centre_cropped_to_square(tmp_path):
    stripes = np.zeros((40, 120, 3), np.uint8)
    stripes[:, :40, 0] = 255  # red left third
    stripes[:, 40:80, 1] = 255  # green middle third: the centred square
    stripes[:, 80:, 2] = 255  # blue right third
    Image.fromarray(stripes).save(tmp_path / "wide.png")
    image = data.decode_image(tf.constant(str(tmp_path / "wide.png")), 20).numpy()
    assert image.shape == (20, 20, 3)
    assert np.all(image[..., 1] == 255) and np.all(image[..., [0, 2]] == 0)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(data.DataError, match=f"{tmp_path / 'nowhere'} does not exist"):
        data.make_dataset(tmp_path / "nowhere", 32, 16)


def test_folder_without_images_is_a_clear_error(tmp_path):
    (tmp_path / "readme.txt").write_text("no faces here")
    with pytest.raises(data.DataError, match=f"no images in {tmp_path}"):
        data.make_dataset(tmp_path, 32, 16)


def test_folder_of_only_corrupt_files_is_a_clear_error(tmp_path):
    (tmp_path / "a.png").write_bytes(b"garbage")
    with pytest.raises(data.DataError, match="could be decoded"):
        data.make_dataset(tmp_path, 32, 16)


def test_fewer_images_than_one_batch_is_a_clear_error(faces):
    with pytest.raises(data.DataError, match="fewer than the 64 of one training step.*--batch-size"):
        data.make_dataset(faces, 32, 64)


def test_a_set_too_big_for_memory_is_decoded_once_into_a_file_and_batched_from_it(mixed_folder, tmp_path, monkeypatch):
    in_memory, folder = data.load_images(mixed_folder, 32)
    monkeypatch.setattr(data, "available_memory", lambda: 0)  # nothing fits in memory
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    from_file, folder_from_file = data.load_images(mixed_folder, 32)
    assert isinstance(from_file, np.memmap) and not from_file.flags.writeable
    assert folder_from_file == folder and folder.skipped  # the same images found, the same files skipped
    np.testing.assert_array_equal(from_file, in_memory.numpy())
    assert len(list((tmp_path / "cache").glob("*-32px.npy"))) == 1

    def no_decoding(*args):
        raise AssertionError("decoded again")

    monkeypatch.setattr(data, "decode_image", no_decoding)  # a later run reads the file
    again, _ = data.load_images(mixed_folder, 32)
    np.testing.assert_array_equal(again, in_memory.numpy())
    batches = [data.training_stream(images, 2, seed=3, first_step=1).take(3) for images in (in_memory, again)]
    for batch, batch_from_file in zip(*batches):
        assert batch.dtype == batch_from_file.dtype == tf.uint8 and batch.shape == batch_from_file.shape == (2, 32, 32, 3)
        np.testing.assert_array_equal(batch, batch_from_file)


def test_mirror_flips_each_face_by_a_coin_that_a_resumed_stream_draws_again():
    images = tf.Variable(np.random.default_rng(0).integers(0, 256, (24, 8, 8, 3), dtype=np.uint8))
    plain = [batch.numpy() for batch in data.training_stream(images, 4, seed=3).take(12)]  # 6 steps an epoch
    mirrored = [batch.numpy() for batch in data.training_stream(images, 4, seed=3, mirror=True).take(12)]
    flipped = []
    for faces, drawn in zip(plain, mirrored):
        for face, seen in zip(faces, drawn):
            assert np.array_equal(seen, face) or np.array_equal(seen, face[:, ::-1])  # the same face, either way
            flipped.append(not np.array_equal(seen, face))
    assert 0.25 < np.mean(flipped) < 0.75
    resumed = data.training_stream(images, 4, seed=3, first_epoch=1, first_step=2, mirror=True).take(4)
    for drawn, again in zip(mirrored[8:], resumed):
        np.testing.assert_array_equal(again, drawn)
    other_seed = data.mirrored(data.training_stream(images, 4, seed=3).take(12), seed=4)
    assert [not np.array_equal(a, b) for faces, drawn in zip(plain, other_seed) for a, b in zip(faces, drawn)] != flipped
