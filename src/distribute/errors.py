"""The error hierarchy and exit codes; the CLI translates these in exactly one place."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path  # annotations only: pathlib is a sixth of `distribute --help`


class ExitCode(enum.IntEnum):
    """Process exit codes (DESIGN §8)."""

    OK = 0
    ERROR = 1  # nothing was sent
    USAGE = 2
    PARTIAL = 3  # some deliveries failed
    NOTHING = 4  # nothing to do
    INTERRUPTED = 130  # stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it)


class DistributeError(Exception):
    """Root of every error distribute reports to a user."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        where = str(self.path) if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class ConfigError(DistributeError):
    """config.toml or a channel file is wrong."""


class ReleaseError(DistributeError):
    """A release file is wrong; it is refused before anything renders."""


class TemplateError(DistributeError):
    """A template is missing or fails to render."""


class UnknownAdapterError(ConfigError):
    """A channel names an adapter nobody registered."""


class ReleaseChanged(DistributeError):
    """A release (or what it renders to) is no longer what was scheduled."""


class NotApproved(DistributeError):
    """A release has fewer approvals of its current version than config.toml's `approvals` asks for."""


class UsageError(DistributeError):
    """The command line itself is wrong."""

    exit_code = ExitCode.USAGE


class SecretMissing(ConfigError):
    """A secret referenced by a channel is not set in the environment."""


class DeliveryError(DistributeError):
    """A delivery failed; `retryable` says whether trying again may help.

    `retry_after` is the delay in seconds the remote side asked for (HTTP Retry-After),
    when it said one.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        in_doubt: bool = False,
    ):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        # True when the payload may have reached the remote side before the failure.
        self.in_doubt = in_doubt
