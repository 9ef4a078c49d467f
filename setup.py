"""Compiles the message catalogues whenever the package is built, so every install path ships
.mo files without committing binaries: `pip install .` writes them into the wheel, and
`pip install -e .` (setuptools' editable mode) beside the .po files in the source tree, where
the editable install reads them. All metadata is declarative, in setup.cfg."""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGUES = "dashboard/translations"


class BuildWithCatalogues(build_py):
    def run(self):
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        in_place = getattr(self, "editable_mode", False)
        for po_path in Path(CATALOGUES).glob("*/LC_MESSAGES/messages.po"):
            target = po_path.with_suffix(".mo") if in_place else Path(self.build_lib) / po_path.with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            with target.open("wb") as mo_file:
                write_mo(mo_file, catalog)


setup(cmdclass={"build_py": BuildWithCatalogues})
