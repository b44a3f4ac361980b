// chat: one question to a model, and what it cost.
const reply = await llm.chat("Name one planet of the solar system.", {
  system: "Answer in one short sentence.", max_tokens: 30, temperature: 0,
});
print(reply.text);
print(`tokens: ${reply.usage.input_tokens} in, ${reply.usage.output_tokens} out`);
export default reply.model;
