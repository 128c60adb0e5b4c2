"""The ``actial`` command line. ``actial --help`` lists the stages; each has its own ``--help``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(
    help="actial-robot: posed PyBullet views -> viewpoint questions -> a spatially aware VLM -> ROS 2 robots.\n\n"
         "Start with `actial demo` (a scripted pick-and-place episode seen by every camera).",
    no_args_is_help=True, add_completion=False)
sim_app = typer.Typer(help="The simulated world: environments, cameras, episodes.", no_args_is_help=True)
app.add_typer(sim_app, name="sim")
console = Console()


@app.command()
def demo(out: Path = typer.Option(Path("outputs/demo"), help="Folder for the pictures and the episode record."),
         seed: int = typer.Option(0, help="Scene seed: same seed, same scene, same pictures."),
         size: int = typer.Option(160, help="Camera resolution in pixels (square).")):
    """Run a scripted pick-and-place episode and write a multi-view picture and animation of it."""
    from actial_robot.demo import run_scripted_episode

    with Progress(TextColumn("[bold]scripted episode"), BarColumn(), TextColumn("{task.completed} steps"),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("episode", total=None)
        rec = run_scripted_episode(seed, out, size=size, progress=lambda: bar.advance(task))
    table = Table(title="actial demo")
    table.add_column("what")
    table.add_column("result")
    table.add_row("target", rec.target)
    table.add_row("success", "yes" if rec.success else "NO")
    table.add_row("steps", str(rec.steps))
    table.add_row("multi-view picture", str(rec.picture))
    table.add_row("animation", str(rec.animation))
    table.add_row("camera poses", str(rec.views))
    console.print(table)
    if not rec.success:
        raise typer.Exit(1)


@sim_app.command("check")
def sim_check():
    """Run Gymnasium's env checker on every actial environment."""
    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    import sim_envs  # noqa: F401

    for env_id in ("actial/PickPlace-v0", "actial/ViewpointOrbit-v0"):
        env = gym.make(env_id, render_mode="rgb_array")
        try:
            check_env(env.unwrapped, skip_render_check=False)
            console.print(f"[green]ok[/green] {env_id}")
        finally:
            env.close()


if __name__ == "__main__":
    app()
