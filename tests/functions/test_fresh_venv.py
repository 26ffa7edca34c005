"""The deployed layout indexes in a fresh virtualenv holding only requirements.txt."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_deployed_layout_indexes_with_only_runtime_requirements(tmp_path):
    app = tmp_path / "wwwroot"  # what the Dockerfile copies to /home/site/wwwroot
    app.mkdir()
    for name in ("function_app.py", "host.json"):
        shutil.copy(ROOT / name, app / name)
    shutil.copytree(
        ROOT / "src" / "retrain",
        app / "src" / "retrain",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(ROOT / "requirements.txt")],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    code = (
        "import sys, function_app; fns = function_app.app.get_functions(); "
        "heavy = {'pandas', 'sklearn', 'xgboost'} & set(sys.modules); "
        "assert not heavy, heavy; print(sorted(f.get_function_name() for f in fns))"
    )
    done = subprocess.run(
        [str(python), "-c", code],
        cwd=app,
        capture_output=True,
        text=True,
        env={"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "train_model" in done.stdout and "monthly_retraining" in done.stdout
    # and the worker can run a training there: the runner imports with the runtime deps only
    runner = subprocess.run(
        [
            str(python),
            "-c",
            "import sys; sys.path.insert(0, 'src'); "
            "import retrain.service.runner, retrain.adapters.blob_store",
        ],
        cwd=app,
        capture_output=True,
        text=True,
        check=False,
    )
    assert runner.returncode == 0, runner.stderr
    assert sys.version_info[:2] == (3, 11)
