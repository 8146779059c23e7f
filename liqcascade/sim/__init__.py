"""A local exchange simulator speaking the venues' real websocket protocols."""
