-- deadline: give slow work a time limit and go on without it when the
-- limit passes: beside it, a branch that fails at the limit (the first
-- error in workflow.parallel cancels the other branches). A model call
-- gets one it meets, as opts.timeout_ms.

-- workflow.sleep stands for work that takes ten seconds.
local ok, got = pcall(workflow.parallel, {
  function()
    workflow.sleep(10000)
    return "finished"
  end,
  function()
    workflow.sleep(50)
    error("over 50 ms")
  end,
})
local slow
if ok then
  slow = got[1]
else
  slow = "gave up (" .. tostring(got):match("over %d+ ms") .. ")"
end
print("slow step: " .. slow)

local reply = llm.chat("Name one colour of the rainbow.", {
  system = "Answer in one word.", max_tokens = 8, temperature = 0, timeout_ms = 20000,
})
print("model: " .. reply.text)
return {slow, reply.text}
