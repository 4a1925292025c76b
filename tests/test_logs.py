"""A job's log file receives its logging records, stdout, stderr and warnings (xstilts.logs)."""
import subprocess
import sys


def test_a_jobs_log_receives_prints_records_errors_and_warnings(tmp_path):
    log = tmp_path / "job.log"
    code = ("import logging, sys, warnings; from xstilts.logs import to_file; log = to_file(sys.argv[1]); "
            "print('printed'); log.info('recorded'); logging.getLogger('xstilts.lib').warning('from the library'); "
            "warnings.warn('deprecated thing'); print('on stderr', file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code, str(log)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    text = log.read_text()
    for line in ("printed", "INFO xstilts.job: recorded", "WARNING xstilts.lib: from the library", "deprecated thing",
                 "on stderr"):
        assert line in text, (line, text)
    assert r.stdout == ""  # nothing escapes to the terminal: Snakemake's log is the one place to look
