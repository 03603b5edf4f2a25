"""``drugwatch train CONFIG``: fit one detector of an experiment and save ``model-best/``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from drugwatch.cli._app import app
from drugwatch.cli.common import plain_progress

_console = Console(stderr=True, soft_wrap=True)

_EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.command("train", context_settings=_EXTRA)
def train(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="Experiment TOML (see experiments/).", exists=True, dir_okay=False),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Run directory (default: runs/<experiment name>-train)."
    ),
    overrides: list[str] = typer.Option(
        [],
        "--set",
        help="Dotted override, e.g. --set train.seed=3 (repeatable). Extra args like --train.column ours work too.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress messages."),
) -> None:
    """Fit the config's train.column detector on all its data; write OUTPUT/model-best/."""
    from drugwatch.evaluation.config import ConfigError, extra_args_to_overrides, load_config
    from drugwatch.evaluation.experiment import run_training
    from drugwatch.io.base import ReaderError
    from drugwatch.models.base import ModelLoadError

    try:
        cfg = load_config(config, [*overrides, *extra_args_to_overrides(ctx.args)])
        out = output or Path("runs") / f"{cfg.experiment.name}-train"
        model_dir = run_training(cfg, out, progress=None if quiet else plain_progress)
    except (ConfigError, ReaderError, ModelLoadError) as exc:
        _console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except (ValueError, TypeError) as exc:
        # A detector refusing its data (one class only, no usable image, ...): say why, without a traceback.
        _console.print(f"[red]error:[/red] {type(exc).__name__}: {escape(str(exc))}")
        raise typer.Exit(2) from None
    typer.echo(str(model_dir))
