"""The live server's parts: the stream hub and one module per protocol (see live_server.py)."""
