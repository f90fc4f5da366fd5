"""The Dask worker plugin that limits TensorFlow's threads (imported only with Dask)."""

from distributed import WorkerPlugin

from curves.executors import limit_tf_threads


class TFThreadsPlugin(WorkerPlugin):
    """Applies `limit_tf_threads(threads)` when each worker starts."""

    def __init__(self, threads: int) -> None:
        self.threads = threads

    def setup(self, worker) -> None:  # noqa: D102 - Dask's WorkerPlugin hook
        limit_tf_threads(self.threads)
