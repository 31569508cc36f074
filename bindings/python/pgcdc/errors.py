"""Exceptions raised by pgcdc.

Every error is a PgcdcError and also an instance of the builtin exception that fits it,
so ``except ConnectionError:`` works without knowing pgcdc. Each carries:

* ``code``: the status code of the C++ core ("UNAVAILABLE", "FAILED_PRECONDITION", ...);
* ``sqlstate``: the server's SQLSTATE ("55006") when the server reported the error,
  else None;
* ``retryable``: whether reconnecting and resuming can succeed without a change of
  configuration (connection lost, server restarting, slot held by another consumer,
  timeouts).

The message names the problem and the fix. An exception raised by your own
``on_checkpoint`` callback is not wrapped: it comes out of the loop as it was raised.

===========================  ======================================  ====================
core status / SQLSTATE        class                                   also a
===========================  ======================================  ====================
INVALID_ARGUMENT              ConfigurationError                      ValueError
FAILED_PRECONDITION           ReplicationSetupError                   RuntimeError
... with SQLSTATE 42704       PublicationNotFoundError                LookupError
NOT_FOUND                     SlotNotFoundError                       LookupError
ALREADY_EXISTS                ReplicationSetupError                   RuntimeError
PERMISSION_DENIED,            AuthorizationError                      PermissionError
UNAUTHENTICATED
UNAVAILABLE                   ConnectionLostError (retryable)         ConnectionError
... with SQLSTATE 55006       SlotInUseError (retryable)              ConnectionError
DEADLINE_EXCEEDED             DeadlineExceededError (retryable)       TimeoutError
RESOURCE_EXHAUSTED            ResourceError                           OSError
DATA_LOSS                     DecodeError                             RuntimeError
ABORTED                       CheckpointError                         RuntimeError
CANCELLED                     StreamCancelledError                    RuntimeError
INTERNAL                      InternalError                           RuntimeError
UNKNOWN (other server error)  ServerError                             RuntimeError
===========================  ======================================  ====================
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Type

__all__ = [
    "AuthorizationError",
    "CheckpointError",
    "ConfigurationError",
    "ConnectionLostError",
    "DeadlineExceededError",
    "DecodeError",
    "InternalError",
    "PgcdcError",
    "PublicationNotFoundError",
    "ReplicationSetupError",
    "ResourceError",
    "ServerError",
    "SlotInUseError",
    "SlotNotFoundError",
    "StreamCancelledError",
]


class PgcdcError(Exception):
    """Base class of every pgcdc error."""

    code: str
    sqlstate: Optional[str]
    retryable: bool
    _default_code = "UNKNOWN"  # when raised by the Python layer itself

    def __init__(self, message: str, *, code: Optional[str] = None,
                 sqlstate: Optional[str] = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code or self._default_code
        self.sqlstate = sqlstate
        self.retryable = retryable

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> Tuple[Any, ...]:
        # OSError-based subclasses would otherwise pickle their args positionally.
        return (_rebuild, (type(self), str(self), self.code, self.sqlstate, self.retryable))


def _rebuild(cls: Type[PgcdcError], message: str, code: str, sqlstate: Optional[str],
             retryable: bool) -> PgcdcError:
    return cls(message, code=code, sqlstate=sqlstate, retryable=retryable)


class ConfigurationError(PgcdcError, ValueError):
    """Bad options, DSN or LSN text: fix the call."""

    _default_code = "INVALID_ARGUMENT"


class ReplicationSetupError(PgcdcError, RuntimeError):
    """The server is not set up for this stream: wal_level, a publication, the slot's
    plugin or database, free replication slots. Fix the server, then retry."""


class PublicationNotFoundError(ReplicationSetupError, LookupError):
    """A publication named in `publications` does not exist."""


class SlotNotFoundError(ReplicationSetupError, LookupError):
    """The replication slot does not exist (pass create_slot=True to create it)."""


class AuthorizationError(PgcdcError, PermissionError):
    """The role lacks REPLICATION or another privilege, pg_hba.conf rejects it, or the
    password is wrong."""


class ConnectionLostError(PgcdcError, ConnectionError):
    """Cannot connect, the connection broke, or the server is shutting down.
    Retryable: reconnect and resume from the last checkpoint."""


class SlotInUseError(ConnectionLostError):
    """Another process is streaming from the slot (SQLSTATE 55006). Retryable once it
    stops, or once wal_sender_timeout ends a crashed consumer's session."""


class DeadlineExceededError(PgcdcError, TimeoutError):
    """Connecting or creating the slot took too long. Retryable."""


class ResourceError(PgcdcError, OSError):
    """A local resource ran out: the disk of spill_dir, or memory."""


class StreamCancelledError(PgcdcError, RuntimeError):
    """The stream was canceled while it still had work (an unfinished snapshot)."""


class DecodeError(PgcdcError, RuntimeError):
    """The server sent bytes pgcdc cannot decode. Nothing acknowledged is lost."""


class CheckpointError(PgcdcError, RuntimeError):
    """A checkpoint was refused; the slot did not move."""


class InternalError(PgcdcError, RuntimeError):
    """A bug in pgcdc: please report it with the message."""


class ServerError(PgcdcError, RuntimeError):
    """Any other error the server reported (see sqlstate)."""


_BY_CODE: Dict[str, Type[PgcdcError]] = {
    "INVALID_ARGUMENT": ConfigurationError,
    "FAILED_PRECONDITION": ReplicationSetupError,
    "NOT_FOUND": SlotNotFoundError,
    "ALREADY_EXISTS": ReplicationSetupError,
    "PERMISSION_DENIED": AuthorizationError,
    "UNAUTHENTICATED": AuthorizationError,
    "UNAVAILABLE": ConnectionLostError,
    "DEADLINE_EXCEEDED": DeadlineExceededError,
    "RESOURCE_EXHAUSTED": ResourceError,
    "DATA_LOSS": DecodeError,
    "ABORTED": CheckpointError,
    "CANCELLED": StreamCancelledError,
    "INTERNAL": InternalError,
    "UNKNOWN": ServerError,
}

# Refinements by SQLSTATE within a code.
_BY_CODE_AND_SQLSTATE: Dict[Tuple[str, str], Type[PgcdcError]] = {
    ("FAILED_PRECONDITION", "42704"): PublicationNotFoundError,
    ("UNAVAILABLE", "55006"): SlotInUseError,
}


def _from_status(code: str, message: str, sqlstate: Optional[str],
                 retryable: bool) -> PgcdcError:
    """The exception for a failed core status (called by pgcdc._core)."""
    cls = _BY_CODE_AND_SQLSTATE.get((code, sqlstate or ""), _BY_CODE.get(code, PgcdcError))
    return cls(message, code=code, sqlstate=sqlstate, retryable=retryable)
