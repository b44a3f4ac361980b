"""MCP servers that misbehave, for tests/mcp.rs.

`faulty.py sdk` is a real server, built with the official Python SDK (`mcp`,
FastMCP, from PyPI), whose tools tell its process id and environment, fail,
crash it or hang. The other modes need no SDK: they are what a broken server
does before any message (exit with a complaint, write a banner on stdout,
say nothing).
"""
import os
import sys
import time

mode = sys.argv[1] if len(sys.argv) > 1 else "sdk"

if mode == "exit":
    sys.stderr.write("faulty: cannot find my config file\n")
    sys.exit(2)
elif mode == "banner":
    print("faulty server 1.0 ready, listening on stdio", flush=True)
    time.sleep(60)
elif mode == "silent":
    time.sleep(60)
elif mode == "sdk":
    from mcp.server.fastmcp import FastMCP

    app = FastMCP("faulty")

    @app.tool()
    def pid() -> int:
        """This server's process id."""
        return os.getpid()

    @app.tool()
    def env(name: str) -> str:
        """An environment variable of this server, or <unset>."""
        return os.environ.get(name, "<unset>")

    @app.tool()
    def fail() -> str:
        """Raises: the result is an error."""
        raise ValueError("no luck today")

    @app.tool()
    def crash() -> str:
        """Exits the process mid-call."""
        sys.stderr.write("faulty: crashing now\n")
        sys.stderr.flush()
        os._exit(3)

    @app.tool()
    def hang() -> str:
        """Never answers."""
        time.sleep(3600)
        return "late"

    app.run()
else:
    sys.exit(f"faulty: unknown mode {mode}")
