"""The process plumbing the Doccano installer, server and PostgreSQL cluster share (vndiplo.doccano.local)."""

import sys

from vndiplo.doccano.local import run_logged, tail


def test_a_step_leaves_its_command_and_its_output_in_the_log(tmp_path):
    log = tmp_path / "step.log"
    with open(log, "a", encoding="utf-8") as out:
        code = run_logged([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"], out, shown="probe --fail")
    assert code == 3
    assert log.read_text(encoding="utf-8").splitlines() == ["$ probe --fail", "out", "err"]


def test_a_step_gets_the_environment_and_folder_it_is_given(tmp_path):
    log = tmp_path / "step.log"
    script = "import os; print(os.environ['VNDIPLO_PROBE'], os.getcwd())"
    with open(log, "a", encoding="utf-8") as out:
        assert run_logged([sys.executable, "-c", script], out, env={"VNDIPLO_PROBE": "seen"}, cwd=tmp_path) == 0
    assert log.read_text(encoding="utf-8").splitlines()[-1] == f"seen {tmp_path}"


def test_a_program_that_cannot_start_is_a_failed_step_with_its_reason_in_the_log(tmp_path):
    log = tmp_path / "step.log"
    missing = str(tmp_path / "no-such-program")
    with open(log, "a", encoding="utf-8") as out:
        assert run_logged([missing, "--version"], out) == -1
    assert tail(log).splitlines()[0] == f"$ {missing} --version"
    assert "No such file" in tail(log)


def test_the_tail_of_a_missing_log_says_so(tmp_path):
    assert tail(tmp_path / "never-written.log") == "(no log)"
