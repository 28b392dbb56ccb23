"""Sphinx configuration for mediaproto's documentation."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

project = "mediaproto"
author = "the mediaproto developers"
copyright = "2026, the mediaproto developers"
release = "0.1.0"

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode", "sphinx.ext.intersphinx"]
intersphinx_mapping: dict[str, tuple[str, None]] = {}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "fully-qualified"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
nitpicky = False
exclude_patterns = ["_build"]
html_theme = "alabaster"

# Several protocols have a class of the same short name (Limits, ServerConnection, FrameReceived):
# Sphinx warns that an unqualified reference has more than one target and picks one. The API pages
# document each under its full module path, so the ambiguity warning carries no information.
suppress_warnings = ["ref.python"]
