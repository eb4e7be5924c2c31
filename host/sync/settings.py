"""Sync settings per connection and actor type, kept in the registry: one import for faces.

The settings live in one module per concern; this module gathers their public names so
`from host.sync.settings import ...` keeps working:

- host.sync.fieldmap: the model, which types convert, automatic mapping, reading, checks;
- host.sync.edits: changing a type, a field's mapping, the ERP tab order, defaults;
- host.sync.lists: list mapping (ERP item -> CRM item, one to one);
- host.sync.priority: sync priority and interval;
- host.sync.settings_file: export and import (settings as code).
"""

from __future__ import annotations

from host.sync.edits import (
    apply_proposal,
    disable,
    enable,
    move_field,
    set_create_in_erp,
    set_default,
    set_field,
    set_order,
)
from host.sync.fieldmap import (
    BOTH,
    CRM_TO_ERP,
    DIRECTIONS,
    ERP_TO_CRM,
    NONE,
    Default,
    FieldMap,
    TypeSettings,
    activation_reasons,
    best_direction,
    convert_reason,
    ensure_mapping,
    field_problems,
    one_type,
    proposal,
    type_settings,
)
from host.sync.lists import (
    Enabled,
    enable_with_lists,
    list_items,
    list_pairs,
    list_rows,
    propose_list_mapping,
    save_list_mapping,
    set_default_checked,
)
from host.sync.priority import (
    DEFAULT_INTERVAL,
    MAX_INTERVAL,
    MIN_INTERVAL,
    interval_of,
    move,
    schedule,
    set_interval,
    set_priority,
)
from host.sync.settings_file import (
    EXPORT_FORMAT,
    SETTINGS_FILE_LIMIT,
    export_settings,
    import_settings,
    parse_settings_file,
)

__all__ = [
    "BOTH",
    "CRM_TO_ERP",
    "DEFAULT_INTERVAL",
    "DIRECTIONS",
    "ERP_TO_CRM",
    "EXPORT_FORMAT",
    "MAX_INTERVAL",
    "MIN_INTERVAL",
    "NONE",
    "SETTINGS_FILE_LIMIT",
    "Default",
    "Enabled",
    "FieldMap",
    "TypeSettings",
    "activation_reasons",
    "apply_proposal",
    "best_direction",
    "convert_reason",
    "disable",
    "enable",
    "enable_with_lists",
    "ensure_mapping",
    "export_settings",
    "field_problems",
    "import_settings",
    "interval_of",
    "list_items",
    "list_pairs",
    "list_rows",
    "move",
    "move_field",
    "one_type",
    "parse_settings_file",
    "proposal",
    "propose_list_mapping",
    "save_list_mapping",
    "schedule",
    "set_create_in_erp",
    "set_default",
    "set_default_checked",
    "set_field",
    "set_interval",
    "set_order",
    "set_priority",
    "type_settings",
]
