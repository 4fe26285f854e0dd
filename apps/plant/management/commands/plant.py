"""`manage.py plant validate|import|export|diff`: the plant model as a YAML file."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from apps.plant.plantfile import PlantFileError
from apps.plant.services import Change, apply_plant, diff_plant, export_plant, read_plant_file


class Command(BaseCommand):
    help = "Validate, import, export or diff the plant (machines, PLCs, sensors, alarm rules) as YAML."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{validate,import,export,diff}")
        validate = sub.add_parser("validate", help="Check a plant file; print each problem as file:line: reason.")
        validate.add_argument("file")
        load = sub.add_parser("import", help="Make the database match the file, in one transaction.")
        load.add_argument("file")
        load.add_argument("--dry-run", action="store_true", help="Show the changes and change nothing.")
        load.add_argument(
            "--prune", action="store_true", help="Delete machines, PLCs, sensors and alarm rules not in the file."
        )
        export = sub.add_parser("export", help="Write the plant as YAML to FILE or standard output.")
        export.add_argument("file", nargs="?")
        diff = sub.add_parser("diff", help="Show how the database differs from the file; exit 1 if it does.")
        diff.add_argument("file")
        diff.add_argument("--prune", action="store_true", help="Show deletions an import --prune would make.")

    def handle(self, *args, action: str, **options) -> None:
        try:
            getattr(self, f"do_{action}")(**options)
        except PlantFileError as exc:
            for problem in exc.problems:
                self.stderr.write(problem.format(exc.filename))
            count = len(exc.problems)
            raise CommandError(
                f"{exc.filename} rejected: {count} problem{'s' if count != 1 else ''}; nothing changed."
            ) from None
        except DatabaseError as exc:
            raise CommandError(f"the database refused the import, nothing changed: {exc}") from None

    def do_validate(self, file: str, **options) -> None:
        spec = read_plant_file(file)
        sensors = sum(len(m.sensors) for m in spec.machines)
        self.stdout.write(f"{file}: valid ({len(spec.machines)} machines, {sensors} sensors)")

    def do_import(self, file: str, dry_run: bool, prune: bool, **options) -> None:
        spec = read_plant_file(file)
        changes = apply_plant(spec, filename=file, dry_run=dry_run, prune=prune)
        self._print_changes(changes)
        applied = [c for c in changes if c.action != "keep"]
        verb = "would change" if dry_run else "changed"
        self.stdout.write(f"{file}: {verb} {len(applied)} item{'s' if len(applied) != 1 else ''}")

    def do_export(self, file: str | None, **options) -> None:
        text = export_plant()
        if file:
            Path(file).write_text(text, encoding="utf-8")
            self.stderr.write(f"plant exported to {file}")
        else:
            self.stdout.write(text, ending="")

    def do_diff(self, file: str, prune: bool, **options) -> None:
        changes = diff_plant(read_plant_file(file), filename=file, prune=prune)
        if not changes:
            self.stdout.write(f"{file}: no differences")
            return
        self._print_changes(changes)
        sys.exit(1)

    def _print_changes(self, changes: list[Change]) -> None:
        for change in changes:
            self.stdout.write(str(change))
