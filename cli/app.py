"""The `sohoa` command: a thin layer over the library."""
import inspect
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from . import doctor as doctor_lib
from .config import load_settings
from .console import err, print_json
from .errors import ExitCode, SohoaError
from . import archive_cmd, init_cmd, meta_cmd, run_cmd, sign_cmd, verify_cmd
from .ocr_cmd import ocr
from .samples_cmd import samples_app
from .demo import run_demo

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    help="sohoa — số hóa hồ sơ thủ tục hành chính: OCR, sign, verify and archive "
    "the dossiers of the one-stop desk (Bộ phận Một cửa).",
    epilog="Start with: sohoa doctor · sohoa demo · sohoa COMMAND --help",
)
app.add_typer(samples_app, name="samples")
app.command(epilog="Example: sohoa ocr ./scans -o ./out  ·  sohoa ocr batch.pdf -o ./out --split qr")(ocr)
app.command(epilog=meta_cmd.EPILOG)(meta_cmd.meta)
app.command(epilog=sign_cmd.EPILOG)(sign_cmd.sign)
app.command(epilog=verify_cmd.EPILOG)(verify_cmd.verify)
app.add_typer(verify_cmd.trust_app, name="trust")
app.add_typer(archive_cmd.archive_app, name="archive")
app.command(epilog=run_cmd.EPILOG)(run_cmd.run)
app.command(epilog=init_cmd.EPILOG)(init_cmd.init)

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine output on stdout.")]


@app.command(epilog="Example: sohoa doctor --archive /srv/sohoa-archive --json")
def doctor(
    archive: Annotated[Optional[Path], typer.Option(help="Archive folder to check.")] = None,
    pkcs11_lib: Annotated[Optional[Path], typer.Option(help="Your token's PKCS#11 library.")] = None,
    json: JsonFlag = False,
) -> None:
    """Check everything sohoa needs at run time, with a fix for each missing item."""
    settings = load_settings({"archive": archive, "pkcs11_lib": pkcs11_lib})
    checks = doctor_lib.run_checks(settings.archive, settings.pkcs11_lib, db=settings.db,
                                   store=settings.store, cluster=settings.cluster)
    if json:
        print_json(doctor_lib.as_json(checks))
    else:
        _print_checks(checks)
    raise typer.Exit(ExitCode.FAILED if any(c.failed for c in checks) else ExitCode.OK)


def _print_checks(checks) -> None:
    columns = ("", "check", "found", "fix") if any(c.fix for c in checks) else ("", "check", "found")
    table = Table(title="sohoa doctor")
    for column in columns:
        table.add_column(column, overflow="fold")
    marks = {"ok": "[green]✓[/]", "missing": "[red]✗[/]", "warning": "[yellow]![/]"}
    for c in checks:
        table.add_row(*[marks[c.status], c.name, escape(c.found), escape(c.fix)][:len(columns)])
    err.print(table)
    failed = [c.name for c in checks if c.failed]
    if failed:
        err.print(f"[red]Missing:[/] {', '.join(failed)}. Run the fixes above, or `make setup`.")
    else:
        err.print("[green]Everything sohoa needs is here.[/]")


@app.command(epilog="Example: sohoa demo --out ./sohoa-demo")
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's files.")] = Path("sohoa-demo"),
) -> None:
    """Run sohoa on the bundled sample dossiers and say what it did."""
    raise typer.Exit(run_demo(out))


def _reflow(doc: str) -> str:
    """Docstring paragraphs as single lines: rich help keeps line breaks as they are."""
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def _reflow_help(group: typer.Typer) -> None:
    for info in group.registered_commands:
        if info.help is None and info.callback is not None and info.callback.__doc__:
            info.help = _reflow(info.callback.__doc__)
    for sub in group.registered_groups:
        _reflow_help(sub.typer_instance)


def main(argv: list[str] | None = None) -> None:
    """Typer maps usage errors to exit 2 and Ctrl-C to 130; we map SohoaError."""
    _reflow_help(app)
    try:
        app(args=argv, prog_name="sohoa")
    except SohoaError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        sys.exit(exc.exit_code)
