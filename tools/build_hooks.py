"""setuptools build step (``[tool.setuptools.cmdclass]`` in pyproject.toml): ship the project's
top-level ``themes/`` inside the package, as ``site_builder/themes/``, so that an installed
site-builder (a wheel, ``pip install``, ``pipx install .``) has its default theme.

``themes/`` stays at the top of the repository (where a site's own themes live too);
``config.PACKAGE_THEMES`` finds the packaged copy when there is one, else the checkout's. An
editable install (``make build``) reads the checkout's ``themes/`` directly: nothing is copied.
"""

from __future__ import annotations

from pathlib import Path

from setuptools.command.build_py import build_py

THEMES = Path(__file__).resolve().parent.parent / "themes"


def theme_files(root: Path = THEMES) -> list[Path]:
    """The files to ship: everything under themes/ but hidden files and Python caches."""
    return [
        p
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in p.relative_to(root).parts)
    ]


class BuildPy(build_py):
    """build_py, then themes/ → <build_lib>/site_builder/themes/."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "site_builder" / "themes"
        for path in theme_files():
            dest = target / path.relative_to(THEMES)
            self.mkpath(str(dest.parent))
            self.copy_file(str(path), str(dest))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        target = Path(self.build_lib) / "site_builder" / "themes"
        return outputs + [str(target / p.relative_to(THEMES)) for p in theme_files()]
