"""Nebari's side of the NIC subprocess contract (design §9.2, §9.5).

NIC prints exactly one JSON document on stdout for every command run with --format json, and
writes progress and logs to stderr. On failure the document is the error object
{"success": false, "error": {"code", "message", "details", "recovery_suggestions"}} and the
exit code says what kind of failure it was. This adapter runs the real binary, forwards stderr
to logging, parses stdout, and maps exit codes to exceptions that carry the error object.
"""
from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

logger = logging.getLogger("nic")

# README "Exit codes".
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_LOCKED = 3
EXIT_USAGE = 4
EXIT_INVALID_CONFIG = 5
EXIT_INVALID_STATE = 6
EXIT_STATE_CONFLICT = 7
EXIT_INVALID_INPUT = 8
EXIT_ACCESS = 9
EXIT_REFUSED = 10


class NICError(Exception):
    """A failed NIC command. `details` is the §9.5 error object (or {} when NIC printed none)."""

    def __init__(self, message: str, details: Optional[Dict[str, Any]] = None, exit_code: int = EXIT_ERROR,
                 stderr: str = ""):
        super().__init__(message)
        self.details = details or {}
        self.exit_code = exit_code
        self.stderr = stderr

    @property
    def error(self) -> Dict[str, Any]:
        return self.details.get("error", {})

    @property
    def code(self) -> Optional[str]:
        return self.error.get("code")

    @property
    def recovery_suggestions(self) -> List[str]:
        return list(self.error.get("recovery_suggestions", []))


class NICLockedError(NICError):
    """The state is locked by someone else (exit 3); details name the holder and lock ID."""


class NICUsageError(NICError):
    """NIC was called with bad flags (exit 4): a bug in the caller."""


class NICValidationError(NICError):
    """nebari-config.yaml is invalid (exit 5)."""


class NICStateError(NICError):
    """The state document is invalid (6) or a write was refused as a conflict (7)."""


class NICImportError(NICError):
    """A Terraform state could not be imported (exit 8, or any failure of import)."""


class NICAccessError(NICError):
    """Credentials missing/wrong or access denied (exit 9)."""


class NICRefusedError(NICError):
    """A safety rule refused the operation (exit 10): immutable change, imported resource..."""


_BY_EXIT = {
    EXIT_LOCKED: NICLockedError,
    EXIT_USAGE: NICUsageError,
    EXIT_INVALID_CONFIG: NICValidationError,
    EXIT_INVALID_STATE: NICStateError,
    EXIT_STATE_CONFLICT: NICStateError,
    EXIT_INVALID_INPUT: NICImportError,
    EXIT_ACCESS: NICAccessError,
    EXIT_REFUSED: NICRefusedError,
}


class NICAdapter:
    """Runs the nic binary for Nebari's stages 02/03."""

    def __init__(self, nic_binary_path: str = "nic", env: Optional[Dict[str, str]] = None, timeout: float = 3600):
        self.nic_binary = nic_binary_path
        self.env = env
        self.timeout = timeout

    # -- commands ------------------------------------------------------------------------------

    def deploy(self, config_path: str, output_dir: str, auto_approve: bool = True,
               extra_args: Sequence[str] = ()) -> Dict[str, Any]:
        """Plan and apply; writes nic-state.json and outputs.json into output_dir."""
        out = Path(output_dir)
        args = ["deploy", "-f", config_path, "--state", str(out / "nic-state.json"),
                "--outputs", str(out / "outputs.json")]
        if auto_approve:
            args.append("--auto-approve")
        return self._run(args + list(extra_args))

    def plan(self, config_path: str, state_path: str, refresh: bool = True) -> Dict[str, Any]:
        return self._run(["plan", "-f", config_path, "--state", state_path,
                          "--refresh=" + ("true" if refresh else "false")])

    def import_from_terraform(self, config_path: str, terraform_state_02: str,
                              terraform_state_03: Optional[str], output_dir: str,
                              strict: bool = False, verify_live: bool = False, force: bool = False) -> Dict[str, Any]:
        """The import report (resource_count, ...). With verify_live, report["verification"] says
        which imported resources are missing or differ live (exit 2 is a result, not an error)."""
        out = Path(output_dir)
        args = ["import", "--from-terraform", "--config", config_path,
                "--terraform-state-02", terraform_state_02,
                "--output-state", str(out / "nic-state.json"), "--output-file", str(out / "outputs.json")]
        if terraform_state_03:
            args += ["--terraform-state-03", terraform_state_03]
        if strict:
            args.append("--strict")
        if verify_live:
            args.append("--verify-live")
        if force:
            args.append("--force")
        try:
            return self._run(args, ok_codes=(EXIT_OK, EXIT_CHANGES) if verify_live else (EXIT_OK,))
        except NICImportError:
            raise
        except NICError as e:
            raise NICImportError(str(e), e.details, e.exit_code, e.stderr) from e

    def validate(self, config_path: str) -> Dict[str, Any]:
        """{"valid": bool, "errors": [...], "warnings": [...]}; an invalid config is a result,
        not an exception (the caller shows the errors)."""
        return self._run(["validate", "-f", config_path], ok_codes=(EXIT_OK, EXIT_INVALID_CONFIG))

    def status(self, state_path: str, refresh: bool = True) -> Dict[str, Any]:
        """{"healthy": bool, "issues": [...]}; unhealthy is a result, not an exception."""
        return self._run(["status", "--state", state_path, "--refresh=" + ("true" if refresh else "false")],
                         ok_codes=(EXIT_OK, EXIT_CHANGES))

    def drift_detect(self, state_path: str) -> Dict[str, Any]:
        return self._run(["drift", "detect", "--state", state_path], ok_codes=(EXIT_OK, EXIT_CHANGES))

    # -- plumbing ------------------------------------------------------------------------------

    def _run(self, args: List[str], ok_codes: Sequence[int] = (EXIT_OK,)) -> Dict[str, Any]:
        cmd = [self.nic_binary] + args + ["--format", "json"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=self.timeout,
                              stdin=subprocess.DEVNULL)
        for line in proc.stderr.splitlines():
            self._log_progress(line)
        document: Optional[Dict[str, Any]] = None
        if proc.stdout.strip():
            try:
                document = json.loads(proc.stdout)
            except json.JSONDecodeError as e:
                raise NICError(f"nic {args[0]} printed something that is not JSON on stdout: {e}",
                               exit_code=proc.returncode, stderr=proc.stderr) from e
        if proc.returncode in ok_codes and document is not None:
            return document
        cls = _BY_EXIT.get(proc.returncode, NICError)
        if document and isinstance(document.get("error"), dict):
            raise cls(document["error"].get("message", "nic failed"), document, proc.returncode, proc.stderr)
        raise cls(f"nic {' '.join(args[:2])} failed with exit code {proc.returncode}: {proc.stderr.strip()}",
                  document or {}, proc.returncode, proc.stderr)

    @staticmethod
    def _log_progress(line: str) -> None:
        text = line[5:] if line.startswith("nic: ") else line
        if text.startswith("error:"):
            logger.error(text[6:].strip())
        elif text.startswith("warning:"):
            logger.warning(text[8:].strip())
        else:
            logger.info(text)
