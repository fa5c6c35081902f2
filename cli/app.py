"""The `sohoa` command."""
import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def root() -> None:
    """sohoa — số hóa hồ sơ thủ tục hành chính."""


def main() -> None:
    app()
