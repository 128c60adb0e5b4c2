"""One ``main`` for every node: init, spin (or run to completion), and shut down cleanly on Ctrl-C."""

from __future__ import annotations

from typing import Callable


def run_node(make_node: Callable, threads: Callable[[object], int] | int = 1, task: Callable | None = None,
             args=None) -> None:
    """Build the node and spin it with ``threads`` executor threads (a number, or a function of the node);
    with ``task``, call ``task(node)`` instead of spinning (a node that does a job and exits)."""
    import rclpy
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor

    rclpy.init(args=args)
    node = make_node()
    try:
        if task is not None:
            task(node)
        else:
            n = threads(node) if callable(threads) else threads
            executor = MultiThreadedExecutor(num_threads=n) if n > 1 else SingleThreadedExecutor()
            executor.add_node(node)
            executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
