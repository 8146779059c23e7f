"""Shared backbone: schema, wire format, config, sockets and process skeleton."""
