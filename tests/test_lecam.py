"""LeCam regularisation: its anchors and penalty against a NumPy transcription, its place in D's loss, and a run
that trains, checkpoints its anchors and resumes with them."""

import numpy as np
import pytest
import tensorflow as tf

from anime_dcgan import losses
from anime_dcgan.commands import fit
from anime_dcgan.config import TrainConfig
from anime_dcgan.lecam import LeCamPenalty
from conftest import TINY_FLAGS, first_batch, resumed_as_trained, tiny_gan


def reference(steps, weight, decay):
    """The penalty of each step for (real outputs, fake outputs) pairs, with anchors set by the first step."""
    real_anchor = fake_anchor = None
    penalties = []
    for real, fake in steps:
        if real_anchor is None:
            real_anchor, fake_anchor = real.mean(), fake.mean()
        else:
            real_anchor = decay * real_anchor + (1 - decay) * real.mean()
            fake_anchor = decay * fake_anchor + (1 - decay) * fake.mean()
        penalty = np.mean(np.maximum(real - fake_anchor, 0) ** 2) + np.mean(np.maximum(real_anchor - fake, 0) ** 2)
        penalties.append(weight * penalty)
    return penalties, (real_anchor, fake_anchor)


def test_penalty_and_anchors_follow_the_closed_form_past_the_first_steps():
    rng = np.random.default_rng(0)
    steps = [(rng.normal(1.0, 1.0, (8, 1)), rng.normal(-1.0, 1.0, (8, 1))) for _ in range(5)]
    expected, anchors = reference(steps, weight=0.3, decay=0.9)
    penalty = LeCamPenalty(0.3, decay=0.9)
    for (real, fake), value in zip(steps, expected):
        critique = losses.Critique(None, None, None, tf.constant(real, "float32"), tf.constant(fake, "float32"), None)
        assert float(penalty(critique)) == pytest.approx(value, rel=1e-5)
    assert [float(anchor) for anchor in penalty.anchors] == pytest.approx(anchors, rel=1e-5)
    assert int(penalty.updates) == 5
    assert expected[-1] > 0  # outputs that overlap their anchors: the test can tell a wrong side or sign


def test_lecam_adds_its_weighted_penalty_to_d_loss_and_is_tracked():
    batch = first_batch(16)
    plain = tiny_gan().train_step(batch)
    logs = tiny_gan(penalties=[LeCamPenalty(5.0)]).train_step(batch)
    assert float(logs["lecam"]) > 0
    assert float(logs["d_loss"]) == pytest.approx(float(plain["d_loss"]) + 5.0 * float(logs["lecam"]), rel=1e-4)


def test_the_option_turns_it_on():
    kinds = lambda config: [type(p) for p in losses.build(config.resolved()).penalties]  # noqa: E731
    assert LeCamPenalty in kinds(TrainConfig(lecam=0.1))
    assert LeCamPenalty not in kinds(TrainConfig())


def test_a_run_checkpoints_its_anchors_and_resumes_with_them(faces, tmp_path, built, request):
    run = tmp_path / "run"
    flags = ["--data", str(faces), "--out", str(run), *TINY_FLAGS, "--lecam", "0.1", "--verbose", "0"]
    assert fit.main([*flags, "--epochs", "1"]) == 0
    assert "lecam" in (run / "history.csv").read_text().splitlines()[0]
    resumed = resumed_as_trained(request, [*flags, "--epochs", "2"], built[-1])
    assert resumed.epoch == 1
    (penalty,) = [p for p in resumed.gan.gan_loss.penalties if isinstance(p, LeCamPenalty)]
    assert int(penalty.updates) == 3  # three D steps of 16 faces
    assert all(float(anchor) != 0.0 for anchor in penalty.anchors)
