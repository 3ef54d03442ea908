"""The `sycolab` command line. Heavy imports happen inside commands so `--help` is instant."""

from __future__ import annotations

import importlib
import pkgutil

import typer

app = typer.Typer(
    help="Measure and reduce sycophancy in large language models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Measure and reduce sycophancy in large language models."""
    from sycolab.cli.log_output import configure_cli_logging

    configure_cli_logging()


def _register_commands() -> None:
    """Each `sycolab/cli/*_cmd.py` module adds its commands through `register(app)`.

    Command modules import only typer at module level, so discovery keeps `--help` instant.
    """
    import sycolab.cli as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.endswith("_cmd"):
            importlib.import_module(f"sycolab.cli.{info.name}").register(app)


_register_commands()


def main() -> None:
    """Console entry point."""
    app(prog_name="sycolab")


if __name__ == "__main__":  # pragma: no cover
    main()
