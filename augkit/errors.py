"""The three homes of errors (SPEC section 4). Only cli.py turns them into exit codes."""

from __future__ import annotations


class UserError(Exception):
    """Something the user must fix (bad option, missing file, foreign output root).

    The message is one line naming the problem and the fix; the CLI exits with code 2
    and nothing has been written.
    """


class SampleRejected(Exception):
    """One input line cannot be used; it goes to rejects.tsv with `reason` and the run goes on."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class RunFailed(Exception):
    """The run could not finish (too many rejects, shards that kept crashing); it can be resumed."""
