"""What the connector host and the admin-side client agree on: version, values, wire shapes."""

PROTOCOL_VERSION = "1.0"
"""Major.minor. A client refuses a connector whose major version it does not know."""

SUPPORTED_MAJOR_VERSIONS = frozenset({1})


def is_supported_version(version: object) -> bool:
    """True when `version` is a protocol version string whose major part we speak."""
    if not isinstance(version, str):
        return False
    major, _, _ = version.partition(".")
    return major.isdigit() and int(major) in SUPPORTED_MAJOR_VERSIONS
