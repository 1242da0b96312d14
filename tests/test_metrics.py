"""FID and KID: distances against NumPy references, the Inception port's weights and preprocessing, feature caching,
and the evaluate command. Checks against the real network run only when ANIME_DCGAN_INCEPTION names its weights."""

from __future__ import annotations

import io
import os
import sys
import tarfile
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from anime_dcgan import metrics
from anime_dcgan.metrics import distances
from anime_dcgan.metrics import inception as inception_network
from anime_dcgan.metrics import features as feature_cache
from anime_dcgan.commands import evaluate
from anime_dcgan.sampling import generate_faces
from conftest import SAMPLE, copy_faces

# pool_3 features of the first 8 sample faces (000000.png ... 000007.png) by the reference tool's PyTorch network
# (../shared/tools/fid/fid.py, features_of_batch on the 64 px images).
REFERENCE_FEATURES = Path(__file__).parent / "data" / "inception_reference_features.npy"
needs_real_weights = pytest.mark.skipif(
    not os.environ.get(inception_network.INCEPTION_ENV),
    reason=f"set {inception_network.INCEPTION_ENV} to the Inception weights (.tgz, .pb or .npz) to compare with the reference",
)
MARKED_KERNEL = "mixed_7/tower_1/conv_3/conv2d_params"  # (7, 1, 192, 192)
MARKED_MEAN = "mixed_10/tower_2/conv/batchnorm/moving_mean"  # (192,)


# ----------------------------------------------------------------------------- distances


def random_features(rng, n, d, shift=0.0):
    return np.abs(rng.normal(size=(n, d))) * rng.uniform(0.2, 1.0, size=d) + shift


def trace_sqrt_product(sigma1, sigma2):
    """tr sqrtm(sigma1 sigma2) from the eigenvalues of the (non-symmetric) product itself."""
    eigenvalues = np.linalg.eigvals(sigma1 @ sigma2)
    return np.sqrt(np.clip(eigenvalues.real, 0, None)).sum()


def test_frechet_distance_of_diagonal_covariances_has_the_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2, var1, var2 = rng.normal(size=6), rng.normal(size=6), rng.uniform(0, 2, 6), rng.uniform(0, 2, 6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    assert metrics.frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("n, d", [(300, 64), (40, 64), (20, 120)])  # full rank, then fewer samples than dimensions
def test_frechet_distance_matches_an_eigenvalue_reference(n, d):
    rng = np.random.default_rng(n + d)
    a, b = random_features(rng, n, d), random_features(rng, n, d, shift=0.1)
    mu1, sigma1, mu2, sigma2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    diff = mu1 - mu2
    expected = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt_product(sigma1, sigma2)
    assert metrics.frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-6)
    assert abs(metrics.frechet_distance(mu1, sigma1, mu1, sigma1)) < 1e-6 * np.trace(sigma1)


@pytest.mark.parametrize("n_real, n_fake, d", [(60, 50, 16), (20, 30, 120), (30, 20, 120)])
def test_features_frechet_distance_equals_the_distance_of_the_statistics(n_real, n_fake, d):
    rng = np.random.default_rng(n_real + d)
    real, fake = random_features(rng, n_real, d), random_features(rng, n_fake, d, shift=0.2)
    stats = [(f.mean(0), np.cov(f, rowvar=False)) for f in (real, fake)]
    expected = metrics.frechet_distance(*stats[0], *stats[1])
    assert metrics.features_frechet_distance(real, fake) == pytest.approx(expected, rel=1e-7)  # sqrt of round-off
    assert abs(metrics.features_frechet_distance(real, real)) < 1e-9 * expected


def test_batched_statistics_equal_one_shot_statistics():
    features = random_features(np.random.default_rng(1), 20, 16).astype(np.float32)
    stats = metrics.FeatureStatistics()
    for batch in (features[:7], features[7:8], features[8:]):
        stats.update(batch)
    assert stats.count == 20
    np.testing.assert_allclose(stats.mean, features.astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats.covariance, np.cov(features.astype(np.float64), rowvar=False), rtol=1e-10)


def kid_by_loops(real, fake, subsets, subset_size, seed):
    """KID written out element by element: fake rows, then real rows, drawn per subset from RandomState(seed)."""
    d, m = real.shape[1], min(subset_size, len(real), len(fake))
    k = lambda a, b: (float(np.dot(a, b)) / d + 1) ** 3  # noqa: E731
    rng, values = np.random.RandomState(seed), []
    for _ in range(subsets):
        x, y = fake[rng.choice(len(fake), m, replace=False)], real[rng.choice(len(real), m, replace=False)]
        within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
        across = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
        values.append(within / (m * (m - 1)) - 2 * across / m**2)
    return np.mean(values), np.std(values)


@pytest.mark.parametrize("precompute_limit", [distances.KID_PRECOMPUTE_LIMIT, 0])  # kernels once, or per subset
def test_kid_matches_an_element_by_element_reference(monkeypatch, precompute_limit):
    monkeypatch.setattr(distances, "KID_PRECOMPUTE_LIMIT", precompute_limit)
    rng = np.random.default_rng(2)
    real, fake = random_features(rng, 14, 5), random_features(rng, 11, 5, shift=0.3)
    expected = kid_by_loops(real, fake, subsets=5, subset_size=8, seed=3)
    actual = metrics.kernel_inception_distance(real, fake, subsets=5, subset_size=8, seed=3)
    np.testing.assert_allclose(actual, expected, rtol=1e-10)
    assert actual[0] > 0 and actual[1] > 0
    # the subset size is capped by the smaller set: 11 fake rows, so every subset holds all of them
    np.testing.assert_allclose(
        metrics.kernel_inception_distance(real, fake, subsets=3, seed=4),
        kid_by_loops(real, fake, subsets=3, subset_size=1000, seed=4),
        rtol=1e-10,
    )


def test_fid_kid_reports_all_three_numbers_and_refuses_a_single_image():
    rng = np.random.default_rng(5)
    real, fake = random_features(rng, 30, 8), random_features(rng, 25, 8, shift=0.5)
    scores = metrics.fid_kid(real, fake)
    assert set(scores) == {"fid", "kid", "kid_std"} and scores["fid"] > 0 and scores["kid"] > 0
    assert scores["kid"] == pytest.approx(metrics.kernel_inception_distance(real, fake)[0])
    with pytest.raises(metrics.MetricsError, match="at least 2"):
        metrics.fid_kid(real, fake[:1])
    with pytest.raises(metrics.MetricsError, match="feature sizes differ"):
        metrics.fid_kid(real, fake[:, :4])


# ----------------------------------------------------------------------------- the network and its weights


def test_the_network_reads_every_weight_node_of_the_graph():
    shapes = metrics.expected_weight_shapes()
    assert len(shapes) == 94 * 4  # 94 convolutions, each with a kernel and three batch-norm vectors
    assert sum(int(np.prod(s)) for s in shapes.values()) == 21_802_784  # as the reference's export counts them
    assert list(shapes)[:2] == ["conv/conv2d_params", "conv/batchnorm/beta"]
    assert shapes["conv/conv2d_params"] == (3, 3, 3, 32)
    assert shapes[MARKED_KERNEL] == (7, 1, 192, 192)
    assert shapes["mixed_9/conv/conv2d_params"] == (1, 1, 1280, 320)
    assert shapes["mixed_10/tower_1/mixed/conv_1/conv2d_params"] == (3, 1, 384, 384)
    assert shapes["mixed_10/tower_2/conv/conv2d_params"] == (1, 1, 2048, 192)


@pytest.fixture(scope="module")
def weight_files(tmp_path_factory) -> dict[str, Path]:
    """The same synthetic weights (zeros, except two marked nodes) as a .pb, a .tgz holding it, and an .npz."""
    weights = {key: np.zeros(shape, np.float32) for key, shape in metrics.expected_weight_shapes().items()}
    weights[MARKED_KERNEL] = np.arange(weights[MARKED_KERNEL].size, dtype=np.float32).reshape(7, 1, 192, 192) / 1e5
    weights[MARKED_MEAN] = np.linspace(-1, 1, 192, dtype=np.float32)
    decoys = {"conv/batchnorm/gamma": np.ones(32, np.float32), "softmax/weights": np.ones((2048, 8), np.float32)}
    graph = tf.compat.v1.GraphDef()
    for name, array in {**weights, **decoys}.items():
        node = graph.node.add(name=name, op="Const")
        node.attr["dtype"].type = tf.float32.as_datatype_enum
        node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(array))
    root = tmp_path_factory.mktemp("weights")
    files = {"pb": root / inception_network.GRAPH_FILE, "tgz": root / "inception-2015-12-05.tgz", "npz": root / "weights.npz"}
    files["pb"].write_bytes(graph.SerializeToString())
    with tarfile.open(files["tgz"], "w:gz", compresslevel=1) as archive:
        labels = tarfile.TarInfo("imagenet_2012_challenge_label_map_proto.pbtxt")
        labels.size = 5
        archive.addfile(labels, io.BytesIO(b"dummy"))
        archive.add(files["pb"], arcname=inception_network.GRAPH_FILE)
    np.savez(files["npz"], **weights)
    return files


@pytest.mark.parametrize("kind", ["pb", "tgz", "npz"])
def test_each_weight_node_lands_in_its_own_layer(weight_files, kind):
    model = metrics.load_inception(weight_files[kind])
    marked = np.arange(7 * 192 * 192, dtype=np.float32).reshape(7, 1, 192, 192) / 1e5
    np.testing.assert_array_equal(model.get_layer("mixed_7.tower_1.conv_3").kernel.numpy(), marked)
    np.testing.assert_array_equal(model.get_layer("mixed_7.tower_1.conv_2").kernel.numpy(), 0)  # its neighbour
    norm = model.get_layer("mixed_10.tower_2.conv.batchnorm")
    np.testing.assert_array_equal(norm.moving_mean.numpy(), np.linspace(-1, 1, 192, dtype=np.float32))
    assert norm.gamma is None and norm.epsilon == 0.001  # no scale: the graph's gamma node is not used
    assert model.output_shape == (None, 2048)


def test_the_graphs_pooling_quirks_are_kept(weight_files):
    model = metrics.load_inception(weight_files["npz"])
    assert isinstance(model.get_layer("mixed_9.tower_2.pool"), keras.layers.AveragePooling2D)
    assert isinstance(model.get_layer("mixed_10.tower_2.pool"), keras.layers.MaxPooling2D)  # max, unlike mixed_9
    assert model.get_layer("mixed_3.pool").strides == (2, 2) and model.get_layer("mixed_3.pool").padding == "valid"
    assert model.get_layer("mixed_3.conv").padding == "valid"
    assert model.get_layer("mixed_4.tower.conv_1").padding == "same"


def tf1_bilinear(image, size):
    """TF1 resize_bilinear (align_corners=False, half_pixel_centers=False), pixel by pixel."""
    height, width, _ = image.shape
    out = np.empty((size, size, image.shape[2]))
    for i in range(size):
        y = i * height / size
        y0, dy = int(y), y - int(y)
        y1 = min(y0 + 1, height - 1)
        for j in range(size):
            x = j * width / size
            x0, dx = int(x), x - int(x)
            x1 = min(x0 + 1, width - 1)
            top = image[y0, x0] * (1 - dx) + image[y0, x1] * dx
            bottom = image[y1, x0] * (1 - dx) + image[y1, x1] * dx
            out[i, j] = top * (1 - dy) + bottom * dy
    return out


def test_preprocessing_is_tf1_bilinear_resize_then_centred_scaling():
    image = np.random.default_rng(6).uniform(0, 255, (7, 5, 3)).astype(np.float32)
    actual = inception_network.Tf1Preprocess()(image[None]).numpy()[0]
    assert actual.shape == (299, 299, 3)
    np.testing.assert_allclose(actual, (tf1_bilinear(image, 299) - 128) / 128, atol=1e-5)


def write_weights(path: Path, weights: dict[str, np.ndarray]) -> Path:
    np.savez(path, **weights)
    return path


def test_a_misshapen_node_is_named(tmp_path):
    weights = {key: np.zeros(shape, np.float32) for key, shape in metrics.expected_weight_shapes().items()}
    weights["mixed_6/tower_1/conv_2/conv2d_params"] = np.zeros((7, 1, 160, 160), np.float32)  # should be (1, 7, ...)
    with pytest.raises(metrics.MetricsError, match=r"node mixed_6/tower_1/conv_2/conv2d_params has shape \(7, 1,"):
        metrics.load_inception(write_weights(tmp_path / "w.npz", weights))


def test_the_first_missing_node_is_named(tmp_path):
    graph = tf.compat.v1.GraphDef()
    node = graph.node.add(name="conv/conv2d_params", op="Const")
    node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.zeros((3, 3, 3, 32), np.float32)))
    (tmp_path / "partial.pb").write_bytes(graph.SerializeToString())
    with pytest.raises(metrics.MetricsError, match="lack node conv/batchnorm/beta"):
        metrics.load_inception(tmp_path / "partial.pb")


@pytest.mark.parametrize("content", [None, b"not a graph, an archive or an npz"])
def test_a_missing_or_foreign_weights_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "weights.pb"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(metrics.MetricsError, match="--inception-weights FILE") as error:
        metrics.load_inception(path)
    assert "\n" not in str(error.value)


def test_no_weights_and_no_network_says_how_to_pass_them(monkeypatch, tmp_path):
    monkeypatch.delenv(inception_network.INCEPTION_ENV, raising=False)
    monkeypatch.setattr(inception_network, "INCEPTION_URL", "http://127.0.0.1:9/inception-2015-12-05.tgz")  # refused at once
    monkeypatch.setattr(inception_network, "CACHE_ROOT", tmp_path)
    with pytest.raises(metrics.MetricsError, match=f"--inception-weights FILE.*{inception_network.INCEPTION_ENV}") as error:
        metrics.load_inception()
    assert "\n" not in str(error.value)


# ----------------------------------------------------------------------------- features, with a stand-in network


def mean_colour_model() -> keras.Model:
    """A stand-in for the Inception network: each image's mean colour."""
    images = keras.Input((None, None, 3))
    return keras.Model(images, keras.layers.GlobalAveragePooling2D()(images))


def test_folder_features_are_decoded_as_for_training_and_cached(monkeypatch, tmp_path):
    monkeypatch.setattr(feature_cache, "FEATURE_CACHE", tmp_path / "cache")
    folder = copy_faces(tmp_path / "faces", 30)  # more than one batch
    model = mean_colour_model()
    features = metrics.folder_features(model, folder, 64)
    pixels = np.stack([keras.utils.img_to_array(keras.utils.load_img(p)) for p in sorted(folder.glob("*.png"))])
    np.testing.assert_allclose(features, pixels.mean(axis=(1, 2)), rtol=1e-5)
    assert len(list((tmp_path / "cache").glob("faces-64px-*.npy"))) == 1

    def no_extraction(*args, **kwargs):
        raise AssertionError("features computed again")

    with monkeypatch.context() as patch:
        patch.setattr(feature_cache, "_extract", no_extraction)
        np.testing.assert_array_equal(metrics.folder_features(model, folder, 64), features)
    os.utime(folder / "000003.png", ns=(1, 10**19))  # a newer file: computed again
    np.testing.assert_array_equal(metrics.folder_features(model, folder, 64), features)
    assert len(list((tmp_path / "cache").glob("faces-64px-*.npy"))) == 2
    assert metrics.folder_features(model, folder, 32, cache=False).shape == (30, 3)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2


def test_generator_features_use_the_faces_that_generate_draws():
    keras.utils.set_random_seed(0)
    generator = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8 * 8 * 3, activation="tanh"), keras.layers.Reshape((8, 8, 3))]
    )
    model = mean_colour_model()
    features = metrics.generator_features(model, generator, 30, seed=7)
    faces = generate_faces(generator, 30, seed=7)
    np.testing.assert_allclose(features, faces.astype(np.float32).mean(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(metrics.compute_features(model, [faces[:13], faces[13:]]), features, rtol=1e-6)


# ----------------------------------------------------------------------------- the evaluate command


def test_help_says_that_fid_depends_on_the_count(capsys):
    with pytest.raises(SystemExit) as exit_:
        evaluate.main(["--help"])
    assert exit_.value.code == 0
    assert "FID depends on" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("problem", ["missing data", "missing images", "empty data", "damaged model"])
def test_bad_inputs_are_one_line_errors(tmp_path, capsys, problem):
    faces = copy_faces(tmp_path / "faces", 3)
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    data, fake = {
        "missing data": (tmp_path / "nowhere", ["--images", str(faces)]),
        "missing images": (faces, ["--images", str(tmp_path / "nowhere")]),
        "empty data": (tmp_path / "empty", ["--images", str(faces)]),
        "damaged model": (faces, ["--model", str(tmp_path / "bad.keras")]),
    }[problem]
    assert evaluate.main(["--data", str(data), *fake]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error
    expected = {"missing data": "--data", "missing images": "--images", "empty data": "no images"}
    assert expected.get(problem, "is damaged or not a saved Keras model") in error


def test_unavailable_weights_are_a_one_line_error(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(inception_network.INCEPTION_ENV, raising=False)
    monkeypatch.setattr(inception_network, "INCEPTION_URL", "http://127.0.0.1:9/inception-2015-12-05.tgz")
    monkeypatch.setattr(inception_network, "CACHE_ROOT", tmp_path)
    faces = copy_faces(tmp_path / "faces", 3)
    assert evaluate.main(["--data", str(faces), "--images", str(faces)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: could not download") and "\n" not in error
    assert "--inception-weights FILE" in error and inception_network.INCEPTION_ENV in error


# ----------------------------------------------------------------------------- the real network


@pytest.fixture(scope="module")
def inception() -> keras.Model:
    return metrics.load_inception()  # from $ANIME_DCGAN_INCEPTION


@needs_real_weights
def test_real_weights_have_exactly_the_expected_nodes():
    weights = metrics.read_inception_weights(os.environ[inception_network.INCEPTION_ENV])
    assert {key: array.shape for key, array in weights.items()} == metrics.expected_weight_shapes()


@needs_real_weights
def test_features_equal_the_reference_networks(inception, monkeypatch, tmp_path):
    monkeypatch.setattr(feature_cache, "FEATURE_CACHE", tmp_path / "cache")
    faces = copy_faces(tmp_path / "faces", 8)
    features = metrics.folder_features(inception, faces, 64)
    assert features.shape == (8, 2048) and features.dtype == np.float32 and features.min() >= 0  # post-ReLU means
    np.testing.assert_allclose(features, np.load(REFERENCE_FEATURES), rtol=1e-4, atol=2e-4)
    assert abs(metrics.fid_kid(features, features)["fid"]) < 1e-3


@needs_real_weights
def test_evaluate_prints_fid_and_kid(inception, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(metrics, "load_inception", lambda weights=None: inception)
    real, fake = copy_faces(tmp_path / "real", 8), tmp_path / "fake"
    fake.mkdir()
    for path in sorted(SAMPLE.glob("*.png"))[8:16]:
        (fake / path.name).symlink_to(path)
    assert evaluate.main(["--data", str(real), "--images", str(fake), "--no-cache"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    expected = metrics.fid_kid(*(metrics.folder_features(inception, f, 64, cache=False) for f in (real, fake)))
    assert lines[-2] == f"fid={expected['fid']:.4f}"
    assert lines[-1].startswith(f"kid={expected['kid']:.6f} ± ")


def test_feature_progress_is_one_plain_line_in_a_log_and_redrawn_on_a_terminal(capsys, monkeypatch):
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.GlobalAveragePooling2D()])
    images = np.zeros((40, 4, 4, 3), np.uint8)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)  # imported by the notebook tests' worker: no kernel
    metrics.compute_features(model, images, progress=True)  # captured: not a terminal, as in a log file
    out = capsys.readouterr().out
    assert out.strip().startswith("40/40") and out.count("\n") == 1
    assert "\x1b" not in out and "\b" not in out
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    metrics.compute_features(model, images, progress=True)
    assert "\x1b[" in capsys.readouterr().out  # the coloured bar, redrawn
