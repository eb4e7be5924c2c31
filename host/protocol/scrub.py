"""One scrubber for every text a connector sends back, on both sides of the protocol.

A connector may repeat what it was given: a password in an explanation, the bearer token in a
field label. Whatever it is written in, its texts pass a `Scrubber` holding the secrets in
play (the connection's password values and the connector's token) before they are printed,
stored, audited or put in JSON.

Masking must not hint at the secret. A long secret that stands as a whole token ("password
LeakMe999 is wrong") becomes `****`. Anything else that shows a secret is not masked but
withheld: the whole text is replaced by a generic line naming the operation and the error
code, because "erp.mock****" (password ".local") or "**** failure" (password "a") would tell
the reader what the secret is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from host.connector import Field, Response

MASK = "****"
"""What a secret is shown as, everywhere (tables, JSON, errors, logs)."""

MIN_MASKED_LENGTH = 6
"""A secret at least this long is masked where it stands as a whole token; a shorter one is
never masked (`****` in place of "1234" tells the reader it was a short number) but its
whole-token occurrences make the text withheld."""

WITHHELD = "the connector's message was withheld because it contained a secret"
WITHHELD_VALUE = "[withheld: it contained a secret]"
WITHHELD_CODE = "secret_withheld"

SECRET_KEY_HINTS = ("password", "passwd", "secret", "token", "apikey", "api_key", "pwd")
"""Config keys treated as secret when a connector's declared fields are not known."""


def withheld_line(operation: str, error_code: str = "") -> str:
    """The generic line that replaces a connector text which would show a secret."""
    if error_code:
        return f"{operation} failed (error_code: {error_code}); {WITHHELD}"
    return f"{operation}: {WITHHELD}"


def looks_secret(key: str) -> bool:
    """True for a config key that names a secret (password, api_token ...)."""
    folded = key.casefold()
    return any(hint in folded for hint in SECRET_KEY_HINTS)


def secret_keys(fields: Iterable[Field]) -> list[str]:
    """The config keys that hold secrets: the connector's password fields, as it declares
    them. With the connector's token these are every secret the host keeps; the server
    scrubs by them, the client too, and the registry seals exactly these."""
    return [f.key for f in fields if f.is_secret]


def secret_values(config: Mapping[str, Any], secret_keys: Iterable[str] | None) -> list[str]:
    """The filled values of `config`'s secret keys; `None` keys means guess them by name."""
    keys = [k for k in config if looks_secret(str(k))] if secret_keys is None else secret_keys
    return [str(config[k]) for k in keys if config.get(k) not in (None, "")]


class Scrubber:
    """The secrets in play for one call (or one run) and how to clean texts of them."""

    __slots__ = ("_patterns", "secrets")

    def __init__(self, secrets: Iterable[object | None] = ()) -> None:
        """Empty, `None` and whitespace-only values are ignored; any other length counts."""
        found = {str(s) for s in secrets if s is not None and str(s).strip()}
        self.secrets: frozenset[str] = frozenset(found)
        ordered = sorted(found, key=lambda s: (-len(s), s))
        self._patterns = [(s, re.compile(re.escape(s), re.IGNORECASE)) for s in ordered]

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def plus(self, more: Iterable[object | None]) -> Scrubber:
        """A scrubber holding these secrets and `more`."""
        more = [m for m in more if m is not None and str(m).strip()]
        if not more:
            return self
        return Scrubber([*self.secrets, *more])

    # --- text ------------------------------------------------------------------------------

    def reveals(self, text: str) -> bool:
        """True when `text` would show a secret, even with format characters woven in."""
        if not self.secrets or not text:
            return False
        return self._mask(text) != text or self._mask(_bare(text)) != _bare(text)

    def text(self, text: str, *, operation: str = "the call", error_code: str = "") -> str:
        """`text` with long whole-token secrets masked, or the generic line when masking
        would hint at a secret or a secret hides inside a larger word."""
        return self._clean(text, withheld_line(operation, error_code))

    def value(self, text: str) -> str:
        """A short connector value (a label, a list item's text) scrubbed the same way."""
        return self._clean(text, WITHHELD_VALUE)

    def _clean(self, text: str, replacement: str) -> str:
        if not self.secrets or not text:
            return text
        masked = self._mask(text)
        if masked is None:
            return replacement
        bare = _bare(masked)
        if bare != masked and self._mask(bare) != bare:
            return replacement  # a secret with zero-width characters woven into it
        return masked

    def _mask(self, text: str) -> str | None:
        """Whole-token occurrences of long secrets masked; None when a secret shows otherwise."""
        for secret, pattern in self._patterns:
            long_enough = len(secret) >= MIN_MASKED_LENGTH
            spans = []
            for match in pattern.finditer(text):
                start, end = match.span()
                whole = (start == 0 or not text[start - 1].isalnum()) and (
                    end == len(text) or not text[end].isalnum()
                )
                if whole and not long_enough:
                    return None
                if not whole:
                    if long_enough:
                        return None
                    continue  # "7" inside "2017" shows nothing of a one-character password
                spans.append((start, end))
            for start, end in reversed(spans):
                text = text[:start] + MASK + text[end:]
        return text

    # --- protocol shapes ---------------------------------------------------------------------

    def code(self, error_code: str) -> str:
        """An error code is an identifier: one that shows a secret is replaced, not masked."""
        return WITHHELD_CODE if self.reveals(error_code) else error_code

    def response(self, response: Response, operation: str) -> Response:
        """The envelope with its error code and both explanations scrubbed."""
        if not self.secrets:
            return response
        from host.connector import Response as ResponseType

        code = self.code(response.error_code)
        return ResponseType(
            response.state,
            self.text(response.user_explanation, operation=operation, error_code=code),
            self.text(response.tech_explanation, operation=operation, error_code=code),
            code,
        )

    def field(self, item: Field) -> Field:
        """A field's texts (label, description, help, placeholder, group, pattern message) and
        text default scrubbed; key, type, conditions and pattern are kept."""
        if not self.secrets:
            return item
        from dataclasses import replace

        default = item.default
        if isinstance(default, str):
            default = self.value(default)
        return replace(
            item,
            display_name=self.value(item.display_name),
            description=self.value(item.description),
            default=default,
            help=self.value(item.help),
            placeholder=self.value(item.placeholder),
            group=self.value(item.group),
            pattern_message=self.value(item.pattern_message),
        )

    def data(self, value: Any, keep: Iterable[str] = ()) -> Any:
        """Every string in a JSON-like value scrubbed, except the values of the `keep` keys
        (identifiers such as an id, which the admin side uses, not shows)."""
        if not self.secrets:
            return value
        kept = frozenset(keep)
        if isinstance(value, str):
            return self.value(value)
        if isinstance(value, Mapping):
            return {k: v if k in kept else self.data(v, kept) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v, kept) for v in value]
        return value


def _bare(text: str) -> str:
    """`text` without Unicode format characters (zero-width space, bidi controls ...)."""
    if text.isascii():
        return text
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
