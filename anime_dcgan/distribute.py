"""Which devices train, with TensorFlow's tf.distribute: the strategy for --strategy, and the few things a training
step does differently when its batch is split across replicas.

Under a strategy with N replicas each replica runs the step on 1/N of the global batch. To give the update one
device would give on the whole batch, every random draw over the batch (noise, augmentation, interpolation) is made
for the global batch and each replica keeps its own rows; every loss is divided by N before its gradient, as the
optimizer sums the replicas' gradients; and decisions that skip an update are taken on values all replicas share.
With one replica (the default strategy) each of these is the plain single-device operation.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable

import tensorflow as tf

from anime_dcgan.config import ConfigError


def tpu_attached() -> bool:
    """Whether this machine has a TPU to connect to: a Colab or Cloud TPU named in the environment, or a TPU VM's
    local chips. Checked without network calls."""
    return bool(os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME") or glob.glob("/dev/accel*"))


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The tf.distribute strategy for --strategy `name`. "auto" takes a TPU when one is attached, all GPUs when there
    are several, and the default (one device) otherwise. Call before anything creates TensorFlow variables."""
    if name == "auto":
        name = "tpu" if tpu_attached() else "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "default"
    if name == "tpu":
        return tpu_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":  # reads TF_CONFIG: {"cluster": {"worker": ["host:port", ...]}, "task": {...}}
        if not os.environ.get("TF_CONFIG"):
            raise ConfigError(
                "--strategy multi-worker needs TF_CONFIG, naming every machine and which one this is, set on each "
                "of them (see the README's multi-machine example); on one machine use --strategy auto"
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def tpu_strategy() -> tf.distribute.TPUStrategy:
    """Connect to the attached TPU (a TPU VM's own chips, or the one TPU_NAME or COLAB_TPU_ADDR names) and start it."""
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver("local" if glob.glob("/dev/accel*") else None)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise ConfigError(
            f"--strategy tpu found no TPU to use ({str(error).splitlines()[0]}): on Colab pick a TPU runtime, on a "
            "Cloud TPU set TPU_NAME, or pass --strategy auto"
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def describe(strategy: tf.distribute.Strategy) -> str:
    """The strategy in words for the run's first lines: "" for one device, else its name and replica count."""
    if is_multi_worker(strategy):
        kind = "multi-worker"
    elif strategy.num_replicas_in_sync == 1:
        return ""
    else:
        kind = "TPU" if isinstance(strategy, tf.distribute.TPUStrategy) else "mirrored"
    return f"{kind} over {strategy.num_replicas_in_sync} replicas"


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run folder: always, except on the workers other than the chief (or worker 0
    when the cluster names no chief) of a multi-worker run."""
    if not is_multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()
    )


def replicas() -> int:
    """How many replicas share the step being traced (1 outside a strategy)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def local_rows(draw: Callable[[int], tf.Tensor], rows) -> tf.Tensor:
    """`draw(n)` makes n rows of random values; this replica's `rows` of the global batch's draw, so that N replicas
    together use what one device would draw for the whole batch (each replica draws with the same seed)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return draw(rows)
    start = context.replica_id_in_sync_group * rows
    return draw(rows * context.num_replicas_in_sync)[start : start + rows]


def global_mean(value: tf.Tensor) -> tf.Tensor:
    """The mean of a per-replica value over all replicas (the value itself on one device)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.MEAN, value)


def step_results(results: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """A train_step's scalar results, ready for Keras to reduce over the replicas: Keras 3 reduces a multi-worker
    step's results along axis 0, which scalars lack (tensorflow/tensorflow#72388), so there they travel with shape
    [1] and come out as scalars."""
    if not is_multi_worker(tf.distribute.get_strategy()):
        return results
    return {name: tf.reshape(value, [1]) for name, value in results.items()}


def apply_if(condition: tf.Tensor, apply: Callable[[list], None], gradients: list) -> None:
    """`apply(gradients)` where `condition` (the same on every replica) holds.

    A branch that calls an optimizer cannot be taken inside one replica when the strategy synchronises through
    `merge_call` (MirroredStrategy on CPUs, multi-worker): the branch is then chosen once, across replicas, and run
    in each, as Keras's LossScaleOptimizer does.
    """

    def hold():
        return None

    if tf.__internal__.distribute.strategy_supports_no_merge_call():
        tf.cond(condition, lambda: apply(gradients), hold)
        return

    def across_replicas(strategy, condition, gradients):
        decided = strategy.experimental_local_results(condition)[0]
        tf.cond(decided, lambda: strategy.extended.call_for_each_replica(apply, args=(gradients,)), hold)

    tf.distribute.get_replica_context().merge_call(across_replicas, args=(condition, gradients))
