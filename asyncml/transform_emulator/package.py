"""[4] transform: build the model.tar.gz that SageMaker's framework containers load, from the local paths.

The layout the containers expect (and the SageMaker Python SDK builds for `entry_point=`): the model
dir's files at the root of the archive, where `model_fn(model_dir)` finds them under /opt/ml/model,
and the entry point in `code/`, which the Model's SAGEMAKER_SUBMIT_DIRECTORY (/opt/ml/model/code)
and SAGEMAKER_PROGRAM point at. A `requirements.txt` beside the entry point goes into `code/` too:
the containers pip-install it before loading the entry point.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from asyncml.transform_emulator.entry_point import EntryPoint, EntryPointError

CODE_DIR = "code"


def package_model(entry: EntryPoint, output: Path) -> Path:
    """Write `output` (gzip tar) and return it; EntryPointError for paths that do not exist."""
    if not entry.program.is_file():
        raise EntryPointError(f"entry point {entry.program} does not exist")
    if not entry.model_dir.is_dir():
        raise EntryPointError(f"model dir {entry.model_dir} does not exist")
    model_dir, target = entry.model_dir.resolve(), output.resolve()
    requirements = entry.program.with_name("requirements.txt")
    with tarfile.open(target, "w:gz") as archive:
        for path in sorted(model_dir.rglob("*")):
            relative = path.relative_to(model_dir)
            # The archive itself (when written into the model dir) and a stale code/ are left out:
            # code/ is rebuilt from the entry point, so the archive runs what was tested locally.
            if path == target or relative.parts[0] == CODE_DIR or not path.is_file():
                continue
            archive.add(path, arcname=relative.as_posix(), filter=_plain)
        archive.add(entry.program, arcname=f"{CODE_DIR}/{entry.program.name}", filter=_plain)
        if requirements.is_file():
            archive.add(requirements, arcname=f"{CODE_DIR}/requirements.txt", filter=_plain)
    return output


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # No local user or group names in the archive; the container reads it as root either way.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info
