"""The one rule for bearer tokens, wherever one comes in: an option, an environment variable,
a token file, `erpsync serve`, `apps check`, or the client itself.

A token goes into an HTTP header. A space, tab, newline or control character there either
breaks the request (httpx then reports "Illegal header value" together with the whole
token) or, worse, forges a header. So such a token is refused where it enters, with a message
that names where it came from and never repeats the value.
"""

from __future__ import annotations

import os

from host.files import TOKEN_FILE_LIMIT, FileReadError, read_bounded_text

TOKEN_MAX_LENGTH = 4096
TOKEN_RULE = (
    f"a token is 1 to {TOKEN_MAX_LENGTH:,} visible ASCII characters "
    "(no spaces, tabs, line breaks or control characters)"
)


class TokenError(ValueError):
    """A token that cannot be sent; the message names its source, never its value."""


def token_problem(token: str) -> str | None:
    """What is wrong with `token` (without repeating it), or None when it can be sent."""
    if not token:
        return "is empty"
    if len(token) > TOKEN_MAX_LENGTH:
        return f"is longer than {TOKEN_MAX_LENGTH:,} characters"
    for position, char in enumerate(token, start=1):
        if char.isspace():
            return f"holds whitespace (character {position} of {len(token)})"
        if not ("\x21" <= char <= "\x7e"):
            kind = "a control character" if ord(char) < 0x20 or ord(char) == 0x7F else "non-ASCII"
            return f"holds {kind} (character {position} of {len(token)})"
    return None


def check_token(token: str, *, what: str) -> str:
    """`token` unchanged when it can be sent, else TokenError naming `what` (not the value)."""
    problem = token_problem(token)
    if problem:
        raise TokenError(f"{what} {problem}; {TOKEN_RULE}")
    return token


def read_token_file(path: str | os.PathLike[str], *, what: str) -> str:
    """The token in a file: bounded, a regular file, one trailing line break dropped.

    Only the final line break is forgiven (editors add it); any other whitespace is refused
    like a token given on the command line, so what is stored is what the file says.
    """
    try:
        text = read_bounded_text(path, what=what, limit=TOKEN_FILE_LIMIT)
    except FileReadError as exc:
        raise TokenError(str(exc)) from None
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    return check_token(text, what=what)
