-- expect: sandbox.denied
return os.execute("touch /tmp/llmspell-pwned")
