"""[4] transform: the emulator's line rule, the one asyncml's results reader keeps (`\n` only)."""

from __future__ import annotations

from pathlib import Path

from tests.transform_emulator.model_fakes import Script, job, model_url, outputs, put, run, script

__all__ = ["model_url", "script"]  # the fixtures, used by name

JOIN = {"DataProcessing": {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$"}}


async def test_a_bare_cr_in_a_model_output_line_stays_inside_that_record(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    answers = b"a\nb\nc\rstill c\nd\ne\n"  # five records; the third holds a bare CR
    script.respond = lambda body: answers
    put(tmp_path, "in/batch.csv", "".join(f"j{i},{i}\n" for i in range(5)))
    result = await run(job(**JOIN), tmp_path, model_url)
    assert result["TransformJobStatus"] == "Completed", result.get("FailureReason")
    out = (tmp_path / "b" / "out" / "batch.csv.out").read_bytes()
    assert out.split(b"\n") == [b"j0,0,a", b"j1,1,b", b"j2,2,c\rstill c", b"j3,3,d", b"j4,4,e", b""]


async def test_a_crlf_ends_a_line_like_a_newline_in_model_answers(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.respond = lambda body: b"a\r\nb\r\n"
    put(tmp_path, "in/batch.csv", "j0,0\nj1,1\n")
    await run(job(**JOIN), tmp_path, model_url)
    assert outputs(tmp_path) == {"batch.csv.out": "j0,0,a\nj1,1,b\n"}
