"""A real MCP client, the official Python SDK's (`mcp`, PyPI), for
tests/mcp.rs: it lists the tools of `llmspell mcp serve`, calls each call it
is given, and prints what it got as one JSON object.

    client.py stdio LLMSPELL DIR CALLS_JSON
    client.py http URL CALLS_JSON

CALLS_JSON is a list of [tool, arguments] pairs.
"""
import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client


def dump(model):
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


async def talk(read, write, calls):
    async with ClientSession(read, write) as session:
        init = await session.initialize()
        listed = await session.list_tools()
        out = {
            "server": dump(init.serverInfo),
            "tools": [dump(t) for t in listed.tools],
            "calls": [],
        }
        for name, args in calls:
            result = await session.call_tool(name, args)
            out["calls"].append(dump(result))
        return out


async def main():
    mode = sys.argv[1]
    if mode == "stdio":
        llmspell, folder, calls = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
        params = StdioServerParameters(command=llmspell, args=["mcp", "serve", folder])
        async with stdio_client(params) as (read, write):
            out = await talk(read, write, calls)
    else:
        url, calls = sys.argv[2], json.loads(sys.argv[3])
        async with streamablehttp_client(url) as (read, write, _):
            out = await talk(read, write, calls)
    print(json.dumps(out))


asyncio.run(main())
