"""What the connector host and the admin-side client agree on: version, values, wire shapes."""

PROTOCOL_VERSION = "1.1"
"""Major.minor. A client refuses a connector whose major version it does not know; 1.1 adds
capabilities, search paging, check_last_modified and HTTP statuses per error code to 1.0,
and a 1.0 connector keeps working with a 1.1 client."""

SUPPORTED_MAJOR_VERSIONS = frozenset({1})


def is_supported_version(version: object) -> bool:
    """True when `version` is a protocol version string whose major part we speak."""
    if not isinstance(version, str):
        return False
    major, _, _ = version.partition(".")
    return major.isdigit() and int(major) in SUPPORTED_MAJOR_VERSIONS


def minor_version(version: object) -> int:
    """The minor part of a supported version string ("1.1" -> 1); 0 when there is none."""
    if not isinstance(version, str):
        return 0
    _, _, minor = version.partition(".")
    minor = minor.partition(".")[0]
    return int(minor) if minor.isdigit() else 0
