"""A small sync app declaring every kind of v1.1 field metadata: a source list whose value
shows either a file path (required then, with a pattern) or an API URL, a checkbox that shows
a log file, groups, placeholders and help. Installed with the `make_app` fixture."""

from __future__ import annotations

FIELDS_APP = """
    from host import Access, ConfigField, Connector, FieldType, Response, hookimpl


    class FieldsConnector(Connector):
        id = "fields"
        name = "Fields ERP"
        vendor = "Tests"
        version = "1.1.0"
        requires_protocol = "1.1"
        config_fields = [
            ConfigField("source", "Source", FieldType.LIST, access=Access.MANDATORY,
                        list_name="sources", default="api", group="Source", rank=10),
            ConfigField("file_path", "File path", group="Source", rank=20,
                        visible_when={"field": "source", "equals": "file"},
                        required_when={"field": "source", "equals": "file"},
                        pattern=r"/\\S*", pattern_message="an absolute path such as /data/erp.csv",
                        placeholder="/data/erp.csv", help="The CSV export the ERP writes."),
            ConfigField("api_url", "API URL", group="Source", rank=30, access=Access.MANDATORY,
                        default="https://erp.example.test",
                        visible_when={"field": "source", "in": ["api"]}),
            ConfigField("user", "User", rank=5, description="Who logs in"),
            ConfigField("verbose", "Verbose", FieldType.CHECKBOX, default=False,
                        group="Advanced", rank=40),
            ConfigField("log_file", "Log file", group="Advanced", rank=50,
                        visible_when={"field": "verbose", "equals": True}),
        ]

        def get_list(self, connection, list_name):
            return {"api": "Web API", "file": "CSV file"}

        def test_config(self, config):
            return Response.success("given: " + ",".join(sorted(config)))


    @hookimpl
    def register_connectors(register):
        register(FieldsConnector())
"""
