"""``drugwatch evaluate CONFIG``: cross-validate the detectors an experiment names."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from drugwatch.cli._app import app
from drugwatch.cli.common import plain_progress

_console = Console(stderr=True, soft_wrap=True)

_EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


def default_output(config_path: Path, name: str) -> Path:
    return Path("runs") / name


@app.command("evaluate", context_settings=_EXTRA)
def evaluate(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="Experiment TOML (see experiments/).", exists=True, dir_okay=False),
    output: Path | None = typer.Option(None, "--output", "-o", help="Run directory (default: runs/<experiment name>)."),
    overrides: list[str] = typer.Option(
        [],
        "--set",
        help="Dotted override, e.g. --set cv.n_splits=5 (repeatable). Extra args like --train.seed 3 work too.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-fold progress."),
    checkpoints: Path | None = typer.Option(
        None,
        "--checkpoints",
        help="Where each finished fold's predictions are saved and read back (default: RUN_DIR/folds).",
    ),
    fresh: bool = typer.Option(False, "--fresh", help="Refit every fold even where a matching checkpoint exists."),
    saved_only: bool = typer.Option(
        False,
        "--saved-only",
        help="Fit nothing: make the tables from the saved folds alone (partial cells say which folds they cover).",
    ),
) -> None:
    """Cross-validate every detector of CONFIG; write metrics.json and table.md to the run directory.

    Each finished fold is saved; running the same command again reuses the
    folds whose data, split and detector parameters are unchanged, so a long
    run can be interrupted and resumed, or spread over sittings with
    --set 'cv.folds=[0,1,2]'.
    """
    from drugwatch.evaluation.config import ConfigError, extra_args_to_overrides, load_config
    from drugwatch.evaluation.experiment import run_evaluation
    from drugwatch.io.base import ReaderError
    from drugwatch.models.base import ModelLoadError

    try:
        cfg = load_config(config, [*overrides, *extra_args_to_overrides(ctx.args)])
        out = output or default_output(config, cfg.experiment.name)
        run_evaluation(
            cfg,
            out,
            progress=None if quiet else plain_progress,
            checkpoint_dir=checkpoints,
            reuse_checkpoints=not fresh,
            fit_missing=not saved_only,
        )
    except (ConfigError, ReaderError, ModelLoadError) as exc:
        _console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except (ValueError, TypeError) as exc:
        # A detector refusing its data (one class only, no usable image, ...): say why, without a traceback.
        _console.print(f"[red]error:[/red] {type(exc).__name__}: {escape(str(exc))}")
        raise typer.Exit(2) from None
    typer.echo(str(out / "table.md"))
