"""The example plugin (examples/distribute-webhook) installs with pip and passes its own tests.

Its tests run distribute's exported contract suite (distribute.testing) and post to a real HTTP
server on 127.0.0.1; the plugin imports nothing but the public API, which this file checks too.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

EXAMPLE = ROOT / "examples" / "distribute-webhook"
PUBLIC = {"distribute", "distribute.adapters.base", "distribute.testing"}


def test_the_example_plugin_imports_only_the_public_api() -> None:
    for path in EXAMPLE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] == "distribute":
                    assert name in PUBLIC, f"{path.relative_to(ROOT)} imports {name}, which is not public"


@pytest.mark.slow  # seconds of real sending; CI runs it, the fast lane leaves it out
def test_the_example_plugin_installs_and_its_own_tests_pass(tmp_path: Path) -> None:
    src = shutil.copytree(
        EXAMPLE, tmp_path / "src", ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
    subprocess.run([*pip, "--target", str(site), str(src)], check=True, capture_output=True)
    assert (site / "distribute_webhook" / "templates" / "webhook" / "post.json.j2").is_file(), "template not packaged"
    shutil.rmtree(src / "src")  # its tests must use the installed package, templates and entry point
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT / "src")])}
    env.pop("DISTRIBUTE_CONFIG", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(src / "tests")],
        capture_output=True,
        text=True,
        cwd=src,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "TestWebhookContract::test_deliver" not in result.stdout
